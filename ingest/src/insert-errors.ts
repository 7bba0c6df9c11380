/**
 * What a failed ClickHouse insert means for the rows in it (PostHog's ingestion pattern: the
 * error's type decides between retry, dead letter and alarm):
 *  - `retriable`: the store is away or busy (network, timeouts, too many parts, memory, a table
 *    not there yet): the rows are fine, try the same rows again later, with backoff. The
 *    partition waits; nothing can land until the store is back anyway.
 *  - `permanent`: ClickHouse refuses these rows (a value it cannot parse or hold, too many
 *    partitions for one insert): trying again changes nothing. The loader splits the insert to
 *    find the rows it refuses and dead-letters only those, with the reason.
 *  - `unknown`: anything else. Tried a few times like a retriable one; if it persists it is
 *    treated as permanent (split, dead-letter what still fails) and counted on the alert metric,
 *    so an unforeseen error cannot stop a partition for ever.
 */
export type InsertErrorClass = "retriable" | "permanent" | "unknown";

/** ClickHouse error codes (ErrorCodes.cpp) after which the same insert may well succeed. */
const RETRIABLE_CODES = new Set([
  "3", // UNEXPECTED_END_OF_FILE (a connection cut mid-answer)
  "16", // NO_SUCH_COLUMN_IN_TABLE: the schema is behind (a migration not run yet), not the data
  "60", // UNKNOWN_TABLE: likewise
  "81", // UNKNOWN_DATABASE: likewise
  "159", // TIMEOUT_EXCEEDED
  "164", // READONLY
  "202", // TOO_MANY_SIMULTANEOUS_QUERIES
  "203", // NO_FREE_CONNECTION
  "209", // SOCKET_TIMEOUT
  "210", // NETWORK_ERROR
  "236", // ABORTED
  "241", // MEMORY_LIMIT_EXCEEDED
  "242", // TABLE_IS_READ_ONLY
  "243", // NOT_ENOUGH_SPACE
  "252", // TOO_MANY_PARTS (merges catch up) — unless it says "partitions", see below
  "279", // ALL_CONNECTION_TRIES_FAILED
  "285", // TOO_FEW_LIVE_REPLICAS
  "319", // UNKNOWN_STATUS_OF_INSERT
  "394", // QUERY_WAS_CANCELLED
  "425", // SYSTEM_ERROR
  "497", // ACCESS_DENIED (grants are fixed by people, not by dropping data)
  "516", // AUTHENTICATION_FAILED
  "999", // KEEPER_EXCEPTION
]);

/** Codes that say the data itself is what ClickHouse refuses. */
const PERMANENT_CODES = new Set([
  "6", // CANNOT_PARSE_TEXT
  "26", // CANNOT_PARSE_QUOTED_STRING
  "27", // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  "32", // ATTEMPT_TO_READ_AFTER_EOF (a truncated row)
  "38", // CANNOT_PARSE_DATE
  "41", // CANNOT_PARSE_DATETIME
  "53", // TYPE_MISMATCH
  "69", // ARGUMENT_OUT_OF_BOUND
  "70", // CANNOT_CONVERT_TYPE
  "72", // CANNOT_PARSE_NUMBER
  "117", // INCORRECT_DATA
  "131", // TOO_LARGE_STRING_SIZE
  "321", // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  "376", // CANNOT_PARSE_UUID
  "691", // UNKNOWN_ELEMENT_OF_ENUM
]);

/** Node's socket errors: the connection, not the rows. */
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);
const NETWORK_MESSAGE = /socket hang up|timeout|timed out|connection (reset|refused|closed)|network/i;

export function classifyInsertError(e: unknown): InsertErrorClass {
  const err = e as { code?: unknown; message?: unknown; cause?: unknown } | null;
  const message = typeof err?.message === "string" ? err.message : String(e);
  // ClickHouse raises "too many partitions for single INSERT block" as TOO_MANY_PARTS (252),
  // the code it also uses for a table behind on merges: the message tells them apart. Splitting
  // the rows is what helps the first; waiting, the second.
  if (/too many partitions for (a )?single insert block/i.test(message)) return "permanent";
  const code = typeof err?.code === "string" || typeof err?.code === "number" ? String(err.code) : undefined;
  if (code !== undefined) {
    if (RETRIABLE_CODES.has(code) || NETWORK_CODES.has(code)) return "retriable";
    if (PERMANENT_CODES.has(code)) return "permanent";
  }
  if (NETWORK_MESSAGE.test(message)) return "retriable";
  // A wrapped error (a client's own type around the server's): classify what it wraps.
  if (err?.cause !== undefined && err.cause !== e) {
    const inner = classifyInsertError(err.cause);
    if (inner !== "unknown") return inner;
  }
  return "unknown";
}

/** The reason a dead letter carries: the error's first line, without the stack, bounded. */
export function insertErrorReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  const first = message.split("\n")[0] ?? message;
  return `clickhouse refused the row${code === undefined ? "" : ` (code ${String(code)})`}: ${first}`.slice(0, 900);
}
