/**
 * The terminal: raw mode and its restoring, input decoding, the cell buffer and its diff,
 * styles, colour depth and character widths. Knows nothing of conntrack.
 *
 * @module
 */

export { Attr, type ColorDepth, palette, type Style } from "./style.ts";
export { CellBuffer, diff } from "./buffer.ts";
export { codePointWidth, fit, stringWidth, truncate } from "./width.ts";
export { type InputEvent, type KeyEvent, type MouseEvent } from "./input.ts";
export { detectColorDepth } from "./color.ts";
export { isHangUp, Tty } from "./tty.ts";
