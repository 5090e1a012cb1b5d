/**
 * The reference for the keypress-to-screen latency: the least a full-screen program can do for
 * the same keys. It draws conntop's layout (header, column header, list, footer) with a cursor
 * bar in the list and a sort arrow in the column header, and on each key moves them exactly as
 * conntop does — Up/Down one row, PageUp/PageDown one page, `>` the arrow to the next column —
 * redrawing only the lines that changed, and counts the keys in its header. It keeps no data and
 * sorts nothing, so the time from a key to its effect on the screen is that of the terminal
 * (tmux), the tty and the Deno runtime alone.
 *
 * Run by the benchmark in a tmux pane: `deno run scripts/_bench/ui_ref.ts`. Quits on `q` or
 * Ctrl-C. Needs no permissions.
 *
 * @module
 */

import { layout } from "../../src/ui/layout.ts";

/** Rows the virtual list has, as many as conntop's table in the benchmark. */
const ROWS = 250_000;
/** Columns the arrow steps through, one title every 11 cells. */
const COLUMNS = 14;
const COLUMN_WIDTH = 11;

const enc = new TextEncoder();
const write = (s: string) => {
  const b = enc.encode(s);
  for (let off = 0; off < b.length;) off += Deno.stdout.writeSync(b.subarray(off));
};

const { columns: width, rows: height } = Deno.consoleSize();
const l = layout(width, height);
const page = Math.max(1, l.list.height);
let cursor = 0, top = 0, sortColumn = 6, keys = 0;

const to = (y: number) => `\x1b[${y + 1};1H`;
const pad = (s: string) => s.padEnd(width).slice(0, width);

function headerLine(): string {
  return to(l.header.y) + pad(` reference  keys ${keys}`);
}

function columnsLine(): string {
  let s = "";
  for (let c = 0; c < COLUMNS; c++) {
    s += (`COL${c}` + (c === sortColumn ? "▼" : "")).padEnd(COLUMN_WIDTH);
  }
  return to(l.columns.y) + "\x1b[30;42m" + pad(s) + "\x1b[0m";
}

function rowLine(r: number): string {
  const text = pad(`row ${r}`.padEnd(12) + "x".repeat(100));
  const y = l.list.y + (r - top);
  return to(y) + (r === cursor ? `\x1b[30;46m${text}\x1b[0m` : text);
}

function wholePage(): string {
  let s = "";
  for (let r = top; r < top + page; r++) s += rowLine(r);
  return s;
}

function move(delta: number): string {
  const before = cursor, beforeTop = top;
  cursor = Math.max(0, Math.min(ROWS - 1, cursor + delta));
  if (cursor < top) top = cursor;
  if (cursor >= top + page) top = cursor - page + 1;
  if (top !== beforeTop) return wholePage();
  return rowLine(before) + rowLine(cursor);
}

function key(seq: string): string {
  switch (seq) {
    case "\x1b[A":
      return move(-1);
    case "\x1b[B":
      return move(1);
    case "\x1b[5~":
      return move(-page);
    case "\x1b[6~":
      return move(page);
    case ">":
      sortColumn = (sortColumn + 1) % COLUMNS;
      return columnsLine();
    default:
      return "";
  }
}

Deno.stdin.setRaw(true);
write("\x1b[?1049h\x1b[?25l\x1b[2J" + headerLine() + columnsLine() + wholePage());
const buf = new Uint8Array(256);
const dec = new TextDecoder();
try {
  loop: for (;;) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    const text = dec.decode(buf.subarray(0, n));
    let out = "";
    // Escape sequences of the keys sent (CSI A/B, CSI 5~/6~) or single characters.
    // deno-lint-ignore no-control-regex
    for (const m of text.matchAll(/\x1b\[[0-9;]*[~A-Za-z]|[\s\S]/g)) {
      if (m[0] === "q" || m[0] === "\x03") break loop;
      keys++;
      out += key(m[0]);
    }
    if (out !== "") write(out + headerLine());
  }
} finally {
  write("\x1b[?25h\x1b[?1049l");
  Deno.stdin.setRaw(false);
}
