import { createHash, randomBytes } from "node:crypto";

const BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz";

/**
 * `<prefix>_` + 20 random base36 characters (~103 bits). Matches contracts' IdSchema, so the
 * ids travel safely through URLs, Kafka keys and ClickHouse.
 */
export function newId(prefix: string): string {
  const bytes = randomBytes(20);
  let id = `${prefix}_`;
  for (const b of bytes) id += BASE36[b % 36];
  return id;
}

/** A bearer secret for a cookie or an app: 32 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}
