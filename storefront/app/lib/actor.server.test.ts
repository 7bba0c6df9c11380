import { ANONYMOUS_ID_PATTERN, isAccountId } from "@marquee/contracts";
import type { AppLoadContext } from "@remix-run/node";
import { describe, expect, it } from "vitest";
import { getActor, newAnonymousId } from "./actor.server";

const req = (cookie?: string) => new Request("http://localhost/", cookie ? { headers: { cookie } } : {});
const context = () => ({}) as AppLoadContext;

describe("anonymous visitor ids", () => {
  it("are minted random, of the anonymous shape, never an account's", () => {
    const ids = Array.from({ length: 200 }, newAnonymousId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(ANONYMOUS_ID_PATTERN);
      expect(isAccountId(id)).toBe(false);
    }
  });

  it("keep a minted cookie, and replace one naming an account with a fresh id", () => {
    expect(getActor(req("mq_anon=a_abcdefghij0123456789"), context())).toEqual({
      id: "a_abcdefghij0123456789",
      setCookie: null,
    });
    const planted = getActor(req("mq_anon=u_victimvictimvictimvi"), context());
    expect(planted.id).toMatch(ANONYMOUS_ID_PATTERN);
    expect(planted.setCookie).toMatch(/^mq_anon=a_/);
  });
});
