/**
 * The one gate for text from outside (process names, hostnames, GeoIP strings, kernel text,
 * network peers, recordings, config files) on its way to a terminal, a log, CSV or a table.
 *
 * Any local user can name a process with ESC, TAB or C1 characters (`prctl(PR_SET_NAME)`), a
 * DNS server can answer with them and a GeoIP database can hold them. Printed raw they move the
 * cursor, re-title the terminal, split CSV fields or reorder a line (bidi overrides). Every
 * place that prints such text calls {@linkcode printable}; nothing else in the project keeps a
 * sanitiser of its own.
 *
 * Replaced, each by one `?` (as `ps` shows control characters in command names):
 * - C0 controls U+0000–U+001F (TAB, LF and CR included: they break columns, lines and fields),
 * - DEL U+007F and the C1 controls U+0080–U+009F (CSI, OSC and ST as single code points),
 * - the bidi controls U+202A–U+202E and U+2066–U+2069 (embeddings, overrides, isolates), and
 *   the marks U+061C, U+200E, U+200F,
 * - lone UTF-16 surrogates (not text; a terminal would get U+FFFD for them anyway).
 *
 * This module imports nothing, so every folder (server, collector, output, ui) may use it.
 *
 * @example
 * ```ts
 * import { printable } from "./printable.ts";
 * printable("bad\x1b]0;PWNED\x07name"); // "bad?]0;PWNED?name"
 * ```
 *
 * @module
 */

const UNPRINTABLE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The character that stands in for each unprintable one. */
export const REPLACEMENT = "?";

/**
 * `text` with every control, bidi control and lone surrogate replaced by `?`, one for one (a
 * string of printable text is returned unchanged, as the same string).
 */
export function printable(text: string): string {
  UNPRINTABLE.lastIndex = 0;
  return UNPRINTABLE.test(text) ? text.replace(UNPRINTABLE, REPLACEMENT) : text;
}

/** Whether `text` holds nothing {@linkcode printable} would replace. */
export function isPrintable(text: string): boolean {
  UNPRINTABLE.lastIndex = 0;
  return !UNPRINTABLE.test(text);
}
