/**
 * The one NDJSON batch line, written straight into bytes: the JSON envelope of a batch whose
 * `records` field is an array of base64 strings, one per chunk of 168-byte records. Both the
 * protocol's `batch` parts (codec.ts) and a recording's batch lines (record/format.ts) are made
 * here, so the two stay one format and neither builds the base64 as a JavaScript string: the
 * record bytes are base64-encoded directly into the line's buffer, the rest of the envelope is
 * stringified (it is small: counts, extras, owners, totals) and copied in as UTF-8.
 *
 * The bytes equal `stringify({...head, records: chunks.map(base64), ...tail}) + "\n"` for the
 * `stringify` given (`JSON.stringify` on the wire, `printableJson` in recordings: base64 holds
 * no character either would escape). It must never change that: old recordings and third-party
 * clients read these lines with a plain JSON parser.
 *
 * This module does no I/O and imports nothing.
 *
 * @example
 * ```ts
 * import { encodeBatchLine } from "./batch_line.ts";
 * const line = encodeBatchLine({ type: "batch", seq: 1 }, [new Uint8Array([1, 2, 3])], {
 *   extras: [],
 * });
 * new TextDecoder().decode(line); // '{"type":"batch","seq":1,"records":["AQID"],"extras":[]}\n'
 * ```
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const EQ = 0x3d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const encoder = new TextEncoder();
/** `,"records":[` */
const RECORDS_OPEN = encoder.encode(',"records":[');
/** Every 12-bit value as its two base64 characters (first in the low byte). */
const PAIRS = (() => {
  const a = encoder.encode(ALPHABET);
  const t = new Uint16Array(4096);
  for (let i = 0; i < 4096; i++) t[i] = a[i >> 6]! | (a[i & 63]! << 8);
  return t;
})();

/** Length of the base64 text of `bytes` bytes (with padding). */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * Writes the base64 of `src` (with `=` padding) into `out` from `at`; returns where it ended.
 * `out` must have room for {@linkcode base64Length}`(src.length)` bytes.
 */
export function writeBase64(src: Uint8Array, out: Uint8Array, at: number): number {
  const whole = src.length - (src.length % 3);
  let o = at;
  for (let i = 0; i < whole; i += 3) {
    const v = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
    const a = PAIRS[v >> 12]!;
    const b = PAIRS[v & 4095]!;
    out[o] = a & 255;
    out[o + 1] = a >> 8;
    out[o + 2] = b & 255;
    out[o + 3] = b >> 8;
    o += 4;
  }
  const rest = src.length - whole;
  if (rest > 0) {
    const v = (src[whole]! << 16) | (rest === 2 ? src[whole + 1]! << 8 : 0);
    const a = PAIRS[v >> 12]!;
    const b = PAIRS[v & 4095]!;
    out[o] = a & 255;
    out[o + 1] = a >> 8;
    out[o + 2] = rest === 2 ? b & 255 : EQ;
    out[o + 3] = EQ;
    o += 4;
  }
  return o;
}

/**
 * The bytes of one batch line, newline included:
 * `stringify(head)` without its closing brace, then `"records":[…]` with the base64 of each of
 * `chunks`, then `stringify(tail)`'s members and the closing brace. `head` must have at least
 * one member; `tail` may be empty. The chunks are read now: their buffers may change once this
 * returns.
 */
export function encodeBatchLine(
  head: object,
  chunks: readonly Uint8Array[],
  tail: object,
  stringify: (value: unknown) => string = JSON.stringify,
): Uint8Array<ArrayBuffer> {
  const headText = stringify(head);
  const tailText = stringify(tail);
  // `{…}` → `{…` and `{…}` → `,…}` (or `}` when the tail is empty).
  const headBytes = encoder.encode(headText.slice(0, -1));
  const tailBytes = encoder.encode(
    tailText === "{}" ? "]}\n" : "]," + tailText.slice(1) + "\n",
  );
  let size = headBytes.length + RECORDS_OPEN.length + tailBytes.length;
  for (let i = 0; i < chunks.length; i++) {
    size += base64Length(chunks[i]!.length) + 2 + (i > 0 ? 1 : 0);
  }
  const out = new Uint8Array(size);
  out.set(headBytes, 0);
  let at = headBytes.length;
  out.set(RECORDS_OPEN, at);
  at += RECORDS_OPEN.length;
  for (let i = 0; i < chunks.length; i++) {
    if (i > 0) out[at++] = COMMA;
    out[at++] = QUOTE;
    at = writeBase64(chunks[i]!, out, at);
    out[at++] = QUOTE;
  }
  out.set(tailBytes, at);
  return out;
}
