/**
 * The collector's table as the last batch sent it: what a server reads its snapshots and deltas
 * from when the collector runs on its own thread (collector/local.ts), so that the server holds
 * no model of the table beside the collector's (34 MB at 200k connections).
 *
 * A snapshot must give a joining client the bytes a client that followed every batch holds at
 * the same seq. The table keeps what its batches sent of the fields it rewrites unsent (the
 * timeout, use count and sample time: CtTable.keepSent), and between two batches tells this
 * module before a record changes in any other way: the record as sent is kept here until the
 * next batch, so a snapshot being read while the next dump runs still reads the last batch's
 * records. Of a batch's destroyed connections, whose slots the table zeroes, the records are kept
 * until the next one, for the batch's delta.
 *
 * Only the thread that runs the collector may use it; no I/O.
 *
 * @module
 */

import type { BatchMessage, CtTable, SentWatcher } from "../collector/mod.ts";
import type { Extra } from "../conntrack/mod.ts";
import { Kind, RECORD_SIZE } from "../conntrack/mod.ts";
import type { CollectorStatus, LocalAddressList, Owner, Totals } from "../core/mod.ts";

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
  #extras = new Map<number, Extra>();
  #owners = new Map<number, Owner>();
  /** Records live at the last batch that have changed since, as that batch sent them. */
  #before = new Pool();
  /** Records of the connections the last batch destroyed, as the table held them. */
  #dead = new Pool();
  #onBatching: () => void;

  /**
   * Watches `table` from now on (call before its first batch); `onBatching` hears when the table
   * is about to move on to a new batch, while it still reads as the last one.
   */
  constructor(table: CtTable, onBatching: () => void) {
    this.table = table;
    this.#onBatching = onBatching;
    table.keepSent();
    table.watchSent(this);
  }

  /** Stops watching the table (it is being let go). */
  close(): void {
    this.table.watchSent(undefined);
    this.#before.clear();
    this.#dead.clear();
  }

  /** Records kept now (those changed since the last batch, and those it destroyed). */
  get kept(): number {
    return this.#before.size + this.#dead.size;
  }

  /** @internal SentWatcher */
  changing(slot: number): void {
    if (this.#before.has(slot)) return;
    const [bytes, at] = this.#before.add(slot);
    this.table.sentRecord(slot, bytes, at);
  }

  /** @internal SentWatcher */
  batching(): void {
    this.#onBatching();
    this.#before.clear();
    this.#dead.clear();
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
    if (batch.reset === true) {
      this.#extras.clear();
      this.#owners.clear();
    }
    for (const [slot, extra] of batch.extras) this.#extras.set(slot, extra);
    for (const [slot, owner] of batch.owners ?? []) {
      if (owner === null) this.#owners.delete(slot);
      else this.#owners.set(slot, owner);
    }
    const changes = batch.changes;
    for (let j = 0; changes !== undefined && j < changes.length; j += 2) {
      if (changes[j + 1] === Kind.DESTROY) {
        this.#extras.delete(changes[j]!);
        this.#owners.delete(changes[j]!);
      }
    }
    if (batch.local !== undefined) this.local = batch.local;
    this.totals = batch.totals;
    this.status = batch.status;
    this.seq = batch.seq;
    this.timeMs = batch.timeMs;
    this.startedMs = batch.startedMs;
  }

  /** Extra string attributes of a slot live at the last batch. */
  extra(slot: number): Extra | undefined {
    return this.#extras.get(slot);
  }

  /** The owner of a slot live at the last batch. */
  owner(slot: number): Owner | undefined {
    return this.#owners.get(slot);
  }

  /** The slots live at the last batch, in slot order. */
  slots(): Uint32Array {
    return this.table.sentSlots();
  }

  /** Writes slot's record as the last batch sent it (KIND NEW) into `out` at `at`. */
  record(slot: number, out: Uint8Array, at: number): void {
    if (!this.#before.copy(slot, out, at)) this.table.sentRecord(slot, out, at);
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
