import { describe, it } from "vitest";

/**
 * A test suite that needs a real service. With its URL unset the suite is skipped locally,
 * but under CI=true a missing service is a failure: CI must always exercise the real thing.
 */
export function serviceSuite(service: string, url: string | undefined, body: (url: string) => void): void {
  if (url) {
    describe(`${service} (${new URL(url).host})`, () => body(url));
    return;
  }
  if (process.env.CI === "true") {
    describe(service, () => {
      it(`needs ${service}: its URL is unset under CI=true`, () => {
        throw new Error(`${service} suite skipped in CI: set its URL (see .ci/run)`);
      });
    });
    return;
  }
  describe.skip(`${service} (URL unset, skipped)`, () => body(""));
}
