/**
 * A batch's lines encoded as clients read them, shared between clients: a snapshot of a 200k
 * table is 45 MB of lines, and holding them all at once, beside the table they come from, is
 * most of a server's peak memory. Here a line is encoded when the first client reaches it and
 * kept while another client may still want it soon (the last {@linkcode CACHE_LINES} lines
 * encoded), so clients reading at the same point share one encoding.
 *
 * The lines are read from the records when encoded, so the records must not change while a
 * reader is open: either they are read through a view that keeps them as they were (a server
 * reading the collector's table: sent_table.ts), or before they change
 * {@linkcode LazyLines.freeze} encodes at once every line an open reader has yet to take (a slow
 * client then holds what it has not read), and lets the records go.
 *
 * A line every open reader has written, and that the cache no longer holds, is let go at once
 * (its ArrayBuffer detached): the lines' bytes live outside V8's heap, which barely grows while a
 * snapshot is sent, so nothing would collect the 1.8 MB lines it has finished with for a long
 * time (at 200k connections, 15 MB more at the peak). A reader takes its next line only once it
 * has written the last one ({@linkcode LineCursor}, queue.ts).
 *
 * No I/O.
 *
 * @module
 */

import type { BatchLines } from "../protocol/mod.ts";
import type { LineCursor, LineSource } from "./queue.ts";

/** Encoded lines kept for readers a little behind the first. */
const CACHE_LINES = 2;

class Cursor implements LineCursor {
  /** The next line to take. */
  at = 0;
  #owner: LazyLines;
  #open = true;

  constructor(owner: LazyLines) {
    this.#owner = owner;
  }

  next(): Uint8Array | undefined {
    if (!this.#open) return undefined;
    return this.#owner.take(this);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#owner.closed(this);
  }
}

/** Lines of one batch, encoded when first read. */
export class LazyLines implements LineSource {
  readonly length: number;
  /** Lines encoded so far (a line re-encoded for a late reader counts again). */
  encodings = 0;
  #plan: BatchLines | undefined;
  #cache = new Map<number, Uint8Array>();
  /** Lines handed to readers and not let go yet, by index. */
  #out = new Map<number, Uint8Array>();
  /** After {@linkcode freeze}: the lines open readers still need (undefined: taken by all). */
  #frozen: (Uint8Array | undefined)[] | undefined;
  #cursors = new Set<Cursor>();
  #onIdle: ((l: LazyLines) => void) | undefined;

  /** `onIdle` hears when the last open reader closes (the hub stops tracking these lines). */
  constructor(plan: BatchLines, onIdle?: (l: LazyLines) => void) {
    this.#plan = plan;
    this.length = plan.length;
    this.#onIdle = onIdle;
  }

  /** Readers open now. */
  get readers(): number {
    return this.#cursors.size;
  }

  /** Whether the records were let go ({@linkcode freeze}). */
  get frozen(): boolean {
    return this.#frozen !== undefined;
  }

  /** A reader from the first line on (none after {@linkcode freeze}: it would find nothing). */
  open(): LineCursor {
    const c = new Cursor(this);
    if (this.#frozen === undefined) this.#cursors.add(c);
    else c.close();
    return c;
  }

  /**
   * The records are about to change: encode now every line an open reader has not taken yet,
   * and let the records (and the plan holding them) go.
   */
  freeze(): void {
    if (this.#frozen !== undefined) return;
    const plan = this.#plan!;
    const frozen: (Uint8Array | undefined)[] = new Array(this.length);
    let from = this.length;
    for (const c of this.#cursors) from = Math.min(from, c.at);
    for (let i = from; i < this.length; i++) {
      frozen[i] = this.#cache.get(i) ?? this.#encode(plan, i);
    }
    this.#frozen = frozen;
    this.#plan = undefined;
    this.#cache.clear();
    this.#out.clear();
  }

  /** @internal The next line for `c`. */
  take(c: Cursor): Uint8Array | undefined {
    const i = c.at;
    if (i >= this.length) return undefined;
    c.at++;
    const frozen = this.#frozen;
    if (frozen !== undefined) {
      const line = frozen[i];
      // Let go of what every open reader has passed.
      let low = this.length;
      for (const o of this.#cursors) low = Math.min(low, o.at);
      for (let j = i; j < low && j < this.length; j++) frozen[j] = undefined;
      return line;
    }
    let line = this.#cache.get(i);
    if (line === undefined) {
      line = this.#encode(this.#plan!, i);
      this.#cache.set(i, line);
      if (this.#cache.size > CACHE_LINES) {
        this.#cache.delete(this.#cache.keys().next().value!);
      }
    }
    this.#out.set(i, line);
    this.#letGo();
    return line;
  }

  // Detaches the lines below the one the furthest-behind open reader is writing, but for those
  // the cache holds (a reader that opens later encodes them anew).
  #letGo(): void {
    let low = this.length;
    for (const o of this.#cursors) low = Math.min(low, o.at - 1);
    for (const [j, l] of this.#out) {
      if (j >= low || this.#cache.has(j)) continue;
      this.#out.delete(j);
      const buf = l.buffer;
      if (buf instanceof ArrayBuffer && l.byteOffset === 0 && l.byteLength === buf.byteLength) {
        buf.transfer(0);
      }
    }
  }

  /** @internal `c` was closed. */
  closed(c: Cursor): void {
    if (!this.#cursors.delete(c)) return;
    if (this.#cursors.size > 0) return;
    this.#cache.clear();
    // The last reader's line may still be on its way out (it left mid-write): not detached.
    this.#out.clear();
    if (this.#frozen !== undefined) this.#frozen = [];
    this.#onIdle?.(this);
  }

  #encode(plan: BatchLines, i: number): Uint8Array {
    this.encodings++;
    return plan.line(i);
  }
}
