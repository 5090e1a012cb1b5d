/**
 * Framing: one JSON message per `\n`-terminated line, with a byte limit. {@linkcode LineReader}
 * cuts a byte stream into lines without ever holding more than the limit of an unfinished
 * line; {@linkcode encodeMessage} makes the bytes of one message.
 *
 * @module
 */

const NL = 0x0a;
const EMPTY = new Uint8Array(0);
/** First size of the buffer for an unfinished line. */
const FIRST_BUFFER = 4096;
const encoder = new TextEncoder();

/** A line longer than the limit (the reader cannot resynchronise: the connection must end). */
export class FrameTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`message longer than ${limit} bytes`);
    this.name = "FrameTooLongError";
  }
}

/** The bytes of `message` as one line, newline included. */
export function encodeMessage(message: unknown): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify(message) + "\n");
}

/**
 * Cuts bytes into lines. Feed it what the socket gives; it returns the complete lines (as
 * bytes, without their newline) and keeps the unfinished rest, throwing
 * {@linkcode FrameTooLongError} as soon as a line (newline included) would pass `limit` bytes.
 */
export class LineReader {
  #limit: number;
  // Allocated on the first unfinished line only: most lines arrive whole in one read, and a
  // server holds one reader per connection (thousands of short-lived ones under a scan).
  #buf: Uint8Array<ArrayBuffer> = EMPTY;
  #len = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Bytes held of the unfinished line. */
  get pending(): number {
    return this.#len;
  }

  /** The complete lines in what has been fed so far, plus `chunk`. */
  push(chunk: Uint8Array): Uint8Array[] {
    const lines: Uint8Array[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.#len + piece.length + 1 > this.#limit) throw new FrameTooLongError(this.#limit);
      if (this.#len === 0) {
        lines.push(piece.slice());
      } else {
        this.#append(piece);
        lines.push(this.#buf.slice(0, this.#len));
        this.#len = 0;
      }
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      // A line without its newline yet may not reach the limit either (it needs one more byte).
      if (this.#len + rest.length + 1 > this.#limit) throw new FrameTooLongError(this.#limit);
      this.#append(rest);
    }
    return lines;
  }

  #append(bytes: Uint8Array): void {
    const need = this.#len + bytes.length;
    if (need > this.#buf.length) {
      let size = Math.max(FIRST_BUFFER, this.#buf.length * 2);
      while (size < need) size *= 2;
      const grown = new Uint8Array(Math.min(size, this.#limit));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len = need;
  }
}
