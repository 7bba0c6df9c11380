import path from "node:path";
import type { Config } from "@marquee/runtime";
import { S3Storage } from "./s3-storage.ts";
import { LocalStorage, type MediaStorage } from "./storage.ts";

/**
 * Media storage from config, the one place that chooses: S3-compatible object storage when
 * MEDIA_S3_URL is set (scaled mode: every worker and origin shares the bucket, created if
 * missing), else files under $DATA_DIR/media (embedded mode).
 */
export async function createMediaStorage(
  config: Pick<
    Config,
    "dataDir" | "MEDIA_S3_URL" | "MEDIA_S3_BUCKET" | "MEDIA_S3_REGION" | "MEDIA_S3_ACCESS_KEY" | "MEDIA_S3_SECRET_KEY"
  >,
): Promise<MediaStorage & { close?: () => void }> {
  if (!config.MEDIA_S3_URL) return new LocalStorage(path.join(config.dataDir, "media"));
  if (!config.MEDIA_S3_ACCESS_KEY || !config.MEDIA_S3_SECRET_KEY)
    throw new Error("MEDIA_S3_URL is set: set MEDIA_S3_ACCESS_KEY and MEDIA_S3_SECRET_KEY too");
  const storage = new S3Storage({
    endpoint: config.MEDIA_S3_URL,
    bucket: config.MEDIA_S3_BUCKET,
    region: config.MEDIA_S3_REGION,
    accessKeyId: config.MEDIA_S3_ACCESS_KEY,
    secretAccessKey: config.MEDIA_S3_SECRET_KEY,
  });
  await storage.ensureBucket();
  return storage;
}
