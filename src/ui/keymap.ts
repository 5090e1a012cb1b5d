/**
 * Keys to actions, as tables (htop's way): a key is named like "f3", "ctrl+c", "shift+up",
 * "<", and maps to an action name; actions (actions.ts) change the state and return flags
 * saying what must happen next instead of redrawing themselves.
 *
 * @module
 */

import type { KeyEvent } from "../term/mod.ts";

/** What an action asks of the app, OR-ed together. */
export const Flag = {
  NONE: 0,
  /** Draw the frame again. */
  REDRAW: 1,
  /** Recompute the rows (sort, filter, lock changed). */
  ROWS: 2,
  /** The settings changed: save them. */
  SAVE: 4,
  /** Quit. */
  QUIT: 8,
  /** Repaint every cell (Ctrl-L). */
  REPAINT: 16,
} as const;

/** The name of a key event: modifiers then the key, e.g. "ctrl+c", "shift+f5", "q". */
export function keyName(ev: KeyEvent): string {
  let name = ev.name;
  if (ev.shift && name.length > 1) name = `shift+${name}`;
  if (ev.alt) name = `alt+${name}`;
  if (ev.ctrl) name = `ctrl+${name}`;
  return name;
}

/** The actions the main screen knows. */
export type ActionName =
  | "up"
  | "down"
  | "pageUp"
  | "pageDown"
  | "home"
  | "end"
  | "left"
  | "right"
  | "details"
  | "help"
  | "columns"
  | "sortDialog"
  | "search"
  | "searchNext"
  | "searchPrev"
  | "filter"
  | "cursor"
  | "hostnames"
  | "services"
  | "modePrev"
  | "modeNext"
  | "pause"
  | "sortPrev"
  | "sortNext"
  | "invert"
  | "lock"
  | "faster"
  | "slower"
  | "repaint"
  | "escape"
  | "quit";

/**
 * The main screen's key table. The function keys are htop's where conntop has the action (F1
 * help, F2 setup, F3 search, F4 filter, F6 sort by, F10 quit); F5 (htop: tree) stays free for a
 * grouped view and F9 (htop: kill) for deleting a connection, so an htop user's hand never does
 * something else there. Every key here is listed in the help (help.ts; a test holds them equal).
 */
export const MAIN_KEYS: Readonly<Record<string, ActionName>> = {
  up: "up",
  k: "up",
  down: "down",
  j: "down",
  pageup: "pageUp",
  "ctrl+b": "pageUp",
  pagedown: "pageDown",
  "ctrl+f": "pageDown",
  home: "home",
  g: "home",
  end: "end",
  G: "end",
  left: "left",
  right: "right",
  enter: "details",
  f1: "help",
  "?": "help",
  h: "help",
  f2: "columns",
  S: "columns",
  f3: "search",
  "/": "search",
  n: "searchNext",
  N: "searchPrev",
  "shift+f3": "searchPrev",
  f4: "filter",
  "\\": "filter",
  f6: "sortDialog",
  s: "sortDialog",
  c: "cursor",
  H: "hostnames",
  P: "services",
  f7: "modePrev",
  f8: "modeNext",
  space: "pause",
  Z: "pause",
  "<": "sortPrev",
  ",": "sortPrev",
  ">": "sortNext",
  ".": "sortNext",
  I: "invert",
  L: "lock",
  "+": "faster",
  "=": "faster",
  "-": "slower",
  "ctrl+l": "repaint",
  escape: "escape",
  f10: "quit",
  q: "quit",
  "ctrl+c": "quit",
};
