/**
 * The collector's own copy of the conntrack table: one record per connection (the layout of
 * `conntrack/record.ts`), merged from dumps and events, and turned into a batch of changed
 * records at every refresh.
 *
 * It runs in the worker. It decides what "changed" means (so that a quarter-million idle
 * connections whose timeouts merely tick down cost nothing to hand over) and computes rates
 * from counter deltas over the time between two samples of the same connection.
 *
 * No I/O and no FFI here: it is fed decoded bytes, which keeps it testable without a kernel.
 *
 * @module
 */

import {
  CtDecoder,
  type Extra,
  Has,
  IPS_OFFLOAD,
  Kind,
  NO_STATE,
  OFF,
  RECORD_SIZE,
  RecordView,
} from "../conntrack/mod.ts";
import { CHUNK_RECORDS } from "./messages.ts";

const WORDS = RECORD_SIZE / 4;
const W_TIMEOUT = OFF.TIMEOUT / 4;
const W_PORTS = OFF.ORIG_SPORT / 4;
const W_ORIG_ADDRS_END = OFF.REPLY_SRC / 4; // exclusive
const W_USE = OFF.USE / 4;
const W_STATUS = OFF.STATUS / 4;
const W_HAS = OFF.ZONE / 4; // ZONE (low half) and HAS (high half) share one word
const W_RATES_FROM = OFF.TX_BPS / 4;
const W_COUNTERS_FROM = OFF.ORIG_PACKETS / 4;
const W_COUNTERS_TO = OFF.START_MS / 4; // exclusive
/** A refreshed timeout that moves the expiry by less than this is not a change. */
const EXPIRY_SLACK_MS = 1500;

// Per-slot state bits kept beside the records.
const S_BORN = 1; // created since the last batch
const S_DEAD = 2; // destroyed since the last batch
const S_DIRTY = 4; // changed since the last batch
const S_RATE_NZ = 8; // the last dump gave non-zero rates
const S_DEAD_BY_DUMP = 16; // destroyed because a dump no longer had it (no final counters yet)
const S_RATED = 32; // the last batch carried non-zero rates
const S_FROM_DUMP = 64; // born since the last batch, first seen by a dump (its counters sampled)

const BORN = [Kind.NEW] as const;
const BORN_AND_DEAD = [Kind.NEW, Kind.DESTROY] as const;
const DEAD = [Kind.DESTROY] as const;
const UPDATED = [Kind.UPDATE] as const;
const RATES_IN_WORD = Has.RATES << 16; // HAS is the high half of its 32-bit word

// The kernel's ids are already hashes (siphash of the entry's address), so their bits spread
// well; folding the high half in keeps sequential ids (tests, replays) spread too.
function bucket(id: number, mask: number): number {
  return (id ^ (id >>> 16)) & mask;
}

// The rate of the counter at `off`: scratch record (`sdv`) against the stored one (`dv` at `at`).
function counterRate(sdv: DataView, dv: DataView, at: number, off: number, dt: number): number {
  return (sdv.getFloat64(off, true) - dv.getFloat64(at + off, true)) / dt;
}

function copyCounts(c: TableCounts): TableCounts {
  return { ...c, byProto: { ...c.byProto } };
}

/** One refresh's worth of changes, ready to hand to the main thread. */
export interface Batch {
  /**
   * `count` records in chunks of at most {@linkcode CHUNK_RECORDS}; KIND says NEW, UPDATE or
   * DESTROY. Transfer their buffers.
   */
  chunks: Uint8Array<ArrayBuffer>[];
  /** How many records. */
  count: number;
  /** String attributes of records that have Has.EXTRA, by slot. */
  extras: [number, Extra][];
  /**
   * Without copies of the records ({@linkcode CtTable.takeBatch}`(false)`): each change as a
   * pair (slot, KIND), in the order the chunks would have held them; `chunks` is empty.
   */
  changes?: Uint32Array;
}

/**
 * Hears, between two batches, of every record about to differ from what the last batch sent
 * (see {@linkcode CtTable.watchSent}): a server serves snapshots of the last batch from the
 * table itself, and keeps what a change is about to overwrite.
 */
export interface SentWatcher {
  /**
   * The record in `slot`, live at the last batch, is about to change in a way a client would
   * see: {@linkcode CtTable.sentRecord} still reads it as sent.
   */
  changing(slot: number): void;
  /** A batch is about to be taken: the table moves on to it (records released, sent anew). */
  batching(): void;
  /**
   * The batch being taken sends anew (or destroys) `slot`, live at the batch before: its
   * record as that batch sent it ({@linkcode CtTable.sentRecord}) is read now for the last time.
   */
  sending(slot: number): void;
  /** The batch being taken destroyed `slot`: its record, read now, is about to be zeroed. */
  releasing(slot: number): void;
}

/**
 * Which connections a bounded table keeps (see {@linkcode CtTable.limit}): `--once --top N`
 * keeps the first N of its order as the dump goes, never the whole table.
 */
export interface TableLimit {
  /**
   * A connection the table does not hold, its record in `v` at `i`: false to leave it out;
   * otherwise the slot of a kept connection it replaces, or -1 when there is room for it.
   */
  offer(v: RecordView, i: number): number | false;
  /** The connection just offered and kept is now in `slot` (its record: `v` at `slot`). */
  placed(v: RecordView, slot: number): void;
  /** The kept connection in `slot` was seen again and rewritten (`v` at `slot`). */
  updated(v: RecordView, slot: number): void;
}

// What a bounded table left out of the last dump, for the counts.
interface LeftOut {
  perL4: Uint32Array;
  total: number;
  ipv6: number;
  offloaded: number;
  /** Protocol numbers in the order the dumps first showed them (kept or not). */
  met: number[];
  metSeen: Uint8Array;
}

/** Counts of connections by protocol and family, and how many are offloaded. */
export interface TableCounts {
  total: number;
  byProto: Record<string, number>;
  ipv4: number;
  ipv6: number;
  offloaded: number;
}

/** The collector's table. */
export class CtTable {
  #cap = 0;
  #rec = new Uint8Array(0);
  #dv = new DataView(this.#rec.buffer);
  #w32 = new Uint32Array(0);
  #state = new Uint8Array(0);
  #emit = new Uint8Array(0);
  #seen = new Uint8Array(0);
  #next = new Int32Array(0);
  /** Hash buckets on the conntrack id: the first slot of each chain (-1: empty). */
  #heads = new Int32Array(0);
  #mask = 0;
  #free: number[] = [];
  #used = 0;
  #hwm = 0;
  #gen = 0;
  #dumps = 0;
  /** The slot {@linkcode #find} found or {@linkcode #insert} filled last (see #find). */
  #lastFound = -1;
  #extras = new Map<number, Extra>();
  #changedExtras = new Set<number>();
  /** {@linkcode counts}' tally by protocol number. */
  readonly #perL4 = new Uint32Array(256);
  /**
   * The last {@linkcode counts}, while still true: cleared by whatever could change them (a
   * connection born, destroyed or released, an event, a status word that changed). A still
   * table is not counted again at every refresh.
   */
  #counted: { counts: TableCounts; protoName: (n: number) => string } | undefined;
  readonly #scratch = new Uint8Array(RECORD_SIZE);
  readonly #sdv = new DataView(this.#scratch.buffer);
  readonly #s32 = new Uint32Array(this.#scratch.buffer);
  readonly #decoder = new CtDecoder();
  /**
   * With {@linkcode keepSent}: by slot, the timeout, use count and sample time the last batch
   * sent. Dumps and events rewrite those three fields in the record without sending it (a
   * timeout merely ticking down is no change), so only these tell what a client holds.
   */
  #sent: { timeout: Uint32Array; use: Uint32Array; sampled: Float64Array } | undefined;
  #watch: SentWatcher | undefined;
  /** With {@linkcode limit}: what decides, and what was left out. */
  #limit: { keep: TableLimit; left: LeftOut; scratch: RecordView } | undefined;

  constructor(initialCapacity = 4096) {
    this.#grow(Math.max(16, initialCapacity));
  }

  /**
   * Bounds the table: from now on it holds only the connections `keep` keeps (at most `n`),
   * as a dump goes, and counts the others in {@linkcode counts} without holding them. For a
   * table that takes one dump and is handed over (`--once --top N`): events and rates of a
   * second sample would concern connections it no longer has. Call before the first dump; the
   * table is made anew with room for `n`.
   */
  limit(keep: TableLimit, n: number): void {
    if (this.#hwm !== 0) throw new Error("CtTable.limit() must come before the first dump");
    this.#cap = 0;
    this.#rec = new Uint8Array(0);
    this.#state = new Uint8Array(0);
    this.#seen = new Uint8Array(0);
    this.#next = new Int32Array(0);
    this.#mask = 0;
    this.#grow(Math.max(16, n + 1));
    this.#limit = {
      keep,
      left: {
        perL4: new Uint32Array(256),
        total: 0,
        ipv6: 0,
        offloaded: 0,
        met: [],
        metSeen: new Uint8Array(256),
      },
      scratch: new RecordView(this.#scratch.buffer),
    };
  }

  /** Makes room for `n` connections at once (a known table size spares regrowing). */
  reserve(n: number): void {
    if (n > this.#cap) this.#grow(Math.ceil(n));
  }

  /**
   * The records, one per slot (KIND 0: a free slot), for reading in this thread (the engine
   * reads them in place: the table is held once). Replaced when the table grows.
   */
  get records(): Uint8Array {
    return this.#rec;
  }

  /** Slots the records hold. */
  get capacity(): number {
    return this.#cap;
  }

  /** Connections currently alive in the table. */
  get size(): number {
    return this.#used;
  }

  /** Starts a dump: connections the dump does not show will count as destroyed. */
  beginDump(): void {
    this.#gen = (this.#gen + 1) & 0xff || 1; // a byte per slot: only "this dump or not" matters
    if (this.#limit !== undefined) {
      // A new dump offers again whatever the last one left out.
      const left = this.#limit.left;
      left.perL4.fill(0);
      left.total = left.ipv6 = left.offloaded = 0;
      this.#counted = undefined;
    }
  }

  /**
   * Merges one message of a dump (nlmsghdr at `off` in `src`), sampled at `sampledMs`.
   * Returns false when the message was not a conntrack entry.
   */
  applyDump(src: DataView, off: number, sampledMs: number): boolean {
    if (!this.#decode(src, off, sampledMs)) return false;
    let slot = this.#find(false);
    if (slot < 0) {
      if (this.#limit !== undefined && !this.#admit()) return true;
      this.#bornRates();
      slot = this.#insert();
      this.#state[slot] = S_BORN | S_DIRTY | S_FROM_DUMP | (this.#scratchRated() ? S_RATE_NZ : 0);
      this.#limit?.keep.placed(new RecordView(this.#rec.buffer), slot);
    } else {
      this.#mergeDump(slot);
      this.#limit?.keep.updated(new RecordView(this.#rec.buffer), slot);
    }
    this.#seen[slot] = this.#gen;
    this.#saveExtra(slot);
    return true;
  }

  // A bounded table: whether the scratch record is kept, making room for it if need be.
  // What is not kept (it, or the connection it replaces) is counted as left out.
  #admit(): boolean {
    const limit = this.#limit!;
    const left = limit.left;
    const l4 = this.#scratch[OFF.L4]!;
    if (left.metSeen[l4] === 0) {
      left.metSeen[l4] = 1;
      left.met.push(l4);
    }
    const r = limit.keep.offer(limit.scratch, 0);
    if (r === false) {
      this.#leaveOut(this.#scratch, 0);
      return false;
    }
    if (r >= 0) {
      this.#leaveOut(this.#rec, r * RECORD_SIZE);
      this.#changedExtras.delete(r);
      this.#release(r);
    }
    return true;
  }

  #leaveOut(rec: Uint8Array, at: number): void {
    const left = this.#limit!.left;
    left.total++;
    left.perL4[rec[at + OFF.L4]!]!++;
    if (rec[at + OFF.FAMILY] === 10) left.ipv6++;
    const status = new DataView(rec.buffer, rec.byteOffset).getUint32(at + OFF.STATUS, true);
    if (status & IPS_OFFLOAD) left.offloaded++;
    this.#counted = undefined;
  }

  /** Ends a dump; a complete dump's absentees are destroyed (an interrupted one proves nothing). */
  endDump(complete: boolean): void {
    this.#dumps++;
    if (!complete) return;
    // The per-slot bytes first, the record only for the few the dump missed: reading each
    // record's KIND byte would touch a cache line per connection (200k lines at 200k).
    const seen = this.#seen, gen = this.#gen;
    for (let s = 0; s < this.#hwm; s++) {
      if (seen[s] === gen) continue;
      const st = this.#state[s]!;
      if (st & S_DEAD || this.#rec[s * RECORD_SIZE] === 0) continue;
      this.#state[s] = st | S_DEAD | S_DEAD_BY_DUMP;
      this.#counted = undefined;
    }
  }

  /** Merges one event message (NEW, UPDATE or DESTROY). Returns false when not conntrack. */
  applyEvent(src: DataView, off: number, sampledMs: number): boolean {
    const kind = this.#decode(src, off, sampledMs);
    if (kind === 0) return false;
    // A bounded table is one dump's choice (see limit): an event would add what it left out.
    if (this.#limit !== undefined) return true;
    this.#counted = undefined; // whatever it brings (a birth, a death, a status)
    if (kind === Kind.DESTROY) {
      let slot = this.#find(false);
      if (slot < 0) slot = this.#find(true);
      if (slot < 0) {
        slot = this.#insert();
        this.#state[slot] = S_BORN | S_DEAD | S_DIRTY;
      } else {
        this.#mergeEvent(slot);
        this.#state[slot] = (this.#state[slot]! | S_DEAD) & ~S_DEAD_BY_DUMP;
      }
      this.#saveExtra(slot);
      return true;
    }
    let slot = this.#find(false);
    if (slot < 0) {
      slot = this.#insert();
      this.#state[slot] = S_BORN | S_DIRTY;
      this.#seen[slot] = this.#gen;
    } else {
      this.#mergeEvent(slot);
    }
    this.#saveExtra(slot);
    return true;
  }

  /**
   * Builds the batch of everything that changed since the last one and frees the slots of
   * destroyed connections. With `copy` false the records are not copied: the batch lists the
   * changed slots and their kinds only, for a reader of this table in place (the engine).
   */
  takeBatch(copy = true): Batch {
    this.#watch?.batching();
    const emit = this.#emit;
    let n = 0;
    for (let s = 0; s < this.#hwm; s++) {
      emit[s] = 0;
      const st = this.#state[s]!;
      // Sent when it changed, when it moves (non-zero rates), and once more when it stops. The
      // state byte first (a free slot's is 0): most records need not be read at all.
      if ((st & (S_BORN | S_DIRTY | S_DEAD | S_RATED | S_RATE_NZ)) === 0) continue;
      if (this.#rec[s * RECORD_SIZE] === 0) continue;
      emit[s] = st & S_RATE_NZ ? 2 : 1;
      n += st & S_BORN && st & S_DEAD ? 2 : 1;
    }
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    let out = new Uint8Array(0);
    let odv = new DataView(out.buffer);
    const extras: [number, Extra][] = [];
    const changes = copy ? undefined : new Uint32Array(2 * n);
    let i = 0; // records written in all
    let j = 0; // records written in the current chunk
    for (let s = 0; s < this.#hwm; s++) {
      if (emit[s] === 0) continue;
      const at = s * RECORD_SIZE;
      const st = this.#state[s]!;
      const kinds = st & S_BORN
        ? (st & S_DEAD ? BORN_AND_DEAD : BORN)
        : st & S_DEAD
        ? DEAD
        : UPDATED;
      for (const kind of kinds) {
        if (changes !== undefined) {
          changes[2 * i] = s;
          changes[2 * i + 1] = kind;
          i++;
          continue;
        }
        if (j * RECORD_SIZE === out.byteLength) {
          out = new Uint8Array(Math.min(CHUNK_RECORDS, n - i) * RECORD_SIZE);
          odv = new DataView(out.buffer);
          chunks.push(out);
          j = 0;
        }
        out.set(this.#rec.subarray(at, at + RECORD_SIZE), j * RECORD_SIZE);
        odv.setUint8(j * RECORD_SIZE + OFF.KIND, kind);
        i++;
        j++;
      }
      if (st & (S_BORN | S_DEAD) || this.#changedExtras.has(s)) {
        const ex = this.#extras.get(s);
        if (ex !== undefined) extras.push([s, ex]);
      }
      if (this.#watch !== undefined && !(st & S_BORN)) this.#watch.sending(s);
      if (st & S_DEAD) {
        this.#watch?.releasing(s);
        this.#release(s);
      } else {
        this.#state[s] = emit[s] === 2 ? S_RATED | S_RATE_NZ : 0;
        if (this.#sent !== undefined) this.#keepSent(s);
      }
    }
    this.#changedExtras.clear();
    return { chunks, count: i, extras, changes };
  }

  /** Counts of live connections by protocol and family (for the header and totals). */
  counts(protoName: (n: number) => string): TableCounts {
    const last = this.#counted;
    if (last !== undefined && last.protoName === protoName) return copyCounts(last.counts);
    // Counted by protocol number, named at the end: a name and a property per connection cost
    // more than the rest of the scan. `order` keeps the numbers as first met, so that byProto's
    // keys come in the order a scan naming each connection would have made them.
    const perL4 = this.#perL4.fill(0);
    const order: number[] = [];
    const rec = this.#rec, state = this.#state, dv = this.#dv;
    let ipv6 = 0, offloaded = 0, total = 0;
    const left = this.#limit?.left;
    if (left !== undefined) {
      // A bounded table counts what it left out too, its protocols in the order the dump
      // showed them (as a whole table's slot order would have them).
      perL4.set(left.perL4);
      order.push(...left.met);
      total = left.total;
      ipv6 = left.ipv6;
      offloaded = left.offloaded;
    }
    for (let s = 0; s < this.#hwm; s++) {
      const at = s * RECORD_SIZE;
      if (rec[at] === 0 || state[s]! & S_DEAD) continue;
      total++;
      const l4 = rec[at + OFF.L4]!;
      if (perL4[l4] === 0 && left === undefined) order.push(l4);
      perL4[l4]!++;
      if (rec[at + OFF.FAMILY] === 10) ipv6++;
      if (dv.getUint32(at + OFF.STATUS, true) & IPS_OFFLOAD) offloaded++;
    }
    const byProto: Record<string, number> = {};
    for (const l4 of order) {
      if (perL4[l4] === 0) continue; // a bounded table's protocol met before, gone since
      const name = protoName(l4);
      byProto[name] = (byProto[name] ?? 0) + perL4[l4]!;
    }
    const counts = { total, byProto, ipv4: total - ipv6, ipv6, offloaded };
    this.#counted = { counts, protoName };
    return copyCounts(counts);
  }

  /**
   * Keeps, from now on, what each batch sent of the fields a dump or event rewrites unsent
   * (16 bytes per slot), so that {@linkcode sentRecord} can give a record as the last batch sent
   * it. Call before the first batch.
   */
  keepSent(): void {
    if (this.#sent !== undefined) return;
    this.#sent = {
      timeout: new Uint32Array(this.#cap),
      use: new Uint32Array(this.#cap),
      sampled: new Float64Array(this.#cap),
    };
  }

  /**
   * Reports changes against the last batch to `watch` (undefined: stop). Needs
   * {@linkcode keepSent}.
   */
  watchSent(watch: SentWatcher | undefined): void {
    this.#watch = watch;
  }

  /**
   * The slots the last batch left live, in slot order: live now and not born since. Between
   * batches, a slot destroyed since is still live (its record is released at the next batch).
   */
  sentSlots(): Uint32Array {
    let n = 0;
    for (let s = 0; s < this.#hwm; s++) {
      if (this.#rec[s * RECORD_SIZE] !== 0 && !(this.#state[s]! & S_BORN)) n++;
    }
    const out = new Uint32Array(n);
    for (let s = 0, i = 0; s < this.#hwm; s++) {
      if (this.#rec[s * RECORD_SIZE] !== 0 && !(this.#state[s]! & S_BORN)) out[i++] = s;
    }
    return out;
  }

  /**
   * Writes slot `s`'s record as the last batch sent it into `out` at `at`, its KIND NEW: the
   * record as it is, with the fields that were rewritten unsent as they were sent. Exact while
   * the record has not changed since that batch (a {@linkcode SentWatcher} hears before it
   * does). Needs {@linkcode keepSent}.
   */
  sentRecord(s: number, out: Uint8Array, at: number): void {
    const sent = this.#sent!;
    const from = s * RECORD_SIZE;
    out.set(this.#rec.subarray(from, from + RECORD_SIZE), at);
    out[at + OFF.KIND] = Kind.NEW;
    const dv = new DataView(out.buffer, out.byteOffset + at, RECORD_SIZE);
    dv.setUint32(OFF.TIMEOUT, sent.timeout[s]!, true);
    dv.setUint32(OFF.USE, sent.use[s]!, true);
    dv.setFloat64(OFF.SAMPLED_MS, sent.sampled[s]!, true);
  }

  #keepSent(s: number): void {
    const sent = this.#sent!;
    const at = s * RECORD_SIZE;
    sent.timeout[s] = this.#dv.getUint32(at + OFF.TIMEOUT, true);
    sent.use[s] = this.#dv.getUint32(at + OFF.USE, true);
    sent.sampled[s] = this.#dv.getFloat64(at + OFF.SAMPLED_MS, true);
  }

  // Whether a dump's scratch record differs from slot `s`'s in the rates (the words compared in
  // #mergeDump's `changed` are the rest, but for the three kept by keepSent).
  #ratesDiffer(s: number): boolean {
    const base = s * WORDS;
    for (let k = W_RATES_FROM; k < W_RATES_FROM + 4; k++) {
      if (this.#w32[base + k] !== this.#s32[k]) return true;
    }
    return false;
  }

  // Decodes into the scratch record; returns the kind, or 0 when not a conntrack message.
  #decode(src: DataView, off: number, sampledMs: number): number {
    // Zeroed word by word: for 168 bytes a loop the compiler inlines is cheaper than a call to
    // fill() (at 200k connections a dump zeroes it 200k times).
    const s32 = this.#s32;
    for (let k = 0; k < WORDS; k++) s32[k] = 0;
    const kind = this.#decoder.decode(src, off, this.#sdv, 0);
    if (kind < 0) return 0;
    this.#sdv.setFloat64(OFF.SAMPLED_MS, sampledMs, true);
    return kind;
  }

  // Finds the live (or, with `dead`, dead-by-dump) slot holding the scratch record's connection:
  // same id and same original tuple. Ids alone collide: the kernel's id is a 32-bit hash.
  #find(dead: boolean): number {
    const id = this.#s32[OFF.ID / 4]!;
    if (!dead) {
      // A dump lists the kernel's table in the same order each time, and the first dump filled
      // the slots in that order: the slot after the last one found is most often the one. Trying
      // it first reads the records in order instead of a random bucket and slot per connection
      // (at 200k, a third of the collector's time went to those misses). A live connection
      // (id and tuple) is held in one slot only, so this finds the slot the chain would.
      const g = this.#lastFound + 1;
      if (
        g < this.#hwm && this.#w32[g * WORDS + OFF.ID / 4] === id && !(this.#state[g]! & S_DEAD) &&
        this.#rec[g * RECORD_SIZE] !== 0 && this.#sameTuple(g)
      ) {
        return (this.#lastFound = g);
      }
    }
    for (let s = this.#heads[bucket(id, this.#mask)]!; s >= 0; s = this.#next[s]!) {
      if (this.#w32[s * WORDS + OFF.ID / 4] !== id) continue;
      const st = this.#state[s]!;
      if (dead ? !(st & S_DEAD_BY_DUMP) : st & S_DEAD) continue;
      if (this.#sameTuple(s)) return dead ? s : (this.#lastFound = s);
    }
    return -1;
  }

  #sameTuple(s: number): boolean {
    const base = s * WORDS;
    const w = this.#w32, sw = this.#s32;
    // family and L4 (word 0 without KIND and STATE), ports or ICMP id/type/code (words 8-9),
    // original addresses (words 10-17)
    if ((w[base]! & 0x00ffff00) !== (sw[0]! & 0x00ffff00)) return false;
    for (let k = W_PORTS; k < W_ORIG_ADDRS_END; k++) if (w[base + k] !== sw[k]) return false;
    return true;
  }

  #insert(): number {
    if (this.#free.length === 0 && this.#hwm === this.#cap) this.#grow(Math.ceil(this.#cap * 1.5));
    const s = this.#free.pop() ?? this.#hwm++;
    this.#counted = undefined;
    this.#rec.set(this.#scratch, s * RECORD_SIZE);
    this.#rec[s * RECORD_SIZE] = 1;
    this.#dv.setUint32(s * RECORD_SIZE + OFF.SLOT, s, true);
    const id = this.#s32[OFF.ID / 4]!;
    const b = bucket(id, this.#mask);
    this.#next[s] = this.#heads[b]!;
    this.#heads[b] = s;
    this.#used++;
    this.#lastFound = s;
    return s;
  }

  #release(s: number): void {
    this.#counted = undefined;
    const id = this.#w32[s * WORDS + OFF.ID / 4]!;
    const b = bucket(id, this.#mask);
    let prev = -1;
    for (let x = this.#heads[b]!; x >= 0; prev = x, x = this.#next[x]!) {
      if (x !== s) continue;
      if (prev < 0) this.#heads[b] = this.#next[x]!;
      else this.#next[prev] = this.#next[x]!;
      break;
    }
    this.#rec.fill(0, s * RECORD_SIZE, (s + 1) * RECORD_SIZE);
    this.#state[s] = 0;
    this.#extras.delete(s);
    this.#free.push(s);
    this.#used--;
  }

  // A dump brings the whole truth: copy every field but the rates, and note real changes.
  #mergeDump(s: number): void {
    const base = s * WORDS;
    const w = this.#w32, sw = this.#s32;
    sw[0] = (sw[0]! & ~0xff) | 1; // KIND byte: live
    sw[OFF.SLOT / 4] = s;
    let changed = false;
    let countersChanged = false;
    for (let k = 0; k < W_RATES_FROM; k++) {
      const a = w[base + k]!, b = sw[k]!;
      if (a === b) continue;
      if (k === W_TIMEOUT || k === W_USE) continue;
      if (k === W_STATUS) this.#counted = undefined; // offloaded or not
      if (k === W_HAS && ((a ^ b) & ~RATES_IN_WORD) === 0) continue;
      if (k >= W_COUNTERS_FROM && k < W_COUNTERS_TO) countersChanged = true;
      changed = true;
    }
    // A connection born since the last batch and first seen by an event (without counters) is
    // rated as new: from zero at its start time. One a dump saw already has a sample: a second
    // dump before the batch (a server's start samples twice) rates it between the two.
    if ((this.#state[s]! & (S_BORN | S_FROM_DUMP)) === S_BORN) this.#bornRates();
    else this.#dumpRates(s, countersChanged && this.#countersWentBack(s), countersChanged);
    // Having a rate or not is a change, even when the rate is 0: an idle connection's first
    // rate (0) must reach the model, or it keeps showing none ("-") for as long as it idles.
    const ratedBefore = this.#dv.getUint16(s * RECORD_SIZE + OFF.HAS, true) & Has.RATES;
    if ((this.#sdv.getUint16(OFF.HAS, true) & Has.RATES) !== ratedBefore) changed = true;
    if (!changed && this.#expiryMoved(s)) changed = true;
    if (
      this.#watch !== undefined && !(this.#state[s]! & S_BORN) && (changed || this.#ratesDiffer(s))
    ) this.#watch.changing(s);
    for (let k = 0; k < WORDS; k++) w[base + k] = sw[k]!;
    const st = this.#state[s]! & ~S_RATE_NZ;
    this.#state[s] = st | (changed ? S_DIRTY : 0) | (this.#scratchRated() ? S_RATE_NZ : 0);
  }

  // Rates of a connection seen again by a dump: counter deltas over the time between the two
  // samples, written into the scratch record before it replaces the stored one. Computing them
  // here, from the record about to be overwritten, spares keeping a second copy of counters.
  #dumpRates(s: number, reset: boolean, moved: boolean): void {
    const at = s * RECORD_SIZE;
    const dv = this.#dv, sdv = this.#sdv;
    const has = sdv.getUint16(OFF.HAS, true);
    const dt = (sdv.getFloat64(OFF.SAMPLED_MS, true) - dv.getFloat64(at + OFF.SAMPLED_MS, true)) /
      1000;
    if (!reset && dt <= 0.05) {
      // A resync right after a dump: too little time for a rate, so keep the one it had.
      for (let off = OFF.TX_BPS; off < OFF.SAMPLED_MS; off += 4) {
        sdv.setFloat32(off, dv.getFloat32(at + off, true), true);
      }
      const rated = dv.getUint16(at + OFF.HAS, true) & Has.RATES;
      sdv.setUint16(OFF.HAS, (has & ~Has.RATES) | rated, true);
      return;
    }
    const ok = !reset && (has & Has.COUNTERS) !== 0 &&
      (dv.getUint16(at + OFF.HAS, true) & Has.COUNTERS) !== 0;
    if (ok && !moved) {
      // Counters that stood still: every rate is 0, as the scratch record has them already
      // (most connections of a large table, at every dump).
      sdv.setUint16(OFF.HAS, has | Has.RATES, true);
      return;
    }
    // No closure for the four rates: this runs for every connection of every dump.
    sdv.setFloat32(OFF.TX_BPS, ok ? counterRate(sdv, dv, at, OFF.ORIG_BYTES, dt) : 0, true);
    sdv.setFloat32(OFF.RX_BPS, ok ? counterRate(sdv, dv, at, OFF.REPLY_BYTES, dt) : 0, true);
    sdv.setFloat32(OFF.TX_PPS, ok ? counterRate(sdv, dv, at, OFF.ORIG_PACKETS, dt) : 0, true);
    sdv.setFloat32(OFF.RX_PPS, ok ? counterRate(sdv, dv, at, OFF.REPLY_PACKETS, dt) : 0, true);
    sdv.setUint16(OFF.HAS, ok ? has | Has.RATES : has & ~Has.RATES, true);
  }

  // Rates of a connection a dump shows for the first time: it started from zero at its start
  // time, when the kernel stamps it. Not on the first dump, where "new" only means "not seen
  // before" (an average over a long life is no rate), and not without a timestamp.
  #bornRates(): void {
    const sdv = this.#sdv;
    const has = sdv.getUint16(OFF.HAS, true);
    const dt = (sdv.getFloat64(OFF.SAMPLED_MS, true) - sdv.getFloat64(OFF.START_MS, true)) / 1000;
    const ok = this.#dumps > 0 && (has & Has.COUNTERS) !== 0 && (has & Has.TIMESTAMP) !== 0 &&
      dt > 0.05;
    if (!ok) return;
    sdv.setFloat32(OFF.TX_BPS, sdv.getFloat64(OFF.ORIG_BYTES, true) / dt, true);
    sdv.setFloat32(OFF.RX_BPS, sdv.getFloat64(OFF.REPLY_BYTES, true) / dt, true);
    sdv.setFloat32(OFF.TX_PPS, sdv.getFloat64(OFF.ORIG_PACKETS, true) / dt, true);
    sdv.setFloat32(OFF.RX_PPS, sdv.getFloat64(OFF.REPLY_PACKETS, true) / dt, true);
    sdv.setUint16(OFF.HAS, has | Has.RATES, true);
  }

  #scratchRated(): boolean {
    const sdv = this.#sdv;
    return sdv.getFloat32(OFF.TX_BPS, true) > 0 || sdv.getFloat32(OFF.RX_BPS, true) > 0 ||
      sdv.getFloat32(OFF.TX_PPS, true) > 0 || sdv.getFloat32(OFF.RX_PPS, true) > 0;
  }

  // Events carry only part of a connection: merge what they have.
  #mergeEvent(s: number): void {
    if (this.#watch !== undefined && !(this.#state[s]! & S_BORN)) this.#watch.changing(s);
    const at = s * RECORD_SIZE;
    const dv = this.#dv, sdv = this.#sdv;
    const has = sdv.getUint16(OFF.HAS, true);
    let changed = false;
    const set32 = (off: number) => {
      const v = sdv.getUint32(off, true);
      if (dv.getUint32(at + off, true) !== v) {
        dv.setUint32(at + off, v, true);
        changed = true;
      }
    };
    if (has & Has.STATUS) set32(OFF.STATUS);
    if (has & Has.MARK) set32(OFF.MARK);
    const state = sdv.getUint8(OFF.STATE);
    if (state !== NO_STATE && dv.getUint8(at + OFF.STATE) !== state) {
      dv.setUint8(at + OFF.STATE, state);
      changed = true;
    }
    if (has & Has.TIMEOUT) {
      if (this.#expiryMoved(s)) changed = true;
      // SAMPLED_MS stays the time the counters were read (rates divide by it): the event's
      // timeout is restated relative to it, so the expiry is the event's.
      const expiry = sdv.getFloat64(OFF.SAMPLED_MS, true) + sdv.getUint32(OFF.TIMEOUT, true) * 1000;
      const since = dv.getFloat64(at + OFF.SAMPLED_MS, true);
      dv.setUint32(at + OFF.TIMEOUT, Math.max(0, Math.round((expiry - since) / 1000)), true);
    }
    if (has & Has.COUNTERS) {
      // Events may be older than the last dump: counters only move forward here.
      for (let off = OFF.ORIG_PACKETS; off < OFF.START_MS; off += 8) {
        const v = sdv.getFloat64(off, true);
        if (v > dv.getFloat64(at + off, true)) {
          dv.setFloat64(at + off, v, true);
          changed = true;
        }
      }
    }
    // A start time or a field's presence that the event brings is a change too: the record is
    // sent, so a client holds what the table holds (only timeouts tick down unsent).
    if (has & Has.TIMESTAMP) {
      const start = sdv.getFloat64(OFF.START_MS, true);
      if (dv.getFloat64(at + OFF.START_MS, true) !== start) {
        dv.setFloat64(at + OFF.START_MS, start, true);
        changed = true;
      }
    }
    const keep = Has.COUNTERS | Has.TIMESTAMP | Has.MARK | Has.EXTRA | Has.TIMEOUT | Has.STATUS;
    const hadFields = dv.getUint16(at + OFF.HAS, true);
    if ((hadFields | (has & keep)) !== hadFields) {
      dv.setUint16(at + OFF.HAS, hadFields | (has & keep), true);
      changed = true;
    }
    if (changed) this.#state[s]! |= S_DIRTY;
  }

  #countersWentBack(s: number): boolean {
    const at = s * RECORD_SIZE;
    for (let off = OFF.ORIG_PACKETS; off < OFF.START_MS; off += 8) {
      if (this.#sdv.getFloat64(off, true) < this.#dv.getFloat64(at + off, true)) return true;
    }
    return false;
  }

  #expiryMoved(s: number): boolean {
    const at = s * RECORD_SIZE;
    const before = this.#dv.getFloat64(at + OFF.SAMPLED_MS, true) +
      this.#dv.getUint32(at + OFF.TIMEOUT, true) * 1000;
    const after = this.#sdv.getFloat64(OFF.SAMPLED_MS, true) +
      this.#sdv.getUint32(OFF.TIMEOUT, true) * 1000;
    return Math.abs(after - before) > EXPIRY_SLACK_MS;
  }

  #saveExtra(s: number): void {
    const ex = this.#decoder.extra;
    if (ex === undefined) return; // most connections: no map lookup
    const old = this.#extras.get(s);
    const merged = { ...old, ...ex };
    if (JSON.stringify(merged) !== JSON.stringify(old)) {
      this.#extras.set(s, merged);
      this.#changedExtras.add(s);
      this.#state[s]! |= S_DIRTY;
    }
  }

  #grow(cap: number): void {
    const rec = new Uint8Array(cap * RECORD_SIZE);
    rec.set(this.#rec);
    this.#rec = rec;
    this.#dv = new DataView(rec.buffer);
    this.#w32 = new Uint32Array(rec.buffer);
    const state = new Uint8Array(cap);
    state.set(this.#state);
    this.#state = state;
    this.#emit = new Uint8Array(cap);
    const seen = new Uint8Array(cap);
    seen.set(this.#seen);
    this.#seen = seen;
    const next = new Int32Array(cap);
    next.set(this.#next);
    this.#next = next;
    if (this.#sent !== undefined) {
      const { timeout, use, sampled } = this.#sent;
      this.#sent = {
        timeout: new Uint32Array(cap),
        use: new Uint32Array(cap),
        sampled: new Float64Array(cap),
      };
      this.#sent.timeout.set(timeout);
      this.#sent.use.set(use);
      this.#sent.sampled.set(sampled);
    }
    // Buckets: a power of two at least the capacity, rebuilt from the live slots.
    let nb = 1024;
    while (nb < cap) nb *= 2;
    if (nb - 1 !== this.#mask) {
      this.#mask = nb - 1;
      this.#heads = new Int32Array(nb).fill(-1);
      for (let s = 0; s < this.#hwm; s++) {
        if (this.#rec[s * RECORD_SIZE] === 0) continue;
        const b = bucket(this.#w32[s * WORDS + OFF.ID / 4]!, this.#mask);
        this.#next[s] = this.#heads[b]!;
        this.#heads[b] = s;
      }
    }
    this.#cap = cap;
  }
}
