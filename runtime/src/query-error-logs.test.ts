import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withoutQueryValues } from "./errors.ts";
import { httpErrorHandler } from "./http.ts";
import { createLogger } from "./logger.ts";
import { createPostgres, type PostgresHandle } from "./postgres.ts";

/** A logger whose lines are kept for the test to read. */
function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ service: "test", level: "debug", destination }), lines };
}

const EMAIL = "ada.lovelace@example.com";
const HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

describe("a failed query's values never reach the log", () => {
  let pg: PostgresHandle<Record<string, never>>;
  beforeAll(async () => {
    pg = await createPostgres({ DATABASE_URL: undefined, dataDir: "" }, {}, { inMemory: true });
    await pg.db.execute(sql`create table accounts (email text primary key, password_hash text not null)`);
    await pg.db.execute(sql`insert into accounts values (${EMAIL}, ${HASH})`);
  });
  afterAll(() => pg?.close());

  const failedQuery = async () => {
    try {
      // A duplicate key: drizzle's message lists the params, Postgres's detail repeats the key.
      await pg.db.execute(sql`insert into accounts values (${EMAIL}, ${HASH})`);
    } catch (err) {
      return err;
    }
    throw new Error("the query did not fail");
  };

  it("logs the statement and the SQLSTATE, not the e-mail or the hash", async () => {
    const err = await failedQuery();
    expect(String((err as Error).message)).toContain(EMAIL); // what drizzle hands over
    const { logger, lines } = capturedLogger();
    logger.error({ err }, "query failed");
    logger.child({ component: "x" }).warn({ error: err }, "again");
    logger.error(err as Error);
    const out = lines.join("");
    expect(lines).toHaveLength(3);
    expect(out).toContain("insert into accounts values ($1, $2)");
    expect(out).toContain("23505");
    expect(out).not.toContain(EMAIL);
    expect(out).not.toContain("ada.lovelace");
    expect(out).not.toContain("argon2id");
  });

  it("keeps them out of the HTTP error handler's log of a 500 too", async () => {
    const { logger, lines } = capturedLogger();
    const app = Fastify({ loggerInstance: logger });
    app.setErrorHandler(httpErrorHandler);
    app.get("/boom", async () => {
      throw await failedQuery();
    });
    const res = await app.inject({ method: "GET", url: "/boom" });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain(EMAIL);
    const out = lines.join("");
    expect(out).toContain("request failed");
    expect(out).not.toContain(EMAIL);
    expect(out).not.toContain("argon2id");
    await app.close();
  });

  it("leaves errors without values as they are", () => {
    const plain = new Error("nothing to hide");
    expect(withoutQueryValues(plain)).toBe(plain);
  });
});
