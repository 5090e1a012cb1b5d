/**
 * ANSI/xterm escape sequences as constants and functions returning strings, in the manner of
 * cliffy's `ansi_escapes.ts`. Pure: this module never writes to the terminal; the caller
 * decides where the bytes go.
 *
 * @example
 * ```ts
 * import { ALT_SCREEN_ON, CURSOR_HIDE, cursorTo, sgr } from "./ansi.ts";
 * import { Attr, palette } from "./style.ts";
 *
 * const bytes = ALT_SCREEN_ON + CURSOR_HIDE + cursorTo(0, 0) +
 *   sgr({ fg: palette(2), attrs: Attr.BOLD }, "16") + "conntop";
 * ```
 *
 * @module
 */

import { downgrade } from "./color.ts";
import { Attr, type Color, type ColorDepth, DEFAULT, RGB_TAG, type Style } from "./style.ts";

/** The escape character. */
export const ESC = "\x1b";
/** Control Sequence Introducer. */
export const CSI = "\x1b[";

/** Switch to the alternate screen (saving the cursor). */
export const ALT_SCREEN_ON = "\x1b[?1049h";
/** Back to the normal screen (restoring the cursor). */
export const ALT_SCREEN_OFF = "\x1b[?1049l";
/** Hide the cursor. */
export const CURSOR_HIDE = "\x1b[?25l";
/** Show the cursor. */
export const CURSOR_SHOW = "\x1b[?25h";
/** Report mouse presses and releases (1000), drags (1002), in SGR encoding (1006). */
export const MOUSE_ON = "\x1b[?1000h\x1b[?1002h\x1b[?1006h";
/** Undo {@linkcode MOUSE_ON}, in reverse order. */
export const MOUSE_OFF = "\x1b[?1006l\x1b[?1002l\x1b[?1000l";
/** Bracketed paste on: pasted text arrives between `ESC[200~` and `ESC[201~`. */
export const PASTE_ON = "\x1b[?2004h";
/** Bracketed paste off. */
export const PASTE_OFF = "\x1b[?2004l";
/** Erase the whole screen (in the current background colour). */
export const CLEAR_SCREEN = "\x1b[2J";
/** Move the cursor to the top-left corner. */
export const CURSOR_HOME = "\x1b[H";
/** Reset all colours and attributes. */
export const SGR_RESET = "\x1b[0m";
/** Stop wrapping at the right margin (DECAWM off). */
export const AUTOWRAP_OFF = "\x1b[?7l";
/** Wrap at the right margin again (DECAWM on). */
export const AUTOWRAP_ON = "\x1b[?7h";

/** Move the cursor to 0-based column `x`, row `y`: `cursorTo(2, 0)` is `"\x1b[1;3H"`. */
export function cursorTo(x: number, y: number): string {
  return `\x1b[${y + 1};${x + 1}H`;
}

/**
 * The full SGR sequence for `style` at `depth`, always starting from a reset (`0`), then the
 * attributes (1 bold, 2 dim, 3 italic, 4 underline, 7 reverse), the foreground and the
 * background: `"\x1b[0;1;38;2;255;0;0;48;5;236m"`.
 *
 * Colours are first downgraded to `depth` (see {@linkcode downgrade}). The basic 16 colours
 * are written as 30–37/90–97 (40–47/100–107 for the background) at every depth, other palette
 * indices as `38;5;n`, truecolor as `38;2;r;g;b`. At `"none"` colours are dropped and
 * attributes kept. An empty style gives `"\x1b[0m"`.
 */
export function sgr(style: Style, depth: ColorDepth): string {
  let s = "\x1b[0";
  const a = style.attrs ?? 0;
  if (a !== 0) {
    if (a & Attr.BOLD) s += ";1";
    if (a & Attr.DIM) s += ";2";
    if (a & Attr.ITALIC) s += ";3";
    if (a & Attr.UNDERLINE) s += ";4";
    if (a & Attr.REVERSE) s += ";7";
  }
  const fg = downgrade(style.fg ?? DEFAULT, depth);
  if (fg !== DEFAULT) s += colorParams(fg, 30, 90, "38");
  const bg = downgrade(style.bg ?? DEFAULT, depth);
  if (bg !== DEFAULT) s += colorParams(bg, 40, 100, "48");
  return s + "m";
}

function colorParams(c: Color, basic: number, bright: number, extended: string): string {
  if (c & RGB_TAG) return `;${extended};2;${(c >> 16) & 0xff};${(c >> 8) & 0xff};${c & 0xff}`;
  const n = c & 0xff;
  if (n < 8) return `;${basic + n}`;
  if (n < 16) return `;${bright + n - 8}`;
  return `;${extended};5;${n}`;
}
