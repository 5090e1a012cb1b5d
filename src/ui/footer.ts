/**
 * The bottom line: htop's function-key bar, or the search/filter line being typed, or a short
 * message.
 *
 * @module
 */

import type { CellBuffer } from "../term/buffer.ts";
import { LineWriter } from "./draw.ts";
import type { Rect } from "./layout.ts";
import type { Theme } from "./theme.ts";
import type { InputView, MessageView } from "./view.ts";

/** The function keys on the bar: key name (as the input decoder names it) and label. */
export const FKEYS: readonly (readonly [key: string, label: string])[] = [
  ["f1", "Help"],
  ["f2", "Setup"],
  ["f3", "Search"],
  ["f4", "Cursor"],
  ["f5", "Names"],
  ["f6", "Servic"],
  ["f7", "Prev"],
  ["f8", "Next"],
  ["f9", "Pause"],
  ["f10", "Quit"],
];

const LABEL_WIDTH = 6;

/** The bar's keys and where each sits (for mouse clicks). */
export function fkeySpans(width: number): { key: string; x: number; width: number }[] {
  const out: { key: string; x: number; width: number }[] = [];
  let x = 0;
  for (const [key, label] of FKEYS) {
    const w = key.length + Math.max(LABEL_WIDTH, label.length);
    if (x >= width) break;
    out.push({ key, x, width: Math.min(w, width - x) });
    x += w;
  }
  return out;
}

/** Draws the footer: the input line if one is open, else a message if any, else the key bar. */
export function renderFooter(
  buf: CellBuffer,
  rect: Rect,
  input: InputView | null,
  message: MessageView | null,
  theme: Theme,
): void {
  if (rect.height <= 0 || rect.width <= 0) return;
  const w = new LineWriter(buf, rect, 0);
  if (input !== null) {
    buf.fill(rect.x, rect.y, rect.width, 1, " ", theme.input);
    w.put(input.kind === "search" ? "Search: " : "Filter: ", theme.input);
    w.put(input.text, theme.input);
    w.put("█", theme.input);
    if (input.notFound) w.put("  not found", theme.error);
    w.putRight(" Enter done  Esc cancel ", 24, theme.input);
    return;
  }
  if (message !== null) {
    w.put(" ").put(message.text, message.error ? theme.error : theme.warn);
    return;
  }
  for (const [key, label] of FKEYS) {
    w.put(key.toUpperCase(), theme.fkey);
    w.put(label.padEnd(LABEL_WIDTH), theme.fkeyLabel);
  }
  if (w.room > 0) buf.fill(w.x, rect.y, w.room, 1, " ", theme.fkeyLabel);
}
