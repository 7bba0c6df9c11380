import { describe, expect, it } from "vitest";
import { z } from "zod";
import { describeIssues, issueMessages } from "./issues.ts";

const Schema = z.object({
  a: z.number(),
  b: z.string(),
  c: z.object({ d: z.array(z.number().int()) }),
  e: z.boolean(),
  f: z.boolean(),
  g: z.boolean(),
});
const bad = Schema.safeParse({ a: "x", b: 1, c: { d: [1, 1.5] } });

describe("issue formatting", () => {
  it("names the path of each issue, dotted, array indexes included", () => {
    expect(bad.success).toBe(false);
    if (bad.success) return;
    const lines = issueMessages(bad.error);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^a: /);
    expect(lines[2]).toMatch(/^c\.d\.1: /);
  });

  it("leaves the path out for an issue about the whole value", () => {
    const whole = z.string().safeParse(3);
    expect(whole.success).toBe(false);
    if (!whole.success) expect(issueMessages(whole.error)).toEqual([whole.error.issues[0]?.message]);
  });

  it("joins at most the first five into one reason, or as many as asked", () => {
    if (bad.success) return;
    const reason = describeIssues(bad.error);
    expect(reason.split("; ")).toEqual(issueMessages(bad.error).slice(0, 5));
    expect(describeIssues(bad.error, 1)).toBe(issueMessages(bad.error)[0]);
  });
});
