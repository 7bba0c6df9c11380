import type { z } from "zod";

/**
 * zod issues as readable lines, "payload.value: must be in steps of 0.5" (the path is left out
 * when the issue is about the whole value): the one wording every 400 body, dead letter and
 * configuration error uses. At most `limit` of them: one bad field in a 500-event batch would
 * otherwise repeat itself for every element that shares it.
 */
export function issueMessages(error: z.ZodError, limit = Number.POSITIVE_INFINITY): string[] {
  return error.issues
    .slice(0, limit)
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join(".")}: ${i.message}` : i.message));
}

/** The first `limit` issues (default 5) in one reason, joined by "; ". */
export function describeIssues(error: z.ZodError, limit = 5): string {
  return issueMessages(error, limit).join("; ") || "invalid input";
}
