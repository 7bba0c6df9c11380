import type { Reporter } from "vitest/reporters";

/** The slice of Vitest's task tree (`File` / `Suite` / `Test`) this reporter reads. */
interface TaskLike {
  type: string;
  mode?: string;
  result?: { state?: string };
  tasks?: TaskLike[];
}

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Counts individual tests. A file or suite that failed with no failing test inside it (a
 * syntax error, a throwing `beforeAll`) counts as one failure, so the line never says
 * "0 failed" for a run that failed.
 */
export function countTests(tasks: readonly TaskLike[]): TestCounts {
  const counts: TestCounts = { passed: 0, failed: 0, skipped: 0 };
  const walk = (task: TaskLike): number => {
    if (task.type === "test") {
      const state = task.result?.state;
      if (state === "pass") counts.passed++;
      else if (state === "fail") counts.failed++;
      else counts.skipped++; // skip, todo, or never ran
      return state === "fail" ? 1 : 0;
    }
    let failedInside = 0;
    for (const child of task.tasks ?? []) failedInside += walk(child);
    if (task.result?.state === "fail" && failedInside === 0) {
      counts.failed++;
      return 1;
    }
    return failedInside;
  };
  for (const task of tasks) walk(task);
  return counts;
}

export function summaryLine({ passed, failed, skipped }: TestCounts): string {
  return `tests: ${passed} passed, ${failed} failed, ${skipped} skipped`;
}

/**
 * Prints one last line for the whole run, e.g. `tests: 42 passed, 0 failed, 3 skipped`, for
 * CI logs and scripts to grep. It uses `onFinished` (not `onTestRunEnd`) on purpose: Vitest
 * 3.2 calls every reporter's `onTestRunEnd` before the default reporter prints its summary in
 * `onFinished`, and this line must come after that summary.
 */
export default class SummaryReporter implements Reporter {
  onFinished(files: readonly TaskLike[] = []): void {
    process.stdout.write(`${summaryLine(countTests(files))}\n`);
  }
}
