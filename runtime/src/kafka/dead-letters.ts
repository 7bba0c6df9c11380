import type { IHeaders, KafkaMessage } from "kafkajs";
import { PACKED_KEYS_HEADER } from "./packed-records.ts";

/** Thrown by a subscriber's `decode` for a message that can never be handled: it goes to the DLQ. */
export class PoisonMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PoisonMessageError";
  }
}

/** One dead letter: what to write to the DLQ, and why. */
export interface DeadLetter {
  message: KafkaMessage;
  error: string;
  /** For one message of a packed record: its key, its own bytes, its position. */
  part?: { key: string; value: Buffer; index: number };
}

/** Dead letters go to `<topic>.dlq`. */
export const dlqTopic = (topic: string) => `${topic}.dlq`;

/**
 * The DLQ records for dead letters from one partition: each keeps its original bytes and
 * headers, plus where it came from and why. One message out of a packed record goes alone, as a
 * plain record, with its index in the source record.
 */
export function deadLetterRecords(
  topic: string,
  partition: number,
  dead: DeadLetter[],
  now = new Date(),
): { key: Buffer | string | null; value: Buffer | string | null; headers: IHeaders }[] {
  return dead.map(({ message, error, part }) => {
    const headers: IHeaders = { ...(message.headers ?? {}) };
    if (part) {
      delete headers["content-type"];
      delete headers[PACKED_KEYS_HEADER];
      headers["x-source-index"] = String(part.index);
    }
    return {
      key: part ? part.key : message.key,
      value: part ? part.value : message.value,
      headers: {
        ...headers,
        "x-source-topic": topic,
        "x-source-partition": String(partition),
        "x-source-offset": message.offset,
        "x-error": error.slice(0, 1000),
        "x-dead-lettered-at": now.toISOString(),
      },
    };
  });
}
