/**
 * Keys inside the dialogs: help and details scroll; the columns dialog shows, hides, moves and
 * resizes columns; the sort dialog picks the primary and secondary keys. Each handler changes
 * the state and returns flags, like the main key table's actions.
 *
 * @module
 */

import { COLUMN_IDS, type ColumnId, COLUMNS } from "./columns.ts";
import { Flag } from "./keymap.ts";
import {
  type ColumnSetting,
  MAX_WIDTH,
  MIN_WIDTH,
  type Settings,
  type SortKey,
} from "./settings.ts";
import { columnsDialogRows } from "./setup.ts";
import type { UiState } from "./state.ts";

/** What the dialogs need from the app. */
export interface DialogContext {
  /** Rows a page moves. */
  pageSize: number;
  /** How far the open help or details dialog scrolls at the current size. */
  scrollMax: number;
  /** The columns on screen (the settings' and NAT when it shows by itself). */
  shown: ColumnSetting[];
  /** Shows a short message. */
  say(text: string, error?: boolean): void;
}

/**
 * Makes `key` the primary sort key. The secondary key never equals it: when it named the same
 * column, the old primary key takes its place.
 */
export function setSort(st: Settings, key: SortKey): number {
  if (st.sort2?.column === key.column) st.sort2 = st.sort.column === key.column ? null : st.sort;
  st.sort = key;
  return Flag.ROWS | Flag.REDRAW | Flag.SAVE;
}

/** Sorts by `id`; the column sorted already is inverted instead. */
export function sortBy(st: Settings, id: ColumnId): number {
  return setSort(
    st,
    st.sort.column === id
      ? { column: id, desc: !st.sort.desc }
      : { column: id, desc: COLUMNS[id].defaultDesc },
  );
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

function columnsKey(
  s: UiState,
  d: { index: number; order?: ColumnId[] },
  name: string,
  ctx: DialogContext,
): number {
  const st = s.settings;
  // The dialog's rows keep the order they opened with: showing or hiding a column leaves it in
  // its row, with the cursor on it, and showing it again puts it back where it was.
  const order = d.order ??= columnsDialogRows(ctx.shown).map((r) => r.id);
  const rows = columnsDialogRows(ctx.shown, order);
  const row = rows[d.index]!;
  const at = st.columns.findIndex((c) => c.id === row.id);
  // The shown columns, in the dialog's order.
  const reorder = () => {
    const byId = new Map(st.columns.map((c) => [c.id, c]));
    st.columns = order.flatMap((id) => byId.get(id) ?? []);
  };
  if (moveIndex(d, name, rows.length)) return Flag.REDRAW;
  switch (name) {
    case "space":
    case "enter":
      if (row.shown && at < 0) {
        st.autoNat = false; // NAT, shown by itself: the user turned it off
      } else if (at >= 0) {
        if (st.columns.length === 1) {
          ctx.say("At least one column stays shown", true);
          return Flag.REDRAW;
        }
        st.columns.splice(at, 1);
        if (row.id === "nat") st.autoNat = false;
      } else {
        st.columns.push({ id: row.id, width: row.width });
        reorder();
      }
      s.hscroll = 0;
      return Flag.REDRAW | Flag.SAVE;
    case "[":
    case "shift+up":
    case "]":
    case "shift+down": {
      const to = d.index + (name === "[" || name === "shift+up" ? -1 : 1);
      if (to < 0 || to >= order.length) return Flag.NONE;
      [order[to], order[d.index]] = [order[d.index]!, order[to]!];
      d.index = to;
      reorder();
      return Flag.REDRAW | Flag.SAVE;
    }
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
