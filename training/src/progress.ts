/** How fits report progress: a message and structured fields (logged, or written to stderr). */
export type Progress = (msg: string, fields?: Record<string, unknown>) => void;

/**
 * A progress ticker for a loop of `total` steps: `tick(done)` logs `what` with done/total,
 * elapsed seconds and an ETA (elapsed × remaining / done) at most every `everyMs` (and at the
 * end), so a long fit says how long it has left without flooding the log.
 */
export function progressWithEta(
  progress: Progress | undefined,
  what: string,
  total: number,
  everyMs = 5000,
): (done: number) => void {
  if (!progress) return () => undefined;
  const started = performance.now();
  let last = started;
  return (done: number) => {
    const now = performance.now();
    if (done < total && now - last < everyMs) return;
    last = now;
    const elapsed = (now - started) / 1000;
    progress(what, {
      done,
      total,
      seconds: Math.round(elapsed * 10) / 10,
      eta_seconds: done > 0 ? Math.round((elapsed * (total - done)) / done) : null,
      rss_mb: Math.round(process.memoryUsage.rss() / 2 ** 20),
    });
  };
}

/** The process's peak resident set so far, MiB (what a fit cost in memory, with what ran before it). */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
