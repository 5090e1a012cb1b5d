/**
 * The engine: the one copy of the connection table and the answer to the UI's view queries.
 *
 * It keeps the records (in the model's pages), the filter's verdict and the sort keys of every
 * slot, and the rows in order. A batch re-reads only the records it changed; those rows are
 * taken out of the order and merged back in at their new places. A new sort (or a new filter
 * that changes many rows) answers the next query with a selection of just the window around the
 * cursor, and the full order is completed later, when the host calls {@linkcode Engine.settle}
 * between its other work.
 *
 * Pure and synchronous: no worker, no FFI, no clock but the one it is given, and nothing of the
 * UI. Enrichment reaches it through the {@linkcode Enrichment} interface.
 *
 * @module
 */

import {
  type Extra,
  IPS_DST_NAT,
  IPS_SRC_NAT,
  Kind,
  OFF,
  RECORD_SIZE,
  type RecordView,
} from "../conntrack/mod.ts";
import { CHUNK_RECORDS } from "../core/mod.ts";
import type { Owner } from "../core/mod.ts";
import type { BatchMessage, CollectorStatus, LocalAddressList, Totals } from "../core/mod.ts";
import { type Connection, type Filter, isEmptyFilter } from "../core/mod.ts";
import { ConnectionModel } from "../model/mod.ts";
import type { AddressLookup, SortKey } from "./keys.ts";
import {
  KeyStore,
  mergeInPlace,
  selectNth,
  type SlotCompare,
  smallest,
  sortRange,
  StepSort,
} from "./order.ts";
import { SearchTexts } from "./search.ts";
import type { RecordStore } from "./store.ts";

/** What the engine needs of enrichment: the answers it sorts, searches and fills rows with. */
export interface Enrichment extends AddressLookup {
  /** Bumped whenever answers arrive (sorts on them and text filters are redone). */
  readonly version: number;
  /**
   * Fills the enrichment fields of `c`; with `hosts`, asks for hostnames not known yet. Without
   * it the rows go out as the records give them (the screen fills them where it shows them).
   */
  fill?(c: Connection, hosts: boolean): void;
  /** The monitored host's interface addresses, when a batch brings them. */
  setLocal?(list: LocalAddressList | undefined): void;
  /** Forget answers beyond `max` addresses (a long run sees many come and go). */
  prune?(max: number): void;
}

/** A connection the cursor follows: its slot and the kernel's id it had there. */
export interface Anchor {
  slot: number;
  id: number;
}

/** What the UI asks for. */
export interface ViewQuery {
  /** The command line's filter. */
  filter?: Filter;
  /** The `\` text filter, matched case-insensitively against the search texts; "" = none. */
  text: string;
  sort: SortKey;
  sort2: SortKey | null;
  /** Keep the current order: rows that stay keep their place, new ones are added at the end. */
  locked: boolean;
  /** The connection under the cursor, to follow wherever it moves; null: stay on `cursorRow`. */
  anchor: Anchor | null;
  /** The cursor's row (used when there is no anchor or its connection is gone). */
  cursorRow: number;
  /** The first row on the page. */
  top: number;
  /** Rows on the page. */
  height: number;
  /** Rows sent above and below the page, so that cursor moves within them need no query. */
  margin: number;
  /** Whether the cursor shows: then the page follows it, keeping its place on the page. */
  cursor: boolean;
  /** Whether hostnames are wanted for the rows sent (they are asked for when unknown). */
  hostnames: boolean;
}

/** What the engine answers. */
export interface ViewWindow {
  /** Rows listed (after the filters). */
  total: number;
  /** Connections in the table. */
  size: number;
  /** The cursor's row and the page's first row, after following the anchor and clamping. */
  cursorRow: number;
  top: number;
  /** The row number of `rows[0]`. */
  first: number;
  /** The rows from `first` on (the page and its margins), enriched. */
  rows: Connection[];
  /** The slot of each row. */
  slots: number[];
  /** The listed connections' rates, bytes per second, and how many are translated. */
  txRate: number;
  rxRate: number;
  natCount: number;
  /** The last batch's totals, status, sequence number and time (ms since the epoch). */
  totals: Totals | undefined;
  status: CollectorStatus | undefined;
  seq: number;
  timeMs: number;
}

/** How the engine is set up. */
export interface EngineOptions {
  enrich?: Enrichment;
  /** The clock (ms since the epoch); tests fix it. */
  now?: () => number;
  /** Where the records live (default: the model's pages, filled from the batches). */
  records?: RecordStore;
  /**
   * Tuning, for tests that must reach every path with small tables: a window ending above
   * `heapRows` is picked with a heap (default 2048), the stepped sort makes sorted runs of
   * `sortRun` rows before merging them (default 8192), at most `mergeStep` rows a step (16384),
   * and a batch's changed slots are listed up to `changedListed` (16384; past it, marked only).
   */
  tuning?: { heapRows?: number; sortRun?: number; mergeStep?: number; changedListed?: number };
}

// Re-sort on new enrichment answers at most this often (they arrive in many small batches).
const ENRICH_RESORT_MS = 1000;
// The parts of a listed row in the sums (see Engine.#parts).
const PART_NAT = 1;
const PART_RATES = 2;
// Changed slots listed one by one up to this many; past it a sync reads the marks of every slot.
const CHANGED_LISTED = 16384;
// A window ending above this row is picked with a heap; deeper ones by quickselect.
const HEAP_ROWS = 2048;

interface Lock {
  slots: Uint32Array;
  ids: Uint32Array;
  n: number;
  version: number;
}

/** The engine. */
export class Engine {
  readonly #model: RecordStore;
  readonly #enrich: Enrichment | undefined;
  readonly #now: () => number;
  readonly #texts: SearchTexts;
  readonly #keys: KeyStore;
  #sort: SortKey | undefined;
  #sort2: SortKey | null = null;
  #cmp: SlotCompare = (a, b) => a - b;
  #cmpGeneration = -1;
  #filter: Filter | undefined;
  #filterSig = "";
  #text = "";
  /** 1 for each listed slot (live and matching both filters). */
  #listed = new Uint8Array(0);
  #count = 0;
  /**
   * Per slot, as its record was when last listed: NAT (1), non-zero rates (2). The NAT count
   * follows it; the rates are summed again at each sync from the records of the rows marked 2.
   */
  #parts = new Uint8Array(0);
  /** The listed rows' sums. */
  #tx = 0;
  #rx = 0;
  #nat = 0;
  /** Slots changed since the last sync, and their marks. */
  #changed: SlotList;
  #mark = new Uint8Array(0);
  /** A sync's slots to place, kept between syncs (see {@linkcode SlotList}). */
  #fresh = new SlotList(0);
  #membersAll = true;
  /** The listed slots in order; valid when #ordered. */
  #order = new Uint32Array(0);
  #orderLength = 0;
  #ordered = false;
  /** The full order being made in steps ({@linkcode Engine.settle}). */
  #sorter: StepSort | null = null;
  /** Bumped whenever the listing or its order may have changed. */
  #version = 0;
  #lock: Lock | null = null;
  #enrichVersion = -1;
  #enrichAtMs = -Infinity;
  readonly #heapRows: number;
  readonly #sortRun: number | undefined;
  readonly #mergeStep: number | undefined;
  readonly #changedListed: number;

  constructor(opts: EngineOptions = {}) {
    this.#heapRows = opts.tuning?.heapRows ?? HEAP_ROWS;
    this.#sortRun = opts.tuning?.sortRun;
    this.#mergeStep = opts.tuning?.mergeStep;
    this.#changedListed = opts.tuning?.changedListed ?? CHANGED_LISTED;
    this.#changed = new SlotList(this.#changedListed);
    this.#model = opts.records ?? new ConnectionModel();
    this.#enrich = opts.enrich;
    this.#now = opts.now ?? Date.now;
    this.#texts = new SearchTexts(this.#model, this.#enrich);
    this.#keys = new KeyStore({ enrich: this.#enrich, owner: (slot) => this.#model.owner(slot) });
  }

  /** The records (read-only use: outputs, the details, tests). */
  get model(): RecordStore {
    return this.#model;
  }

  /** Connections in the table. */
  get size(): number {
    return this.#model.size;
  }

  /**
   * A copy of this engine as it stands: the live connections' records (into pages of its own),
   * owners, extras, totals, and the locked order. For a screen's pause when the records change
   * in place ({@linkcode TableRecords}): the copy answers while this one goes on.
   */
  freeze(): Engine {
    const m = this.#model;
    const copy = new Engine({ enrich: this.#enrich, now: this.#now });
    const live = m.liveSlots();
    const records: ArrayBuffer[] = [];
    for (let j = 0; j < live.length; j += CHUNK_RECORDS) {
      const n = Math.min(CHUNK_RECORDS, live.length - j);
      const u8 = new Uint8Array(n * RECORD_SIZE);
      for (let k = 0; k < n; k++) {
        const s = live[j + k]!, v = m.page(s), at = m.index(s) * RECORD_SIZE;
        u8.set(v.u8.subarray(at, at + RECORD_SIZE), k * RECORD_SIZE);
        u8[k * RECORD_SIZE + OFF.KIND] = Kind.NEW;
      }
      records.push(u8.buffer);
    }
    const extras: [number, Extra][] = [];
    const owners: [number, Owner | null][] = [];
    for (const s of live) {
      const e = m.extra(s), o = m.owner(s);
      if (e !== undefined) extras.push([s, e]);
      if (o !== undefined) owners.push([s, o]);
    }
    copy.apply({
      type: "batch",
      seq: m.seq,
      timeMs: m.timeMs,
      startedMs: m.timeMs,
      records,
      count: live.length,
      extras,
      owners,
      totals: m.totals!,
      status: m.status!,
    });
    const lock = this.#lock;
    if (lock !== null) copy.#lock = { ...lock, slots: lock.slots.slice(), version: -1 };
    return copy;
  }

  /** Whether the full order is still to be completed ({@linkcode Engine.settle}). */
  get unsettled(): boolean {
    return !this.#ordered && this.#sort !== undefined && !this.#dirty;
  }

  get #dirty(): boolean {
    return this.#membersAll || this.#changed.length > 0;
  }

  /**
   * Applies a batch; returns views over its records, one per chunk (read them before the next
   * batch is applied).
   */
  apply(batch: BatchMessage): RecordView[] {
    const views = this.#model.apply(batch);
    const enrich = this.#enrich;
    if (enrich !== undefined) {
      if (batch.local !== undefined) enrich.setLocal?.(batch.local);
      enrich.prune?.(Math.max(200_000, 4 * this.#model.size));
    }
    if (batch.reset === true) {
      // A snapshot replaces the table: nothing listed before stays listed by itself.
      this.#keys.clear();
      this.#membersAll = true;
      this.#texts.invalidateAll();
      this.#listed.fill(0);
      this.#count = 0;
      this.#tx = this.#rx = this.#nat = 0;
      this.#ordered = false;
      this.#sorter = null;
      this.#clearChanged();
    } else {
      for (const v of views) {
        for (let i = 0; i < v.count; i++) this.#touch(v.u32At(i, OFF.SLOT));
      }
      const changes = batch.changes;
      if (changes !== undefined) {
        for (let j = 0; j < changes.length; j += 2) this.#touch(changes[j]!);
      }
      // A process found for a connection sorts and searches differently, though its record
      // did not change.
      for (const [slot] of batch.owners ?? []) this.#touch(slot);
    }
    return views;
  }

  /** Answers a view query. */
  query(q: ViewQuery): ViewWindow {
    this.#sync(q);
    const n = this.#count;
    const list = this.#list(q.locked);
    let row = q.cursorRow, top = q.top;
    const a = q.anchor;
    if (a !== null && this.#isListed(a)) {
      const r = list === undefined ? this.#rankOf(a.slot) : list.indexOf(a.slot);
      if (r >= 0) {
        if (q.cursor) top = r - (q.cursorRow - q.top);
        row = r;
      }
    }
    const h = Math.max(1, q.height);
    const cursorRow = n === 0 ? 0 : Math.max(0, Math.min(n - 1, row));
    if (q.cursor) {
      if (cursorRow < top) top = cursorRow;
      if (cursorRow >= top + h) top = cursorRow - h + 1;
    }
    top = Math.max(0, Math.min(top, n - h));
    const first = Math.max(0, top - Math.max(0, q.margin));
    const end = Math.min(n, top + h + Math.max(0, q.margin));
    const slots = list === undefined ? this.#select(first, end) : list.subarray(first, end);
    const nowMs = this.#model.timeMs || this.#now();
    const rows: Connection[] = [];
    for (const s of slots) {
      const c = this.#model.connection(s, nowMs);
      this.#enrich?.fill?.(c, q.hostnames);
      rows.push(c);
    }
    return {
      total: n,
      size: this.#model.size,
      cursorRow,
      top,
      first,
      rows,
      slots: Array.from(slots),
      txRate: this.#tx,
      rxRate: this.#rx,
      natCount: this.#nat,
      totals: this.#model.totals,
      status: this.#model.status,
      seq: this.#model.seq,
      timeMs: this.#model.timeMs,
    };
  }

  /**
   * The first row, from `fromRow` on (backwards: down to it), whose search text holds `text`
   * (case-insensitive), wrapping around; -1 when none. Rows as the last query listed them.
   */
  find(text: string, fromRow: number, backwards: boolean): number {
    const list = this.#list(this.#lock !== null) ?? this.#settled();
    const n = this.#count;
    const needle = text.toLowerCase();
    const dir = backwards ? -1 : 1;
    for (let k = 0; k < n; k++) {
      const r = ((fromRow + dir * k) % n + n) % n;
      if (this.#texts.get(list[r]!).includes(needle)) return r;
    }
    return -1;
  }

  /** The connection in `slot`, enriched, while it is the one with kernel id `id`. */
  connection(slot: number, id: number): Connection | undefined {
    const m = this.#model;
    if (!m.live(slot) || m.id(slot) !== id) return undefined;
    const c = m.connection(slot, m.timeMs || this.#now());
    this.#enrich?.fill?.(c, true);
    return c;
  }

  /**
   * Works on the full order a query left to later, for about `budgetMs` (all of it by default);
   * returns whether work remains.
   */
  settle(budgetMs = Infinity): boolean {
    if (!this.unsettled) return false;
    const until = performance.now() + budgetMs;
    // The old order is not read while a new one is made: its array serves as the sort's second.
    this.#sorter ??= new StepSort(
      this.#listedSlots(),
      this.#compare(),
      this.#sortRun,
      this.#mergeStep,
      this.#order,
    );
    const sorter = this.#sorter;
    while (!sorter.done) {
      sorter.step();
      if (performance.now() >= until) break;
    }
    if (!sorter.done) return true;
    this.#adoptOrder(sorter.result);
    return false;
  }

  // --- keeping the listing current ---

  #touch(s: number): void {
    if (s >= this.#mark.length) this.#mark = grown(this.#mark, s);
    if (this.#mark[s] === 0) {
      this.#mark[s] = 1;
      this.#changed.push(s);
    }
    this.#texts.invalidate(s);
  }

  #isListed(a: Anchor): boolean {
    return a.slot < this.#listed.length && this.#listed[a.slot] === 1 &&
      this.#model.id(a.slot) === a.id;
  }

  #matches(s: number): boolean {
    const f = this.#filter;
    if (f !== undefined && !this.#model.matches(f, s)) return false;
    return this.#text === "" || this.#texts.get(s).includes(this.#text);
  }

  // The comparator over the keys held now (their arrays change when they grow).
  #compare(): SlotCompare {
    if (this.#cmpGeneration !== this.#keys.generation) {
      this.#cmp = this.#keys.comparator(this.#sort!, this.#sort2);
      this.#cmpGeneration = this.#keys.generation;
    }
    return this.#cmp;
  }

  // Takes the query's sort and filters; notes what they invalidate.
  #spec(q: ViewQuery): void {
    const e = this.#enrich;
    let reorder = false;
    if (e !== undefined && e.version !== this.#enrichVersion) {
      const now = this.#now();
      if (now - this.#enrichAtMs >= ENRICH_RESORT_MS) {
        this.#enrichVersion = e.version;
        this.#enrichAtMs = now;
        this.#texts.invalidateAll();
        if (this.#text !== "") this.#membersAll = true;
        if (this.#keys.dropEnriched()) reorder = true;
      }
    }
    if (!sameKey(this.#sort, q.sort) || !sameKey(this.#sort2, q.sort2)) {
      this.#sort = q.sort;
      this.#sort2 = q.sort2;
      reorder = true;
    }
    const m = this.#model;
    if (this.#keys.ensure(q.sort.column, m)) reorder = true;
    if (q.sort2 !== null && this.#keys.ensure(q.sort2.column, m)) reorder = true;
    if (reorder) {
      this.#cmpGeneration = -1;
      this.#ordered = false;
      this.#sorter = null;
      this.#version++;
    }
    const f = q.filter !== undefined && !isEmptyFilter(q.filter) ? q.filter : undefined;
    const sig = f === undefined ? "" : filterSignature(f);
    if (sig !== this.#filterSig) {
      this.#filter = f;
      this.#filterSig = sig;
      this.#membersAll = true;
    }
    const text = q.text.toLowerCase();
    if (text !== this.#text) {
      this.#text = text;
      this.#membersAll = true;
      // The texts of a quarter-million rows are worth dropping once no filter needs them.
      if (text === "") this.#texts.invalidateAll();
    }
  }

  #sync(q: ViewQuery): void {
    this.#spec(q);
    if (!this.#dirty) return;
    const m = this.#model;
    if (this.#listed.length < m.capacity) this.#growListing(m.capacity);
    const listed = this.#listed;
    const fresh = this.#fresh; // slots to place: listed now and not before, or changed
    fresh.clear(Math.max(4096, m.size >>> 3) + 1); // beyond that, #reorder sorts anew
    if (this.#membersAll) {
      // Every live slot is judged again; the dead ones among the changed go below.
      const live = m.liveSlots();
      for (let j = 0; j < live.length; j++) {
        const s = live[j]!;
        if (this.#mark[s] === 1) continue;
        const now = this.#matches(s) ? 1 : 0;
        if (now === listed[s]) continue;
        this.#setListed(s, now);
        if (now) fresh.push(s); // (unlisted ones leave the order)
      }
    }
    const changed = this.#changed;
    const place = (s: number) => {
      const live = m.live(s);
      if (live) this.#keys.update(s, m);
      const now = live && this.#matches(s) ? 1 : 0;
      this.#setListed(s, now);
      if (now) fresh.push(s);
    };
    if (changed.over) {
      // Too many to list: the marks say which.
      const mark = this.#mark;
      for (let s = 0; s < mark.length; s++) if (mark[s] === 1) place(s);
    } else {
      for (let j = 0; j < changed.length; j++) place(changed.slots[j]!);
    }
    this.#resum();
    if (this.#ordered) this.#reorder(fresh);
    this.#clearChanged();
    fresh.clear(0);
    this.#membersAll = false;
    this.#sorter = null;
    this.#version++;
  }

  #clearChanged(): void {
    const changed = this.#changed;
    if (changed.over) this.#mark.fill(0);
    else for (let j = 0; j < changed.length; j++) this.#mark[changed.slots[j]!] = 0;
    changed.clear(this.#changedListed);
  }

  #setListed(s: number, now: number): void {
    const listed = this.#listed, parts = this.#parts;
    if (listed[s] === 1) this.#nat -= parts[s]! & PART_NAT;
    this.#count += now - listed[s]!;
    listed[s] = now;
    if (now === 1) {
      const v = this.#model.page(s), i = this.#model.index(s);
      const nat = v.u32At(i, OFF.STATUS) & (IPS_SRC_NAT | IPS_DST_NAT) ? PART_NAT : 0;
      const moving = v.f32At(i, OFF.TX_BPS) !== 0 || v.f32At(i, OFF.RX_BPS) !== 0;
      parts[s] = nat | (moving ? PART_RATES : 0);
      this.#nat += nat;
    }
  }

  // Sums the rates of the listed rows that have any, from their records, in slot order (rows
  // without add nothing). Keeping each row's rates instead, to take them out when it changes,
  // cost 8 bytes a slot; reading every listed record again would cost a cache miss a row.
  #resum(): void {
    let tx = 0, rx = 0;
    const listed = this.#listed, parts = this.#parts, m = this.#model;
    for (let s = 0; s < listed.length; s++) {
      if (listed[s] !== 1 || (parts[s]! & PART_RATES) === 0) continue;
      const v = m.page(s), i = m.index(s);
      tx += v.f32At(i, OFF.TX_BPS);
      rx += v.f32At(i, OFF.RX_BPS);
    }
    this.#tx = tx;
    this.#rx = rx;
  }

  #growListing(cap: number): void {
    this.#listed = grown(this.#listed, cap - 1);
    const parts = new Uint8Array(this.#listed.length);
    parts.set(this.#parts);
    this.#parts = parts;
  }

  // Takes the changed rows out of the order and merges them back in at their places.
  #reorder(fresh: SlotList): void {
    const n = this.#count;
    if (fresh.over || fresh.length > Math.max(4096, n >>> 3)) {
      this.#ordered = false; // cheaper to select the window now and sort in one go later
      return;
    }
    const old = this.#order, mark = this.#mark, listed = this.#listed;
    let kept = 0;
    const oldN = this.#orderLength;
    for (let r = 0; r < oldN; r++) {
      const s = old[r]!;
      if (mark[s] === 1 || listed[s] !== 1) continue;
      old[kept++] = s;
    }
    const add = fresh.slots.subarray(0, fresh.length);
    const cmp = this.#compare();
    sortRange(add, 0, add.length - 1, cmp);
    // Merged in place: a new array of every row each refresh would be a megabyte of garbage.
    let into = old;
    if (old.length < n) {
      into = new Uint32Array(Math.max(n + (n >>> 4), 16)); // some room for the next ones
      into.set(old.subarray(0, kept));
    }
    mergeInPlace(into, kept, add, add.length, cmp);
    this.#adoptOrder(into, n);
  }

  #adoptOrder(order: Uint32Array<ArrayBuffer>, n = order.length): void {
    this.#order = order;
    this.#orderLength = n;
    this.#ordered = true;
    this.#sorter = null;
  }

  // The listed slots in slot order.
  #listedSlots(): Uint32Array<ArrayBuffer> {
    const out = new Uint32Array(this.#count);
    const listed = this.#listed;
    let n = 0;
    for (let s = 0; s < listed.length; s++) if (listed[s] === 1) out[n++] = s;
    return out;
  }

  // The full order, made now if a query left it to later.
  #settled(): Uint32Array {
    if (!this.#ordered) this.settle();
    if (!this.#ordered) {
      // (Only when the listing is dirty: sort what the last sync listed.)
      const all = this.#listedSlots();
      sortRange(all, 0, all.length - 1, this.#compare());
      this.#adoptOrder(all);
    }
    return this.#order.subarray(0, this.#orderLength);
  }
  // Every row when known without sorting now: the locked rows, or the full order.
  #list(locked: boolean): Uint32Array | undefined {
    if (!locked) {
      this.#lock = null;
      return this.#ordered ? this.#order.subarray(0, this.#orderLength) : undefined;
    }
    this.#updateLock();
    return this.#lock!.slots.subarray(0, this.#lock!.n);
  }

  // Locked rows: those still listed (same slot, same kernel id) keep their order; rows not yet
  // placed are sorted among themselves and added at the end. An empty lock starts again from
  // the sorted order.
  #updateLock(): void {
    const lock = this.#lock;
    if (lock !== null && lock.version === this.#version) return;
    const m = this.#model;
    if (lock === null || lock.n === 0) {
      const slots = this.#settled().slice();
      const n = slots.length;
      const ids = new Uint32Array(n);
      for (let r = 0; r < n; r++) ids[r] = m.id(slots[r]!);
      this.#lock = { slots, ids, n, version: this.#version };
      return;
    }
    const listed = this.#listed;
    const placed = new Uint8Array(listed.length);
    const slots = new Uint32Array(this.#count);
    const ids = new Uint32Array(this.#count);
    let n = 0;
    for (let r = 0; r < lock.n; r++) {
      const s = lock.slots[r]!;
      if (s >= listed.length || listed[s] !== 1 || m.id(s) !== lock.ids[r]) continue;
      placed[s] = 1;
      slots[n] = s;
      ids[n++] = lock.ids[r]!;
    }
    const fresh: number[] = [];
    for (let s = 0; s < listed.length; s++) if (listed[s] === 1 && placed[s] === 0) fresh.push(s);
    const add = Uint32Array.from(fresh);
    sortRange(add, 0, add.length - 1, this.#compare());
    for (const s of add) {
      slots[n] = s;
      ids[n++] = m.id(s);
    }
    this.#lock = { slots, ids, n, version: this.#version };
  }

  // The rank of listed slot `s` in the order, without sorting: how many rows come before it.
  #rankOf(s: number): number {
    const cmp = this.#compare(), listed = this.#listed;
    let r = 0;
    for (let t = 0; t < listed.length; t++) if (listed[t] === 1 && cmp(t, s) < 0) r++;
    return r;
  }

  // Rows first..end-1 of the order, without sorting the rest: a heap for a window near the top,
  // else two selections and a small sort.
  #select(first: number, end: number): Uint32Array {
    if (end <= first) return new Uint32Array(0);
    const all = this.#listedSlots();
    const cmp = this.#compare();
    if (end <= this.#heapRows) return smallest(all, all.length, end, cmp).subarray(first);
    const last = all.length - 1;
    selectNth(all, 0, last, first, cmp);
    if (end - 1 > first) selectNth(all, first + 1, last, end - 1, cmp);
    sortRange(all, first + 1, end - 2, cmp);
    return all.subarray(first, end);
  }
}

/**
 * A list of slots in one typed array kept from one sync to the next, up to a limit: past it the
 * list only notes that it is `over` (the caller then has another way: the marks of the changed
 * slots, or sorting anew instead of placing each slot). At 200,000 connections a refresh may
 * change every row; JS arrays of that many numbers would land in V8's large-object space, and
 * even one typed array of every slot is a megabyte held for good after a single such refresh.
 */
class SlotList {
  slots = new Uint32Array(1024);
  length = 0;
  over = false;
  #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Empties the list; it holds up to `limit` slots from now on. */
  clear(limit: number): void {
    this.length = 0;
    this.over = false;
    this.#limit = limit;
  }

  push(s: number): void {
    if (this.length >= this.#limit) {
      this.over = true;
      return;
    }
    if (this.length === this.slots.length) {
      const next = new Uint32Array(Math.min(this.slots.length * 2, this.#limit));
      next.set(this.slots);
      this.slots = next;
    }
    this.slots[this.length++] = s;
  }
}

function sameKey(a: SortKey | null | undefined, b: SortKey | null): boolean {
  if (a === undefined) return false;
  if (a === null || b === null) return a === b;
  return a.column === b.column && a.desc === b.desc;
}

function grown(a: Uint8Array, atLeast: number): Uint8Array<ArrayBuffer> {
  const next = new Uint8Array(Math.max(atLeast + 1, a.length * 2, 1024));
  next.set(a);
  return next;
}

// Filters are plain data (a Set of states among them): equal signatures, equal filters.
function filterSignature(f: Filter): string {
  return JSON.stringify(f, (_k, v) => v instanceof Set ? [...v].sort() : v);
}
