import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { type ByteRange, contentTypeOf, type MediaStorage, type StoredObject, storageKey } from "./storage.ts";

export interface S3StorageOptions {
  /** e.g. `http://127.0.0.1:8333` (SeaweedFS, MinIO, Ceph) or an AWS region's endpoint. */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  /** Keys under this prefix only (several stores can share a bucket). */
  prefix?: string;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NotFound" || e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
}

/**
 * S3-compatible object storage (scaled mode): every media process and the origins share one
 * bucket. Objects are written whole (a PUT is atomic: readers see the old object or the new
 * one), read as streams with ranges passed through to S3, and listed page by page.
 */
export class S3Storage implements MediaStorage {
  readonly kind = "s3" as const;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3StorageOptions) {
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
    });
    this.bucket = options.bucket;
    this.prefix = options.prefix ? `${options.prefix.replace(/\/+$/, "")}/` : "";
  }

  private k(key: string): string {
    return `${this.prefix}${storageKey(key)}`;
  }

  /** Create the bucket if it is not there (idempotent). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (!isMissing(err)) throw err;
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
  }

  async putFile(key: string, file: string): Promise<void> {
    const { size } = await stat(file);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.k(key),
        Body: createReadStream(file),
        ContentLength: size,
        ContentType: contentTypeOf(key),
      }),
    );
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.k(key), Body: body, ContentType: contentTypeOf(key) }),
    );
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
      return {
        size: Number(h.ContentLength ?? 0),
        etag: h.ETag ?? `"${Number(h.LastModified ?? 0).toString(36)}-${Number(h.ContentLength ?? 0).toString(36)}"`,
        modified: h.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const r = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.k(key),
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
    if (!r.Body) throw new Error(`empty body for ${key}`);
    return r.Body instanceof Readable ? r.Body : Readable.fromWeb(r.Body.transformToWebStream() as never);
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const base = this.k(prefix.replace(/\/+$/, ""));
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${base}/`, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key.slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    const keys = await this.list(prefix);
    for (let i = 0; i < keys.length; i += 1000) {
      await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((k) => ({ Key: this.k(k) })), Quiet: true },
        }),
      );
    }
  }

  close(): void {
    this.client.destroy();
  }
}
