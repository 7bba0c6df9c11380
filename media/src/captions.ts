import type { MediaAssets } from "./assets.ts";
import type { MediaStorage } from "./storage.ts";

async function bytesOf(storage: MediaStorage, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await storage.read(key)) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/**
 * Puts a title's ready captions (newest per language) under a film's root as
 * `captions/<lang>.vtt`, where playback lists them and the film's signed links reach them.
 * Run when captions are accepted (into the ready film) and when a film becomes ready (into its
 * new root), so the two can arrive in either order.
 */
export async function placeCaptions(
  assets: MediaAssets,
  storage: MediaStorage,
  titleId: string,
  filmRoot: string,
): Promise<number> {
  const root = filmRoot.endsWith("/") ? filmRoot : `${filmRoot}/`;
  const ready = (await assets.readyOf(titleId)).filter((a) => a.kind === "captions");
  const seen = new Set<string>();
  for (const c of ready) {
    const lang = c.lang ?? "und";
    if (seen.has(lang)) continue;
    seen.add(lang);
    await storage.put(`${root}captions/${lang}.vtt`, await bytesOf(storage, c.sourceKey));
  }
  return seen.size;
}
