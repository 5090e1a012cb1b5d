/**
 * Keys to actions, as tables (htop's way): a key is named like "f3", "ctrl+c", "shift+up",
 * "<", and maps to an action name; actions (actions.ts) change the state and return flags
 * saying what must happen next instead of redrawing themselves.
 *
 * @module
 */

import type { KeyEvent } from "../term/input.ts";

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

/** The main screen's key table. */
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
  s: "sortDialog",
  f3: "search",
  "/": "search",
  n: "searchNext",
  N: "searchPrev",
  "shift+f3": "searchPrev",
  "\\": "filter",
  f4: "cursor",
  f5: "hostnames",
  f6: "services",
  f7: "modePrev",
  f8: "modeNext",
  f9: "pause",
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
