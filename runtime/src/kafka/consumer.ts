import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { BatchHandler, BusBatch, BusMessage, SubscribeOptions } from "../bus.ts";
import type { Logger } from "../logger.ts";
import { sleep } from "./client.ts";
import { type DeadLetter, PoisonMessageError } from "./dead-letters.ts";
import { lineBytes, PACKED_CONTENT_TYPE, PACKED_KEYS_HEADER, unpackRecord } from "./packed-records.ts";

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5_000;

/** Where a message came from: what the loader derives dedup tokens and watermarks from. */
export interface KafkaBusMessage<T = unknown> extends BusMessage<T> {
  partition: number;
  /** Kafka offsets are int64: kept as decimal strings, compared as BigInt. */
  offset: string;
  /** Position inside a packed record (which shares one offset); absent for a plain record. */
  index?: number;
}

/** A batch from one partition, offsets contiguous except for dead-lettered messages. */
export interface KafkaBusBatch<T = unknown> extends BusBatch<T> {
  messages: KafkaBusMessage<T>[];
  partition: number;
  firstOffset: string;
  lastOffset: string;
}

export function isKafkaBatch<T>(batch: BusBatch<T>): batch is KafkaBusBatch<T> {
  return typeof (batch as Partial<KafkaBusBatch<T>>).partition === "number";
}

export interface KafkaSubscribeOptions<T> extends SubscribeOptions<T> {
  /**
   * Hand the handler each record's value bytes (a Buffer) instead of parsed JSON, packed
   * records not unpacked: for reading DLQs.
   */
  raw?: boolean;
  /** Called after each slice was handled and its offsets committed (metrics, tests). */
  onCommitted?: (batch: KafkaBusBatch<T>) => void;
}

/** What a consumer needs from its bus: somewhere to send dead letters. */
export type DeadLetterSink = (topic: string, partition: number, dead: DeadLetter[]) => Promise<void>;

/**
 * One consumer-group member on `topic`: hands the handler batches from one partition and
 * commits their offsets only after the handler resolved (at-least-once; handlers make their
 * writes idempotent). Undecodable messages go to the dead-letter sink instead of the handler.
 * Returns the running consumer (disconnect() waits for its batch in flight).
 */
export async function startConsumer<T>(
  kafka: Kafka,
  topic: string,
  group: string,
  handler: BatchHandler<T>,
  options: KafkaSubscribeOptions<T> & { concurrency: number },
  deps: { logger: Logger; deadLetter: DeadLetterSink; onCreated: (consumer: Consumer) => void },
): Promise<Consumer> {
  const log = deps.logger;
  const maxBatch = options.maxBatchMessages ?? 50_000;
  const consumer = kafka.consumer({
    groupId: group,
    allowAutoTopicCreation: false,
    // Let the broker gather up to ~maxBatch events (about 400 bytes each) or maxWaitMs.
    minBytes: Math.min(maxBatch * 400, 4 * 1024 * 1024),
    maxWaitTimeInMs: options.maxWaitMs ?? 250,
    maxBytesPerPartition: Math.max(1024 * 1024, Math.min(maxBatch * 600, 32 * 1024 * 1024)),
    maxBytes: 64 * 1024 * 1024,
    // A loader that died (SIGKILL, lost host) keeps its partitions until its session
    // expires: short, so a restart or a peer takes over within seconds.
    sessionTimeout: 10_000,
    rebalanceTimeout: 30_000,
    heartbeatInterval: 1_000,
    retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: Number.MAX_SAFE_INTEGER },
  });
  // Known to the bus before connecting, so a close() meanwhile still disconnects it.
  deps.onCreated(consumer);
  consumer.on(consumer.events.CRASH, (e) => {
    log.error({ err: e.payload.error, restart: e.payload.restart }, "kafka consumer crashed");
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.concurrency,
    eachBatch: (payload) => handleBatch(payload, consumer, handler, options, maxBatch, log, deps.deadLetter),
  });
  return consumer;
}

async function handleBatch<T>(
  payload: EachBatchPayload,
  consumer: Consumer,
  handler: BatchHandler<T>,
  options: KafkaSubscribeOptions<T>,
  maxBatch: number,
  log: Logger,
  deadLetter: DeadLetterSink,
): Promise<void> {
  const { batch, resolveOffset, heartbeat, isRunning, isStale, pause } = payload;
  const { topic, partition } = batch;
  // Slices of about maxBatch bus messages; a packed record is never split (a slice may run
  // over by less than one record), so a slice always ends on a whole offset.
  let next = 0;
  while (next < batch.messages.length) {
    if (!isRunning() || isStale()) return;
    const good: KafkaBusMessage<T>[] = [];
    const dead: DeadLetter[] = [];
    const start = next;
    while (next < batch.messages.length && (next === start || good.length + dead.length < maxBatch)) {
      decodeRecord(batch.messages[next++] as KafkaMessage, partition, options, good, dead);
    }
    const first = batch.messages[start];
    const last = batch.messages[next - 1];
    if (!first || !last) continue;
    const slice: KafkaBusBatch<T> = {
      topic,
      partition,
      firstOffset: first.offset,
      lastOffset: last.offset,
      messages: good,
    };
    // Retry until it works or the partition is taken from us: nothing is skipped. The
    // partition is paused meanwhile, so no more of it is fetched while we cannot keep up.
    let resume: (() => void) | null = null;
    let deadLettered = dead.length === 0;
    let handled = good.length === 0;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!deadLettered) {
          await deadLetter(topic, partition, dead);
          deadLettered = true;
        }
        if (!handled) {
          // Messages the handler can never handle (rows ClickHouse refuses, say) go to the DLQ
          // like undecodable ones, with their original bytes, and the slice is done: one bad
          // message must not stop its partition. The handler is not called again for them.
          const refused = (await handler(slice))?.deadLetters ?? [];
          handled = true;
          if (refused.length > 0) {
            dead.length = 0;
            for (const d of refused) {
              const m = slice.messages[d.index];
              if (m) dead.push(originOf(batch.messages, start, next, m, d.reason));
            }
            deadLettered = dead.length === 0;
            if (!deadLettered) {
              await deadLetter(topic, partition, dead);
              deadLettered = true;
            }
          }
        }
        break;
      } catch (e) {
        if (!isRunning() || isStale()) return;
        resume ??= pause();
        const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);
        log.warn({ err: e, partition, attempt, delay, offsets: [first.offset, last.offset] }, "batch failed, retrying");
        await sleep(delay);
        await heartbeat().catch(() => undefined);
      }
    }
    resume?.();
    resolveOffset(last.offset);
    // Commit only now: the handler's writes landed. A crash before this line replays the
    // slice, which the handler must tolerate (the loader's writes are idempotent).
    await consumer.commitOffsets([{ topic, partition, offset: (BigInt(last.offset) + 1n).toString() }]);
    await heartbeat().catch(() => undefined);
    options.onCommitted?.(slice);
  }
}

/**
 * The dead letter for a message the handler refused: its record (found by offset among the
 * slice's records) and, for one message of a packed record, its own bytes and position. Only
 * refused messages pay for this search; the decoding path keeps nothing per message.
 */
function originOf<T>(
  records: KafkaMessage[],
  from: number,
  to: number,
  m: KafkaBusMessage<T>,
  error: string,
): DeadLetter {
  let record = records[from] as KafkaMessage;
  for (let i = from; i < to; i++) {
    if ((records[i] as KafkaMessage).offset === m.offset) {
      record = records[i] as KafkaMessage;
      break;
    }
  }
  if (m.index === undefined) return { message: record, error };
  const value = record.value ?? Buffer.alloc(0);
  return { message: record, error, part: { key: m.key, value: lineBytes(value, m.index), index: m.index } };
}

/**
 * One record into bus messages (`good`) and dead letters: a plain record is one message; a
 * packed one is decoded message by message, so one bad message is dead-lettered alone (its
 * own bytes, its index) and its neighbours go on. A packed record whose framing is broken
 * goes to the DLQ whole.
 */
function decodeRecord<T>(
  m: KafkaMessage,
  partition: number,
  options: KafkaSubscribeOptions<T>,
  good: KafkaBusMessage<T>[],
  dead: DeadLetter[],
): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = String(v);
  // Raw readers (of DLQs, say) get every record's bytes as they are, packed or not.
  if (options.raw || headers["content-type"] !== PACKED_CONTENT_TYPE) {
    try {
      const decoded = decodeValue(m.value, options);
      good.push({ key: m.key?.toString("utf8") ?? "", value: decoded, headers, partition, offset: m.offset });
    } catch (e) {
      dead.push({ message: m, error: e instanceof Error ? e.message : String(e) });
    }
    return;
  }
  // The messages' own headers: the record's, less the packing.
  const { "content-type": _type, [PACKED_KEYS_HEADER]: keysHeader, ...own } = headers;
  const value = m.value ?? Buffer.alloc(0);
  const unpacked = unpackRecord(keysHeader, value);
  if (!unpacked) {
    dead.push({ message: m, error: `packed record: ${PACKED_KEYS_HEADER} does not name one key per line` });
    return;
  }
  const { keys, lines } = unpacked;
  for (let index = 0; index < lines.length; index++) {
    const key = keys[index] as string;
    try {
      const decoded = decodeText(lines[index] as string, options);
      good.push({ key, value: decoded, headers: own, partition, offset: m.offset, index });
    } catch (e) {
      dead.push({
        message: m,
        error: e instanceof Error ? e.message : String(e),
        part: { key, value: lineBytes(value, index), index },
      });
    }
  }
}

function decodeValue<T>(value: Buffer | null, options: KafkaSubscribeOptions<T>): T {
  if (options.raw) return (value ?? Buffer.alloc(0)) as T;
  if (value === null) throw new PoisonMessageError("message has no value");
  return decodeText(value.toString("utf8"), options);
}

function decodeText<T>(text: string, options: KafkaSubscribeOptions<T>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new PoisonMessageError(`value is not JSON: ${(e as Error).message}`);
  }
  return options.decode ? options.decode(parsed) : (parsed as T);
}
