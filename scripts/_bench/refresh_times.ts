/**
 * Reads conntop's `--stream -o ndjson` output as it arrives and keeps only what the benchmark
 * needs: the number of lines, and the distinct values of the `time` field (one per refresh that
 * printed something) with the moment each first arrived. Lines themselves are not kept, and not
 * parsed as JSON: on a two-core machine the reader must cost next to nothing beside the
 * process it measures.
 *
 * conntop puts the lead fields first (`{"event":"new","time":"2025-…Z",…`), so the time is
 * found in the first bytes of each line.
 *
 * @module
 */

const HEAD_BYTES = 64;
const TIME_KEY = new TextEncoder().encode('"time":"');
const QUOTE = 0x22;
const NEWLINE = 0x0a;

/** A refresh seen in the output. */
export interface Refresh {
  /** The refresh's `time` field, ms since the epoch. */
  timeMs: number;
  /** When its first line arrived here, ms since the epoch. */
  arrivedMs: number;
  /** When its last line (so far) arrived here, ms since the epoch. */
  lastArrivedMs: number;
  /** Lines it printed. */
  lines: number;
  /** Bytes it printed, newlines included. */
  bytes: number;
}

/** Accumulates refreshes from chunks of NDJSON. */
export class RefreshTimes {
  /** Every line so far. */
  lines = 0;
  /** Refreshes in order of arrival. */
  readonly refreshes: Refresh[] = [];
  /** Lines whose head had no `time` field. */
  untimed = 0;
  #head = new Uint8Array(HEAD_BYTES);
  #headLen = 0;
  #lineBytes = 0;
  #lastTime = "";
  #decoder = new TextDecoder();

  /** Feeds one chunk of output; `nowMs` is the arrival time (ms since the epoch). */
  push(chunk: Uint8Array, nowMs: number): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl === -1 ? chunk.length : nl;
      this.#lineBytes += end - start + (nl === -1 ? 0 : 1);
      const room = HEAD_BYTES - this.#headLen;
      if (room > 0 && end > start) {
        const take = chunk.subarray(start, Math.min(end, start + room));
        this.#head.set(take, this.#headLen);
        this.#headLen += take.length;
      }
      if (nl === -1) return;
      this.#endLine(nowMs);
      start = nl + 1;
    }
  }

  #endLine(nowMs: number): void {
    this.lines++;
    const head = this.#head.subarray(0, this.#headLen);
    const bytes = this.#lineBytes;
    this.#headLen = 0;
    this.#lineBytes = 0;
    const at = indexOf(head, TIME_KEY);
    const from = at + TIME_KEY.length;
    const to = at === -1 ? -1 : head.indexOf(QUOTE, from);
    if (to === -1) {
      this.untimed++;
      return;
    }
    const time = this.#decoder.decode(head.subarray(from, to));
    const last = this.refreshes[this.refreshes.length - 1];
    if (time === this.#lastTime && last !== undefined) {
      last.lines++;
      last.bytes += bytes;
      last.lastArrivedMs = nowMs;
      return;
    }
    this.#lastTime = time;
    this.refreshes.push({
      timeMs: Date.parse(time),
      arrivedMs: nowMs,
      lastArrivedMs: nowMs,
      lines: 1,
      bytes,
    });
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
