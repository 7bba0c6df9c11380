/**
 * One row of the ClickHouse `events` table: the contract between whoever writes events
 * (the loader, the seeder) and the analytics DDL that defines the table. Absent strings are
 * '' and an absent position is -1, so the columns need no Nullable.
 */
export interface EventRow {
  event_id: string;
  type: string;
  /** 'YYYY-MM-DD hh:mm:ss.sss' in UTC. */
  occurred_at: string;
  received_at: string;
  user_id: string;
  anonymous_id: string;
  /** user_id when signed in, else anonymous_id: what histories and rows are keyed by. */
  actor_id: string;
  session_id: string;
  item_id: string;
  device: string;
  page: string;
  row_id: string;
  position: number;
  model_version: string;
  variant: string;
  /** The type's payload as JSON. */
  payload: string;
}

export const EVENTS_TABLE = "events";
