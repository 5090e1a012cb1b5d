/**
 * The help screen (F1, `?` or `h`): every key, grouped as htop groups them. The key table in
 * keymap.ts is the source of what keys do; this is what a person reads, and a test holds the
 * two equal. Lines wrap to the dialog's width (never cut) and the dialog scrolls, saying on its
 * frame when more follows.
 *
 * @module
 */

import type { CellBuffer } from "../term/mod.ts";
import { Attr } from "../term/mod.ts";
import { centered, drawBox, drawMoreMarks, wrap } from "./draw.ts";
import type { Rect } from "./layout.ts";
import type { Theme } from "./theme.ts";

/** The help text: [keys, what they do]; a line with empty keys is a section title. */
export const HELP_LINES: readonly (readonly [string, string])[] = [
  ["", "Moving around"],
  ["Up/Down, k/j", "move the cursor one row"],
  ["PgUp/PgDn, Ctrl-B/Ctrl-F", "move one page"],
  ["Home/End, g/G", "first / last row"],
  ["Left/Right", "scroll the columns sideways"],
  [
    "mouse",
    "click a row to select it, wheel to scroll, click a column title to sort by it " +
    "(again: invert), click the key bar to press that key",
  ],
  ["", "Looking closer"],
  ["Enter", "details of the connection under the cursor (every field)"],
  ["F3, /", "search: type to jump to the next match; F3 next, Shift-F3 previous"],
  ["n, N, Shift-F3", "after a search: next / previous match"],
  ["F4, \\", "filter: show only rows that match the typed text (Esc in it clears)"],
  ["c", "cursor bar on/off"],
  ["H", "hostnames instead of addresses, on/off"],
  ["P", "service names instead of port numbers, on/off"],
  ["", "Order"],
  ["F6, s", "sort by: pick the primary (Enter) and secondary (Space) key, I inverts"],
  ["< > . ,", "sort by the previous / next column (the comma and full stop too)"],
  ["I", "invert the sort order"],
  ["L", "lock the row order: rows stay put while their values update"],
  ["", "Screen"],
  ["F1, ?, h", "this help"],
  ["F2, S", "setup: columns: show/hide, reorder, width"],
  ["F7/F8", "previous / next view mode"],
  ["Space, Z", "pause: the list freezes while collection goes on"],
  ["+, =, -", "replay: faster (+ or =) / slower (-)"],
  ["Ctrl-L", "redraw the screen"],
  ["Esc", "clear the search marks; close a dialog (so do q and F10)"],
  ["F10, q, Ctrl-C", "quit"],
];

/** One line of the help as shown: keys (bold) at column 2, text at column `at`. */
export interface HelpRow {
  keys: string;
  text: string;
  /** The text is a section title. */
  title: boolean;
}

const KEY_WIDTH = 19;
/** Narrower than this, the text goes under its keys instead of beside them. */
const MIN_TEXT = 16;

/** Where the text column starts in a dialog `width` columns wide (inside the frame). */
export function helpTextColumn(width: number): number {
  return width - KEY_WIDTH >= MIN_TEXT ? KEY_WIDTH : 4;
}

/** The help's lines wrapped to a dialog `width` columns wide (inside the frame). */
export function helpRows(width: number): HelpRow[] {
  const at = helpTextColumn(width);
  const rows: HelpRow[] = [];
  for (const [keys, what] of HELP_LINES) {
    if (keys === "") {
      for (const t of wrap(what, width)) rows.push({ keys: "", text: t, title: true });
      continue;
    }
    const k = wrap(keys, Math.max(1, (at === KEY_WIDTH ? KEY_WIDTH : width) - 3));
    const t = wrap(what, width - at);
    if (at === KEY_WIDTH) {
      for (let i = 0; i < Math.max(k.length, t.length); i++) {
        rows.push({ keys: k[i] ?? "", text: t[i] ?? "", title: false });
      }
    } else {
      for (const line of k) rows.push({ keys: line, text: "", title: false });
      for (const line of t) rows.push({ keys: "", text: line, title: false });
    }
  }
  return rows;
}

function geometry(area: Rect): { box: Rect; inner: Rect; rows: HelpRow[] } {
  const width = Math.min(90, area.width);
  const rows = helpRows(width - 4);
  const box = centered(area, width, rows.length + 2);
  const inner = box.width < 4 || box.height < 3
    ? box
    : { x: box.x + 2, y: box.y + 1, width: box.width - 4, height: box.height - 2 };
  return { box, inner, rows };
}

/** How far the help scrolls in `area` (lines beyond the first page). */
export function helpScrollMax(area: Rect): number {
  const { inner, rows } = geometry(area);
  return Math.max(0, rows.length - inner.height);
}

/** Draws the help dialog over `area`, scrolled by `scroll` lines. */
export function renderHelp(buf: CellBuffer, area: Rect, scroll: number, theme: Theme): void {
  const { box, rows } = geometry(area);
  const inner = drawBox(
    buf,
    box,
    "Help — conntop keys (Esc closes)",
    theme.dialog,
    theme.dialogTitle,
  );
  if (inner.width <= 0) return;
  const at = helpTextColumn(inner.width);
  const top = Math.max(0, Math.min(scroll, rows.length - inner.height));
  for (let r = 0; r < inner.height && top + r < rows.length; r++) {
    const { keys, text, title } = rows[top + r]!;
    const y = inner.y + r;
    if (title) {
      buf.setString(inner.x, y, text, theme.dialogTitle, inner.width);
      continue;
    }
    if (keys !== "") {
      buf.setString(inner.x + 2, y, keys, { ...theme.dialog, attrs: Attr.BOLD }, inner.width - 2);
    }
    if (text !== "") buf.setString(inner.x + at, y, text, theme.dialog, inner.width - at);
  }
  drawMoreMarks(buf, box, top, inner.height, rows.length, theme.dialogTitle);
}
