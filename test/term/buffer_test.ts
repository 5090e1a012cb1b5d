/**
 * The cell buffer (writing, clipping, wide glyphs, styles) and the diff between two frames:
 * exact bytes for small cases, then a small terminal emulator that replays random diffs and
 * must end up showing exactly the next frame.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { CLEAR_SCREEN, SGR_RESET } from "../../src/term/ansi.ts";
import { CellBuffer, copyInto, diff } from "../../src/term/buffer.ts";
import { downgrade } from "../../src/term/color.ts";
import {
  Attr,
  type Color,
  type ColorDepth,
  palette,
  rgb,
  type Style,
} from "../../src/term/style.ts";
import { codePointWidth } from "../../src/term/width.ts";

function buf(width: number, height: number, rows: string[] = []): CellBuffer {
  const b = new CellBuffer(width, height);
  rows.forEach((r, y) => b.setString(0, y, r));
  return b;
}

function rowSymbols(b: CellBuffer, y: number): string[] {
  return b.symbols.slice(y * b.width, (y + 1) * b.width);
}

Deno.test("CellBuffer starts blank with default styles", () => {
  const b = new CellBuffer(3, 2);
  assertEquals([b.width, b.height], [3, 2]);
  assertEquals(b.lines(), ["   ", "   "]);
  assertEquals([...b.fg, ...b.bg, ...b.attrs], new Array(18).fill(0));
});

Deno.test("CellBuffer of size 0x0, 1x1 or negative does not throw", async (t) => {
  await t.step("0x0", () => {
    const b = new CellBuffer(0, 0);
    assertEquals(b.lines(), []);
    assertEquals(b.line(0), "");
    assertEquals(b.setString(0, 0, "hello"), 0);
    b.fill(0, 0, 5, 5, "#");
    b.patchStyle(0, 0, 5, 5, { attrs: Attr.BOLD });
    b.clear({ bg: palette(1) });
    assertEquals(diff(undefined, b, "256"), SGR_RESET + CLEAR_SCREEN);
    assertEquals(diff(b, new CellBuffer(0, 0), "256"), "");
  });
  await t.step("1x1", () => {
    const b = new CellBuffer(1, 1);
    assertEquals(b.setString(0, 0, "漢"), 1);
    assertEquals(b.lines(), [" "]);
    assertEquals(b.setString(0, 0, "ab"), 1);
    assertEquals(b.lines(), ["a"]);
    b.fill(0, 0, 1, 1, "漢");
    assertEquals(b.lines(), [" "]);
    assertEquals(diff(undefined, b, "16"), SGR_RESET + CLEAR_SCREEN);
  });
  await t.step("negative and fractional sizes", () => {
    const b = new CellBuffer(-3, 2.7);
    assertEquals([b.width, b.height], [0, 2]);
    assertEquals(b.lines(), ["", ""]);
    b.resize(2.5, -1);
    assertEquals([b.width, b.height], [2, 0]);
  });
});

Deno.test("setString() clips to the buffer and to maxWidth", async (t) => {
  await t.step("at the right edge", () => {
    const b = new CellBuffer(5, 1);
    assertEquals(b.setString(3, 0, "hello"), 2);
    assertEquals(b.line(0), "   he");
  });
  await t.step("at the left edge", () => {
    const b = new CellBuffer(5, 1);
    assertEquals(b.setString(-2, 0, "hello"), 3);
    assertEquals(b.line(0), "llo  ");
    assertEquals(b.setString(-9, 0, "hello"), 0);
  });
  await t.step("to maxWidth", () => {
    const b = new CellBuffer(5, 1);
    assertEquals(b.setString(1, 0, "hello", {}, 2), 2);
    assertEquals(b.line(0), " he  ");
    assertEquals(b.setString(0, 0, "x", {}, 0), 0);
    assertEquals(b.setString(3, 0, "xyz", {}, 9), 2);
    assertEquals(b.line(0), " hexy");
  });
  await t.step("outside the buffer", () => {
    const b = new CellBuffer(5, 2);
    assertEquals(b.setString(0, 2, "x"), 0);
    assertEquals(b.setString(0, -1, "x"), 0);
    assertEquals(b.setString(5, 0, "x"), 0);
    assertEquals(b.lines(), ["     ", "     "]);
  });
});

Deno.test("setString() gives a wide glyph two cells and never half of one", async (t) => {
  await t.step("the second cell is an empty continuation", () => {
    const b = new CellBuffer(6, 1);
    assertEquals(b.setString(0, 0, "漢字x"), 5);
    assertEquals(rowSymbols(b, 0), ["漢", "", "字", "", "x", " "]);
    assertEquals(b.line(0), "漢字x ");
  });
  await t.step("a wide glyph crossing the right edge becomes a space", () => {
    const b = new CellBuffer(5, 1);
    assertEquals(b.setString(0, 0, "ab漢字"), 5);
    assertEquals(rowSymbols(b, 0), ["a", "b", "漢", "", " "]);
    const c = new CellBuffer(5, 1);
    c.fill(0, 0, 5, 1, "#");
    assertEquals(c.setString(1, 0, "漢字", { fg: palette(2) }, 3), 3);
    assertEquals(rowSymbols(c, 0), ["#", "漢", "", " ", "#"]);
    assertEquals(c.fg[3], palette(2));
  });
  await t.step("a wide glyph crossing the left edge becomes a space", () => {
    const b = new CellBuffer(5, 1);
    assertEquals(b.setString(-1, 0, "漢a"), 2);
    assertEquals(rowSymbols(b, 0), [" ", "a", " ", " ", " "]);
  });
  await t.step("writing over either half blanks the other", () => {
    const b = buf(4, 1, ["漢字"]);
    b.setString(1, 0, "x");
    assertEquals(rowSymbols(b, 0), [" ", "x", "字", ""]);
    const c = buf(4, 1, ["漢字"]);
    c.setString(2, 0, "y");
    assertEquals(rowSymbols(c, 0), ["漢", "", "y", " "]);
    const d = buf(4, 1, ["漢字"]);
    d.setString(1, 0, "好");
    assertEquals(rowSymbols(d, 0), [" ", "好", "", " "]);
  });
  await t.step("the blanked half keeps its style", () => {
    const b = new CellBuffer(2, 1);
    b.setString(0, 0, "漢", { bg: palette(4) });
    b.setString(1, 0, "x");
    assertEquals(rowSymbols(b, 0), [" ", "x"]);
    assertEquals([...b.bg], [palette(4), 0]);
  });
});

Deno.test("setString() joins combining marks to the previous cell", () => {
  const b = new CellBuffer(5, 1);
  assertEquals(b.setString(0, 0, "e\u0301tat"), 4);
  assertEquals(rowSymbols(b, 0), ["e\u0301", "t", "a", "t", " "]);
  assertEquals(b.line(0), "e\u0301tat ");
  b.setString(0, 0, "\u0301ab");
  assertEquals(rowSymbols(b, 0), ["a", "b", "a", "t", " "]);
  b.setString(0, 0, "😀\ufe0f\u200dx");
  assertEquals(rowSymbols(b, 0), ["😀\ufe0f\u200d", "", "x", "t", " "]);
  b.setString(-1, 0, "a\u0301b");
  assertEquals(rowSymbols(b, 0)[0], "b");
});

Deno.test("setString() writes control characters as question marks", () => {
  const b = new CellBuffer(12, 1);
  assertEquals(b.setString(0, 0, "a\tb\x1b[31m\x7f\x9b\n"), 11);
  assertEquals(b.line(0), "a?b?[31m??? ");
  // Lone surrogates and the bidi controls and marks too (they would reorder the line).
  const c = new CellBuffer(9, 1);
  assertEquals(c.setString(0, 0, "\ud800x\u202ey\u2066\u061c\u200fz"), 8);
  assertEquals(c.line(0), "?x?y???z ");
});

Deno.test("setString() sets all three style fields", () => {
  const b = new CellBuffer(3, 1);
  b.clear({ fg: palette(1), bg: palette(2), attrs: Attr.BOLD });
  b.setString(0, 0, "a", { fg: rgb(1, 2, 3) });
  b.setString(1, 0, "b");
  assertEquals([b.fg[0], b.bg[0], b.attrs[0]], [rgb(1, 2, 3), 0, 0]);
  assertEquals([b.fg[1], b.bg[1], b.attrs[1]], [0, 0, 0]);
  assertEquals([b.fg[2], b.bg[2], b.attrs[2]], [palette(1), palette(2), Attr.BOLD]);
});

Deno.test("fill() fills a clipped rectangle with one symbol and style", async (t) => {
  await t.step("narrow symbol", () => {
    const b = new CellBuffer(4, 3);
    b.fill(1, 1, 2, 5, "#", { bg: palette(4) });
    assertEquals(b.lines(), ["    ", " ## ", " ## "]);
    assertEquals(b.bg[5], palette(4));
    assertEquals(b.bg[4], 0);
    b.fill(-2, -2, 4, 4);
    assertEquals(b.lines(), ["    ", "  # ", " ## "]);
  });
  await t.step("over half a wide glyph", () => {
    const b = buf(4, 1, ["漢字"]);
    b.fill(1, 0, 2, 1, "-");
    assertEquals(rowSymbols(b, 0), [" ", "-", "-", " "]);
  });
  await t.step("wide symbol", () => {
    const b = new CellBuffer(5, 1);
    b.fill(0, 0, 5, 1, "漢");
    assertEquals(rowSymbols(b, 0), ["漢", "", "漢", "", " "]);
  });
  await t.step("empty symbol counts as a space", () => {
    const b = buf(2, 1, ["ab"]);
    b.fill(0, 0, 2, 1, "");
    assertEquals(b.lines(), ["  "]);
  });
});

Deno.test("patchStyle() overlays colours and ORs attributes without touching symbols", () => {
  const b = new CellBuffer(4, 2);
  b.setString(0, 0, "abcd", { fg: palette(1), attrs: Attr.BOLD });
  b.patchStyle(1, 0, 2, 1, { bg: palette(4), attrs: Attr.UNDERLINE });
  assertEquals(b.lines(), ["abcd", "    "]);
  assertEquals([...b.fg.slice(0, 4)], new Array(4).fill(palette(1)));
  assertEquals([...b.bg.slice(0, 4)], [0, palette(4), palette(4), 0]);
  assertEquals([...b.attrs.slice(0, 4)], [1, 9, 9, 1]);
  b.patchStyle(-5, -5, 100, 100, { fg: palette(7) });
  assertEquals([...b.fg], new Array(8).fill(palette(7)));
  assertEquals([...b.attrs.slice(0, 4)], [1, 9, 9, 1]);
});

Deno.test("clear(), resize(), line() and copyInto() behave", async (t) => {
  await t.step("clear() blanks with a style", () => {
    const b = buf(2, 1, ["ab"]);
    b.clear({ bg: palette(3) });
    assertEquals(b.lines(), ["  "]);
    assertEquals([...b.bg], [palette(3), palette(3)]);
  });
  await t.step("resize() changes the size and blanks", () => {
    const b = buf(2, 1, ["ab"]);
    b.resize(3, 2);
    assertEquals(b.lines(), ["   ", "   "]);
  });
  await t.step("line() outside the buffer is empty", () => {
    const b = buf(2, 1, ["ab"]);
    assertEquals([b.line(-1), b.line(1)], ["", ""]);
  });
  await t.step("copyInto() copies cells and sizes", () => {
    const src = buf(3, 1, ["a漢"]);
    src.patchStyle(0, 0, 1, 1, { fg: rgb(9, 9, 9), attrs: Attr.DIM });
    const dst = new CellBuffer(3, 1);
    copyInto(dst, src);
    assertEquals(dst.symbols, src.symbols);
    assertEquals([dst.fg[0], dst.attrs[0]], [rgb(9, 9, 9), Attr.DIM]);
    assert(dst.symbols !== src.symbols);
    const other = new CellBuffer(7, 7);
    copyInto(other, src);
    assertEquals([other.width, other.height, other.line(0)], [3, 1, "a漢"]);
    assertEquals(diff(other, src, "truecolor"), "");
  });
});

Deno.test("diff() of identical frames is empty", () => {
  const a = buf(5, 2, ["hello", "漢字"]);
  const b = buf(5, 2, ["hello", "漢字"]);
  assertEquals(diff(a, b, "256"), "");
  assertEquals(diff(a, a, "truecolor"), "");
});

Deno.test("diff() writes exactly the changed cells", async (t) => {
  await t.step("one cell", () => {
    const next = buf(4, 2);
    next.setString(2, 1, "x");
    assertEquals(diff(new CellBuffer(4, 2), next, "256"), "\x1b[2;3H\x1b[0mx\x1b[0m");
  });
  await t.step("a run of cells with one cursor move", () => {
    const next = buf(5, 1);
    next.setString(1, 0, "abc");
    assertEquals(diff(new CellBuffer(5, 1), next, "256"), "\x1b[1;2H\x1b[0mabc\x1b[0m");
  });
  await t.step("two runs on a row with a move between them", () => {
    const prev = buf(5, 1, ["xxxxx"]);
    const next = buf(5, 1, ["abxdx"]);
    assertEquals(diff(prev, next, "16"), "\x1b[1;1H\x1b[0mab\x1b[1;4Hd\x1b[0m");
  });
  await t.step("runs on several rows", () => {
    const next = buf(3, 3);
    next.setString(0, 0, "ab");
    next.setString(1, 2, "c");
    assertEquals(diff(new CellBuffer(3, 3), next, "16"), "\x1b[1;1H\x1b[0mab\x1b[3;2Hc\x1b[0m");
  });
  await t.step("a write ending in the last column forgets the cursor", () => {
    const next = buf(3, 2);
    next.setString(2, 0, "a");
    next.setString(0, 1, "b");
    assertEquals(diff(new CellBuffer(3, 2), next, "16"), "\x1b[1;3H\x1b[0ma\x1b[2;1Hb\x1b[0m");
  });
  await t.step("a style-only change rewrites the cell", () => {
    const prev = buf(3, 1, ["abc"]);
    const next = buf(3, 1, ["abc"]);
    next.patchStyle(1, 0, 1, 1, { attrs: Attr.REVERSE });
    assertEquals(diff(prev, next, "16"), "\x1b[1;2H\x1b[0;7mb\x1b[0m");
  });
});

Deno.test("diff() writes SGR only when the style changes", async (t) => {
  await t.step("one SGR per style run", () => {
    const next = new CellBuffer(4, 1);
    next.setString(0, 0, "ab", { fg: palette(1) });
    next.setString(2, 0, "c", { attrs: Attr.BOLD });
    next.setString(3, 0, "d", { attrs: Attr.BOLD });
    assertEquals(
      diff(new CellBuffer(4, 1), next, "256"),
      "\x1b[1;1H\x1b[0;31mab\x1b[0;1mcd\x1b[0m",
    );
  });
  await t.step("the style carries over a cursor move", () => {
    const next = new CellBuffer(4, 1);
    next.setString(0, 0, "a", { bg: palette(4) });
    next.setString(3, 0, "b", { bg: palette(4) });
    assertEquals(diff(new CellBuffer(4, 1), next, "16"), "\x1b[1;1H\x1b[0;44ma\x1b[1;4Hb\x1b[0m");
  });
  await t.step("colours are downgraded, and equal after downgrade means no new SGR", () => {
    const next = new CellBuffer(2, 1);
    next.setString(0, 0, "a", { fg: rgb(255, 0, 0) });
    next.setString(1, 0, "b", { fg: rgb(250, 0, 0) });
    const prev = new CellBuffer(2, 1);
    assertEquals(diff(prev, next, "16"), "\x1b[1;1H\x1b[0;91mab\x1b[0m");
    assertEquals(diff(prev, next, "256"), "\x1b[1;1H\x1b[0;38;5;196mab\x1b[0m");
    assertEquals(
      diff(prev, next, "truecolor"),
      "\x1b[1;1H\x1b[0;38;2;255;0;0ma\x1b[0;38;2;250;0;0mb\x1b[0m",
    );
  });
  await t.step("at none only attributes make SGR", () => {
    const next = new CellBuffer(3, 1);
    next.setString(0, 0, "a", { fg: rgb(255, 0, 0) });
    next.setString(1, 0, "b", { bg: palette(3) });
    next.setString(2, 0, "c", { fg: palette(3), attrs: Attr.UNDERLINE });
    assertEquals(diff(new CellBuffer(3, 1), next, "none"), "\x1b[1;1H\x1b[0mab\x1b[0;4mc\x1b[0m");
  });
});

Deno.test("diff() redraws everything when there is no previous frame or the size changed", () => {
  const next = new CellBuffer(3, 2);
  next.setString(1, 0, "hi");
  next.setString(0, 1, "x", { fg: palette(2) });
  const want = "\x1b[0m\x1b[2J\x1b[1;2Hhi\x1b[2;1H\x1b[0;32mx\x1b[0m";
  assertEquals(diff(undefined, next, "256"), want);
  assertEquals(diff(new CellBuffer(3, 3), next, "256"), want);
  assertEquals(diff(new CellBuffer(4, 2), next, "256"), want);
  const styledBlank = new CellBuffer(2, 1);
  styledBlank.patchStyle(1, 0, 1, 1, { bg: palette(1) });
  assertEquals(diff(undefined, styledBlank, "16"), "\x1b[0m\x1b[2J\x1b[1;2H\x1b[0;41m \x1b[0m");
});

Deno.test("diff() handles wide glyphs replaced by narrow ones and back", async (t) => {
  await t.step("wide to two narrow", () => {
    assertEquals(diff(buf(3, 1, ["漢"]), buf(3, 1, ["ab"]), "16"), "\x1b[1;1H\x1b[0mab\x1b[0m");
  });
  await t.step("wide to one narrow rewrites the trailing cell", () => {
    const next = buf(3, 1, ["漢"]);
    next.setString(0, 0, "a");
    assertEquals(diff(buf(3, 1, ["漢"]), next, "16"), "\x1b[1;1H\x1b[0ma \x1b[0m");
  });
  await t.step("narrow to wide skips the continuation", () => {
    const next = buf(3, 1, ["abc"]);
    next.setString(0, 0, "漢");
    assertEquals(diff(buf(3, 1, ["abc"]), next, "16"), "\x1b[1;1H\x1b[0m漢\x1b[0m");
  });
  await t.step("the cursor advances two columns after a wide glyph", () => {
    assertEquals(diff(buf(5, 1), buf(5, 1, ["漢x"]), "16"), "\x1b[1;1H\x1b[0m漢x\x1b[0m");
  });
  await t.step("a wide glyph shifted by one column", () => {
    assertEquals(
      diff(buf(4, 1, ["漢"]), buf(4, 1, [" 漢"]), "16"),
      "\x1b[1;1H\x1b[0m 漢\x1b[0m",
    );
  });
});

// --- A tiny terminal emulator: enough of xterm to replay what diff() writes. ---

/** Marks a cell a terminal would have blanked because half of its wide glyph was overwritten. */
const DAMAGED = "\u{10FFFD}";

class Emulator {
  syms: string[];
  fg: number[];
  bg: number[];
  attrs: number[];
  /** The cursor; NaN when not known (diff() must position before writing). */
  cx = NaN;
  cy = NaN;
  sFg: Color = 0;
  sBg: Color = 0;
  sAt = 0;

  constructor(readonly width: number, readonly height: number) {
    const n = width * height;
    this.syms = new Array(n).fill("%");
    this.fg = new Array(n).fill(rgb(7, 7, 7));
    this.bg = new Array(n).fill(rgb(7, 7, 7));
    this.attrs = new Array(n).fill(Attr.ITALIC);
  }

  /** Forgets the cursor and sets a junk SGR state, as anything may have happened since. */
  scramble(): void {
    this.cx = this.cy = NaN;
    this.sFg = rgb(1, 2, 3);
    this.sBg = palette(200);
    this.sAt = Attr.BOLD | Attr.REVERSE;
  }

  feed(s: string): void {
    let last = -1;
    for (let i = 0; i < s.length;) {
      if (s[i] === "\x1b") {
        assertEquals(s[i + 1], "[", `bad escape at ${i}`);
        let j = i + 2;
        while (j < s.length && !/[@-~]/.test(s[j]!)) j++;
        const params = s.slice(i + 2, j), final = s[j];
        if (final === "H") {
          const [row, col] = params.split(";").map(Number) as [number, number];
          this.cx = col - 1;
          this.cy = row - 1;
          assert(this.cx >= 0 && this.cx < this.width && this.cy >= 0 && this.cy < this.height);
        } else if (final === "J" && params === "2") {
          this.syms.fill(" ");
          this.fg.fill(0);
          this.bg.fill(this.sBg); // background colour erase
          this.attrs.fill(0);
        } else if (final === "m") {
          this.#sgr(params.split(";").map(Number));
        } else {
          throw new Error(`Unexpected escape ${JSON.stringify(s.slice(i, j + 1))}`);
        }
        i = j + 1;
        last = -1;
        continue;
      }
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      i += ch.length;
      assert(!(cp < 0x20 || (cp >= 0x7f && cp < 0xa0)), `raw control U+${cp.toString(16)}`);
      const w = codePointWidth(cp);
      if (w === 0) {
        assert(last >= 0, "a zero-width code point with nothing to join");
        this.syms[last] += ch;
        continue;
      }
      assert(!Number.isNaN(this.cx), "text written before positioning the cursor");
      assert(this.cx + w <= this.width, `text at column ${this.cx} would wrap`);
      const row = this.cy * this.width, k = row + this.cx;
      for (let j = k; j < k + w; j++) {
        if (this.syms[j] === "" && j - 1 < k) this.syms[j - 1] = DAMAGED;
        if (j + 1 < row + this.width && this.syms[j + 1] === "" && j + 1 >= k + w) {
          this.syms[j + 1] = DAMAGED;
        }
      }
      for (let j = k; j < k + w; j++) {
        this.syms[j] = j === k ? ch : "";
        this.fg[j] = this.sFg;
        this.bg[j] = this.sBg;
        this.attrs[j] = this.sAt;
      }
      last = k;
      this.cx += w;
    }
  }

  #sgr(p: number[]): void {
    for (let i = 0; i < p.length; i++) {
      const n = p[i]!;
      if (n === 0) [this.sFg, this.sBg, this.sAt] = [0, 0, 0];
      else if (n === 1) this.sAt |= Attr.BOLD;
      else if (n === 2) this.sAt |= Attr.DIM;
      else if (n === 3) this.sAt |= Attr.ITALIC;
      else if (n === 4) this.sAt |= Attr.UNDERLINE;
      else if (n === 7) this.sAt |= Attr.REVERSE;
      else if (n >= 30 && n <= 37) this.sFg = palette(n - 30);
      else if (n >= 90 && n <= 97) this.sFg = palette(n - 90 + 8);
      else if (n >= 40 && n <= 47) this.sBg = palette(n - 40);
      else if (n >= 100 && n <= 107) this.sBg = palette(n - 100 + 8);
      else if (n === 38 || n === 48) {
        let c: Color;
        if (p[i + 1] === 5) {
          c = palette(p[i + 2]!);
          i += 2;
        } else {
          assertEquals(p[i + 1], 2);
          c = rgb(p[i + 2]!, p[i + 3]!, p[i + 4]!);
          i += 4;
        }
        if (n === 38) this.sFg = c;
        else this.sBg = c;
      } else throw new Error(`Unexpected SGR parameter ${n}`);
    }
  }

  /** Asserts the screen shows `b` as seen at `depth`. */
  assertShows(b: CellBuffer, depth: ColorDepth, msg: string): void {
    assertEquals([this.width, this.height], [b.width, b.height]);
    assertEquals(this.syms, b.symbols, `symbols: ${msg}`);
    for (let i = 0; i < b.symbols.length; i++) {
      if (b.symbols[i] === "") continue; // drawn in the style of its wide glyph
      const want = [downgrade(b.fg[i]!, depth), downgrade(b.bg[i]!, depth), b.attrs[i]];
      assertEquals([this.fg[i], this.bg[i], this.attrs[i]], want, `style of cell ${i}: ${msg}`);
    }
  }
}

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const TEXT = [
  "a",
  "b",
  "Z",
  " ",
  "-",
  "漢",
  "字",
  "한",
  "😀",
  "e\u0301",
  "\u0301",
  "\u200d",
  "Ｆ",
  "\x07",
  "\x9b",
  "カ",
  "\ufe0f",
  "x",
];
const STYLES: Style[] = [
  {},
  { fg: palette(1) },
  { fg: palette(9), bg: palette(4) },
  { fg: rgb(255, 0, 0) },
  { fg: rgb(250, 0, 0), attrs: Attr.BOLD },
  { bg: rgb(0, 95, 135), attrs: Attr.UNDERLINE | Attr.REVERSE },
  { fg: palette(200), bg: palette(236) },
  { attrs: Attr.DIM | Attr.ITALIC },
];
const DEPTHS: ColorDepth[] = ["none", "16", "256", "truecolor"];

function randomEdit(b: CellBuffer, r: (n: number) => number): void {
  const x = r(b.width + 6) - 3, y = r(b.height + 2) - 1;
  const style = STYLES[r(STYLES.length)]!;
  switch (r(10)) {
    case 0:
      b.fill(x, y, r(6), r(3), ["#", " ", "漢", "."][r(4)], style);
      break;
    case 1:
      b.patchStyle(x, y, r(6), r(3), STYLES[r(STYLES.length)]!);
      break;
    case 2:
      if (r(4) === 0) b.clear(style);
      break;
    default: {
      let text = "";
      for (let n = r(8); n > 0; n--) text += TEXT[r(TEXT.length)];
      b.setString(x, y, text, style, r(3) === 0 ? r(8) : undefined);
    }
  }
}

function randomBuffer(w: number, h: number, r: (n: number) => number): CellBuffer {
  const b = new CellBuffer(w, h);
  for (let n = r(12); n > 0; n--) randomEdit(b, r);
  return b;
}

function assertInvariant(b: CellBuffer): void {
  for (let y = 0; y < b.height; y++) {
    const s = rowSymbols(b, y);
    for (let x = 0; x < b.width; x++) {
      const wide = s[x] !== "" && codePointWidth(s[x]!.codePointAt(0)!) === 2;
      if (wide) assertEquals(s[x + 1], "", `wide glyph at ${x},${y} lacks its continuation`);
      if (s[x] === "") assert(x > 0 && s[x - 1] !== "", `stray continuation at ${x},${y}`);
    }
  }
}

Deno.test("diff() output replayed on an emulated terminal shows the next frame", () => {
  const r = prng(20240611);
  for (let iter = 0; iter < 300; iter++) {
    const depth = DEPTHS[r(DEPTHS.length)]!;
    const w = r(10), h = r(5);
    const prev = randomBuffer(w, h, r);
    assertInvariant(prev);
    const term = new Emulator(w, h);
    term.feed(diff(undefined, prev, depth));
    term.assertShows(prev, depth, `iteration ${iter}, first frame`);

    const resized = r(6) === 0;
    const next = resized ? new CellBuffer(r(10), r(5)) : new CellBuffer(w, h);
    copyInto(next, prev);
    if (resized) next.resize(r(10), r(5));
    for (let n = r(6); n > 0; n--) randomEdit(next, r);
    assertInvariant(next);

    const bytes = diff(prev, next, depth);
    if (next.width !== w || next.height !== h) {
      assert(bytes.startsWith(SGR_RESET + CLEAR_SCREEN), "a size change redraws everything");
      const fresh = new Emulator(next.width, next.height);
      fresh.scramble();
      fresh.feed(bytes);
      fresh.assertShows(next, depth, `iteration ${iter}, resized`);
      continue;
    }
    term.scramble();
    term.feed(bytes);
    term.assertShows(next, depth, `iteration ${iter}, ${JSON.stringify(bytes)}`);
    if (bytes !== "") assert(bytes.endsWith(SGR_RESET) || !bytes.includes("\x1b[0;"));
    const again = new CellBuffer(0, 0);
    copyInto(again, next);
    assertEquals(diff(next, again, depth), "");
  }
});
