import { httpErrorHandler } from "@marquee/runtime";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { authRateLimit } from "./auth-rate-limit.ts";

function app(perMinute: number) {
  const a = Fastify();
  a.setErrorHandler(httpErrorHandler);
  authRateLimit(a, perMinute);
  for (const path of ["/api/v1/auth/signin", "/api/v1/auth/signup", "/signin", "/signup", "/checkout"])
    a.post(path, async () => ({ ok: true }));
  a.get("/signin", async () => ({ page: true }));
  return a;
}

describe("sign-up and sign-in attempts per client", () => {
  it("answers 429 with Retry-After past the limit, counting the API and the storefront together", async () => {
    const a = app(3);
    const post = (url: string, ip = "10.0.0.1") => a.inject({ method: "POST", url, remoteAddress: ip });
    expect((await post("/api/v1/auth/signin")).statusCode).toBe(200);
    expect((await post("/signin?index")).statusCode).toBe(200);
    expect((await post("/api/v1/auth/signup")).statusCode).toBe(200);
    const over = await post("/signup");
    expect(over.statusCode).toBe(429);
    expect(Number(over.headers["retry-after"])).toBeGreaterThan(0);
    expect(over.json()).toMatchObject({ error: { code: "rate_limited" } });
    // Other clients, other routes and page loads are not affected.
    expect((await post("/api/v1/auth/signin", "10.0.0.2")).statusCode).toBe(200);
    expect((await post("/checkout")).statusCode).toBe(200);
    expect((await a.inject({ method: "GET", url: "/signin", remoteAddress: "10.0.0.1" })).statusCode).toBe(200);
  });

  it("is off at 0", async () => {
    const a = app(0);
    for (let i = 0; i < 10; i++)
      expect((await a.inject({ method: "POST", url: "/signin", remoteAddress: "10.0.0.1" })).statusCode).toBe(200);
  });
});
