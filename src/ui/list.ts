/**
 * The connection list: the column header with the sort column marked, and one line per
 * connection on the visible page, with the cursor bar and search matches highlighted.
 * Columns are laid out left to right with one space between them; the last one takes what is
 * left of the line; Left/Right scroll the whole line sideways.
 *
 * @module
 */

import type { CellBuffer } from "../term/buffer.ts";
import { fit, stringWidth } from "../term/width.ts";
import { printable } from "../text/printable.ts";
import { cut, ELLIPSIS, putSkipping, wrap } from "./draw.ts";
import { COLUMNS } from "./columns.ts";
import type { Rect } from "./layout.ts";
import type { Theme } from "./theme.ts";
import type { AddressClass } from "../enrich/types.ts";
import type { ListView } from "./view.ts";

/** A column's place on the (unscrolled) line. */
export interface ColumnSpan {
  index: number;
  x: number;
  width: number;
}

/** Where each column goes on a line `lineWidth` wide (before horizontal scrolling). */
export function columnSpans(widths: number[], lineWidth: number): ColumnSpan[] {
  const spans: ColumnSpan[] = [];
  let x = 0;
  widths.forEach((w, index) => {
    const last = index === widths.length - 1;
    spans.push({ index, x, width: last ? Math.max(w, lineWidth - x) : w });
    x += w + 1;
  });
  return spans;
}

/** Total width of all columns with their separators. */
export function lineWidth(widths: number[]): number {
  return widths.reduce((a, w) => a + w + 1, 0) - (widths.length > 0 ? 1 : 0);
}

/** The column at screen column `x` of a line scrolled by `hscroll`, or -1. */
export function columnAt(
  widths: number[],
  hscroll: number,
  screenWidth: number,
  x: number,
): number {
  const spans = columnSpans(widths, screenWidth + hscroll);
  const at = x + hscroll;
  for (const s of spans) if (at >= s.x && at < s.x + s.width + 1) return s.index;
  return -1;
}

/** Draws the column header row into `rect` (its first line). */
export function renderColumnHeader(
  buf: CellBuffer,
  rect: Rect,
  list: ListView,
  theme: Theme,
): void {
  if (rect.height <= 0 || rect.width <= 0) return;
  buf.fill(rect.x, rect.y, rect.width, 1, " ", theme.columnHeader);
  const spans = columnSpans(list.columns.map((c) => c.width), rect.width + list.hscroll);
  for (const span of spans) {
    const col = list.columns[span.index]!;
    const sorted = list.sort.column === col.def.id;
    const arrow = sorted ? (list.sort.desc ? "▼" : "▲") : "";
    // A narrow column shortens its title, never the arrow that says it is the sort column.
    const room = Math.max(0, span.width - stringWidth(arrow));
    const name = stringWidth(col.def.title) > room
      ? fit(col.def.title, room, "left", ELLIPSIS)
      : col.def.title;
    const title = col.def.align === "right"
      ? fit(arrow + name, span.width, "right")
      : fit(name + arrow, span.width, "left");
    drawCell(
      buf,
      rect,
      0,
      span,
      list.hscroll,
      title,
      sorted ? theme.columnHeaderSorted : theme.columnHeader,
    );
  }
  // A sort column that is hidden or scrolled off still says so, at the right end.
  const at = list.columns.findIndex((c) => c.def.id === list.sort.column);
  const span = at < 0 ? undefined : spans[at];
  const x = span === undefined ? -1 : span.x - list.hscroll;
  if (span === undefined || x < 0 || x + Math.min(span.width, 8) > rect.width) {
    const label = ` ${list.sort.desc ? "▼" : "▲"}${COLUMNS[list.sort.column].title} `;
    const w = stringWidth(label);
    if (w < rect.width) {
      buf.setString(rect.x + rect.width - w, rect.y, label, theme.columnHeaderSorted, w);
    }
  }
}

function drawCell(
  buf: CellBuffer,
  rect: Rect,
  row: number,
  span: ColumnSpan,
  hscroll: number,
  text: string,
  style: Parameters<CellBuffer["setString"]>[3],
): void {
  const x = span.x - hscroll;
  if (x + span.width <= 0 || x >= rect.width) return;
  const skip = x < 0 ? -x : 0;
  const room = Math.min(span.width - skip, rect.width - Math.max(0, x));
  putSkipping(buf, rect.x + Math.max(0, x), rect.y + row, text, skip, room, style);
}

/** Draws the rows of the visible page into `rect`, or what an empty list has to say. */
export function renderList(buf: CellBuffer, rect: Rect, list: ListView, theme: Theme): void {
  if (rect.height <= 0 || rect.width <= 0) return;
  if (list.rows.length === 0 && list.empty !== "") return renderEmpty(buf, rect, list.empty, theme);
  const spans = columnSpans(list.columns.map((c) => c.width), rect.width + list.hscroll);
  const needle = list.highlight.toLowerCase();
  for (let r = 0; r < rect.height && r < list.rows.length; r++) {
    const conn = list.rows[r]!;
    const isCursor = list.top + r === list.cursor;
    const base = isCursor ? theme.cursor : theme.text;
    if (isCursor) buf.fill(rect.x, rect.y + r, rect.width, 1, " ", base);
    for (const span of spans) {
      const col = list.columns[span.index]!;
      // Outside text (process names, host names, GeoIP strings) made printable before it is
      // fitted, so that widths count the "?" the buffer would draw.
      const raw = printable(col.def.text(conn, list.ctx));
      const text = fit(raw, span.width, col.def.align, "…");
      const quiet = raw === "-" || raw === "0" || raw === "0B";
      const cls = col.def.addressClass?.(conn) ?? null;
      const style = isCursor
        ? base
        : quiet
        ? theme.dim
        : cls !== null
        ? theme.classes[cls as AddressClass] ?? base
        : base;
      drawCell(buf, rect, r, span, list.hscroll, text, style);
      if (needle !== "") highlight(buf, rect, r, span, list.hscroll, text, needle, theme);
    }
  }
}

// Why the list is empty, wrapped in the list area, a blank line and two columns in when there
// is room; what does not fit ends in "…".
function renderEmpty(buf: CellBuffer, rect: Rect, text: string, theme: Theme): void {
  const indent = rect.width >= 24 ? 2 : 0;
  const width = rect.width - 2 * indent;
  const lines = wrap(text, width);
  const top = rect.height > lines.length + 1 ? 1 : 0;
  const room = rect.height - top;
  if (lines.length > room) {
    lines.length = room;
    const last = lines[room - 1]!;
    lines[room - 1] = stringWidth(last) < width ? last + ELLIPSIS : cut(last + ELLIPSIS, width);
  }
  lines.forEach((line, i) => {
    buf.setString(rect.x + indent, rect.y + top + i, line, theme.warn, width);
  });
}

// Marks every occurrence of `needle` in a cell's (already fitted) text.
function highlight(
  buf: CellBuffer,
  rect: Rect,
  row: number,
  span: ColumnSpan,
  hscroll: number,
  text: string,
  needle: string,
  theme: Theme,
): void {
  const lower = text.toLowerCase();
  let at = lower.indexOf(needle);
  while (at >= 0) {
    const from = span.x - hscroll + stringWidth(text.slice(0, at));
    const w = stringWidth(text.slice(at, at + needle.length));
    const x0 = Math.max(0, from), x1 = Math.min(rect.width, from + w);
    if (x1 > x0) buf.patchStyle(rect.x + x0, rect.y + row, x1 - x0, 1, theme.match);
    at = lower.indexOf(needle, at + Math.max(1, needle.length));
  }
}
