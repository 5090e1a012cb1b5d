/**
 * Small drawing helpers shared by the region renderers: a cursor that writes styled segments
 * along a line, clipped to a rectangle; text that starts columns to the left of its cell
 * (horizontal scroll); the one way text is cut ({@linkcode cut}: always with a "…", so a reader
 * knows more was there) and wrapped ({@linkcode wrap}); framed boxes and their "more" marks.
 *
 * @module
 */

import type { CellBuffer } from "../term/mod.ts";
import type { Style } from "../term/mod.ts";
import { codePointWidth, stringWidth, truncate } from "../term/mod.ts";
import type { Rect } from "./layout.ts";

/** What ends every cut text. (The project assumes a UTF-8 terminal: it has no ASCII mode.) */
export const ELLIPSIS = "…";

/** `text` cut to at most `width` columns, ending in "…" when anything was cut. */
export function cut(text: string, width: number): string {
  return truncate(text, width, ELLIPSIS);
}

/**
 * `text` broken into lines of at most `width` columns at spaces; a word longer than a line is
 * split across lines (nothing is lost). An empty text is one empty line.
 */
export function wrap(text: string, width: number): string[] {
  const max = Math.floor(width);
  if (!(max >= 1)) return [];
  const lines: string[] = [];
  let line = "";
  let used = -1; // columns on the line; -1 before its first word
  for (let word of text.split(" ")) {
    let w = stringWidth(word);
    if (used >= 0 && used + 1 + w <= max) {
      line += " " + word;
      used += 1 + w;
      continue;
    }
    if (used >= 0) lines.push(line);
    while (w > max) {
      let head = truncate(word, max);
      // A wide glyph wider than the whole line still has to go somewhere.
      if (head === "") head = String.fromCodePoint(word.codePointAt(0)!);
      lines.push(head);
      word = word.slice(head.length);
      w = stringWidth(word);
    }
    line = word;
    used = w;
  }
  lines.push(line);
  return lines;
}

/** Writes segments left to right on one line of a rectangle; what does not fit ends in "…". */
export class LineWriter {
  #buf: CellBuffer;
  #y: number;
  #start: number;
  #end: number;
  #cut = false;
  /** The next column to write. */
  x: number;

  constructor(buf: CellBuffer, rect: Rect, row: number) {
    this.#buf = buf;
    this.#y = rect.y + row;
    this.x = rect.x;
    this.#start = rect.x;
    this.#end = rect.x + Math.max(0, rect.width);
  }

  /** Columns left on the line. */
  get room(): number {
    return Math.max(0, this.#end - this.x);
  }

  /**
   * Writes `text` in `style`; returns this for chaining. Text that does not fit is cut with
   * "…"; text that finds the line full already turns its last cell into "…" (spaces alone are
   * not worth a mark).
   */
  put(text: string, style?: Style): this {
    if (text === "" || this.#cut) return this;
    const room = this.room;
    if (room <= 0) {
      if (text.trim() !== "" && this.#end > this.#start) {
        this.#buf.setString(this.#end - 1, this.#y, ELLIPSIS, style, 1);
        this.#cut = true;
      }
      return this;
    }
    if (stringWidth(text) <= room) {
      this.x += this.#buf.setString(this.x, this.#y, text, style, room);
      return this;
    }
    this.x += this.#buf.setString(this.x, this.#y, cut(text, room), style, room);
    this.#cut = true;
    return this;
  }

  /** Writes `text` flush right at the end of the line if it fits after what is there. */
  putRight(text: string, width: number, style?: Style): void {
    const x = this.#end - width;
    if (x >= this.x) this.#buf.setString(x, this.#y, text, style, width);
  }
}

/**
 * Writes `text` at (x, y) as if it began `skip` columns further left, so only the part from
 * column `skip` on shows, at most `width` columns. Returns the columns written.
 */
export function putSkipping(
  buf: CellBuffer,
  x: number,
  y: number,
  text: string,
  skip: number,
  width: number,
  style?: Style,
): number {
  if (width <= 0) return 0;
  if (skip <= 0) return buf.setString(x, y, text, style, width);
  let col = 0, i = 0, pad = "";
  for (const ch of text) {
    const w = codePointWidth(ch.codePointAt(0)!);
    // Marks that belong to a skipped glyph are skipped with it.
    if (col >= skip && w > 0) break;
    if (col < skip && col + w > skip) pad = " ".repeat(col + w - skip); // a wide glyph cut in half
    col += w;
    i += ch.length;
  }
  const rest = pad + text.slice(i);
  return rest === "" ? 0 : buf.setString(x, y, rest, style, width);
}

/**
 * Draws a framed box with a title and returns the rectangle inside the frame. A box too small
 * for a frame is just filled.
 */
export function drawBox(
  buf: CellBuffer,
  rect: Rect,
  title: string,
  frame: Style,
  titleStyle: Style,
): Rect {
  const { x, y, width: w, height: h } = rect;
  if (w <= 0 || h <= 0) return { x, y, width: 0, height: 0 };
  buf.fill(x, y, w, h, " ", frame);
  if (w < 4 || h < 3) return rect;
  buf.setString(x, y, "┌" + "─".repeat(w - 2) + "┐", frame);
  for (let r = 1; r < h - 1; r++) {
    buf.setString(x, y + r, "│", frame);
    buf.setString(x + w - 1, y + r, "│", frame);
  }
  buf.setString(x, y + h - 1, "└" + "─".repeat(w - 2) + "┘", frame);
  if (title !== "") buf.setString(x + 2, y, cut(` ${title} `, w - 4), titleStyle, w - 4);
  return { x: x + 2, y: y + 1, width: w - 4, height: h - 2 };
}

/**
 * Marks on a dialog's frame that more lines follow above ("↑ more") or below ("↓ more"), for
 * a box drawn by {@linkcode drawBox} showing lines `top` … `top + shown` of `total`.
 */
export function drawMoreMarks(
  buf: CellBuffer,
  box: Rect,
  top: number,
  shown: number,
  total: number,
  style: Style,
): void {
  if (box.width < 12 || box.height < 3) return;
  const x = box.x + box.width - 10;
  if (top > 0) buf.setString(x, box.y, " ↑ more ", style, 8);
  if (top + shown < total) buf.setString(x, box.y + box.height - 1, " ↓ more ", style, 8);
}

/** A rectangle of at most `w` × `h`, centred in `outer`. */
export function centered(outer: Rect, w: number, h: number): Rect {
  const width = Math.min(w, outer.width), height = Math.min(h, outer.height);
  return {
    x: outer.x + Math.floor((outer.width - width) / 2),
    y: outer.y + Math.floor((outer.height - height) / 2),
    width,
    height,
  };
}
