/**
 * Frame cost: rendering a full 200x60 screen of text into a CellBuffer, and diffing it against
 * a previous frame that differs in about 20 rows (the diff of two equal frames is the baseline).
 *
 * @module
 */

import { CellBuffer, copyInto, diff } from "../../src/term/buffer.ts";
import { Attr, palette, rgb, type Style } from "../../src/term/style.ts";

const W = 200, H = 60;
const STYLES: Style[] = [
  {},
  { fg: palette(2) },
  { fg: rgb(200, 120, 0), attrs: Attr.BOLD },
  { bg: palette(236) },
];

function render(b: CellBuffer, frame: number, changedRows: number): void {
  b.clear();
  b.setString(0, 0, "conntop - 12345 connections, 1.2M/s in, 340K/s out", { attrs: Attr.REVERSE });
  for (let y = 1; y < H; y++) {
    const n = y <= changedRows ? frame : 0;
    let x = 0;
    for (let col = 0; x < W; col++) {
      const text = `10.${y}.${col}.${(n + col) % 256}:${443 + col} `;
      x += b.setString(x, y, text, STYLES[(y + col) % STYLES.length]);
    }
  }
}

const prev = new CellBuffer(W, H), next = new CellBuffer(W, H), same = new CellBuffer(W, H);
render(prev, 0, 0);
render(next, 1, 20);
copyInto(same, prev);
let sink = 0;

Deno.bench({
  name: "render a full 200x60 screen of text",
  group: "render",
  baseline: true,
  fn() {
    render(next, 1, 20);
  },
});

Deno.bench({
  name: "diff 200x60 frames that are equal",
  group: "diff",
  baseline: true,
  fn() {
    sink += diff(prev, same, "256").length;
  },
});

Deno.bench({
  name: "diff 200x60 frames that differ in 20 rows",
  group: "diff",
  fn() {
    sink += diff(prev, next, "256").length;
  },
});

Deno.bench({
  name: "diff 200x60 frames that differ in 20 rows, truecolor",
  group: "diff",
  fn() {
    sink += diff(prev, next, "truecolor").length;
  },
});

Deno.bench({
  name: "full redraw of a 200x60 frame",
  group: "diff",
  fn() {
    sink += diff(undefined, next, "256").length;
  },
});
