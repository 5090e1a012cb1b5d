/**
 * Where the engine's records live. In process, and for a recording or a remote server, in the
 * model's pages, copied from the batches ({@linkcode ConnectionModel}). In the collector's
 * worker, in the collector's own table ({@linkcode TableRecords}): the batches then only say
 * which slots changed, and the table is held once in the whole process.
 *
 * @module
 */

import { OFF, RECORD_SIZE, RecordView } from "../conntrack/mod.ts";
import type { Extra } from "../conntrack/mod.ts";
import type { BatchMessage, CollectorStatus, LocalAddressList, Totals } from "../core/mod.ts";
import {
  type Connection,
  type Filter,
  matches,
  SlotAttributes,
  toConnection,
} from "../core/mod.ts";
import type { Owner } from "../core/mod.ts";
import type { PagedRecords } from "./order.ts";

/** What the engine reads its records through. */
export interface RecordStore extends PagedRecords {
  /** Live connections. */
  readonly size: number;
  /** One past the highest slot that may be in use. */
  readonly capacity: number;
  readonly totals: Totals | undefined;
  readonly status: CollectorStatus | undefined;
  readonly seq: number;
  readonly timeMs: number;
  /** Takes a batch; returns views over its records (which slots changed, and how). */
  apply(batch: BatchMessage): RecordView[];
  live(s: number): boolean;
  id(s: number): number;
  matches(filter: Filter, s: number): boolean;
  owner(s: number): Owner | undefined;
  extra(s: number): Extra | undefined;
  connection(s: number, nowMs: number): Connection;
  /** Slots in use, in slot order. */
  liveSlots(): Uint32Array;
  /** The records change in place between batches (see {@linkcode TableRecords}). */
  readonly inPlace?: boolean;
}

/** The collector's table, as {@linkcode TableRecords} reads it (src/collector/table.ts). */
export interface TableSource {
  /** The records, one per slot (a free slot's KIND byte is 0); replaced when the table grows. */
  readonly records: Uint8Array;
  /** Slots the records hold. */
  readonly capacity: number;
  /** Live connections. */
  readonly size: number;
}

/**
 * The collector's own table as the engine's records. Between two batches the collector merges
 * a dump into it, so a row may show values newer than its place in the order (the order keeps
 * the keys of the last batch until the next one); connections it has not reported yet are not
 * listed until their batch comes.
 */
export class TableRecords implements RecordStore {
  #src: TableSource | undefined;
  #view = new RecordView(new ArrayBuffer(0));
  #viewOf: Uint8Array | undefined;
  #attrs = new SlotAttributes();
  /** The host's addresses, as the last batch that had them said. */
  local: LocalAddressList | undefined;
  totals: Totals | undefined;
  status: CollectorStatus | undefined;
  seq = -1;
  timeMs = 0;

  /** Reads the records of `src` from now on. */
  bind(src: TableSource): void {
    this.#src = src;
  }

  get size(): number {
    return this.#src?.size ?? 0;
  }

  get capacity(): number {
    return this.#src?.capacity ?? 0;
  }

  get pageSize(): number {
    return Math.max(1, this.capacity);
  }

  pages(): readonly (RecordView | undefined)[] {
    return this.#src === undefined ? [] : [this.#v()];
  }

  page(_s: number): RecordView {
    return this.#v();
  }

  index(s: number): number {
    return s;
  }

  apply(batch: BatchMessage): RecordView[] {
    const views = batch.records.map((b) => new RecordView(b));
    this.#attrs.apply(batch, views);
    if (batch.local !== undefined) this.local = batch.local;
    this.totals = batch.totals;
    this.status = batch.status;
    this.seq = batch.seq;
    this.timeMs = batch.timeMs;
    return views;
  }

  live(s: number): boolean {
    return s < this.capacity && this.#v().u8[s * RECORD_SIZE] !== 0;
  }

  id(s: number): number {
    return this.#v().u32At(s, OFF.ID);
  }

  matches(filter: Filter, s: number): boolean {
    return matches(filter, this.#v(), s);
  }

  owner(s: number): Owner | undefined {
    return this.#attrs.owner(s);
  }

  extra(s: number): Extra | undefined {
    return this.#attrs.extra(s);
  }

  /** Whether the records change in place between batches (a screen's pause must copy them). */
  readonly inPlace = true;

  connection(s: number, nowMs: number): Connection {
    return toConnection(this.#v(), s, this.#attrs.extra(s), nowMs, this.#attrs.owner(s));
  }

  liveSlots(): Uint32Array {
    const u8 = this.#v().u8, cap = this.capacity;
    const out = new Uint32Array(this.size);
    let n = 0;
    for (let s = 0, at = 0; s < cap && n < out.length; s++, at += RECORD_SIZE) {
      if (u8[at] !== 0) out[n++] = s;
    }
    return n === out.length ? out : out.subarray(0, n);
  }

  // A view over the table's records, made again when the table has grown.
  #v(): RecordView {
    const r = this.#src?.records;
    if (r !== undefined && r !== this.#viewOf) {
      this.#view = new RecordView(r.buffer, r.byteOffset, r.byteLength);
      this.#viewOf = r;
    }
    return this.#view;
  }
}
