/**
 * The help screen (F1 or `?`): every key, grouped as htop groups them. The key table in
 * keymap.ts is the source of what keys do; this is what a person reads.
 *
 * @module
 */

import type { CellBuffer } from "../term/buffer.ts";
import { Attr } from "../term/style.ts";
import { centered, drawBox } from "./draw.ts";
import type { Rect } from "./layout.ts";
import type { Theme } from "./theme.ts";

/** The help text: [keys, what they do]; a line with empty keys is a section title. */
export const HELP_LINES: readonly (readonly [string, string])[] = [
  ["", "Moving around"],
  ["Up/Down, k/j", "move the cursor one row"],
  ["PgUp/PgDn", "move one page"],
  ["Home/End, g/G", "first / last row"],
  ["Left/Right", "scroll the columns sideways"],
  ["mouse", "click a row to select it, wheel to scroll, click a column title to sort"],
  ["", "Looking closer"],
  ["Enter", "details of the connection under the cursor (every field)"],
  ["F3, /", "search: type to jump to the next match; F3 or n next, N previous"],
  ["\\", "filter: show only rows that match the typed text (Esc in it clears)"],
  ["F4", "cursor bar on/off"],
  ["F5", "hostnames instead of addresses, on/off"],
  ["F6", "service names instead of ports, on/off"],
  ["", "Order"],
  ["< >", "sort by the previous / next column"],
  ["s", "sort dialog: primary (Enter) and secondary (Space) keys"],
  ["I", "invert the sort order"],
  ["L", "lock the row order: rows stay put while their values update"],
  ["", "Screen"],
  ["F2, S", "columns: show/hide, reorder, width"],
  ["F7/F8", "previous / next view mode"],
  ["F9, Space, Z", "pause: the list freezes while collection goes on"],
  ["+ -", "replay: faster / slower"],
  ["Ctrl-L", "redraw the screen"],
  ["Esc", "close a dialog"],
  ["F10, q, Ctrl-C", "quit"],
];

/** Draws the help dialog over `area`, scrolled by `scroll` lines. */
export function renderHelp(buf: CellBuffer, area: Rect, scroll: number, theme: Theme): void {
  const box = centered(area, 90, HELP_LINES.length + 4);
  const inner = drawBox(
    buf,
    box,
    "Help — conntop keys (Esc closes)",
    theme.dialog,
    theme.dialogTitle,
  );
  const keyWidth = 19;
  const lines = HELP_LINES.slice(Math.max(0, Math.min(scroll, HELP_LINES.length - inner.height)));
  for (let r = 0; r < inner.height && r < lines.length; r++) {
    const [keys, what] = lines[r]!;
    const y = inner.y + r;
    if (keys === "") {
      buf.setString(inner.x, y, what, theme.dialogTitle, inner.width);
      continue;
    }
    buf.setString(
      inner.x,
      y,
      "  " + keys,
      { ...theme.dialog, attrs: Attr.BOLD },
      Math.min(keyWidth, inner.width),
    );
    if (inner.width > keyWidth) {
      buf.setString(inner.x + keyWidth, y, what, theme.dialog, inner.width - keyWidth);
    }
  }
}
