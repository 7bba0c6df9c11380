import kafkajs, { CompressionTypes, Kafka, logLevel } from "kafkajs";
import { compressFrame, decompressFrame } from "lz4-napi";
import type { Logger } from "../logger.ts";

// kafkajs ships gzip only and takes other codecs by registration. LZ4 (frame format, independent
// 64 KiB blocks: what Kafka's own clients write) costs a fraction of gzip's CPU on both ends and
// in the broker, which decompresses every batch to validate it; lz4-napi runs it off the JS thread.
// (CompressionCodecs is read off the CommonJS module: Node's ESM import cannot name it.)
kafkajs.CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
  decompress: (buffer: Buffer) => decompressFrame(buffer),
});

export type KafkaCompression = "lz4" | "gzip" | "none";

export function compressionType(compression: KafkaCompression | undefined): CompressionTypes {
  switch (compression ?? "lz4") {
    case "none":
      return CompressionTypes.None;
    case "gzip":
      return CompressionTypes.GZIP;
    default:
      return CompressionTypes.LZ4;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...extra } = log;
      const obj = { kafka: extra };
      if (level === logLevel.ERROR) logger.error(obj, message);
      else if (level === logLevel.WARN) logger.warn(obj, message);
      else if (level === logLevel.INFO) logger.debug(obj, message);
    };
}

/** The kafkajs client, its logs into ours (kafkajs's INFO chatter at debug). */
export function createKafkaClient(options: { brokers: string[]; clientId?: string; logger: Logger }): Kafka {
  return new Kafka({
    clientId: options.clientId ?? "marquee",
    brokers: options.brokers,
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator(options.logger),
    retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: 8 },
  });
}
