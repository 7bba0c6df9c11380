import { describe, expect, it } from "vitest";
import { GENRES } from "./genres.ts";
import { escapeXml, posterSvg, wrapTitle } from "./poster.ts";

/**
 * A small XML well-formedness check (no parser is installed): one root, balanced and properly
 * nested tags, quoted attributes without raw '<' or stray '&', and text without raw '<' or
 * stray '&'. Returns the problems found.
 */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const badAmp = (s: string) => s.replace(entity, "").includes("&");
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (badAmp(text)) problems.push(`unescaped '&' in text: ${text}`);
    if (text.includes(">")) problems.push(`raw '>' in text: ${text}`);
    if (lt === -1) break;
    if (stack.length === 0 && text.trim() !== "") problems.push(`text outside the root: ${text}`);
    const gt = xml.indexOf(">", lt);
    if (gt === -1) {
      problems.push("unterminated tag");
      break;
    }
    const tag = xml.slice(lt + 1, gt);
    if (tag.startsWith("/")) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else {
      const selfClosing = tag.endsWith("/");
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = /^([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_:][\w.:-]*="[^"<]*")*)\s*$/.exec(body);
      if (m === null) problems.push(`malformed tag <${tag}>`);
      else {
        for (const a of (m[2] ?? "").matchAll(/="([^"]*)"/g))
          if (badAmp(a[1] ?? "")) problems.push(`unescaped '&' in attribute of <${m[1]}>`);
        if (stack.length === 0) roots++;
        if (!selfClosing) stack.push(m[1] as string);
      }
    }
    i = gt + 1;
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(", ")}`);
  if (roots !== 1) problems.push(`expected one root element, found ${roots}`);
  return problems;
}

describe("posterSvg", () => {
  it("is a standalone 2:3 SVG with the title and year, deterministic per title", () => {
    const input = { id: "t00042", title: "The Quiet Harbor", year: 2019, genres: ["Drama", "Romance"] };
    const svg = posterSvg(input);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 400 600"/);
    expect(svg.endsWith("</svg>")).toBe(true);
    expect(svg).toContain("The Quiet Harbor");
    expect(svg).toContain(">2019<");
    expect(svg).toContain('id="mq-t00042-bg"');
    expect(xmlProblems(svg)).toEqual([]);
    expect(posterSvg(input)).toBe(svg);
    expect(posterSvg({ ...input, id: "t00043" })).not.toBe(svg);
  });

  it("escapes title text for XML", () => {
    const svg = posterSvg({ id: "ml7", title: `Tom & Jerry's <Big> "Day" Out`, year: 1999, genres: ["Comedy"] });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain("Tom &amp; Jerry&apos;s &lt;Big&gt; &quot;Day&quot;");
    expect(svg).not.toContain("<Big>");
    expect(escapeXml("a\u0001b&")).toBe("ab&amp;");
  });

  it("is well formed for every genre's composition, odd ids and long titles", () => {
    for (const [k, g] of GENRES.entries()) {
      const svg = posterSvg({
        id: `x:${k}`,
        title: `A Very Long Title Number ${k} That Goes On And On Across Many Lines Indeed`,
        year: 2000 + k,
        genres: [g],
      });
      expect(xmlProblems(svg), g).toEqual([]);
      expect(svg).not.toContain('id="mq-x:');
    }
    expect(xmlProblems(posterSvg({ id: "ml1", title: "Untitled", year: 1995, genres: [] }))).toEqual([]);
  });

  it("wraps titles over at most four lines", () => {
    expect(wrapTitle("The Quiet Harbor")).toEqual(["The Quiet", "Harbor"]);
    expect(wrapTitle("Up")).toEqual(["Up"]);
    const long = wrapTitle(Array.from({ length: 40 }, (_, i) => `word${i}`).join(" "));
    expect(long.length).toBe(4);
    expect(long[3]?.endsWith("…")).toBe(true);
    for (const line of long) expect(line.length).toBeLessThanOrEqual(32);
  });
});
