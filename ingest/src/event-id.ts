/**
 * The id the collector fills in for an event that came without one: contracts' UUIDv7, whose
 * random words come from a pool rather than one `getRandomValues` call per id (ADR 006).
 */
export { newUuidV7 as newEventId } from "@marquee/contracts";
