/**
 * The one SGR screen reader of the tests, the benchmark and the screenshot script: reads a
 * terminal screen captured with its SGR sequences (`tmux capture-pane -e -p -N`, tools/tmux.ts)
 * into a grid of cells, the character of each column and its colours and attributes
 * ({@linkcode parseScreen}), or, cheaper, into lines of text with the style of each line's first
 * cell ({@linkcode parseLines}: which row carries a cursor bar, polled every few milliseconds by
 * the benchmark).
 *
 * What it understands: SGR reset, bold, dim, italic, underline (also `4:n`), reverse, hidden,
 * strikethrough and their resets; the 16 basic and bright colours, 256-colour and truecolor
 * foreground and background in both the `;` and the `:` forms, and the default colours. Other
 * escape sequences (cursor movement, OSC titles, …) are skipped, as are control characters
 * other than newline and tab. A wide character (CJK, emoji) takes two cells: the second holds
 * `""` with width 0, as in ratatui's buffer; a combining mark joins the cell before it.
 *
 * The style carries over from one line to the next, as in a terminal: tmux writes a sequence
 * only where the style changes, so a line may begin in the style the line above left on. The
 * cells after the end of a captured line are blank, in the default style.
 *
 * Pure: no I/O.
 *
 * @example
 * ```ts
 * import { parseScreen, screenText } from "./screen.ts";
 *
 * const screen = parseScreen("\x1b[1;31mERR\x1b[0m ok\n", { width: 8, height: 1 });
 * screen.cells[0]; // { text: "E", fg: palette(1), bg: DEFAULT, attrs: CellAttr.BOLD, width: 1 }
 * screenText(screen); // "ERR ok\n"
 * ```
 *
 * @module
 */

import { codePointWidth } from "../src/term/width.ts";
import { type Color, DEFAULT, palette, rgb } from "../src/term/style.ts";

/** Text attributes of a cell, OR-ed together (the first five are conntop's own `Attr`). */
export const CellAttr = {
  BOLD: 1,
  DIM: 2,
  ITALIC: 4,
  UNDERLINE: 8,
  REVERSE: 16,
  HIDDEN: 32,
  STRIKE: 64,
} as const;

/** One column of the screen. */
export interface Cell {
  /** The character (with any combining marks); `" "` when blank, `""` after a wide one. */
  text: string;
  /** Foreground colour, as conntop packs them (see src/term/style.ts). */
  fg: Color;
  /** Background colour. */
  bg: Color;
  /** {@linkcode CellAttr} flags. */
  attrs: number;
  /** Columns the character takes: 1, 2 for a wide one, 0 for the cell a wide one covers. */
  width: 0 | 1 | 2;
}

/** A screen: `width` × `height` cells, row by row. */
export interface Screen {
  width: number;
  height: number;
  /** Row-major: the cell of column x, row y is `cells[y * width + x]`. */
  cells: Cell[];
}

/** The size of the terminal the text was captured from. */
export interface ScreenSize {
  width: number;
  height: number;
}

interface Pen {
  fg: Color;
  bg: Color;
  attrs: number;
}

const ESC = "\x1b";
const TAB_STOP = 8;

function blank(): Cell {
  return { text: " ", fg: DEFAULT, bg: DEFAULT, attrs: 0, width: 1 };
}

/**
 * Parses captured text into a screen of `size`. Lines past the last row and characters past
 * the last column are dropped; a wide character that does not fit in the last column leaves it
 * blank.
 *
 * @param text The capture: lines separated by `\n`, SGR sequences included.
 * @param size The terminal's size.
 * @returns Every cell of the screen.
 * @throws {RangeError} When the size is not a positive integer in both directions.
 */
export function parseScreen(text: string, size: ScreenSize): Screen {
  const { width, height } = size;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new RangeError(
      `Failed to parse screen: expected a positive integer size, got ${width}x${height}`,
    );
  }
  const cells = Array.from({ length: width * height }, blank);
  const pen: Pen = { fg: DEFAULT, bg: DEFAULT, attrs: 0 };
  let x = 0;
  let y = 0;
  // The cell a combining mark joins: the last character written on this row.
  let last: Cell | undefined;
  const put = (ch: string, w: 1 | 2) => {
    if (y >= height || x >= width) return;
    if (x + w > width) {
      // A wide character in the last column: the terminal leaves that column blank.
      cells[y * width + x] = { text: " ", ...pen, width: 1 };
      x = width;
      last = undefined;
      return;
    }
    const cell: Cell = { text: ch, ...pen, width: w };
    cells[y * width + x] = cell;
    if (w === 2) cells[y * width + x + 1] = { text: "", ...pen, width: 0 };
    x += w;
    last = cell;
  };

  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === ESC) {
      i = skipEscape(text, i, pen);
      continue;
    }
    if (ch === "\n") {
      y++;
      x = 0;
      last = undefined;
      i++;
      continue;
    }
    if (ch === "\t") {
      const next = Math.min(width, (Math.floor(x / TAB_STOP) + 1) * TAB_STOP);
      while (x < next) put(" ", 1);
      last = undefined;
      i++;
      continue;
    }
    const cp = text.codePointAt(i)!;
    const char = String.fromCodePoint(cp);
    i += char.length;
    const w = codePointWidth(cp);
    if (w === 0) {
      // A control character is dropped; a combining mark joins the character before it.
      if (cp >= 0x20 && !(cp >= 0x7f && cp < 0xa0) && last !== undefined) last.text += char;
      continue;
    }
    put(char, w);
  }
  return { width, height, cells };
}

/**
 * Skips the escape sequence starting at `text[at]` (an ESC), applying it to `pen` when it is
 * an SGR; returns the index after it.
 */
function skipEscape(text: string, at: number, pen: Pen): number {
  const kind = text[at + 1];
  if (kind === "[") {
    // CSI: parameter and intermediate bytes, then one final byte in 0x40..0x7e.
    let i = at + 2;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c >= 0x40 && c <= 0x7e) break;
      i++;
    }
    if (i >= text.length) return text.length;
    const params = text.slice(at + 2, i);
    if (text[i] === "m" && /^[\d;:]*$/.test(params)) applySgr(pen, params);
    return i + 1;
  }
  if (kind === "]" || kind === "P" || kind === "_" || kind === "^") {
    // OSC, DCS, APC, PM: up to BEL or ST (ESC \).
    for (let i = at + 2; i < text.length; i++) {
      if (text[i] === "\x07") return i + 1;
      if (text[i] === ESC && text[i + 1] === "\\") return i + 2;
    }
    return text.length;
  }
  // Any other escape: intermediate bytes (0x20..0x2f), then one final byte (ESC 7, ESC ( B).
  let i = at + 1;
  while (i < text.length && text.charCodeAt(i) >= 0x20 && text.charCodeAt(i) <= 0x2f) i++;
  return Math.min(text.length, i + 1);
}

/** Applies the parameters of one SGR sequence (`ESC [ params m`) to `pen`. */
function applySgr(pen: Pen, params: string): void {
  const list = params === "" ? ["0"] : params.split(";");
  for (let i = 0; i < list.length; i++) {
    const [head = "", ...sub] = list[i]!.split(":");
    const p = head === "" ? 0 : Number(head);
    if (p === 38 || p === 48) {
      // Colon form: all values in this parameter; semicolon form: in the ones after it.
      const values = sub.length > 0 ? sub : list.slice(i + 1);
      const { color, used } = extendedColor(values, sub.length > 0);
      if (sub.length === 0) i += used;
      if (color !== undefined) {
        if (p === 38) pen.fg = color;
        else pen.bg = color;
      }
      continue;
    }
    if (p === 58) {
      // Underline colour: not drawn; skip its values.
      if (sub.length === 0) i += extendedColor(list.slice(i + 1), false).used;
      continue;
    }
    applySimple(pen, p, sub);
  }
}

/**
 * A 256-colour (`5;n`) or truecolor (`2;r;g;b`) value from `values`, and how many of them it
 * took. The colon form may hold a colour-space id before r, g, b (`2::r:g:b` or `2:id:r:g:b`).
 */
function extendedColor(
  values: readonly string[],
  colon: boolean,
): { color: Color | undefined; used: number } {
  const kind = values[0];
  if (kind === "5") {
    const n = Number(values[1]);
    const ok = values[1] !== undefined && values[1] !== "" && Number.isInteger(n) && n >= 0 &&
      n <= 255;
    return { color: ok ? palette(n) : undefined, used: 2 };
  }
  if (kind === "2") {
    const channels = colon && values.length >= 5 ? values.slice(2, 5) : values.slice(1, 4);
    const nums = channels.map(Number);
    const ok = channels.length === 3 &&
      channels.every((c, k) => c !== "" && Number.isInteger(nums[k]) && nums[k]! <= 255);
    return { color: ok ? rgb(nums[0]!, nums[1]!, nums[2]!) : undefined, used: 4 };
  }
  return { color: undefined, used: 1 };
}

function applySimple(pen: Pen, p: number, sub: readonly string[]): void {
  const A = CellAttr;
  if (p === 0) {
    pen.fg = DEFAULT;
    pen.bg = DEFAULT;
    pen.attrs = 0;
  } else if (p === 1) pen.attrs |= A.BOLD;
  else if (p === 2) pen.attrs |= A.DIM;
  else if (p === 3) pen.attrs |= A.ITALIC;
  else if (p === 4) {
    // 4:0 is "no underline"; 4:1..4:5 are its styles (single, double, curly, …).
    if (sub[0] === "0") pen.attrs &= ~A.UNDERLINE;
    else pen.attrs |= A.UNDERLINE;
  } else if (p === 7) pen.attrs |= A.REVERSE;
  else if (p === 8) pen.attrs |= A.HIDDEN;
  else if (p === 9) pen.attrs |= A.STRIKE;
  else if (p === 21) pen.attrs |= A.UNDERLINE; // ECMA-48: doubly underlined
  else if (p === 22) pen.attrs &= ~(A.BOLD | A.DIM);
  else if (p === 23) pen.attrs &= ~A.ITALIC;
  else if (p === 24) pen.attrs &= ~A.UNDERLINE;
  else if (p === 27) pen.attrs &= ~A.REVERSE;
  else if (p === 28) pen.attrs &= ~A.HIDDEN;
  else if (p === 29) pen.attrs &= ~A.STRIKE;
  else if (p >= 30 && p <= 37) pen.fg = palette(p - 30);
  else if (p === 39) pen.fg = DEFAULT;
  else if (p >= 40 && p <= 47) pen.bg = palette(p - 40);
  else if (p === 49) pen.bg = DEFAULT;
  else if (p >= 90 && p <= 97) pen.fg = palette(p - 90 + 8);
  else if (p >= 100 && p <= 107) pen.bg = palette(p - 100 + 8);
  // Anything else (blink, fonts, overline, …) does not change how the cell is drawn here.
}

/** The style of a cell: colours and {@linkcode CellAttr} flags. */
export interface CellStyle {
  fg: Color;
  bg: Color;
  attrs: number;
}

/** One captured line: its text without escapes, and the style of its first character. */
export interface StyledLine {
  /** The characters of the line, escapes and control characters removed. */
  text: string;
  /** The style of its first character, or null when the line has none. */
  first: CellStyle | null;
}

/**
 * Reads captured lines into their text and the style of their first character, following the
 * SGR state from line to line as {@linkcode parseScreen} does (tmux writes a sequence only where
 * the style changes, and begins each capture in the default style).
 *
 * @param lines The captured lines, SGR sequences included.
 * @returns One entry per line.
 */
export function parseLines(lines: readonly string[]): StyledLine[] {
  const pen: Pen = { fg: DEFAULT, bg: DEFAULT, attrs: 0 };
  return lines.map((line) => {
    let text = "";
    let first: CellStyle | null = null;
    let i = 0;
    while (i < line.length) {
      const ch = line[i]!;
      if (ch === ESC) {
        i = skipEscape(line, i, pen);
        continue;
      }
      i++;
      const c = ch.charCodeAt(0);
      if (c < 0x20 || c === 0x7f) continue;
      first ??= { ...pen };
      text += ch;
    }
    return { text, first };
  });
}

/** Whether a cell of this style is drawn highlighted: reverse video or a background colour. */
export function isHighlighted(style: CellStyle | null): boolean {
  return style !== null && (style.bg !== DEFAULT || (style.attrs & CellAttr.REVERSE) !== 0);
}

/** `line` without its escape sequences. */
export function stripSgr(line: string): string {
  return parseLines([line])[0]!.text;
}

/**
 * The screen as plain text: one line per row, without escapes, trailing blanks removed, each
 * line ending in `\n`.
 */
export function screenText(screen: Screen): string {
  let out = "";
  for (let y = 0; y < screen.height; y++) {
    let line = "";
    for (let x = 0; x < screen.width; x++) line += screen.cells[y * screen.width + x]!.text;
    out += line.replace(/ +$/, "") + "\n";
  }
  return out;
}
