/**
 * The main thread's model of the conntrack table: the latest record of every live connection,
 * indexed by the slot the collector gave it, plus the totals and status of the last refresh.
 *
 * Applying a batch copies bytes; nothing is allocated per connection. Objects for output are
 * made on demand with {@linkcode ConnectionModel.connection}.
 *
 * @module
 */

import type { Extra } from "../conntrack/decode.ts";
import { Kind, OFF, RECORD_SIZE, RecordView } from "../conntrack/record.ts";
import type { BatchMessage } from "../collector/client.ts";
import type { CollectorStatus, Totals } from "../collector/messages.ts";
import { type Connection, toConnection } from "./connection.ts";

/** The model. */
export class ConnectionModel {
  #view = new RecordView(new ArrayBuffer(0));
  #extras = new Map<number, Extra>();
  #size = 0;
  #hwm = 0;
  /** Totals of the last refresh. */
  totals: Totals | undefined;
  /** Collector status of the last refresh. */
  status: CollectorStatus | undefined;
  /** Sequence number of the last batch applied (-1 before the first). */
  seq = -1;
  /** Wall-clock time of the last refresh (ms since the epoch). */
  timeMs = 0;

  /** Live connections. */
  get size(): number {
    return this.#size;
  }

  /**
   * Applies a batch and returns views over its records, one per chunk (for outputs that report
   * changes).
   */
  apply(batch: BatchMessage): RecordView[] {
    const views = batch.records.map((b) => new RecordView(b));
    for (const [slot, extra] of batch.extras) this.#extras.set(slot, extra);
    let maxSlot = -1;
    for (const bv of views) {
      for (let i = 0; i < bv.count; i++) maxSlot = Math.max(maxSlot, bv.u32At(i, OFF.SLOT));
    }
    this.#ensure(maxSlot + 1); // once per batch: growing record by record would churn memory
    const u8 = this.#view.u8;
    for (const bv of views) {
      for (let i = 0; i < bv.count; i++) {
        const kind = bv.u8At(i, OFF.KIND);
        const slot = bv.u32At(i, OFF.SLOT);
        const at = slot * RECORD_SIZE;
        const live = u8[at] !== 0;
        if (kind === Kind.DESTROY) {
          if (live) {
            u8.fill(0, at, at + RECORD_SIZE);
            this.#size--;
          }
          this.#extras.delete(slot);
          continue;
        }
        u8.set(bv.u8.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), at);
        u8[at] = 1;
        if (!live) this.#size++;
        if (slot >= this.#hwm) this.#hwm = slot + 1;
      }
    }
    this.totals = batch.totals;
    this.status = batch.status;
    this.seq = batch.seq;
    this.timeMs = batch.timeMs;
    return views;
  }

  /** The records, indexed by slot (slots whose KIND byte is 0 are empty). */
  get view(): RecordView {
    return this.#view;
  }

  /** Slots in use, in slot order. */
  *slots(): IterableIterator<number> {
    const u8 = this.#view.u8;
    for (let s = 0; s < this.#hwm; s++) if (u8[s * RECORD_SIZE] !== 0) yield s;
  }

  /** Extra string attributes of slot `s`. */
  extra(s: number): Extra | undefined {
    return this.#extras.get(s);
  }

  /** The connection in slot `s` as an object, with timeout and age as of `nowMs`. */
  connection(s: number, nowMs: number = Date.now()): Connection {
    return toConnection(this.#view, s, this.#extras.get(s), nowMs);
  }

  #ensure(slots: number): void {
    if (this.#view.u8.byteLength >= slots * RECORD_SIZE) return;
    const cap = Math.max(Math.ceil(slots * 1.25), Math.ceil(this.#view.count * 1.5), 1024);
    const next = new RecordView(new ArrayBuffer(cap * RECORD_SIZE));
    next.u8.set(this.#view.u8);
    this.#view = next;
  }
}
