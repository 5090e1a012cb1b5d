/**
 * Cell styles for the terminal renderer: text attributes as bit flags and colours packed into
 * one number, so a cell's style fits in typed arrays and compares with `===`.
 *
 * A {@linkcode Color} is `0` for the terminal's default colour, `0x1000000 | 0xrrggbb` for a
 * truecolor value and `0x2000000 | n` for palette index `n` (0..255, where 0..15 are the 16
 * basic and bright colours the user's terminal theme defines).
 *
 * This module is pure: it knows nothing of terminals, escape sequences or connections.
 *
 * @example
 * ```ts
 * import { Attr, palette, rgb, type Style } from "./style.ts";
 *
 * const header: Style = { fg: palette(0), bg: rgb(0, 135, 175), attrs: Attr.BOLD };
 * ```
 *
 * @module
 */

/** Text attributes, OR-ed together into {@linkcode Style.attrs}. */
export const Attr = { BOLD: 1, DIM: 2, ITALIC: 4, UNDERLINE: 8, REVERSE: 16 } as const;

/**
 * A colour packed into a number: `0` = terminal default; `0x1000000 | rrggbb` = truecolor;
 * `0x2000000 | n` = palette index `n` (0..255).
 */
export type Color = number;

/** The terminal's default colour. */
export const DEFAULT: Color = 0;

/** The tag bit of a truecolor {@linkcode Color}; the low 24 bits hold `rrggbb`. */
export const RGB_TAG = 0x1000000;

/** The tag bit of a palette {@linkcode Color}; the low 8 bits hold the index. */
export const PALETTE_TAG = 0x2000000;

/**
 * A truecolor {@linkcode Color}. Channels are rounded and clamped to 0..255, so computed
 * gradients never produce an invalid colour.
 */
export function rgb(r: number, g: number, b: number): Color {
  return RGB_TAG | (channel(r) << 16) | (channel(g) << 8) | channel(b);
}

/**
 * A palette {@linkcode Color}: index `n` of the xterm-256 palette; 0..15 are the 16 basic and
 * bright colours (black, red, green, yellow, blue, magenta, cyan, white, then the bright ones).
 *
 * @throws {RangeError} when `n` is not an integer in 0..255.
 */
export function palette(n: number): Color {
  if (!Number.isInteger(n) || n < 0 || n > 255) {
    throw new RangeError(`Failed to make a palette colour: expected 0..255, got '${n}'`);
  }
  return PALETTE_TAG | n;
}

/** How a cell looks: colours default to {@linkcode DEFAULT}, attributes to none. */
export interface Style {
  /** Foreground colour. */
  fg?: Color;
  /** Background colour. */
  bg?: Color;
  /** {@linkcode Attr} flags OR-ed together. */
  attrs?: number;
}

/** How many colours the terminal shows: none, the 16 basic ones, xterm-256 or 24-bit. */
export type ColorDepth = "none" | "16" | "256" | "truecolor";

function channel(v: number): number {
  if (!(v > 0)) return 0; // also NaN
  return v >= 255 ? 255 : Math.round(v);
}
