/**
 * The screen as a grid of cells, and the diff that updates a terminal from one frame to the
 * next, in the manner of ratatui's `Buffer` and `diff`: render a frame into a fresh
 * {@linkcode CellBuffer}, write only the cells that differ from the previous frame, then keep
 * the new frame as the previous one ({@linkcode copyInto} or a swap).
 *
 * A cell holds a symbol (one character plus any combining marks, `" "` when blank, `""` for the
 * cell right of a wide glyph), a foreground, a background and attributes. Writers keep the
 * invariant the diff relies on: a wide glyph is always followed by its `""` cell, and a `""`
 * cell always follows a wide glyph; half a wide glyph is never left on screen.
 *
 * Pure: the diff returns a string; writing it to the terminal is the caller's job.
 *
 * @example
 * ```ts
 * import { CellBuffer, copyInto, diff } from "./buffer.ts";
 * import { Attr } from "./style.ts";
 *
 * const prev = new CellBuffer(80, 24), next = new CellBuffer(80, 24);
 * next.setString(0, 0, "conntop", { attrs: Attr.BOLD });
 * const bytes = diff(undefined, next, "256"); // the first frame: clear and draw
 * copyInto(prev, next);
 * ```
 *
 * @module
 */

import { CLEAR_SCREEN, cursorTo, sgr, SGR_RESET } from "./ansi.ts";
import { downgrade } from "./color.ts";
import type { ColorDepth, Style } from "./style.ts";
import { codePointWidth, stringWidth } from "./width.ts";
import { printable } from "../text/mod.ts";

/** A flat, row-major grid of cells: cell (x, y) is index `y * width + x` of every array. */
export class CellBuffer {
  #width = 0;
  #height = 0;
  #symbols: string[] = [];
  #fg = new Uint32Array(0);
  #bg = new Uint32Array(0);
  #attrs = new Uint16Array(0);

  /** A blank buffer; negative or non-finite sizes count as 0, fractions are dropped. */
  constructor(width: number, height: number) {
    this.resize(width, height);
  }

  /** Columns. */
  get width(): number {
    return this.#width;
  }

  /** Rows. */
  get height(): number {
    return this.#height;
  }

  /** Symbol per cell: a grapheme (base + combining marks), " " for blank, "" for the
   * continuation cell right of a wide glyph. */
  get symbols(): string[] {
    return this.#symbols;
  }

  /** Foreground colour per cell. */
  get fg(): Uint32Array {
    return this.#fg;
  }

  /** Background colour per cell. */
  get bg(): Uint32Array {
    return this.#bg;
  }

  /** Attribute flags per cell. */
  get attrs(): Uint16Array {
    return this.#attrs;
  }

  /** Reset every cell to " " with `style` (default: all DEFAULT/0). */
  clear(style?: Style): void {
    this.#symbols.fill(" ");
    this.#fg.fill(style?.fg ?? 0);
    this.#bg.fill(style?.bg ?? 0);
    this.#attrs.fill(style?.attrs ?? 0);
  }

  /**
   * Writes `text` at (x, y), clipped to the buffer and to `maxWidth` columns from `x` (default:
   * to the right edge); returns how many cells were written. Every written cell takes all three
   * style fields (an undefined field means DEFAULT/0).
   *
   * A wide glyph takes two cells (the second `""`); one that would cross the clip edge is
   * replaced by a space. Zero-width code points join the cell written before them (dropped if
   * there is none). What `printable()` replaces (C0, DEL, C1, the bidi controls and marks, lone
   * surrogates) is written as `"?"`, never raw: this is the last gate before the terminal for
   * every region of the screen. Writing over half of a wide glyph blanks its other half,
   * keeping that cell's style.
   */
  setString(x: number, y: number, text: string, style?: Style, maxWidth?: number): number {
    const w = this.#width;
    x = Math.floor(x);
    y = Math.floor(y);
    if (!(y >= 0 && y < this.#height)) return 0;
    const edge = maxWidth === undefined ? w : Math.min(w, x + Math.max(0, Math.floor(maxWidth)));
    if (!(x < edge)) return 0;
    text = printable(text);
    const fg = style?.fg ?? 0, bg = style?.bg ?? 0, at = style?.attrs ?? 0;
    const syms = this.#symbols;
    const row = y * w;
    const start = Math.max(x, 0);
    let col = x;
    let last = -1; // the cell zero-width code points join; -1 when its base was clipped
    for (let i = 0; i < text.length;) {
      let cp = text.charCodeAt(i);
      let sym: string;
      let cw: number;
      if (cp >= 0x20 && cp < 0x7f) {
        sym = text[i]!;
        cw = 1;
        i++;
      } else {
        let len = 1;
        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
          const lo = text.charCodeAt(i + 1);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
            len = 2;
          }
        }
        sym = len === 1 ? text[i]! : text.slice(i, i + 2);
        cw = codePointWidth(cp);
        i += len;
        if (cw === 0) {
          if (last >= 0) syms[last] += sym;
          continue;
        }
      }
      if (col + cw > edge) {
        if (col >= 0 && col < edge) this.#put(row, col++, " ", 1, fg, bg, at);
        break;
      }
      if (col < 0) {
        if (col + cw > 0) this.#put(row, 0, " ", 1, fg, bg, at); // a wide glyph cut by x < 0
        col += cw;
        last = -1;
        continue;
      }
      this.#put(row, col, sym, cw, fg, bg, at);
      last = row + col;
      col += cw;
    }
    return Math.max(0, col - start);
  }

  /**
   * Fills a rectangle (clipped) with `symbol` (default " ") and `style`. A wide symbol is
   * repeated as `setString` would write it; an empty or zero-width one counts as " ".
   */
  fill(x: number, y: number, w: number, h: number, symbol = " ", style?: Style): void {
    const [x0, x1, y0, y1] = this.#clip(x, y, w, h);
    if (x0 >= x1 || y0 >= y1) return;
    const first = symbol.codePointAt(0);
    if (first === undefined || (codePointWidth(first) === 0 && stringWidth(symbol) === 0)) {
      symbol = " ";
    }
    const fg = style?.fg ?? 0, bg = style?.bg ?? 0, at = style?.attrs ?? 0;
    if (codePointWidth(symbol.codePointAt(0)!) !== 1 || stringWidth(symbol) !== 1) {
      const run = symbol.repeat(x1 - x0);
      for (let r = y0; r < y1; r++) this.setString(x0, r, run, style, x1 - x0);
      return;
    }
    const width = this.#width, syms = this.#symbols;
    for (let r = y0; r < y1; r++) {
      const a = r * width + x0, b = r * width + x1;
      if (x0 > 0 && syms[a] === "") syms[a - 1] = " ";
      if (x1 < width && syms[b] === "") syms[b] = " ";
      syms.fill(symbol, a, b);
      this.#fg.fill(fg, a, b);
      this.#bg.fill(bg, a, b);
      this.#attrs.fill(at, a, b);
    }
  }

  /**
   * Overlays a style on a rectangle (clipped) without changing symbols: the fields `patch`
   * defines replace the cells' colours, and its `attrs` are OR-ed in. For highlighting the
   * cursor row and search matches.
   */
  patchStyle(x: number, y: number, w: number, h: number, patch: Style): void {
    const [x0, x1, y0, y1] = this.#clip(x, y, w, h);
    const width = this.#width;
    for (let r = y0; r < y1; r++) {
      const a = r * width + x0, b = r * width + x1;
      if (patch.fg !== undefined) this.#fg.fill(patch.fg, a, b);
      if (patch.bg !== undefined) this.#bg.fill(patch.bg, a, b);
      if (patch.attrs) {
        for (let i = a; i < b; i++) this.#attrs[i]! |= patch.attrs;
      }
    }
  }

  /** The text of row `y` (continuation cells add nothing), trailing spaces kept; "" when `y`
   * is outside the buffer. */
  line(y: number): string {
    if (!(y >= 0 && y < this.#height)) return "";
    const a = Math.floor(y) * this.#width;
    let s = "";
    for (let i = a; i < a + this.#width; i++) s += this.#symbols[i];
    return s;
  }

  /** Every row's text, top to bottom. */
  lines(): string[] {
    const out: string[] = [];
    for (let y = 0; y < this.#height; y++) out.push(this.line(y));
    return out;
  }

  /** Changes the size and blanks every cell (negative or non-finite sizes count as 0). */
  resize(width: number, height: number): void {
    const w = Math.floor(width) > 0 ? Math.floor(width) : 0;
    const h = Math.floor(height) > 0 ? Math.floor(height) : 0;
    this.#width = w;
    this.#height = h;
    const n = w * h;
    this.#symbols = new Array<string>(n).fill(" ");
    this.#fg = new Uint32Array(n);
    this.#bg = new Uint32Array(n);
    this.#attrs = new Uint16Array(n);
  }

  /** Writes one glyph of width `cw` at column `col` of the row starting at index `row`,
   * first blanking the other half of any wide glyph it overwrites only in part. */
  #put(row: number, col: number, sym: string, cw: number, fg: number, bg: number, at: number) {
    const syms = this.#symbols, end = row + this.#width;
    const k = row + col;
    for (let j = k; j < k + cw; j++) {
      if (j > row && syms[j] === "") syms[j - 1] = " ";
      if (j + 1 < end && syms[j + 1] === "") syms[j + 1] = " ";
    }
    syms[k] = sym;
    this.#fg[k] = fg;
    this.#bg[k] = bg;
    this.#attrs[k] = at;
    if (cw === 2) {
      syms[k + 1] = "";
      this.#fg[k + 1] = fg;
      this.#bg[k + 1] = bg;
      this.#attrs[k + 1] = at;
    }
  }

  #clip(x: number, y: number, w: number, h: number): [number, number, number, number] {
    x = Math.floor(x);
    y = Math.floor(y);
    const x1 = Math.min(this.#width, x + Math.floor(w));
    const y1 = Math.min(this.#height, y + Math.floor(h));
    return [Math.max(0, x), x1, Math.max(0, y), y1];
  }
}

/**
 * The bytes that turn a terminal showing `prev` into one showing `next`.
 *
 * Only changed cells are written. The cursor is moved only where the next changed cell is not
 * where the previous write left it, so a run of changed cells is one move and its text. SGR is
 * written only when the style changes, with {@linkcode sgr} at `depth` on colours passed
 * through {@linkcode downgrade}; the first one of an incremental update is always written,
 * since the terminal's current SGR state is not known. After a write that ends in the last
 * column the cursor is always moved, so autowrap never comes into play.
 *
 * When `prev` is undefined or of another size: SGR reset and clear screen, then every cell
 * that is not a default blank (a cleared screen already shows those). A wide glyph replaced by
 * narrow ones has its trailing cell rewritten too (its `""` differs from the new symbol). The
 * result ends with SGR reset if any SGR was written, and is "" when nothing changed.
 */
export function diff(prev: CellBuffer | undefined, next: CellBuffer, depth: ColorDepth): string {
  const w = next.width, h = next.height;
  const full = prev === undefined || prev.width !== w || prev.height !== h;
  const out: string[] = [];
  if (full) out.push(SGR_RESET, CLEAR_SCREEN);
  const ns = next.symbols, nf = next.fg, nb = next.bg, na = next.attrs;
  const ps = full ? ns : prev.symbols, pf = full ? nf : prev.fg;
  const pb = full ? nb : prev.bg, pa = full ? na : prev.attrs;
  let curX = -1, curY = -1;
  // The SGR state as written (after downgrade) and the raw cell values it was made for;
  // -1 means unknown.
  let sFg = full ? 0 : -1, sBg = sFg, sAt = sFg;
  let rFg = sFg, rBg = sFg, rAt = sFg;
  let wroteSgr = false;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      const sym = ns[i]!;
      if (sym === "") continue; // drawn by the wide glyph to its left
      const f = nf[i]!, b = nb[i]!, a = na[i]!;
      const wide = x + 1 < w && ns[i + 1] === "";
      if (full) {
        if (sym === " " && f === 0 && b === 0 && a === 0) continue;
      } else if (
        sym === ps[i] && f === pf[i] && b === pb[i] && a === pa[i] &&
        (!wide || ps[i + 1] === "")
      ) continue;
      if (curX !== x || curY !== y) out.push(cursorTo(x, y));
      if (f !== rFg || b !== rBg || a !== rAt) {
        rFg = f;
        rBg = b;
        rAt = a;
        const df = downgrade(f, depth), db = downgrade(b, depth);
        if (df !== sFg || db !== sBg || a !== sAt) {
          out.push(sgr({ fg: df, bg: db, attrs: a }, depth));
          sFg = df;
          sBg = db;
          sAt = a;
          wroteSgr = true;
        }
      }
      out.push(sym);
      // After the last column curX is w, which no cell matches: the next write repositions,
      // so the terminal's pending wrap never takes effect.
      curX = wide ? x + 2 : x + 1;
      curY = y;
    }
  }
  if (wroteSgr) out.push(SGR_RESET);
  return out.join("");
}

/** Copies `src` into `dst`, so a caller can keep two buffers and reuse them without
 * allocating; `dst` is resized first when the sizes differ. */
export function copyInto(dst: CellBuffer, src: CellBuffer): void {
  if (dst.width !== src.width || dst.height !== src.height) dst.resize(src.width, src.height);
  const d = dst.symbols, s = src.symbols;
  for (let i = 0; i < s.length; i++) d[i] = s[i]!;
  dst.fg.set(src.fg);
  dst.bg.set(src.bg);
  dst.attrs.set(src.attrs);
}
