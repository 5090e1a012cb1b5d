/**
 * JSON for a terminal: the exact value, with nothing in it a terminal would obey.
 *
 * `JSON.stringify` escapes the C0 controls (U+0000–U+001F) and lone surrogates, but leaves DEL,
 * the C1 controls (U+0080–U+009F: CSI, OSC and ST as single code points) and the bidi controls
 * and marks raw. `conntop -o json` on a terminal would then pass a process name's CSI or RLO
 * straight through. {@linkcode printableJson} escapes those too, as `\uXXXX`: still valid JSON
 * (RFC 8259 allows any character escaped), parsing back to the same value, and holding no
 * character {@linkcode printable} would replace. It never changes the value, unlike
 * `printable()`, which is for text shown to people.
 *
 * This module imports nothing, so every folder may use it.
 *
 * @example
 * ```ts
 * import { printableJson } from "./json.ts";
 * printableJson({ process: "ev\u009bil" }); // '{"process":"ev\\u009bil"}'
 * ```
 *
 * @module
 */

/**
 * What `JSON.stringify` leaves raw of what `printable()` replaces: DEL, C1, the bidi controls
 * and marks. These never occur outside strings in JSON text, so escaping them anywhere in it
 * escapes them inside strings only.
 */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escape(ch: string): string {
  return "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0");
}

/**
 * `JSON.stringify(value, null, indent)` with DEL, the C1 controls and the bidi controls and
 * marks escaped as `\uXXXX` as well (C0 controls and lone surrogates are escaped by
 * `JSON.stringify` itself).
 */
export function printableJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, null, indent);
  RAW_IN_JSON.lastIndex = 0;
  return RAW_IN_JSON.test(text) ? text.replace(RAW_IN_JSON, escape) : text;
}
