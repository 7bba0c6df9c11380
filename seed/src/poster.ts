import { GENRE_PROFILES, isGenre, type Palette, type PosterStyle } from "./genres.ts";
import { createRng, hashString, type Rng } from "./rng.ts";

export interface PosterInput {
  id: string;
  title: string;
  year: number;
  genres: readonly string[];
}

const W = 400;
const H = 600;

/** Used for titles without a known genre (e.g. MovieLens "(no genres listed)"). */
const NEUTRAL: Palette = { sky: ["#2b2d42", "#8d99ae"], accent: "#edf2f4", accent2: "#ef233c", ink: "#ffffff" };

/** Escape text for XML character data and attribute values; drop characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters XML 1.0 forbids
  const allowed = text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "");
  return allowed
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/**
 * A deterministic 2:3 poster (viewBox 400×600) for a title: the primary genre picks the
 * composition and palette, the second genre tints the accents, and a generator seeded by the
 * title's id and name places the shapes, so a title always gets the same poster. The result
 * is a standalone SVG document; its gradient ids are prefixed with the title id so several
 * posters can be inlined in one HTML page.
 */
export function posterSvg(input: PosterInput): string {
  const rng = createRng(hashString(`${input.id}\u0000${input.title}`), "poster");
  const known = input.genres.filter(isGenre);
  const primary = known[0];
  const profile = primary === undefined ? undefined : GENRE_PROFILES[primary];
  const palette = { ...(profile === undefined ? NEUTRAL : rng.pick(profile.palettes)) };
  const second = known[1];
  if (second !== undefined) palette.accent2 = rng.pick(GENRE_PROFILES[second].palettes).accent;
  const style: PosterStyle = profile?.poster ?? "bands";
  const pid = `mq-${input.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;

  const shapes = COMPOSERS[style](rng, palette, pid);
  const upper = style === "noir" || style === "burst" || style === "bands";
  const text = titleBlock(input, palette, upper, style === "bands" ? "top" : "bottom");
  const label = escapeXml(known.length > 0 ? known.slice(0, 3).join(" · ").toUpperCase() : "FEATURE FILM");
  const dark = luminance(palette.ink) < 0.5;
  const scrim = dark ? "#ffffff" : "#000000";

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(`${input.title} (${input.year})`)}">`,
    `<title>${escapeXml(input.title)}</title>`,
    "<defs>",
    `<linearGradient id="${pid}-bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${palette.sky[0]}"/><stop offset="1" stop-color="${palette.sky[1]}"/></linearGradient>`,
    `<radialGradient id="${pid}-glow" cx="0.5" cy="0.5" r="0.5"><stop offset="0" stop-color="${palette.accent}" stop-opacity="0.9"/><stop offset="1" stop-color="${palette.accent}" stop-opacity="0"/></radialGradient>`,
    `<linearGradient id="${pid}-scrim" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${scrim}" stop-opacity="0"/><stop offset="1" stop-color="${scrim}" stop-opacity="0.55"/></linearGradient>`,
    "</defs>",
    `<rect width="${W}" height="${H}" fill="url(#${pid}-bg)"/>`,
    ...shapes,
    style === "bands"
      ? `<rect width="${W}" height="260" fill="url(#${pid}-scrim)" transform="rotate(180 200 130)"/>`
      : `<rect y="340" width="${W}" height="260" fill="url(#${pid}-scrim)"/>`,
    `<text x="200" y="${style === "bands" ? 560 : 44}" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="13" letter-spacing="3" fill="${palette.ink}" fill-opacity="0.85">${label}</text>`,
    text,
    "</svg>",
  ].join("");
}

/** The title wrapped over at most four lines, sized to fit, and the year below it. */
function titleBlock(input: PosterInput, palette: Palette, upper: boolean, at: "top" | "bottom"): string {
  const display = upper ? input.title.toUpperCase() : input.title;
  const lines = wrapTitle(display);
  const longest = Math.max(...lines.map((l) => l.length), 1);
  const charWidth = upper ? 0.68 : 0.56;
  const size = Math.max(18, Math.min(60, Math.floor(350 / (longest * charWidth))));
  const lineHeight = Math.round(size * 1.08);
  const top = at === "top" ? 60 + size : 510 - (lines.length - 1) * lineHeight;
  const family = upper ? "Impact, Haettenschweiler, 'Arial Narrow', sans-serif" : "Georgia, 'Times New Roman', serif";
  const spans = lines
    .map((line, i) => `<tspan x="200" y="${top + i * lineHeight}">${escapeXml(line)}</tspan>`)
    .join("");
  const yearY = top + (lines.length - 1) * lineHeight + 38;
  return [
    `<text text-anchor="middle" font-family="${family}" font-size="${size}" font-weight="bold" fill="${palette.ink}">${spans}</text>`,
    `<text x="200" y="${yearY}" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="18" letter-spacing="4" fill="${palette.ink}" fill-opacity="0.9">${input.year}</text>`,
  ].join("");
}

/** Greedy word wrap: about 14 characters a line, at most four lines, "…" if it still overflows. */
export function wrapTitle(title: string, maxLines = 4): string[] {
  const words = title
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  if (words.length === 0) return [""];
  let lines: string[] = [];
  for (const width of [14, 18, 24, 32]) {
    lines = wrapWords(words, width);
    if (lines.length <= maxLines) return lines.map((l) => truncate(l, 32));
  }
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = `${(kept[maxLines - 1] ?? "").slice(0, 31)}…`;
  return kept.map((l) => truncate(l, 32));
}

function wrapWords(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of words) {
    if (current === "") current = word;
    else if (current.length + 1 + word.length <= width) current = `${current} ${word}`;
    else {
      lines.push(current);
      current = word;
    }
  }
  lines.push(current);
  return lines;
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

function luminance(hex: string): number {
  const n = Number.parseInt(hex.slice(1), 16);
  const r = (n >> 16) & 255;
  const g = (n >> 8) & 255;
  const b = n & 255;
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

const f = (n: number): number => Math.round(n * 10) / 10;

type Composer = (rng: Rng, p: Palette, pid: string) => string[];

const COMPOSERS: Record<PosterStyle, Composer> = {
  // Slanted light through blinds and a lone figure.
  noir(rng, p) {
    const out: string[] = [];
    const fromLeft = rng.chance(0.5);
    const x0 = fromLeft ? -40 : W + 40;
    for (let i = 0; i < 4; i++) {
      const y = f(rng.uniform(-50, 260));
      const spread = f(rng.uniform(40, 120));
      const x1 = fromLeft ? W + 60 : -60;
      const y1 = f(y + rng.uniform(180, 420));
      out.push(
        `<polygon points="${x0},${y} ${x1},${y1} ${x1},${f(y1 + spread)} ${x0},${f(y + spread / 4)}" fill="${p.accent}" fill-opacity="${f(rng.uniform(0.05, 0.16) * 100) / 100}"/>`,
      );
    }
    const slats = rng.int(6, 11);
    for (let i = 0; i < slats; i++) {
      out.push(`<rect x="0" y="${f(90 + i * 26)}" width="${W}" height="7" fill="${p.sky[0]}" fill-opacity="0.35"/>`);
    }
    const cx = f(rng.uniform(120, 280));
    const headY = f(rng.uniform(250, 300));
    out.push(`<circle cx="${cx}" cy="${headY}" r="26" fill="${p.sky[0]}"/>`);
    out.push(
      `<path d="M${f(cx - 70)} ${H} L${f(cx - 48)} ${f(headY + 52)} Q${cx} ${f(headY + 30)} ${f(cx + 48)} ${f(headY + 52)} L${f(cx + 70)} ${H} Z" fill="${p.sky[0]}"/>`,
    );
    out.push(
      `<rect x="${f(cx - 34)}" y="${f(headY - 30)}" width="68" height="10" rx="3" fill="${p.accent2}" fill-opacity="0.8"/>`,
    );
    return out;
  },
  // A moon, a dead treeline, low fog.
  horror(rng, p, pid) {
    const out: string[] = [];
    const mx = f(rng.uniform(110, 290));
    const my = f(rng.uniform(130, 220));
    const r = f(rng.uniform(55, 90));
    out.push(`<circle cx="${mx}" cy="${my}" r="${f(r * 2.4)}" fill="url(#${pid}-glow)" opacity="0.35"/>`);
    out.push(`<circle cx="${mx}" cy="${my}" r="${r}" fill="${p.accent}" fill-opacity="0.92"/>`);
    let d = `M0 ${H} L0 430`;
    for (let x = 0; x <= W; x += 20) {
      const spike = rng.chance(0.35) ? rng.uniform(60, 170) : rng.uniform(0, 40);
      d += ` L${x} ${f(430 - spike)} L${x + 10} ${f(440 - rng.uniform(0, 20))}`;
    }
    d += ` L${W} ${H} Z`;
    out.push(`<path d="${d}" fill="#000000" fill-opacity="0.9"/>`);
    for (let i = 0; i < 3; i++) {
      out.push(
        `<ellipse cx="${f(rng.uniform(0, W))}" cy="${f(rng.uniform(440, 520))}" rx="${f(rng.uniform(120, 220))}" ry="${f(rng.uniform(14, 28))}" fill="${p.accent}" fill-opacity="0.08"/>`,
      );
    }
    out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="${p.accent2}" fill-opacity="0.08"/>`);
    return out;
  },
  // Stars and a ringed planet.
  cosmic(rng, p, pid) {
    const out: string[] = [];
    const stars = rng.int(40, 80);
    for (let i = 0; i < stars; i++) {
      out.push(
        `<circle cx="${f(rng.uniform(0, W))}" cy="${f(rng.uniform(0, 470))}" r="${f(rng.uniform(0.6, 2.2))}" fill="#ffffff" fill-opacity="${f(rng.uniform(0.3, 1) * 100) / 100}"/>`,
      );
    }
    const px = f(rng.uniform(120, 280));
    const py = f(rng.uniform(180, 280));
    const pr = f(rng.uniform(60, 110));
    out.push(`<circle cx="${px}" cy="${py}" r="${f(pr * 1.8)}" fill="url(#${pid}-glow)" opacity="0.3"/>`);
    out.push(`<circle cx="${px}" cy="${py}" r="${pr}" fill="${p.accent2}"/>`);
    out.push(
      `<circle cx="${f(px - pr * 0.3)}" cy="${f(py - pr * 0.3)}" r="${f(pr * 0.75)}" fill="${p.accent}" fill-opacity="0.25"/>`,
    );
    const tilt = f(rng.uniform(-30, 30));
    out.push(
      `<ellipse cx="${px}" cy="${py}" rx="${f(pr * 1.7)}" ry="${f(pr * 0.35)}" fill="none" stroke="${p.accent}" stroke-width="5" stroke-opacity="0.8" transform="rotate(${tilt} ${px} ${py})"/>`,
    );
    out.push(`<path d="M-20 ${H} Q200 ${f(rng.uniform(430, 480))} 420 ${H} Z" fill="${p.sky[0]}"/>`);
    return out;
  },
  // Rays from a focal point, a blast, debris.
  burst(rng, p, pid) {
    const out: string[] = [];
    const cx = f(rng.uniform(140, 260));
    const cy = f(rng.uniform(200, 320));
    const rays = rng.int(10, 18);
    for (let i = 0; i < rays; i++) {
      const a0 = ((i + rng.uniform(0, 0.3)) / rays) * 2 * Math.PI;
      const a1 = a0 + (Math.PI / rays) * rng.uniform(0.4, 0.8);
      const R = 700;
      out.push(
        `<polygon points="${cx},${cy} ${f(cx + R * Math.cos(a0))},${f(cy + R * Math.sin(a0))} ${f(cx + R * Math.cos(a1))},${f(cy + R * Math.sin(a1))}" fill="${i % 2 === 0 ? p.accent : p.accent2}" fill-opacity="0.18"/>`,
      );
    }
    out.push(`<circle cx="${cx}" cy="${cy}" r="${f(rng.uniform(110, 170))}" fill="url(#${pid}-glow)"/>`);
    const debris = rng.int(8, 16);
    for (let i = 0; i < debris; i++) {
      const x = f(rng.uniform(0, W));
      const y = f(rng.uniform(60, 460));
      const s = f(rng.uniform(4, 14));
      out.push(
        `<rect x="${x}" y="${y}" width="${s}" height="${f(s / 2)}" fill="${p.accent2}" transform="rotate(${f(rng.uniform(0, 180))} ${x} ${y})"/>`,
      );
    }
    return out;
  },
  // Overlapping translucent circles, a thin horizon.
  soft(rng, p) {
    const out: string[] = [];
    const n = rng.int(4, 7);
    for (let i = 0; i < n; i++) {
      out.push(
        `<circle cx="${f(rng.uniform(40, 360))}" cy="${f(rng.uniform(80, 380))}" r="${f(rng.uniform(50, 150))}" fill="${i % 2 === 0 ? p.accent : p.accent2}" fill-opacity="${f(rng.uniform(0.12, 0.35) * 100) / 100}"/>`,
      );
    }
    const hy = f(rng.uniform(330, 400));
    out.push(
      `<line x1="30" y1="${hy}" x2="370" y2="${hy}" stroke="${p.ink}" stroke-opacity="0.4" stroke-width="1.5"/>`,
    );
    return out;
  },
  // Confetti and a big friendly blob.
  playful(rng, p) {
    const out: string[] = [];
    const colours = [p.accent, p.accent2, p.ink, "#ffffff"];
    out.push(
      `<circle cx="${f(rng.uniform(130, 270))}" cy="${f(rng.uniform(200, 300))}" r="${f(rng.uniform(100, 150))}" fill="${p.accent}" fill-opacity="0.85"/>`,
    );
    out.push(
      `<circle cx="${f(rng.uniform(80, 320))}" cy="${f(rng.uniform(120, 360))}" r="${f(rng.uniform(40, 80))}" fill="${p.accent2}" fill-opacity="0.85"/>`,
    );
    const n = rng.int(18, 34);
    for (let i = 0; i < n; i++) {
      const x = f(rng.uniform(0, W));
      const y = f(rng.uniform(0, 470));
      const c = rng.pick(colours);
      if (rng.chance(0.5)) out.push(`<circle cx="${x}" cy="${y}" r="${f(rng.uniform(3, 9))}" fill="${c}"/>`);
      else
        out.push(
          `<rect x="${x}" y="${y}" width="${f(rng.uniform(8, 18))}" height="6" rx="3" fill="${c}" transform="rotate(${f(rng.uniform(0, 180))} ${x} ${y})"/>`,
        );
    }
    return out;
  },
  // A sun over layered ridges.
  landscape(rng, p, pid) {
    const out: string[] = [];
    const sx = f(rng.uniform(90, 310));
    const sy = f(rng.uniform(150, 260));
    out.push(`<circle cx="${sx}" cy="${sy}" r="130" fill="url(#${pid}-glow)" opacity="0.5"/>`);
    out.push(`<circle cx="${sx}" cy="${sy}" r="${f(rng.uniform(40, 70))}" fill="${p.accent}"/>`);
    const layers = [
      { base: 360, fill: p.accent2, opacity: 0.55 },
      { base: 410, fill: p.accent2, opacity: 0.8 },
      { base: 460, fill: p.sky[0], opacity: 0.95 },
    ];
    for (const layer of layers) {
      let d = `M0 ${H} L0 ${f(layer.base + rng.uniform(-20, 20))}`;
      const steps = rng.int(4, 7);
      for (let i = 1; i <= steps; i++) {
        d += ` L${f((i / steps) * W)} ${f(layer.base - rng.uniform(-10, 90))}`;
      }
      d += ` L${W} ${H} Z`;
      out.push(`<path d="${d}" fill="${layer.fill}" fill-opacity="${layer.opacity}"/>`);
    }
    return out;
  },
  // Horizontal bands, a frame and a motif: the look of a documentary or a period piece.
  bands(rng, p) {
    const out: string[] = [];
    let y = 0;
    while (y < H) {
      const h = f(rng.uniform(20, 90));
      if (rng.chance(0.5))
        out.push(
          `<rect x="0" y="${f(y)}" width="${W}" height="${h}" fill="${p.accent}" fill-opacity="${f(rng.uniform(0.05, 0.2) * 100) / 100}"/>`,
        );
      y += h;
    }
    out.push(
      `<rect x="24" y="24" width="352" height="552" fill="none" stroke="${p.accent}" stroke-width="2" stroke-opacity="0.6"/>`,
    );
    const cx = f(rng.uniform(140, 260));
    const cy = f(rng.uniform(330, 400));
    if (rng.chance(0.5))
      out.push(
        `<circle cx="${cx}" cy="${cy}" r="${f(rng.uniform(60, 100))}" fill="${p.accent2}" fill-opacity="0.85"/>`,
      );
    else {
      const s = f(rng.uniform(110, 170));
      out.push(
        `<rect x="${f(cx - s / 2)}" y="${f(cy - s / 2)}" width="${s}" height="${s}" fill="${p.accent2}" fill-opacity="0.85" transform="rotate(${f(rng.uniform(-12, 12))} ${cx} ${cy})"/>`,
      );
    }
    return out;
  },
};
