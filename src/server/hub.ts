/**
 * Collect once, serve many: the hub turns each collector batch into delta lines once and gives
 * the same bytes to every client, and builds snapshots once per refresh however many clients
 * join at it. With a collector on this thread ({@linkcode Hub.useTable}) both are read from the
 * collector's own table as the last batch sent it (sent_table.ts): the server holds the table
 * once. Otherwise the hub keeps a model of the table, applying each batch.
 *
 * It also decides when the collector runs: paused while no client is subscribed, resumed when
 * one is. A client that joins while collection was paused waits for the first refresh after
 * the resume (the model then reflects the table as it is, not as it was when the last client
 * left). With a collector that lets its table go while paused, the hub lets its model, its
 * snapshot and every queued line go as well ({@linkcode Hub.releases} counts it).
 *
 * The hub does no I/O itself: clients are {@linkcode Subscriber}s with an {@linkcode OutQueue}.
 *
 * @module
 */

import { CHUNK_RECORDS } from "../core/mod.ts";
import type { BatchMessage } from "../core/mod.ts";
import type { Extra } from "../conntrack/mod.ts";
import { RECORD_SIZE } from "../conntrack/mod.ts";
import type { Owner } from "../core/mod.ts";
import { ConnectionModel } from "../model/mod.ts";
import { encodeBatch, encodeBatchFrom, planBatch } from "../protocol/mod.ts";
import type { CtTable } from "../collector/mod.ts";
import { encodeMessage } from "../protocol/mod.ts";
import type { WarningMessage } from "../protocol/mod.ts";
import type { OutQueue, PushResult } from "./queue.ts";
import { LazyLines } from "./lazy_lines.ts";
import { type Epoch, SentTable } from "./sent_table.ts";

/**
 * Snapshots of at most this many parts (8,192 records each) are encoded whole at once, as one
 * array of lines shared by every client: they are small (at most 7.4 MB of lines), and one
 * encoding serves every client however far apart they read. Larger ones are encoded as clients
 * read them (lazy_lines.ts): at 200k connections, 45 MB of lines no longer exist at once.
 */
const EAGER_SNAPSHOT_PARTS = 4;

/** A client the hub feeds. */
export interface Subscriber {
  readonly queue: OutQueue;
  /** Called when the client cannot keep up even with snapshots: drop it with "too_slow". */
  tooSlow(): void;
  /** Called after each batch or snapshot queued (for logging and tests). */
  onQueued?(kind: "snapshot" | "delta", seq: number, result: PushResult): void;
}

/** What the hub starts and stops. */
export interface CollectionControl {
  pause(): void;
  resume(): void;
  /**
   * The collector lets its table go while paused, and the first batch after a resume holds the
   * whole table again (src/collector/local.ts). The hub then drops its model and snapshot at
   * each pause too, so a server nobody uses holds no table.
   */
  readonly releasesWhilePaused?: boolean;
}

/**
 * A snapshot's lines, shared by every client that joins at its refresh, encoded from the model
 * as the clients read them (lazy_lines.ts).
 */
interface Snapshot {
  seq: number;
  lines: LazyLines | Uint8Array[];
  /** Read from the collector's table: the batch's epoch, held while the lines are read. */
  epoch?: Epoch;
}

interface State {
  /** The last seq queued to this client; -1: it needs a snapshot. */
  seq: number;
}

/** The hub. */
export class Hub {
  #model = new ConnectionModel();
  /** The collector's table, when it runs on this thread (then the model stays empty). */
  #sent: SentTable | undefined;
  /** Batches carry the table's changes, not records: {@linkcode useTable} was called. */
  #inPlace = false;
  /** The model was let go: batches are ignored until one holds the whole table (`reset`). */
  #awaitingWhole = false;
  #subs = new Map<Subscriber, State>();
  #control: CollectionControl | undefined;
  #paused = false;
  /** The model reflects the running collection (false before the first batch after a resume). */
  #fresh = false;
  #startedMs = 0;
  #snapshot: Snapshot | undefined;
  /** Snapshots some client is still reading: encoded whole before the model changes. */
  #reading = new Set<LazyLines>();
  /** Snapshots read from the collector's table that some client is still reading. */
  #holding = new Map<LazyLines, Epoch>();
  #onPause: ((paused: boolean) => void) | undefined;
  /** Batches the collector has delivered. */
  batches = 0;
  /** Delta encodings made (at most one per batch). */
  deltaEncodings = 0;
  /** Snapshots planned (at most one per batch; each line is encoded as clients read it). */
  snapshotEncodings = 0;
  /** Times the model was let go at a pause (see {@linkcode CollectionControl.releasesWhilePaused}). */
  releases = 0;

  /** `onPause` hears of every pause (true) and resume (false), e.g. for the log. */
  constructor(onPause?: (paused: boolean) => void) {
    this.#onPause = onPause;
  }

  /** Clients subscribed. */
  get size(): number {
    return this.#subs.size;
  }

  /** Whether collection is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** The model (read-only use). */
  get model(): ConnectionModel {
    return this.#model;
  }

  /** The seq of the last batch taken (-1: none since the last release). */
  get seq(): number {
    return this.#sent?.seq ?? this.#model.seq;
  }

  /**
   * Serves snapshots and deltas from `table`, the table of a collector on this thread whose
   * batches carry changes, not records (CollectorControl.inPlace): call with each table it makes,
   * before that table's first batch. The hub then keeps no model.
   */
  useTable(table: CtTable): void {
    this.#sent?.close();
    this.#inPlace = true;
    this.#model = new ConnectionModel();
    this.#sent = new SentTable(table);
  }

  /** Gives the hub the collector to pause and resume; pauses it at once when nobody is here. */
  attach(control: CollectionControl): void {
    this.#control = control;
    if (this.#subs.size === 0) this.#pause();
  }

  /** Adds a client; it gets a snapshot as soon as one reflects the running collection. */
  subscribe(sub: Subscriber): void {
    this.#subs.set(sub, { seq: -1 });
    if (this.#paused) {
      this.#paused = false;
      this.#fresh = false;
      this.#snapshot = undefined;
      this.#control?.resume();
      this.#onPause?.(false);
    }
    this.#trySnapshot(sub);
  }

  /** Removes a client; collection pauses when it was the last. */
  unsubscribe(sub: Subscriber): void {
    if (!this.#subs.delete(sub)) return;
    if (this.#subs.size === 0) this.#pause();
  }

  /** The client's queue has drained: a client waiting for a snapshot gets it now. */
  drained(sub: Subscriber): void {
    this.#trySnapshot(sub);
  }

  /** Sends a warning to every subscribed client. */
  warn(message: string, timeMs: number = Date.now()): void {
    const msg: WarningMessage = { type: "warning", timeMs, message: bounded(message, 4096) };
    const line = [encodeMessage(msg)];
    for (const sub of this.#subs.keys()) this.#result(sub, sub.queue.push("control", line));
  }

  /** Takes one collector batch: encodes it as a delta once, applies it, feeds every client. */
  onBatch(batch: BatchMessage): void {
    this.batches++;
    // The last refresh's snapshot is stale from here on: let it go before encoding anything
    // (clients still sending it hold the lines they have not written).
    this.#snapshot = undefined;
    // A batch that was under way when the last client left: the model it changes is gone, and
    // the resume's first batch brings the whole table.
    if (this.#paused && this.#control?.releasesWhilePaused === true) return;
    // After a release, a batch that was under way when the table went holds only changes to a
    // table nobody has any more: the whole table comes in the first batch that says so.
    if (this.#awaitingWhole) {
      if (batch.reset !== true) return;
      this.#awaitingWhole = false;
    }
    const sent = this.#sent;
    if (this.#inPlace && sent === undefined) return; // its table was let go
    let delta: Uint8Array[] | undefined;
    for (const st of this.#subs.values()) {
      if (st.seq >= 0 && st.seq === batch.seq - 1) {
        // Read before the model may adopt the batch's buffers as its pages.
        delta = sent === undefined ? encodeBatch(batch, "delta") : this.#encodeDelta(sent, batch);
        this.deltaEncodings++;
        break;
      }
    }
    if (sent !== undefined) sent.apply(batch);
    else {
      // Snapshots still being read are read from the model, which changes now: what their
      // readers have not taken yet is encoded first. (From the collector's table, that was
      // done when the table took the batch: SentTable's onBatching.)
      this.#freezeReaders();
      this.#model.apply(batch);
    }
    this.#startedMs = batch.startedMs;
    if (this.#paused) return;
    this.#fresh = true;
    for (const [sub, st] of [...this.#subs]) {
      if (st.seq >= 0) {
        if (delta === undefined || st.seq !== batch.seq - 1) {
          st.seq = -1; // cannot happen with one collector; a snapshot mends it anyway
        } else {
          const r = sub.queue.push("delta", delta);
          st.seq = r === "queued" ? batch.seq : -1;
          sub.onQueued?.("delta", batch.seq, r);
          if (!this.#result(sub, r)) continue;
        }
      }
      if (st.seq < 0) this.#trySnapshot(sub);
    }
  }

  /**
   * The snapshot lines of the model as it is now (planned once per refresh, each line encoded
   * when the first client reaches it).
   */
  snapshot(): LazyLines | Uint8Array[] {
    if (this.#snapshot?.seq !== this.seq) {
      this.#snapshot = {
        seq: this.seq,
        lines: this.#encodeSnapshot(),
        epoch: this.#sent?.epoch,
      };
      this.snapshotEncodings++;
    }
    return this.#snapshot.lines;
  }

  #pause(): void {
    if (this.#paused || this.#control === undefined) return;
    this.#paused = true;
    this.#fresh = false;
    this.#snapshot = undefined;
    if (this.#control.releasesWhilePaused === true) {
      this.#model = new ConnectionModel();
      // The collector makes a new table at the resume (useTable): this one is let go.
      this.#sent?.close();
      this.#sent = undefined;
      this.#awaitingWhole = true;
      this.releases++;
    }
    this.#control.pause();
    this.#onPause?.(true);
  }

  #trySnapshot(sub: Subscriber): void {
    const st = this.#subs.get(sub);
    if (st === undefined || st.seq >= 0 || !this.#fresh || !sub.queue.idle) return;
    const lines = this.snapshot();
    const epoch = this.#snapshot!.epoch;
    const r = sub.queue.push("snapshot", lines);
    if (lines instanceof LazyLines && lines.readers > 0) {
      // From the model: encoded whole before the model changes. From the collector's table: its
      // batch's records are kept as they change, for as long as the lines are read.
      if (epoch === undefined) this.#reading.add(lines);
      else if (!this.#holding.has(lines)) {
        epoch.hold();
        this.#holding.set(lines, epoch);
      }
    }
    sub.onQueued?.("snapshot", this.seq, r);
    if (r === "queued" && this.#result(sub, r)) st.seq = this.seq;
  }

  // Acts on a push's result; false when the client is gone.
  #result(sub: Subscriber, r: PushResult): boolean {
    if (r === "too_slow") {
      this.#subs.delete(sub);
      sub.tooSlow();
      if (this.#subs.size === 0) this.#pause();
      return false;
    }
    if (r === "overflow") {
      const st = this.#subs.get(sub);
      if (st !== undefined) st.seq = -1;
    }
    return r !== "closed";
  }

  // Snapshots still being read from the model are read from records about to change: what their
  // readers have not taken yet is encoded now.
  #freezeReaders(): void {
    for (const l of this.#reading) l.freeze();
    this.#reading.clear();
  }

  // A batch of changes (slot, kind) as the delta lines a batch with copies of its records makes,
  // the records read from the table (just after it took the batch) through one chunk-sized
  // scratch buffer.
  #encodeDelta(sent: SentTable, batch: BatchMessage): Uint8Array[] {
    const changes = batch.changes;
    if (changes === undefined) return encodeBatch(batch, "delta");
    const count = changes.length / 2;
    const chunkRecords = chunkSizes(count);
    const scratch = new Uint8Array(Math.min(count, CHUNK_RECORDS) * RECORD_SIZE);
    const chunk = (i: number) => {
      const n = chunkRecords[i]!;
      for (let j = 0, k = i * CHUNK_RECORDS; j < n; j++, k++) {
        sent.change(changes[2 * k]!, changes[2 * k + 1]!, scratch, j * RECORD_SIZE);
      }
      return scratch.subarray(0, n * RECORD_SIZE);
    };
    return encodeBatchFrom(batch, "delta", { chunkRecords, chunk });
  }

  // The whole table as the lines of one snapshot, planned now and encoded line by line as
  // clients read it: each line's records go through one chunk-sized scratch buffer, so neither
  // the table nor the whole snapshot is ever copied. From the collector's table, the records are
  // as the last batch sent them (sent_table.ts); from the model, as applied (it marks live slots
  // with Kind.NEW).
  #encodeSnapshot(): LazyLines | Uint8Array[] {
    const m = this.#model;
    const sent = this.#sent;
    const epoch = sent?.epoch;
    const slots = sent === undefined ? m.liveSlots() : sent.slots();
    const count = slots.length;
    const extras: [number, Extra][] = [];
    const owners: [number, Owner | null][] = [];
    const from = sent ?? m;
    for (const s of slots) {
      const e = from.extra(s);
      if (e !== undefined) extras.push([s, e]);
      const o = from.owner(s);
      if (o !== undefined) owners.push([s, o]);
    }
    const chunkRecords = chunkSizes(count);
    const scratch = new Uint8Array(Math.min(count, CHUNK_RECORDS) * RECORD_SIZE);
    const chunk = (i: number) => {
      const n = chunkRecords[i]!;
      for (let j = 0, k = i * CHUNK_RECORDS; j < n; j++, k++) {
        const s = slots[k]!;
        if (epoch !== undefined) epoch.record(s, scratch, j * RECORD_SIZE);
        else {
          const at = m.index(s) * RECORD_SIZE;
          scratch.set(m.page(s).u8.subarray(at, at + RECORD_SIZE), j * RECORD_SIZE);
        }
      }
      return scratch.subarray(0, n * RECORD_SIZE);
    };
    const batch: BatchMessage = {
      type: "batch",
      seq: from.seq,
      timeMs: from.timeMs,
      startedMs: this.#startedMs,
      records: [],
      count,
      extras,
      owners,
      ...(from.local === undefined ? {} : { local: from.local }),
      totals: from.totals!,
      status: from.status!,
      reset: true,
    };
    const plan = planBatch(batch, "snapshot", { chunkRecords, chunk });
    if (plan.length <= EAGER_SNAPSHOT_PARTS) {
      return Array.from({ length: plan.length }, (_, i) => plan.line(i));
    }
    return new LazyLines(plan, (l) => {
      this.#reading.delete(l);
      this.#holding.get(l)?.release();
      this.#holding.delete(l);
    });
  }
}

/** The record counts of the chunks `count` records make ({@linkcode CHUNK_RECORDS} each, the last fewer). */
function chunkSizes(count: number): number[] {
  const sizes: number[] = [];
  for (let left = count; left > 0; left -= CHUNK_RECORDS) sizes.push(Math.min(CHUNK_RECORDS, left));
  return sizes;
}

/**
 * `text` cut to at most `max` characters (the schema's limit for the field), ending in "…" when
 * cut. Its characters are kept as they are: the protocol carries any text, JSON-escaped, and a
 * receiver shows it through `printable()`.
 */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  // Never split a surrogate pair.
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return text.slice(0, end) + "…";
}
