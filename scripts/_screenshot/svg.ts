/**
 * Draws a {@linkcode Screen} as an SVG picture of a terminal: each cell on a monospace grid,
 * runs of one background colour as rectangles, text as `<tspan>`s, each placed at its own
 * column (and given its width as `textLength`) so that a glyph from a fallback font can never
 * push the rest of a line sideways.
 *
 * How the attributes are drawn: bold and italic as the font's weights and styles (bold does not
 * brighten the colour, as in most terminals today); dim as the foreground mixed half-way into
 * the background; reverse swaps the two colours (the default ones included); hidden text is not
 * drawn; underline and strikethrough are thin rectangles across the cells, spaces included. The
 * 16 basic colours come from a theme; the other 240 of the xterm palette are computed.
 *
 * All background rectangles come before any text and the decorations after it, so that no
 * background hides a descender of the row above.
 *
 * Pure: no I/O; the same screen and options always give the same bytes.
 *
 * @example
 * ```ts
 * import { parseScreen } from "../../tools/screen.ts";
 * import { renderSvg } from "./svg.ts";
 *
 * const svg = renderSvg(parseScreen("\x1b[42m ok \x1b[0m", { width: 4, height: 1 }));
 * ```
 *
 * @module
 */

import { type Color, DEFAULT, PALETTE_TAG, RGB_TAG } from "../../src/term/style.ts";
import { type Cell, CellAttr, type Screen } from "../../tools/screen.ts";

/** The terminal's colours: default foreground and background, and the 16 basic colours. */
export interface SvgTheme {
  /** The default foreground, `#rrggbb`. */
  foreground: string;
  /** The default background, `#rrggbb`. */
  background: string;
  /** Black, red, green, yellow, blue, magenta, cyan, white, then their bright versions. */
  palette: readonly string[];
}

/** A monospace font and its metrics, as fractions of the font size. */
export interface SvgFont {
  /** The CSS font-family list. */
  family: string;
  /** The advance width of every glyph. */
  advance: number;
  /** The height above the baseline. */
  ascent: number;
  /** The depth below the baseline. */
  descent: number;
}

/** Options of {@linkcode renderSvg}. */
export interface SvgOptions {
  /** Font size in px (default 14). */
  fontSize?: number;
  /** The font (default {@linkcode DEJAVU_SANS_MONO}). */
  font?: SvgFont;
  /** Width of a cell in px (default the font's advance at `fontSize`). */
  cellWidth?: number;
  /** Height of a row in px (default 1.2 × `fontSize`). */
  lineHeight?: number;
  /** Margin around the grid in px, in the background colour (default 12). */
  padding?: number;
  /** Radius of the picture's corners in px (default 6). */
  radius?: number;
  /** Colours (default {@linkcode DEFAULT_SVG_THEME}). */
  theme?: SvgTheme;
  /** A `<title>`, read out by screen readers. */
  title?: string;
}

/**
 * DejaVu Sans Mono (hhea metrics: 2048 units per em, advance 1233, ascender 1901,
 * descender 483), which Debian's fonts-dejavu-core installs.
 */
export const DEJAVU_SANS_MONO: SvgFont = {
  family: "'DejaVu Sans Mono', monospace",
  advance: 1233 / 2048,
  ascent: 1901 / 2048,
  descent: 483 / 2048,
};

/** A dark terminal with the Tango palette (GNOME Terminal's), readable on light pages too. */
export const DEFAULT_SVG_THEME: SvgTheme = {
  foreground: "#d3d7cf",
  background: "#1c1f21",
  palette: [
    "#2e3436",
    "#cc0000",
    "#4e9a06",
    "#c4a000",
    "#3465a4",
    "#75507b",
    "#06989a",
    "#d3d7cf",
    "#555753",
    "#ef2929",
    "#8ae234",
    "#fce94f",
    "#729fcf",
    "#ad7fa8",
    "#34e2e2",
    "#eeeeec",
  ],
};

/** The channel levels of the xterm 6×6×6 colour cube (palette 16..231). */
const CUBE = [0, 95, 135, 175, 215, 255];

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function hexOf(r: number, g: number, b: number): string {
  return `#${hex2(r)}${hex2(g)}${hex2(b)}`;
}

/**
 * The `#rrggbb` of a colour: the theme's default foreground or background for
 * {@linkcode DEFAULT} (by `role`), the theme's palette for 0..15, the xterm cube and grey ramp
 * for 16..255, and a truecolor value as it is.
 *
 * @throws {RangeError} When the theme has no entry for a basic colour.
 */
export function colorHex(color: Color, role: "fg" | "bg", theme: SvgTheme): string {
  if (color === DEFAULT) return role === "fg" ? theme.foreground : theme.background;
  if ((color & RGB_TAG) !== 0) {
    return hexOf((color >> 16) & 0xff, (color >> 8) & 0xff, color & 0xff);
  }
  if ((color & PALETTE_TAG) === 0) {
    throw new RangeError(`Failed to resolve colour: expected a packed colour, got '${color}'`);
  }
  const n = color & 0xff;
  if (n < 16) {
    const basic = theme.palette[n];
    if (basic === undefined) {
      throw new RangeError(`Failed to resolve colour ${n}: the theme has no such palette entry`);
    }
    return basic;
  }
  if (n < 232) {
    const i = n - 16;
    return hexOf(CUBE[Math.floor(i / 36)]!, CUBE[Math.floor(i / 6) % 6]!, CUBE[i % 6]!);
  }
  const grey = 8 + 10 * (n - 232);
  return hexOf(grey, grey, grey);
}

/** Each channel of `a` and `b` averaged, rounded half up. */
export function mixHex(a: string, b: string): string {
  const ch = (s: string, k: number) => parseInt(s.slice(1 + 2 * k, 3 + 2 * k), 16);
  const mid = (k: number) => Math.round((ch(a, k) + ch(b, k)) / 2);
  return hexOf(mid(0), mid(1), mid(2));
}

/** `text` safe inside an XML element or a double-quoted attribute (`&`, `<`, `>`, `"`). */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;",
  );
}

/** A number with at most two decimals and no trailing zeros. */
function num(n: number): string {
  const s = (Math.round(n * 100) / 100).toFixed(2);
  return s.replace(/\.?0+$/, "");
}

/** How one cell is drawn: resolved colours and the attributes that change the glyphs. */
interface Look {
  fg: string;
  bg: string;
  bold: boolean;
  italic: boolean;
  hidden: boolean;
  underline: boolean;
  strike: boolean;
}

function lookOf(cell: Cell, theme: SvgTheme): Look {
  const reverse = (cell.attrs & CellAttr.REVERSE) !== 0;
  let fg = colorHex(cell.fg, "fg", theme);
  let bg = colorHex(cell.bg, "bg", theme);
  if (reverse) [fg, bg] = [bg, fg];
  if ((cell.attrs & CellAttr.DIM) !== 0) fg = mixHex(fg, bg);
  return {
    fg,
    bg,
    bold: (cell.attrs & CellAttr.BOLD) !== 0,
    italic: (cell.attrs & CellAttr.ITALIC) !== 0,
    hidden: (cell.attrs & CellAttr.HIDDEN) !== 0,
    underline: (cell.attrs & CellAttr.UNDERLINE) !== 0,
    strike: (cell.attrs & CellAttr.STRIKE) !== 0,
  };
}

/** A printable ASCII character: one glyph of the primary font, safe to run together. */
function isPlainAscii(text: string): boolean {
  return text.length === 1 && text > " " && text <= "~";
}

/**
 * The SVG of `screen`.
 *
 * @param screen The cells to draw.
 * @param options Font, sizes, colours and title.
 * @returns A complete SVG document (UTF-8 text), ending in a newline.
 */
export function renderSvg(screen: Screen, options: SvgOptions = {}): string {
  const theme = options.theme ?? DEFAULT_SVG_THEME;
  const font = options.font ?? DEJAVU_SANS_MONO;
  const fontSize = options.fontSize ?? 14;
  const cw = options.cellWidth ?? fontSize * font.advance;
  const lh = options.lineHeight ?? fontSize * 1.2;
  const pad = options.padding ?? 12;
  const radius = options.radius ?? 6;
  const width = 2 * pad + screen.width * cw;
  const height = 2 * pad + screen.height * lh;
  // The glyphs' box (ascent + descent) centred in the row.
  const baseline = (lh - (font.ascent + font.descent) * fontSize) / 2 + font.ascent * fontSize;
  const underlineAt = baseline + fontSize * 0.1;
  const strikeAt = baseline - fontSize * 0.28;
  const thickness = Math.max(1, fontSize * 0.06);
  const colX = (x: number) => pad + x * cw;
  const rowY = (y: number) => pad + y * lh;

  const looks: Look[] = screen.cells.map((c) => lookOf(c, theme));
  const at = (x: number, y: number) => y * screen.width + x;

  const backgrounds: string[] = [];
  const rows: string[] = [];
  const decorations: string[] = [];
  for (let y = 0; y < screen.height; y++) {
    // Background runs.
    for (let x = 0; x < screen.width;) {
      const bg = looks[at(x, y)]!.bg;
      let end = x + 1;
      while (end < screen.width && looks[at(end, y)]!.bg === bg) end++;
      if (bg !== theme.background) {
        backgrounds.push(
          `<rect x="${num(colX(x))}" y="${num(rowY(y))}" width="${num((end - x) * cw)}" ` +
            `height="${num(lh)}" fill="${bg}"/>`,
        );
      }
      x = end;
    }
    // Text runs: printable ASCII of one look runs together; any other glyph stands alone.
    const spans: string[] = [];
    for (let x = 0; x < screen.width;) {
      const cell = screen.cells[at(x, y)]!;
      const look = looks[at(x, y)]!;
      if (cell.width === 0 || cell.text === " " || cell.text === "" || look.hidden) {
        x++;
        continue;
      }
      let text = cell.text;
      let end = x + Math.max(1, cell.width);
      if (isPlainAscii(cell.text)) {
        while (end < screen.width) {
          const next = screen.cells[at(end, y)]!;
          const nextLook = looks[at(end, y)]!;
          if (
            !isPlainAscii(next.text) || nextLook.fg !== look.fg ||
            nextLook.bold !== look.bold || nextLook.italic !== look.italic || nextLook.hidden
          ) break;
          text += next.text;
          end++;
        }
      }
      let attrs = `x="${num(colX(x))}"`;
      // Where the viewer lacks the font, a fallback's other advance is spread over the run
      // instead of pushing its end into the next one (rsvg-convert ignores it: no change there).
      if (text.length > 1) attrs += ` textLength="${num(text.length * cw)}"`;
      if (look.fg !== theme.foreground) attrs += ` fill="${look.fg}"`;
      if (look.bold) attrs += ` font-weight="bold"`;
      if (look.italic) attrs += ` font-style="italic"`;
      spans.push(`<tspan ${attrs}>${escapeXml(text)}</tspan>`);
      x = end;
    }
    if (spans.length > 0) {
      rows.push(`<text y="${num(rowY(y) + baseline)}">${spans.join("")}</text>`);
    }
    // Underline and strikethrough runs, in the foreground colour, across spaces too.
    for (const [flag, offset] of [["underline", underlineAt], ["strike", strikeAt]] as const) {
      for (let x = 0; x < screen.width;) {
        const look = looks[at(x, y)]!;
        if (!look[flag] || look.hidden) {
          x++;
          continue;
        }
        let end = x + 1;
        while (end < screen.width) {
          const next = looks[at(end, y)]!;
          if (!next[flag] || next.hidden || next.fg !== look.fg) break;
          end++;
        }
        decorations.push(
          `<rect x="${num(colX(x))}" y="${num(rowY(y) + offset)}" width="${num((end - x) * cw)}" ` +
            `height="${num(thickness)}" fill="${look.fg}"/>`,
        );
        x = end;
      }
    }
  }

  const w = num(width), h = num(height);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`,
  ];
  if (options.title !== undefined) out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(
    `<rect width="${w}" height="${h}" rx="${num(radius)}" fill="${theme.background}"/>`,
    `<g shape-rendering="crispEdges">`,
    ...backgrounds,
    `</g>`,
    `<g font-family="${escapeXml(font.family)}" font-size="${num(fontSize)}" ` +
      `fill="${theme.foreground}">`,
    ...rows,
    `</g>`,
    `<g shape-rendering="crispEdges">`,
    ...decorations,
    `</g>`,
    `</svg>`,
  );
  return out.join("\n") + "\n";
}
