import { describe, expect, it } from "vitest";
import { parseThumbnailsVtt, thumbnailAt } from "./thumbnails";

const VTT = `WEBVTT

00:00:00.000 --> 00:00:05.000
sprite.jpg#xywh=0,0,160,90

1
00:00:05.000 --> 00:00:10.000
sprite.jpg#xywh=160,0,160,90

00:10.000 --> 00:15.500
../other/sprite-2.jpg#xywh=0,90,160,90
`;

describe("scrubbing thumbnails (WebVTT sprite map)", () => {
  const base = "https://store.example/media/s/tok/thumbnails.vtt";

  it("reads each cue's time range and sprite tile, sprites resolved against the VTT's URL", () => {
    const cues = parseThumbnailsVtt(VTT, base);
    expect(cues).toEqual([
      { start: 0, end: 5, url: "https://store.example/media/s/tok/sprite.jpg", x: 0, y: 0, w: 160, h: 90 },
      { start: 5, end: 10, url: "https://store.example/media/s/tok/sprite.jpg", x: 160, y: 0, w: 160, h: 90 },
      { start: 10, end: 15.5, url: "https://store.example/media/s/other/sprite-2.jpg", x: 0, y: 90, w: 160, h: 90 },
    ]);
  });

  it("finds the tile under a time, and none outside the map", () => {
    const cues = parseThumbnailsVtt(VTT, base);
    expect(thumbnailAt(cues, 0)?.x).toBe(0);
    expect(thumbnailAt(cues, 4.99)?.x).toBe(0);
    expect(thumbnailAt(cues, 5)?.x).toBe(160);
    expect(thumbnailAt(cues, 12)?.y).toBe(90);
    expect(thumbnailAt(cues, 15.5)).toBeNull();
    expect(thumbnailAt([], 3)).toBeNull();
  });

  it("skips cues it cannot use instead of failing the whole map (CRLF files too)", () => {
    const broken = [
      "WEBVTT",
      "",
      "00:00:00.000 --> 00:00:05.000",
      "sprite.jpg",
      "",
      "00:00:05.000 --> 00:00:04.000",
      "sprite.jpg#xywh=0,0,160,90",
      "",
      "00:00:05.000 --> 00:00:10.000",
      "sprite.jpg#xywh=0,0,0,90",
      "",
      "00:00:10.000 --> 00:00:15.000",
      "sprite.jpg#xywh=10,20,160,90",
    ].join("\r\n");
    expect(parseThumbnailsVtt(broken, base)).toEqual([
      { start: 10, end: 15, url: "https://store.example/media/s/tok/sprite.jpg", x: 10, y: 20, w: 160, h: 90 },
    ]);
  });
});
