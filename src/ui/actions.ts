/**
 * What each main-screen action does (htop's Action.c): a table from every
 * {@linkcode ActionName} to a function of the app that changes its state and returns flags
 * (keymap.ts) saying what must happen next — draw, ask for rows, save the settings, quit —
 * instead of doing it. Which key runs which action is keymap.ts's `MAIN_KEYS` alone (the help
 * screen and the man page are read from it); this table never names a key.
 *
 * No action draws, does I/O or asks the engine directly: the app's moves and finds do.
 *
 * @module
 */

import { COLUMN_IDS, COLUMNS } from "./columns.ts";
import { setSort } from "./dialog_keys.ts";
import { type ActionName, Flag } from "./keymap.ts";
import { type ColumnSetting, MODES } from "./settings.ts";
import { columnsDialogRows } from "./setup.ts";
import type { UiState } from "./state.ts";

/** Columns a horizontal scroll step moves. */
const HSCROLL_STEP = 8;

/** What the actions need from the app (src/ui/app.ts gives it). */
export interface ActionContext {
  /** The UI state the actions change. */
  readonly state: UiState;
  /** Rows a page moves at the current size. */
  pageSize(): number;
  /** The number of rows listed (asking the engine first when its answer is stale). */
  rowCount(): number;
  /** Moves the cursor (or the top of the list) by `delta` rows; returns flags. */
  moveBy(delta: number): number;
  /** Moves the cursor (or the top of the list) to `row`; returns flags. */
  moveTo(row: number): number;
  /** Puts the cursor on `row` (kept on the page). */
  setCursor(row: number): void;
  /** How far the list scrolls to the right at the current size. */
  maxHscroll(): number;
  /** The columns on screen (the settings' and NAT when it shows by itself). */
  shown(): ColumnSetting[];
  /** Opens the cursor's connection's details; returns flags. */
  openDetails(): number;
  /** Finds the next row holding `needle` in `dir`; returns flags. */
  findNext(needle: string, dir: 1 | -1, skipCurrent: boolean): number;
  /** Pauses or resumes (the playback of a recording, or taking in batches); returns flags. */
  togglePause(): number;
  /** Multiplies a recording's playback speed by `factor`; returns flags (none when live). */
  scaleSpeed(factor: number): number;
  /** Whether hostnames are looked up in this run (-n/--no-hostname says not). */
  hostnamesAllowed(): boolean;
  /** Shows a short message. */
  say(text: string, error?: boolean): void;
}

/** An action: changes the app's state, returns the flags of what must follow. */
export type Action = (app: ActionContext) => number;

/** Every main-screen action (the type makes the table complete). */
export const ACTIONS: Readonly<Record<ActionName, Action>> = {
  up: (a) => a.moveBy(-1),
  down: (a) => a.moveBy(1),
  pageUp: (a) => a.moveBy(-a.pageSize()),
  pageDown: (a) => a.moveBy(a.pageSize()),
  home: (a) => a.moveTo(0),
  end: (a) => a.moveTo(a.rowCount() - 1),
  left: (a) => {
    const s = a.state;
    s.hscroll = Math.max(0, s.hscroll - HSCROLL_STEP);
    return Flag.REDRAW;
  },
  right: (a) => {
    const s = a.state;
    s.hscroll = Math.min(a.maxHscroll(), s.hscroll + HSCROLL_STEP);
    return Flag.REDRAW;
  },
  details: (a) => a.openDetails(),
  help: (a) => {
    a.state.dialog = { kind: "help", scroll: 0 };
    return Flag.REDRAW;
  },
  columns: (a) => {
    a.state.dialog = {
      kind: "columns",
      index: 0,
      order: columnsDialogRows(a.shown()).map((r) => r.id),
    };
    return Flag.REDRAW;
  },
  sortDialog: (a) => {
    const s = a.state;
    s.dialog = { kind: "sort", index: Math.max(0, COLUMN_IDS.indexOf(s.settings.sort.column)) };
    return Flag.REDRAW;
  },
  search: (a) => {
    a.state.input = { kind: "search", text: "", notFound: false };
    return Flag.REDRAW;
  },
  searchNext: (a) => a.state.search === "" ? Flag.NONE : a.findNext(a.state.search, 1, true),
  searchPrev: (a) => a.state.search === "" ? Flag.NONE : a.findNext(a.state.search, -1, true),
  filter: (a) => {
    a.state.input = { kind: "filter", text: a.state.filter, notFound: false };
    return Flag.REDRAW;
  },
  cursor: (a) => {
    const s = a.state;
    const st = s.settings;
    st.cursor = !st.cursor;
    if (st.cursor) {
      a.setCursor(Math.max(s.top, Math.min(s.cursorRow, s.top + a.pageSize() - 1)));
    }
    return Flag.REDRAW | Flag.SAVE;
  },
  hostnames: (a) => {
    const st = a.state.settings;
    st.hostnames = !st.hostnames;
    a.say(
      !st.hostnames
        ? "Hostnames off"
        : !a.hostnamesAllowed()
        ? "Hostnames on, but not resolved in this run (-n/--no-hostname)"
        : "Hostnames on",
    );
    return Flag.REDRAW | Flag.SAVE;
  },
  services: (a) => {
    const st = a.state.settings;
    st.services = !st.services;
    a.say(`Service names ${st.services ? "on" : "off"}`);
    return Flag.REDRAW | Flag.SAVE;
  },
  modePrev: (a) => cycleMode(a, -1),
  modeNext: (a) => cycleMode(a, 1),
  pause: (a) => a.togglePause(),
  sortPrev: (a) => cycleSort(a, -1),
  sortNext: (a) => cycleSort(a, 1),
  invert: (a) => {
    const st = a.state.settings;
    st.sort = { ...st.sort, desc: !st.sort.desc };
    return Flag.ROWS | Flag.REDRAW | Flag.SAVE;
  },
  lock: (a) => {
    const s = a.state;
    s.locked = !s.locked;
    a.say(s.locked ? "Row order locked (L unlocks)" : "Row order follows the sort again");
    return Flag.ROWS | Flag.REDRAW;
  },
  faster: (a) => a.scaleSpeed(2),
  slower: (a) => a.scaleSpeed(1 / 2),
  repaint: () => Flag.REPAINT | Flag.REDRAW,
  escape: (a) => {
    const s = a.state;
    if (s.search === "") return Flag.NONE;
    s.search = "";
    return Flag.REDRAW;
  },
  quit: () => Flag.QUIT,
};

// The next (`step` 1) or previous (-1) display mode, said in the message line.
function cycleMode(a: ActionContext, step: 1 | -1): number {
  const st = a.state.settings;
  const i = MODES.indexOf(st.mode as typeof MODES[number]);
  st.mode = MODES[(Math.max(0, i) + (step === 1 ? 1 : MODES.length - 1)) % MODES.length]!;
  a.say(
    `Mode ${MODES.indexOf(st.mode as typeof MODES[number]) + 1}/${MODES.length}: ${st.mode}`,
  );
  return Flag.REDRAW | Flag.SAVE;
}

// Sorts by the next (`step` 1) or previous (-1) column on screen, in its default direction.
function cycleSort(a: ActionContext, step: 1 | -1): number {
  const st = a.state.settings;
  const ids = a.shown().map((c) => c.id);
  const i = ids.indexOf(st.sort.column);
  const next = ids[(i + step + ids.length) % ids.length] ?? st.sort.column;
  return setSort(st, { column: next, desc: COLUMNS[next].defaultDesc });
}
