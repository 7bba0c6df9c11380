import { z } from "zod";

/**
 * Ids of users, anonymous visitors, sessions and titles travel through URLs, Kafka keys and
 * ClickHouse keys, so they are kept to a safe alphabet and a bounded length.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const IdSchema = z
  .string()
  .regex(ID_PATTERN, "must be 1-64 characters of letters, digits, '_', '.', ':' or '-'");

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Event ids are UUIDv7 so they sort by creation time; a client may mint its own. */
export const UuidV7Schema = z.string().regex(UUID_V7, "must be a UUIDv7");

/**
 * Actor ids that name an account (`u_…`) or one of its profiles (`p_…`), as commerce mints them
 * (newId("u"), newId("p")): their rows and history are readable only with that account's
 * credentials. Anonymous visitors' ids (`a_…`) never take this form, so the rule is decidable
 * from the id alone.
 */
export const ACCOUNT_ID_PATTERN = /^[up]_/;

/** An anonymous visitor's id as the storefront mints it: `a_` + 20 random base36 characters (~103 bits). */
export const ANONYMOUS_ID_PATTERN = /^a_[0-9a-z]{20}$/;

export function isAccountId(id: string): boolean {
  return ACCOUNT_ID_PATTERN.test(id);
}
