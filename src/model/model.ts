/**
 * The main thread's model of the conntrack table: the latest record of every live connection,
 * indexed by the slot the collector gave it, plus the totals and status of the last refresh.
 *
 * Records live in pages of {@linkcode CHUNK_RECORDS} slots. Applying a batch copies bytes and
 * allocates nothing per connection; a full chunk of new connections in slot order (the first
 * refresh of a large table) becomes a page as it is, without a copy, so a quarter-million
 * connections never exist twice in this thread. Objects for output are made on demand with
 * {@linkcode ConnectionModel.connection}.
 *
 * @module
 */

import type { Extra } from "../conntrack/mod.ts";
import { Kind, OFF, RECORD_SIZE, RecordView } from "../conntrack/mod.ts";
import { CHUNK_RECORDS, SlotAttributes } from "../core/mod.ts";
import type { BatchMessage, CollectorStatus, LocalAddressList, Totals } from "../core/mod.ts";
import type { Owner } from "../core/mod.ts";
import { type Connection, toConnection } from "../core/mod.ts";
import { type Filter, matches } from "../core/mod.ts";

const PAGE = CHUNK_RECORDS;
const PAGE_BYTES = PAGE * RECORD_SIZE;

/** The model. */
export class ConnectionModel {
  #pages: RecordView[] = [];
  #attrs = new SlotAttributes();
  /** The monitored host's interface addresses, as the collector last reported them. */
  local: LocalAddressList | undefined;
  #size = 0;
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
   * changes; read them before the next batch is applied).
   */
  apply(batch: BatchMessage): RecordView[] {
    if (batch.reset === true) this.clear();
    const views = batch.records.map((b) => new RecordView(b));
    // A table handed over holds records, not changes: its destroyed slots are in `changes`.
    this.#attrs.apply(batch, batch.handedOver === true ? [] : views);
    if (batch.local !== undefined) this.local = batch.local;
    if (batch.handedOver === true) this.#adoptTable(batch.records[0]!);
    else {
      for (const bv of views) this.#applyRecords(bv);
    }
    this.totals = batch.totals;
    this.status = batch.status;
    this.seq = batch.seq;
    this.timeMs = batch.timeMs;
    return views;
  }

  // Copies a batch's records into the pages (a whole chunk of new ones becomes a page).
  #applyRecords(bv: RecordView): void {
    if (this.#adopt(bv)) return;
    for (let i = 0; i < bv.count; i++) {
      const kind = bv.u8At(i, OFF.KIND);
      const slot = bv.u32At(i, OFF.SLOT);
      const page = this.#page(slot);
      const at = (slot % PAGE) * RECORD_SIZE;
      const live = page.u8[at] !== 0;
      if (kind === Kind.DESTROY) {
        if (live) {
          page.u8.fill(0, at, at + RECORD_SIZE);
          this.#size--;
        }
        continue;
      }
      page.u8.set(bv.u8.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), at);
      page.u8[at] = 1;
      if (!live) this.#size++;
    }
  }

  // Takes the collector's table, one record per slot, as the pages: views over its buffer,
  // not copies (only a last, partial page is copied into a whole one).
  #adoptTable(buf: ArrayBuffer): void {
    this.#pages = [];
    this.#size = 0;
    const slots = Math.floor(buf.byteLength / RECORD_SIZE);
    for (let p = 0; p * PAGE < slots; p++) {
      const n = Math.min(PAGE, slots - p * PAGE);
      let page = new RecordView(buf, p * PAGE_BYTES, n * RECORD_SIZE);
      if (n < PAGE) {
        const whole = new RecordView(new ArrayBuffer(PAGE_BYTES));
        whole.u8.set(page.u8);
        page = whole;
      }
      for (let at = 0; at < n * RECORD_SIZE; at += RECORD_SIZE) if (page.u8[at] !== 0) this.#size++;
      this.#pages[p] = page;
    }
  }

  /** Forgets every connection (the totals and status stay until the next batch). */
  clear(): void {
    this.#pages = [];
    this.#attrs.clear();
    this.#size = 0;
  }

  /** Slots per page. */
  get pageSize(): number {
    return PAGE;
  }

  /** The pages of records, by page number (for one pass over every slot). */
  pages(): readonly (RecordView | undefined)[] {
    return this.#pages;
  }

  /** One past the highest slot a page holds (slots below it may be in use). */
  get capacity(): number {
    return this.#pages.length * PAGE;
  }

  /** Slots in use, in slot order, into a new array (faster than iterating over slots()). */
  liveSlots(): Uint32Array {
    const out = new Uint32Array(this.#size);
    let n = 0;
    for (let p = 0; p < this.#pages.length; p++) {
      const u8 = this.#pages[p]?.u8;
      if (u8 === undefined) continue;
      for (let i = 0, at = 0; i < PAGE; i++, at += RECORD_SIZE) {
        if (u8[at] !== 0) out[n++] = p * PAGE + i;
      }
    }
    return out;
  }

  /** Slots in use, in slot order. */
  *slots(): IterableIterator<number> {
    for (let p = 0; p < this.#pages.length; p++) {
      const u8 = this.#pages[p]?.u8;
      if (u8 === undefined) continue;
      for (let i = 0; i < PAGE; i++) if (u8[i * RECORD_SIZE] !== 0) yield p * PAGE + i;
    }
  }

  /** The page holding slot `s` and the record's index in it. */
  locate(s: number): [RecordView, number] {
    return [this.#page(s), s % PAGE];
  }

  /** The page holding slot `s` (with {@linkcode ConnectionModel.index}: no tuple allocated). */
  page(s: number): RecordView {
    return this.#page(s);
  }

  /** The index of slot `s` in its page. */
  index(s: number): number {
    return s % PAGE;
  }

  /** Whether slot `s` holds a live connection. */
  live(s: number): boolean {
    const page = this.#pages[Math.floor(s / PAGE)];
    return page !== undefined && page.u8[(s % PAGE) * RECORD_SIZE] !== 0;
  }

  /** The kernel's conntrack id of the connection in slot `s`. */
  id(s: number): number {
    return this.#page(s).u32At(s % PAGE, OFF.ID);
  }

  /** Whether the connection in slot `s` matches `filter`. */
  matches(filter: Filter, s: number): boolean {
    return matches(filter, this.#page(s), s % PAGE);
  }

  /** Extra string attributes of slot `s`. */
  extra(s: number): Extra | undefined {
    return this.#attrs.extra(s);
  }

  /** The process owning the local socket of slot `s`, when the collector found one. */
  owner(s: number): Owner | undefined {
    return this.#attrs.owner(s);
  }

  /** The connection in slot `s` as an object, with timeout and age as of `nowMs`. */
  connection(s: number, nowMs: number = Date.now()): Connection {
    return toConnection(this.#page(s), s % PAGE, this.#attrs.extra(s), nowMs, this.#attrs.owner(s));
  }

  // Takes a whole chunk of new connections, in slot order from a page boundary, as a page.
  #adopt(bv: RecordView): boolean {
    if (bv.u8.byteLength !== PAGE_BYTES) return false;
    const first = bv.u32At(0, OFF.SLOT);
    const p = first / PAGE;
    if (!Number.isInteger(p) || this.#pages[p] !== undefined) return false;
    for (let i = 0; i < PAGE; i++) {
      if (bv.u8At(i, OFF.KIND) !== Kind.NEW || bv.u32At(i, OFF.SLOT) !== first + i) return false;
    }
    // KIND is already 1 (Kind.NEW), which is also the model's "slot in use" mark.
    this.#pages[p] = bv;
    this.#size += PAGE;
    return true;
  }

  #page(slot: number): RecordView {
    const p = Math.floor(slot / PAGE);
    let page = this.#pages[p];
    if (page === undefined) {
      page = new RecordView(new ArrayBuffer(PAGE_BYTES));
      this.#pages[p] = page;
    }
    return page;
  }
}
