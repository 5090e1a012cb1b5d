/**
 * The collector's table as the last batch sent it: what a server reads its snapshots and deltas
 * from when the collector runs on its own thread (collector/local.ts), so that the server holds
 * no model of the table beside the collector's (34 MB at 200k connections).
 *
 * A snapshot must give a joining client the bytes a client that followed every batch holds at
 * the same seq. The table keeps what its batches sent of the fields it rewrites unsent (the
 * timeout, use count and sample time: CtTable.keepSent), and tells this module before a record
 * changes in any other way, and before a batch sends it anew or destroys it: the record as the
 * last batch sent it is kept here (copy on write) for that batch's {@linkcode Epoch}. An epoch
 * lives until the next batch, or for as long as a snapshot of it is still being read
 * ({@linkcode Epoch.hold}): a slow client reads its snapshot at its own pace while the table
 * moves on, and the server holds only the records that changed meanwhile, not a copy of the
 * table nor the rest of the snapshot's lines. Of a batch's destroyed connections, whose slots the
 * table zeroes, the records are kept until the next one, for the batch's delta.
 *
 * Only the thread that runs the collector may use it; no I/O.
 *
 * @module
 */

import type { BatchMessage, CtTable, SentWatcher } from "../collector/mod.ts";
import type { Extra } from "../conntrack/mod.ts";
import { RECORD_SIZE } from "../conntrack/mod.ts";
import type { CollectorStatus, LocalAddressList, Owner, Totals } from "../core/mod.ts";
import { SlotAttributes } from "../core/mod.ts";

/** Records in a pool of kept records no larger than this are kept for the next batch's use. */
const KEEP_POOL_RECORDS = 4096;

/** Records kept by slot, in one growing buffer. */
class Pool {
  #bytes = new Uint8Array(0);
  #at = new Map<number, number>();

  get size(): number {
    return this.#at.size;
  }

  has(slot: number): boolean {
    return this.#at.has(slot);
  }

  /** Room for the next record, which the caller writes at the offset returned. */
  add(slot: number): [Uint8Array, number] {
    const i = this.#at.size;
    if ((i + 1) * RECORD_SIZE > this.#bytes.length) {
      const bigger = new Uint8Array(Math.max(64, 2 * i) * RECORD_SIZE);
      bigger.set(this.#bytes);
      this.#bytes = bigger;
    }
    this.#at.set(slot, i * RECORD_SIZE);
    return [this.#bytes, i * RECORD_SIZE];
  }

  /** Copies slot's record into `out` at `at`; false when none is kept. */
  copy(slot: number, out: Uint8Array, at: number): boolean {
    const from = this.#at.get(slot);
    if (from === undefined) return false;
    out.set(this.#bytes.subarray(from, from + RECORD_SIZE), at);
    return true;
  }

  clear(): void {
    this.#at.clear();
    if (this.#bytes.length > KEEP_POOL_RECORDS * RECORD_SIZE) this.#bytes = new Uint8Array(0);
  }
}

/** The table as one batch sent it, for as long as a snapshot of that batch is being read. */
export class Epoch {
  /** The batch's seq (-1 until the batch is applied: the table takes it first). */
  seq: number;
  readonly #table: CtTable;
  /** Records live at the batch that have changed since, as the batch sent them. */
  readonly before = new Pool();
  #holders = 0;
  #onFree: (e: Epoch) => void;

  /** @internal Made by {@linkcode SentTable}. */
  constructor(seq: number, table: CtTable, onFree: (e: Epoch) => void) {
    this.seq = seq;
    this.#table = table;
    this.#onFree = onFree;
  }

  /** Snapshots of this batch being read. */
  get holders(): number {
    return this.#holders;
  }

  /** A snapshot of this batch is being read: keep it past the next batch. */
  hold(): void {
    this.#holders++;
  }

  /** A snapshot of this batch was read (or dropped). */
  release(): void {
    if (this.#holders === 0) return;
    if (--this.#holders === 0) this.#onFree(this);
  }

  /** Writes slot's record as this batch sent it (KIND NEW) into `out` at `at`. */
  record(slot: number, out: Uint8Array, at: number): void {
    if (!this.before.copy(slot, out, at)) this.#table.sentRecord(slot, out, at);
  }

  /** @internal Keeps slot's record as sent before it changes (once). */
  keep(slot: number): void {
    if (this.before.has(slot)) return;
    const [bytes, at] = this.before.add(slot);
    this.#table.sentRecord(slot, bytes, at);
  }
}

/**
 * The table as sent, and the records a batch's delta needs; with the rest of the last batch a
 * snapshot holds (extras and owners of live slots, local addresses, totals, status).
 */
export class SentTable implements SentWatcher {
  readonly table: CtTable;
  /** The seq of the last batch applied (-1 before the first). */
  seq = -1;
  timeMs = 0;
  startedMs = 0;
  local: LocalAddressList | undefined;
  totals: Totals | undefined;
  status: CollectorStatus | undefined;
  #attrs = new SlotAttributes();
  /** The last batch's epoch. */
  #current: Epoch;
  /** Older epochs whose snapshots are still being read. */
  #held = new Set<Epoch>();
  /** Records of the connections the last batch destroyed, as the table held them. */
  #dead = new Pool();
  #onBatching: () => void;

  /**
   * Watches `table` from now on (call before its first batch); `onBatching` hears when the table
   * is about to move on to a new batch, while it still reads as the last one.
   */
  constructor(table: CtTable, onBatching: () => void = () => {}) {
    this.table = table;
    this.#onBatching = onBatching;
    this.#current = this.#epoch(-1);
    table.keepSent();
    table.watchSent(this);
  }

  /** Stops watching the table (it is being let go). */
  close(): void {
    this.table.watchSent(undefined);
    this.#current.before.clear();
    for (const e of this.#held) e.before.clear();
    this.#held.clear();
    this.#dead.clear();
  }

  /** Records kept now (changed since a batch still read, and those the last batch destroyed). */
  get kept(): number {
    let n = this.#current.before.size + this.#dead.size;
    for (const e of this.#held) n += e.before.size;
    return n;
  }

  /** Epochs kept past their batch for the snapshots still being read. */
  get heldEpochs(): number {
    return this.#held.size;
  }

  /** The last batch's epoch: what a snapshot planned now reads. */
  get epoch(): Epoch {
    return this.#current;
  }

  /** @internal SentWatcher */
  changing(slot: number): void {
    this.#current.keep(slot);
    for (const e of this.#held) e.keep(slot);
  }

  /** @internal SentWatcher */
  sending(slot: number): void {
    for (const e of this.#held) e.keep(slot);
  }

  /** @internal SentWatcher */
  batching(): void {
    this.#onBatching();
    const old = this.#current;
    if (old.holders > 0) this.#held.add(old);
    else old.before.clear();
    this.#current = this.#epoch(old.seq);
    this.#dead.clear();
  }

  #epoch(seq: number): Epoch {
    return new Epoch(seq, this.table, (e) => {
      if (this.#held.delete(e)) e.before.clear();
    });
  }

  /** @internal SentWatcher */
  releasing(slot: number): void {
    const [bytes, at] = this.#dead.add(slot);
    const from = slot * RECORD_SIZE;
    bytes.set(this.table.records.subarray(from, from + RECORD_SIZE), at);
  }

  /**
   * Takes a batch of this table's (its changes as slots and kinds: collector/loop.ts with
   * `inPlace`): the extras and owners it changed and its totals. The records are the table's.
   */
  apply(batch: BatchMessage): void {
    this.#attrs.apply(batch);
    if (batch.local !== undefined) this.local = batch.local;
    this.totals = batch.totals;
    this.status = batch.status;
    this.seq = batch.seq;
    // The epoch made when the table took this batch is this batch's.
    this.#current.seq = batch.seq;
    this.timeMs = batch.timeMs;
    this.startedMs = batch.startedMs;
  }

  /** Extra string attributes of a slot live at the last batch. */
  extra(slot: number): Extra | undefined {
    return this.#attrs.extra(slot);
  }

  /** The owner of a slot live at the last batch. */
  owner(slot: number): Owner | undefined {
    return this.#attrs.owner(slot);
  }

  /** The slots live at the last batch, in slot order. */
  slots(): Uint32Array {
    return this.table.sentSlots();
  }

  /** Writes slot's record as the last batch sent it (KIND NEW) into `out` at `at`. */
  record(slot: number, out: Uint8Array, at: number): void {
    this.#current.record(slot, out, at);
  }

  /**
   * Writes the record the last batch sent for its change (`slot`, `kind`) into `out` at `at`,
   * as a batch with copies of the records holds it. Right after that batch only.
   */
  change(slot: number, kind: number, out: Uint8Array, at: number): void {
    if (!this.#dead.copy(slot, out, at)) {
      const from = slot * RECORD_SIZE;
      out.set(this.table.records.subarray(from, from + RECORD_SIZE), at);
    }
    out[at] = kind; // OFF.KIND
  }
}
