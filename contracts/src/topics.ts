/** Kafka topic names: `<domain>.<entity>.v<n>`, dead letters `<topic>.dlq`. */
export const TOPICS = {
  events: "events.v1",
  eventsDlq: "events.v1.dlq",
  /** Catalogue changes a business cares about (published, withdrawn), keyed by title. */
  catalogTitles: "catalog.titles.v1",
} as const;
export type Topic = (typeof TOPICS)[keyof typeof TOPICS];
