/**
 * Keys inside the dialogs: help and details scroll; the columns dialog shows, hides, moves and
 * resizes columns; the sort dialog picks the primary and secondary keys. Each handler changes
 * the state and returns flags, like the main key table's actions.
 *
 * @module
 */

import { COLUMN_IDS, type ColumnId, COLUMNS } from "./columns.ts";
import { Flag } from "./keymap.ts";
import { MAX_WIDTH, MIN_WIDTH, type Settings } from "./settings.ts";
import { columnsDialogRows } from "./setup.ts";
import type { UiState } from "./state.ts";

/** What the dialogs need from the app. */
export interface DialogContext {
  /** Rows a page moves. */
  pageSize: number;
  /** How far the open help or details dialog scrolls at the current size. */
  scrollMax: number;
  /** Shows a short message. */
  say(text: string, error?: boolean): void;
}

/** Sorts by `id`; the column sorted already is inverted instead. */
export function sortBy(st: Settings, id: ColumnId): number {
  st.sort = st.sort.column === id
    ? { column: id, desc: !st.sort.desc }
    : { column: id, desc: COLUMNS[id].defaultDesc };
  return Flag.ROWS | Flag.REDRAW | Flag.SAVE;
}

/** Handles key `name` in the open dialog. */
export function dialogKey(s: UiState, name: string, ctx: DialogContext): number {
  const d = s.dialog!;
  const close = () => {
    s.dialog = null;
    return Flag.REDRAW;
  };
  if (name === "escape" || name === "q" || name === "f10") return close();
  const jump = { home: -1e9, end: 1e9, pageup: -ctx.pageSize, pagedown: ctx.pageSize }[name];
  if (jump !== undefined) {
    if (d.kind === "columns" || d.kind === "sort") {
      const n = d.kind === "sort"
        ? COLUMN_IDS.length
        : columnsDialogRows(s.settings.columns).length;
      d.index = Math.max(0, Math.min(n - 1, d.index + jump));
    } else d.scroll = Math.max(0, Math.min(ctx.scrollMax, d.scroll + jump));
    return Flag.REDRAW;
  }
  switch (d.kind) {
    case "help":
    case "details": {
      // The scroll stays within what there is to see, so Up from the end moves at once.
      const max = ctx.scrollMax;
      if (name === "up" || name === "k") d.scroll = Math.max(0, Math.min(max, d.scroll) - 1);
      else if (name === "down" || name === "j") d.scroll = Math.min(max, d.scroll + 1);
      else if (d.kind === "help" || name === "enter") return close();
      return Flag.REDRAW;
    }
    case "columns":
      return columnsKey(s, d, name, ctx);
    case "sort":
      if (name === "f6") return close();
      return sortKey(s, d, name);
  }
}

function columnsKey(s: UiState, d: { index: number }, name: string, ctx: DialogContext): number {
  const st = s.settings;
  const rows = columnsDialogRows(st.columns);
  const row = rows[d.index]!;
  const at = st.columns.findIndex((c) => c.id === row.id);
  if (moveIndex(d, name, rows.length)) return Flag.REDRAW;
  switch (name) {
    case "space":
    case "enter":
      if (at >= 0) {
        if (st.columns.length === 1) {
          ctx.say("At least one column stays shown", true);
          return Flag.REDRAW;
        }
        st.columns.splice(at, 1);
        d.index = Math.min(d.index, rows.length - 1);
      } else {
        st.columns.push({ id: row.id, width: row.width });
        d.index = st.columns.length - 1;
      }
      s.hscroll = 0;
      return Flag.REDRAW | Flag.SAVE;
    case "[":
    case "shift+up":
      if (at > 0) {
        [st.columns[at - 1], st.columns[at]] = [st.columns[at]!, st.columns[at - 1]!];
        d.index = at - 1;
        return Flag.REDRAW | Flag.SAVE;
      }
      return Flag.NONE;
    case "]":
    case "shift+down":
      if (at >= 0 && at < st.columns.length - 1) {
        [st.columns[at + 1], st.columns[at]] = [st.columns[at]!, st.columns[at + 1]!];
        d.index = at + 1;
        return Flag.REDRAW | Flag.SAVE;
      }
      return Flag.NONE;
    case "-":
    case "+":
    case "=": {
      if (at < 0) return Flag.NONE;
      const c = st.columns[at]!;
      c.width = Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, c.width + (name === "-" ? -1 : 1)));
      return Flag.REDRAW | Flag.SAVE;
    }
    case "f2":
      s.dialog = null;
      return Flag.REDRAW;
  }
  return Flag.NONE;
}

function sortKey(s: UiState, d: { index: number }, name: string): number {
  const st = s.settings;
  const id = COLUMN_IDS[d.index]!;
  if (moveIndex(d, name, COLUMN_IDS.length)) return Flag.REDRAW;
  switch (name) {
    case "enter":
      if (st.sort2?.column === id) st.sort2 = null;
      return sortBy(st, id);
    case "space":
      if (st.sort.column === id) return Flag.NONE;
      st.sort2 = st.sort2?.column === id ? null : { column: id, desc: COLUMNS[id].defaultDesc };
      return Flag.ROWS | Flag.REDRAW | Flag.SAVE;
    case "I":
      st.sort = { ...st.sort, desc: !st.sort.desc };
      return Flag.ROWS | Flag.REDRAW | Flag.SAVE;
  }
  return Flag.NONE;
}

// Up/Down (k/j) in a dialog's list of `n` rows; true when the key was one of them.
function moveIndex(d: { index: number }, name: string, n: number): boolean {
  if (name === "up" || name === "k") d.index = Math.max(0, d.index - 1);
  else if (name === "down" || name === "j") d.index = Math.min(n - 1, d.index + 1);
  else return false;
  return true;
}
