/**
 * The connection list: the column header with the sort column marked, and one line per
 * connection on the visible page, with the cursor bar and search matches highlighted.
 * Both are drawn from one layout of the columns (column_layout.ts): Left/Right scroll the whole
 * line sideways, and the sort column is kept in view at the right end.
 *
 * @module
 */

import type { CellBuffer } from "../term/mod.ts";
import { fit, stringWidth } from "../term/mod.ts";
import { printable } from "../text/mod.ts";
import { cut, ELLIPSIS, putSkipping, wrap } from "./draw.ts";
import { type ColumnDef, type ColumnId, COLUMNS } from "./columns.ts";
import {
  cellAt,
  type ColumnCell,
  columnLayout,
  type ColumnLayoutOptions,
  maxHscroll,
} from "./column_layout.ts";
import type { Rect } from "./layout.ts";
import type { Theme } from "./theme.ts";
import type { AddressClass } from "../core/mod.ts";
import type { ListView } from "./view.ts";

/** What places the columns: the shown ones, the sort column and the scroll. */
export type ListPlacement = Pick<ListView, "columns" | "sort" | "hscroll">;

function layoutOptions(list: ListPlacement, screenWidth: number): ColumnLayoutOptions {
  const sortAt = list.columns.findIndex((c) => c.def.id === list.sort.column);
  return {
    screenWidth,
    hscroll: list.hscroll,
    sortAt,
    hiddenSortWidth: sortAt < 0 ? COLUMNS[list.sort.column].width : 0,
  };
}

/** The columns of `list` as they show on a line `screenWidth` wide: {@linkcode columnLayout}. */
export function listLayout(list: ListPlacement, screenWidth: number): ColumnCell[] {
  return columnLayout(list.columns.map((c) => c.width), layoutOptions(list, screenWidth));
}

/** How far `list` may scroll right on a line `screenWidth` wide. */
export function listMaxHscroll(list: ListPlacement, screenWidth: number): number {
  return maxHscroll(list.columns.map((c) => c.width), layoutOptions(list, screenWidth));
}

/** The column whose title is at screen column `x`, or undefined. */
export function columnIdAt(
  list: ListPlacement,
  screenWidth: number,
  x: number,
): ColumnId | undefined {
  const cell = cellAt(listLayout(list, screenWidth), x);
  return cell === undefined ? undefined : defOf(list, cell).id;
}

// The column a cell shows (a sort column that is not among the shown ones: its own def).
function defOf(list: ListPlacement, cell: ColumnCell): ColumnDef {
  return list.columns[cell.index]?.def ?? COLUMNS[list.sort.column];
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
  for (const cell of listLayout(list, rect.width)) {
    const def = defOf(list, cell);
    const sorted = list.sort.column === def.id;
    const arrow = sorted ? (list.sort.desc ? "▼" : "▲") : "";
    // A narrow column shortens its title, never the arrow that says it is the sort column.
    const room = Math.max(0, cell.width - stringWidth(arrow));
    const name = stringWidth(def.title) > room ? fit(def.title, room, "left", ELLIPSIS) : def.title;
    const title = def.align === "right"
      ? fit(arrow + name, cell.width, "right")
      : fit(name + arrow, cell.width, "left");
    drawCell(buf, rect, 0, cell, title, sorted ? theme.columnHeaderSorted : theme.columnHeader);
  }
}

function drawCell(
  buf: CellBuffer,
  rect: Rect,
  row: number,
  cell: ColumnCell,
  text: string,
  style: Parameters<CellBuffer["setString"]>[3],
): void {
  putSkipping(buf, rect.x + cell.x, rect.y + row, text, cell.skip, cell.room, style);
}

/** Draws the rows of the visible page into `rect`, or what an empty list has to say. */
export function renderList(buf: CellBuffer, rect: Rect, list: ListView, theme: Theme): void {
  if (rect.height <= 0 || rect.width <= 0) return;
  if (list.rows.length === 0 && list.empty !== "") return renderEmpty(buf, rect, list.empty, theme);
  const cells = listLayout(list, rect.width);
  const needle = list.highlight.toLowerCase();
  for (let r = 0; r < rect.height && r < list.rows.length; r++) {
    const conn = list.rows[r]!;
    const isCursor = list.top + r === list.cursor;
    const base = isCursor ? theme.cursor : theme.text;
    if (isCursor) buf.fill(rect.x, rect.y + r, rect.width, 1, " ", base);
    for (const cell of cells) {
      const def = defOf(list, cell);
      // Outside text (process names, host names, GeoIP strings) made printable before it is
      // fitted, so that widths count the "?" the buffer would draw.
      const raw = printable(def.text(conn, list.ctx));
      const text = fit(raw, cell.width, def.align, "…");
      const quiet = raw === "-" || raw === "0" || raw === "0B";
      const cls = def.addressClass?.(conn) ?? null;
      const style = isCursor
        ? base
        : quiet
        ? theme.dim
        : cls !== null
        ? theme.classes[cls as AddressClass] ?? base
        : base;
      drawCell(buf, rect, r, cell, text, style);
      if (needle !== "") highlight(buf, rect, r, cell, text, needle, theme);
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
  cell: ColumnCell,
  text: string,
  needle: string,
  theme: Theme,
): void {
  const lower = text.toLowerCase();
  let at = lower.indexOf(needle);
  while (at >= 0) {
    const from = cell.x - cell.skip + stringWidth(text.slice(0, at));
    const w = stringWidth(text.slice(at, at + needle.length));
    const x0 = Math.max(cell.x, from), x1 = Math.min(cell.x + cell.room, from + w);
    if (x1 > x0) buf.patchStyle(rect.x + x0, rect.y + row, x1 - x0, 1, theme.match);
    at = lower.indexOf(needle, at + Math.max(1, needle.length));
  }
}
