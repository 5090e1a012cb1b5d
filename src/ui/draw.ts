/**
 * Small drawing helpers shared by the region renderers: a cursor that writes styled segments
 * along a line, clipped to a rectangle, and text that starts columns to the left of its cell
 * (horizontal scroll).
 *
 * @module
 */

import type { CellBuffer } from "../term/buffer.ts";
import type { Style } from "../term/style.ts";
import { codePointWidth } from "../term/width.ts";
import type { Rect } from "./layout.ts";

/** Writes segments left to right on one line of a rectangle, clipped to it. */
export class LineWriter {
  #buf: CellBuffer;
  #y: number;
  #end: number;
  /** The next column to write. */
  x: number;

  constructor(buf: CellBuffer, rect: Rect, row: number) {
    this.#buf = buf;
    this.#y = rect.y + row;
    this.x = rect.x;
    this.#end = rect.x + rect.width;
  }

  /** Columns left on the line. */
  get room(): number {
    return Math.max(0, this.#end - this.x);
  }

  /** Writes `text` in `style`; returns this for chaining. */
  put(text: string, style?: Style): this {
    if (this.room > 0) this.x += this.#buf.setString(this.x, this.#y, text, style, this.room);
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
  if (title !== "") buf.setString(x + 2, y, ` ${title} `, titleStyle, w - 4);
  return { x: x + 2, y: y + 1, width: w - 4, height: h - 2 };
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
