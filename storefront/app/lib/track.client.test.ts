import { describe, expect, it } from "vitest";
import { detectDevice } from "./track.client";

describe("detectDevice", () => {
  const cases: Array<[string, number, boolean, string]> = [
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", 390, true, "phone"],
    ["Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120 Mobile Safari/537.36", 412, true, "phone"],
    ["Mozilla/5.0 (Linux; Android 13; SM-X700) Chrome/120 Safari/537.36", 800, true, "tablet"],
    ["Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X)", 820, true, "tablet"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15", 1024, true, "tablet"],
    ["Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) SamsungBrowser/4.0 TV Safari/537.36", 1920, false, "tv"],
    ["Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 Chrome/87", 1920, false, "tv"],
    ["Mozilla/5.0 (X11; Linux x86_64) Chrome/120 Safari/537.36", 1440, false, "desktop"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120 Safari/537.36", 1920, false, "desktop"],
  ];
  it.each(cases)("%s → %s", (ua, width, coarse, expected) => {
    expect(detectDevice(ua, width, coarse)).toBe(expected);
  });
});
