/**
 * The UI's state as a plain structure: settings, cursor and scroll, the open dialog, the line
 * being typed, pause and lock. Actions (keymap.ts) change it; the app turns it into a screen.
 *
 * @module
 */

import type { ColumnId } from "./columns.ts";
import type { Settings } from "./settings.ts";

/** An open dialog and its own position. */
export type Dialog =
  | { kind: "help"; scroll: number }
  | { kind: "details"; scroll: number }
  /**
   * `order`: every column in the dialog's order, fixed while it is open, so that showing or
   * hiding one leaves it (and the cursor) in its row.
   */
  | { kind: "columns"; index: number; order?: ColumnId[] }
  | { kind: "sort"; index: number };

/** The search or filter line being typed. */
export interface Input {
  kind: "search" | "filter";
  text: string;
  notFound: boolean;
}

/** The UI state. */
export interface UiState {
  settings: Settings;
  dialog: Dialog | null;
  input: Input | null;
  /** The last search, highlighted in the list ("" for none). */
  search: string;
  /** The text filter in force ("" for none). */
  filter: string;
  /** The list is frozen; batches wait until it resumes. */
  paused: boolean;
  /** The row order is locked. */
  locked: boolean;
  /** Row of the cursor. */
  cursorRow: number;
  /** The connection under the cursor (slot and kernel id), to follow it across refreshes. */
  cursorSlot: number;
  cursorId: number;
  /** First row on screen. */
  top: number;
  /** Columns scrolled off to the left. */
  hscroll: number;
  /** A short message for the bottom line, until `untilMs`. */
  message: { text: string; error: boolean; untilMs: number } | null;
}

/** A fresh state with `settings`. */
export function initialState(settings: Settings): UiState {
  return {
    settings,
    dialog: null,
    input: null,
    search: "",
    filter: "",
    paused: false,
    locked: false,
    cursorRow: 0,
    cursorSlot: -1,
    cursorId: -1,
    top: 0,
    hscroll: 0,
    message: null,
  };
}
