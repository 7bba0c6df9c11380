import { describe, expect, it } from "vitest";
import { returnOrigin } from "./return-origin.ts";

describe("returnOrigin: where checkout sends the browser back", () => {
  it("keeps a local viewer on the loopback name they used (so their session cookie is still sent)", () => {
    const configured = "http://localhost:3000";
    expect(returnOrigin("127.0.0.1:3000", configured)).toBe("http://127.0.0.1:3000");
    expect(returnOrigin("localhost:3000", configured)).toBe("http://localhost:3000");
    expect(returnOrigin("[::1]:3000", configured)).toBe("http://[::1]:3000");
    expect(returnOrigin("LOCALHOST:3000", configured)).toBe("http://localhost:3000");
    expect(returnOrigin("127.0.0.1:3000", "http://127.0.0.1:3000/")).toBe("http://127.0.0.1:3000");
    expect(returnOrigin("localhost:3000", "http://127.0.0.1:3000")).toBe("http://localhost:3000");
  });

  it("never follows a Host it does not know: another host, another port, a configured public address", () => {
    expect(returnOrigin("evil.example:3000", "http://localhost:3000")).toBe("http://localhost:3000");
    expect(returnOrigin("127.0.0.1:4000", "http://localhost:3000")).toBe("http://localhost:3000");
    expect(returnOrigin("127.0.0.1:3000@evil.example", "http://localhost:3000")).toBe("http://localhost:3000");
    expect(returnOrigin(undefined, "http://localhost:3000")).toBe("http://localhost:3000");
    expect(returnOrigin("", "http://localhost:3000")).toBe("http://localhost:3000");
    // A real domain: only itself, whatever the Host says (a proxy may pass anything on).
    expect(returnOrigin("127.0.0.1:3000", "https://store.example.com")).toBe("https://store.example.com");
    expect(returnOrigin("evil.example", "https://store.example.com")).toBe("https://store.example.com");
    expect(returnOrigin("store.example.com", "https://store.example.com")).toBe("https://store.example.com");
  });
});
