import { type Interactions, itemDegrees } from "../dataset.ts";
import type { Scorer } from "../eval/metrics.ts";

/** The baseline beside every model: how many users interacted with each item, the same for all. */
export class PopularityScorer implements Scorer {
  readonly name = "popularity";
  readonly scores: Float32Array;

  constructor(train: Interactions) {
    this.scores = Float32Array.from(itemDegrees(train));
  }

  scoreUser(_user: number, out: Float32Array): void {
    out.set(this.scores);
  }
}
