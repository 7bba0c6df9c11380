import { describe, expect, it } from "vitest";
import { formatBps, formatPrice, formatRuntime } from "./format";

describe("formatPrice", () => {
  it("turns minor units into a currency string", () => {
    expect(formatPrice(399, "USD")).toBe("$3.99");
    expect(formatPrice(1800, "USD")).toBe("$18.00");
    expect(formatPrice(0, "EUR")).toBe("€0.00");
  });

  it("respects currencies without minor units", () => {
    expect(formatPrice(500, "JPY")).toBe("¥500");
  });
});

describe("formatRuntime", () => {
  it("writes hours and minutes", () => {
    expect(formatRuntime(45)).toBe("45m");
    expect(formatRuntime(120)).toBe("2h");
    expect(formatRuntime(128)).toBe("2h 8m");
  });
});

describe("formatBps", () => {
  it("writes basis points as a percentage", () => {
    expect(formatBps(1500)).toBe("15 %");
    expect(formatBps(1250)).toBe("12.5 %");
    expect(formatBps(0)).toBe("0 %");
  });
});
