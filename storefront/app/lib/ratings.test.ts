import { AGE_RATINGS as CONTRACT_RATINGS } from "@marquee/contracts";
import { expect, it } from "vitest";
import { AGE_RATINGS } from "./ratings";

it("mirrors contracts' age ratings, in order", () => {
  expect([...AGE_RATINGS]).toEqual([...CONTRACT_RATINGS]);
});
