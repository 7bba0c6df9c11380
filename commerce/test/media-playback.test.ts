import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Commerce } from "../src/commerce.ts";
import type { LocalGateway } from "../src/payments/local-gateway.ts";
import { entitlements, watchProgress } from "../src/schema.ts";
import { addTitles, type Db, film, localStore, openPglite, TestClock, viewer } from "./support.ts";

const URLS = { successUrl: "http://store.test/orders/{ORDER_ID}", cancelUrl: "http://store.test/" };

/**
 * What media calls with the ids its signed links carry (no session there): the key request
 * starts a rental's clock, heartbeats check, progress is saved; commerce's rules decide.
 */
describe("playback for media's signed links", () => {
  let env: { pg: Db; drop: () => Promise<void> };
  const clock = new TestClock();
  let commerce: Commerce;
  let gateway: LocalGateway;

  beforeAll(async () => {
    env = await openPglite();
    await addTitles(env.pg, [film("m1"), film("m2"), film("m-adult", { age_rating: "R" })]);
    ({ commerce } = localStore(env.pg, clock));
    gateway = commerce.gateway as LocalGateway;
  });
  afterAll(() => env?.drop());

  const acquire = async (v: Parameters<Commerce["checkout"]["create"]>[0], titleId: string, kind: "buy" | "rent") => {
    const co = await commerce.checkout.create(v, { items: [{ title_id: titleId, kind, quality: "HD" }] }, URLS);
    await gateway.pay(co.checkout_url?.split("/").pop() ?? "");
    return (await commerce.library.authorizePlayback(v, titleId)).entitlement_id;
  };
  const holderOf = (v: { userId: string; profile: { id: string } }) => ({ userId: v.userId, profileId: v.profile.id });

  it("the first key request opens a rental's 48 h window; later ones answer the same start; it ends on time", async () => {
    const { viewer: v } = await viewer(commerce);
    const ent = await acquire(v, "m1", "rent");
    await expect(commerce.library.checkPlayback(ent, "m1", holderOf(v))).resolves.toEqual({ expires_at: null });
    const first = await commerce.library.startPlayback(ent, "m1", holderOf(v));
    expect(first.kind).toBe("rent");
    expect(new Date(first.expires_at ?? 0).getTime() - clock.now().getTime()).toBe(48 * 3_600_000);
    clock.advanceHours(1);
    await expect(commerce.library.startPlayback(ent, "m1", holderOf(v))).resolves.toEqual(first);
    clock.advanceHours(48);
    await expect(commerce.library.startPlayback(ent, "m1", holderOf(v))).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining("watch window"),
    });
    await expect(commerce.library.checkPlayback(ent, "m1", holderOf(v))).rejects.toMatchObject({ status: 403 });
  });

  it("refuses another account's entitlement, another title, a refunded one and a kids' profile above its limit", async () => {
    const { viewer: v } = await viewer(commerce);
    const { viewer: other } = await viewer(commerce);
    const ent = await acquire(v, "m2", "buy");
    await expect(commerce.library.startPlayback(ent, "m2", holderOf(other))).rejects.toMatchObject({ status: 404 });
    await expect(commerce.library.startPlayback(ent, "m1", holderOf(v))).rejects.toMatchObject({ status: 404 });
    // Another account's profile with the right user id is refused too.
    await expect(
      commerce.library.startPlayback(ent, "m2", { userId: v.userId, profileId: other.profile.id }),
    ).rejects.toMatchObject({ status: 403 });

    const adult = await acquire(v, "m-adult", "buy");
    const kids = await commerce.accounts.createProfile(v, {
      name: "Kid",
      kind: "kids",
      max_age_rating: "PG",
      pin: "1234",
    });
    await expect(
      commerce.library.startPlayback(adult, "m-adult", { userId: v.userId, profileId: kids.id }),
    ).rejects.toMatchObject({ status: 403, message: expect.stringContaining("age limit") });
    await expect(commerce.library.startPlayback(adult, "m-adult", holderOf(v))).resolves.toMatchObject({ kind: "own" });

    const { viewer: r } = await viewer(commerce);
    const refunded = await acquire(r, "m2", "buy");
    await commerce.library.refund(r, refunded);
    await expect(commerce.library.startPlayback(refunded, "m2", holderOf(r))).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining("refunded"),
    });
  });

  it("saves watch progress for the link's profile, and a position past the start counts as played", async () => {
    const { viewer: v } = await viewer(commerce);
    const ent = await acquire(v, "m1", "rent");
    await commerce.library.savePlaybackProgress(ent, "m1", holderOf(v), 42.7, 300);
    const [row] = await env.pg.db.select().from(watchProgress).where(eq(watchProgress.profileId, v.profile.id));
    expect(row).toMatchObject({ titleId: "m1", positionS: 42, durationS: 300 });
    const [e] = await env.pg.db.select().from(entitlements).where(eq(entitlements.id, ent));
    expect(e?.firstPlayedAt).not.toBeNull();
    await expect(commerce.library.savePlaybackProgress(ent, "m1", holderOf(v), -1)).rejects.toMatchObject({
      status: 400,
    });
    expect((await commerce.library.authorizePlayback(v, "m1")).resume_at_s).toBe(42);
  });
});
