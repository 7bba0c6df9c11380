/**
 * Scrubbing thumbnails: a WebVTT file whose cues each point at a tile of a sprite image
 * (`sprite.jpg#xywh=x,y,w,h`), as media's transcoder writes it (and as Mux, JW Player and
 * Bitmovin do). Parsed once per film; looked up on every pointer move over the progress bar.
 */

export interface ThumbnailCue {
  /** Seconds. */
  start: number;
  end: number;
  /** The sprite's absolute URL (without the fragment). */
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** `hh:mm:ss.mmm` or `mm:ss.mmm` → seconds; NaN when it is not a VTT timestamp. */
function seconds(stamp: string): number {
  const m = /^(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?$/.exec(stamp.trim());
  if (!m) return Number.NaN;
  const [, h, min, s, ms] = m;
  return Number(h ?? 0) * 3600 + Number(min) * 60 + Number(s) + Number((ms ?? "0").padEnd(3, "0")) / 1000;
}

/**
 * The cues of a thumbnail VTT, sorted by start. Sprite paths are resolved against `base` (the
 * VTT's own URL). Cues without a usable `#xywh` tile are skipped rather than failing the map.
 */
export function parseThumbnailsVtt(text: string, base: string): ThumbnailCue[] {
  const cues: ThumbnailCue[] = [];
  const blocks = text.replace(/\r\n?/g, "\n").split(/\n{2,}/);
  for (const block of blocks) {
    const lines = block.split("\n").filter((l) => l.trim() !== "");
    const timing = lines.findIndex((l) => l.includes("-->"));
    if (timing < 0) continue;
    const [from, rest] = (lines[timing] as string).split("-->");
    const start = seconds(from ?? "");
    const end = seconds((rest ?? "").trim().split(/\s+/)[0] ?? "");
    const target = lines[timing + 1]?.trim();
    if (!target || !Number.isFinite(start) || !Number.isFinite(end) || end <= start) continue;
    const hash = target.lastIndexOf("#xywh=");
    if (hash < 0) continue;
    const box = target
      .slice(hash + 6)
      .split(",")
      .map((n) => Number(n));
    if (box.length !== 4 || box.some((n) => !Number.isFinite(n) || n < 0)) continue;
    const [x, y, w, h] = box as [number, number, number, number];
    if (w === 0 || h === 0) continue;
    let url: string;
    try {
      url = new URL(target.slice(0, hash), base).href;
    } catch {
      continue;
    }
    cues.push({ start, end, url, x, y, w, h });
  }
  return cues.sort((a, b) => a.start - b.start);
}

/** The cue showing at `time` (binary search; cues are sorted and do not overlap), or null. */
export function thumbnailAt(cues: ThumbnailCue[], time: number): ThumbnailCue | null {
  let lo = 0;
  let hi = cues.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = cues[mid] as ThumbnailCue;
    if (time < c.start) hi = mid - 1;
    else if (time >= c.end) lo = mid + 1;
    else return c;
  }
  return null;
}
