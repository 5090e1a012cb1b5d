/**
 * The bottom line: htop's function-key bar with the cursor's position in its right corner, or
 * the search/filter line being typed, or a short message.
 *
 * The bar shows whole labels only, one space apart; when the line is short, labels drop out
 * whole, least needed first (F1 Help and F10 Quit stay longest), never half a label.
 *
 * @module
 */

import type { CellBuffer } from "../term/mod.ts";
import { stringWidth } from "../term/mod.ts";
import { cut, ELLIPSIS, LineWriter } from "./draw.ts";
import type { Rect } from "./layout.ts";
import type { Theme } from "./theme.ts";
import type { InputView, ListView, MessageView } from "./view.ts";

/**
 * The keys on the bar, in the order shown: key name (as the input decoder names it), label, and
 * rank (0 is dropped last). F5 and F9 are htop's tree and kill: kept free, so not shown.
 */
export const FKEYS: readonly (readonly [key: string, label: string, rank: number])[] = [
  ["f1", "Help", 0],
  ["f2", "Setup", 6],
  ["f3", "Search", 4],
  ["f4", "Filter", 3],
  ["f6", "SortBy", 5],
  ["f10", "Quit", 1],
];
/** The rank of the position in the corner among the labels'. */
const POSITION_RANK = 2;

/** A key on the bar and where it sits. */
export interface BarKey {
  key: string;
  label: string;
  x: number;
  width: number;
}

/** The bar laid out on a line `width` wide with `position` in its corner ("" for none). */
export function keyBar(width: number, position: string): { keys: BarKey[]; position: string } {
  const shown = FKEYS.map(([key, label, rank]) => ({
    key,
    label,
    rank,
    width: stringWidth(key) + stringWidth(label),
  }));
  let pos = position;
  const need = () =>
    shown.reduce((a, k) => a + k.width + 1, 0) + (pos === "" ? 0 : stringWidth(pos) + 1);
  while (need() > width) {
    const worst = Math.max(...shown.map((k) => k.rank), pos === "" ? -1 : POSITION_RANK);
    if (worst < 0) break;
    if (pos !== "" && worst === POSITION_RANK) pos = "";
    else shown.splice(shown.findIndex((k) => k.rank === worst), 1);
  }
  const keys: BarKey[] = [];
  let x = 0;
  for (const k of shown) {
    keys.push({ key: k.key, label: k.label, x, width: k.width });
    x += k.width + 1;
  }
  return { keys, position: pos };
}

/**
 * Where the list is, for the bar's corner: "row N of M" with the cursor bar, "rows A-B of M"
 * without it, "" for an empty list.
 */
export function positionText(list: ListView): string {
  if (list.total === 0) return "";
  if (list.cursor >= 0) return `row ${list.cursor + 1} of ${list.total}`;
  const last = Math.min(list.total, list.top + Math.max(1, list.rows.length));
  return `rows ${list.top + 1}-${last} of ${list.total}`;
}

/** Draws the footer: the input line if one is open, else a message if any, else the key bar. */
export function renderFooter(
  buf: CellBuffer,
  rect: Rect,
  input: InputView | null,
  message: MessageView | null,
  list: ListView,
  theme: Theme,
): void {
  if (rect.height <= 0 || rect.width <= 0) return;
  const w = new LineWriter(buf, rect, 0);
  if (input !== null) {
    buf.fill(rect.x, rect.y, rect.width, 1, " ", theme.input);
    const label = input.kind === "search" ? "Search: " : "Filter: ";
    const hint = " Enter done  Esc cancel ";
    const tail = input.notFound ? "  not found" : "";
    const hintRoom = rect.width - stringWidth(label + tail) - 12 >= stringWidth(hint);
    // The end of a long text shows, where the typing happens; "…" marks the part scrolled off.
    const room = rect.width - stringWidth(label + tail) - 1 - (hintRoom ? stringWidth(hint) : 0);
    let text = input.text;
    if (stringWidth(text) > room && room > 1) {
      const chars = [...text];
      let i = chars.length, used = 0;
      while (i > 0 && used + stringWidth(chars[i - 1]!) <= room - 1) {
        used += stringWidth(chars[--i]!);
      }
      text = ELLIPSIS + chars.slice(i).join("");
    }
    w.put(label, theme.input).put(text, theme.input).put("█", theme.input);
    if (tail !== "") w.put(tail, theme.error);
    if (hintRoom) w.putRight(hint, stringWidth(hint), theme.input);
    return;
  }
  if (message !== null) {
    w.put(" ").put(message.text, message.error ? theme.error : theme.warn);
    return;
  }
  buf.fill(rect.x, rect.y, rect.width, 1, " ", theme.fkeyLabel);
  const bar = keyBar(rect.width, positionText(list));
  for (const k of bar.keys) {
    buf.setString(rect.x + k.x, rect.y, k.key.toUpperCase(), theme.fkey);
    buf.setString(rect.x + k.x + k.key.length, rect.y, k.label, theme.fkeyLabel);
  }
  if (bar.position !== "") {
    const text = cut(bar.position + " ", rect.width);
    w.putRight(text, stringWidth(text), theme.fkeyLabel);
  }
}
