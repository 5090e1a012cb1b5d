/**
 * Writing text to a file descriptor without building a byte copy of all of it: large outputs
 * (a first refresh of a quarter-million connections is ~200 MB of NDJSON) are encoded piece
 * by piece into one reused buffer.
 *
 * @module
 */

const encoder = new TextEncoder();
// Large enough for a piece of 64 Ki UTF-16 units (3 bytes each at most) in one call.
const buffer = new Uint8Array(1 << 18);

/** Writes all of `text` to `file`, synchronously. */
export function writeTextSync(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let rest = text;
  while (rest.length > 0) {
    const { read, written } = encoder.encodeInto(rest, buffer);
    let off = 0;
    while (off < written) off += file.writeSync(buffer.subarray(off, written));
    rest = rest.slice(read);
  }
}

/** Writes all of `bytes` to `file`, synchronously. */
export function writeAllSync(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}
