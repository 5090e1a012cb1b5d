/**
 * Re-sort time of the whole table, in process: conntop's engine (src/engine/, what the
 * collector worker does when the sort column changes, and at every refresh) over the records of
 * a real table, against two references timed in the same process on as many numbers — a typed
 * array's own sort (`Float64Array.prototype.sort`, no comparator) and `Array.prototype.sort`
 * with a numeric comparator.
 *
 * The model is filled by conntop's collector from the benchmark's namespace (two refreshes, so
 * that every record carries rates). A table loaded with `conntrack -R` is idle: every rate and
 * counter is zero, so sorting by rate only breaks ties. A busy router's table is not, so a
 * second model holds the same records with synthetic rates and counters (a deterministic,
 * heavy-tailed mix: most connections idle in the last second, the rest from 10 B/s to 10 MB/s),
 * applied as one synthetic batch. Both are timed.
 *
 * Requires root, `--allow-ffi` and `--allow-read` (the collector).
 *
 * @module
 */

import { type BatchMessage, CHUNK_RECORDS } from "../../src/collector/mod.ts";
import { startSteppedCollector } from "./stepped_collector.ts";
import { Has, Kind, OFF, RECORD_SIZE } from "../../src/conntrack/mod.ts";
import { ConnectionModel } from "../../src/model/mod.ts";
import {
  type ColumnId,
  Engine,
  type Enrichment,
  SORT_KEYS,
  type ViewQuery,
} from "../../src/engine/mod.ts";
import { defaultSettings } from "../../src/ui/mod.ts";
import { summarize, type Summary } from "./stats.ts";
import { prng } from "../../tools/prng.ts";

/** One column sorted on one of the two tables. */
export interface SortCase {
  column: ColumnId;
  desc: boolean;
  /** "busy": synthetic rates and counters; "idle": the table as loaded (all zero). */
  table: "busy" | "idle";
  /** Wall time of one full re-sort of every connection by the engine (cold keys), ms. */
  ms: Summary;
}

/** What {@linkcode measureSorts} found. */
export interface SortResult {
  /** Connections in the model. */
  size: number;
  /** Timed runs of each case (after two untimed ones). */
  runs: number;
  /** The secondary sort every case used (the default settings'). */
  sort2: { column: ColumnId; desc: boolean } | null;
  /** `Float64Array.prototype.sort()` of `size` random doubles, ms. */
  float64Sort: Summary;
  /** `Array.prototype.sort((a, b) => a - b)` of `size` random numbers, ms. */
  arraySort: Summary;
  cases: SortCase[];
  /**
   * A refresh in the engine with the default sort: the batch applied, the changed rows
   * re-ranked, the page answered. "busy": every record in the batch; "idle": none.
   */
  rowsUpdate: { busy: Summary; idle: Summary };
}

/** The columns timed, each in its default direction. */
export const SORT_COLUMNS: readonly ColumnId[] = ["rate", "src", "dport", "age"];

/** Fills a model from namespace `netns` with conntop's collector: a cold read, then a refresh. */
export async function collectModel(netns: string): Promise<ConnectionModel> {
  const model = new ConnectionModel();
  const collector = await startSteppedCollector((b) => model.apply(b), {
    netns,
    eventBufferBytes: 1 << 20,
    events: false,
  });
  try {
    await collector.refresh();
  } finally {
    await collector.stop();
  }
  return model;
}

/**
 * The records of `model` as one batch (slots renumbered from 0); with `synthetic`, with
 * synthetic rates and counters. Deterministic.
 */
export function batchOfModel(model: ConnectionModel, synthetic: boolean): BatchMessage {
  const rand = prng(0x5eed);
  const logUniform = (lo: number, hi: number) => lo * Math.pow(hi / lo, rand());
  const n = model.size;
  const records: ArrayBuffer[] = [];
  let chunk = new Uint8Array(0), dv = new DataView(chunk.buffer), at = 0, slot = 0;
  for (const s of model.slots()) {
    if (slot % CHUNK_RECORDS === 0) {
      chunk = new Uint8Array(Math.min(CHUNK_RECORDS, n - slot) * RECORD_SIZE);
      dv = new DataView(chunk.buffer);
      records.push(chunk.buffer);
      at = 0;
    }
    const v = model.page(s), i = model.index(s);
    chunk.set(v.u8.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), at);
    chunk[at + OFF.KIND] = Kind.NEW;
    dv.setUint32(at + OFF.SLOT, slot, true);
    if (synthetic) {
      dv.setUint16(at + OFF.HAS, v.u16At(i, OFF.HAS) | Has.RATES | Has.COUNTERS, true);
      const active = rand() < 0.45;
      const tx = active ? logUniform(10, 1e7) : 0, rx = active ? logUniform(10, 1e7) : 0;
      dv.setFloat32(at + OFF.TX_BPS, tx, true);
      dv.setFloat32(at + OFF.RX_BPS, rx, true);
      dv.setFloat32(at + OFF.TX_PPS, tx / 500, true);
      dv.setFloat32(at + OFF.RX_PPS, rx / 500, true);
      const txBytes = Math.round(logUniform(60, 1e10)), rxBytes = Math.round(logUniform(60, 1e10));
      dv.setFloat64(at + OFF.ORIG_BYTES, txBytes, true);
      dv.setFloat64(at + OFF.REPLY_BYTES, rxBytes, true);
      dv.setFloat64(at + OFF.ORIG_PACKETS, Math.ceil(txBytes / 500), true);
      dv.setFloat64(at + OFF.REPLY_PACKETS, Math.ceil(rxBytes / 500), true);
    }
    at += RECORD_SIZE;
    slot++;
  }
  return {
    type: "batch",
    seq: 0,
    timeMs: model.timeMs,
    startedMs: model.timeMs,
    records,
    count: slot,
    extras: [],
    totals: model.totals!,
    status: model.status!,
  };
}

/** `batch` again, every record marked changed (an update), as the next refresh's batch. */
function updateOf(batch: BatchMessage): BatchMessage {
  const records = batch.records.map((b) => {
    const c = new Uint8Array(b.slice(0));
    for (let at = 0; at < c.length; at += RECORD_SIZE) c[at + OFF.KIND] = Kind.UPDATE;
    return c.buffer;
  });
  return { ...batch, seq: batch.seq + 1, records };
}

/** An empty batch after `batch`: a refresh of an idle table that found no change. */
function emptyAfter(batch: BatchMessage): BatchMessage {
  return { ...batch, seq: batch.seq + 1, records: [], count: 0, extras: [] };
}

/** A query for the first page of the list sorted by `sort`, then `sort2`. */
export function pageQuery(sort: SortSpec, sort2: SortSpec | null): ViewQuery {
  return {
    text: "",
    sort,
    sort2,
    locked: false,
    anchor: null,
    cursorRow: 0,
    top: 0,
    height: 48,
    margin: 48,
    cursor: true,
    hostnames: false,
  };
}

/** A sort column and direction. */
export interface SortSpec {
  column: ColumnId;
  desc: boolean;
}

/** An engine holding `batch`, its records copied (the batch stays usable). */
function engineOf(batch: BatchMessage, enrich?: Enrichment): Engine {
  const e = new Engine({ now: () => batch.timeMs, ...(enrich === undefined ? {} : { enrich }) });
  e.apply({ ...batch, records: batch.records.map((b) => b.slice(0)) });
  return e;
}

/**
 * Wall time of a full re-sort by `sort` (then `sort2`) in a fresh engine holding `batch`: the
 * query that changes the sort and the settling of the whole order, with no sort key cached.
 */
export function timeResort(
  batch: BatchMessage,
  sort: SortSpec,
  sort2: SortSpec | null,
  runs: number,
  enrich?: Enrichment,
): Summary {
  // The engine starts sorted by another column, as a user's list is before `>`.
  const other: SortSpec = sort.column === "id" ? { column: "src", desc: false } : {
    column: "id",
    desc: false,
  };
  let e = engineOf(batch, enrich);
  return timeWithSetup(runs, () => {
    e = engineOf(batch, enrich);
    e.query(pageQuery(other, null));
    e.settle();
  }, () => {
    e.query(pageQuery(sort, sort2));
    e.settle();
  });
}

/** Times each case; the data-independent references go first. */
export function measureSorts(
  idle: ConnectionModel,
  runs: number,
  log: (line: string) => void,
): SortResult {
  const busy = batchOfModel(idle, true), still = batchOfModel(idle, false);
  const n = idle.size;
  const rand = prng(42);
  const doubles = new Float64Array(n);
  for (let i = 0; i < n; i++) doubles[i] = rand() * 1e9;
  const numbers = Array.from(doubles);
  // The copy is made outside the timing: only the sort is timed.
  let f64 = doubles.slice(), arr = numbers.slice();
  const float64Sort = timeWithSetup(runs, () => (f64 = doubles.slice()), () => f64.sort());
  const arraySort = timeWithSetup(
    runs,
    () => (arr = numbers.slice()),
    () => arr.sort((a, b) => a - b),
  );
  log(
    `references: Float64Array sort ${float64Sort.median.toFixed(1)} ms, ` +
      `Array sort with comparator ${arraySort.median.toFixed(1)} ms (${n} numbers)`,
  );
  const sort2 = defaultSettings().sort2;
  const cases: SortCase[] = [];
  for (const [table, batch] of [["busy", busy], ["idle", still]] as const) {
    for (const column of SORT_COLUMNS) {
      const sort = { column, desc: SORT_KEYS[column].defaultDesc };
      const ms = timeResort(batch, sort, sort2, runs);
      cases.push({ column, desc: sort.desc, table, ms });
      log(
        `engine re-sort ${column}${sort.desc ? " desc" : ""}, ${table} table: ` +
          `${ms.median.toFixed(1)} ms median (${ms.min.toFixed(1)}-${ms.max.toFixed(1)})`,
      );
    }
  }
  const rowsUpdate = {
    busy: timeRefresh(busy, updateOf(busy), runs),
    idle: timeRefresh(still, emptyAfter(still), runs),
  };
  log(
    `engine refresh, default sort: busy ${rowsUpdate.busy.median.toFixed(1)} ms, idle ` +
      `${rowsUpdate.idle.median.toFixed(1)} ms median`,
  );
  return { size: n, runs, sort2, float64Sort, arraySort, cases, rowsUpdate };
}

function timeWithSetup(runs: number, setup: () => void, fn: () => void): Summary {
  const ms: number[] = [];
  for (let r = 0; r < runs + 2; r++) {
    setup();
    const t0 = performance.now();
    fn();
    const t = performance.now() - t0;
    if (r >= 2) ms.push(t);
  }
  return summarize(ms);
}

// A refresh in an engine holding `batch`, sorted the default way: `next` applied and the first
// page answered (the re-ranking of the changed rows included).
function timeRefresh(batch: BatchMessage, next: BatchMessage, runs: number): Summary {
  const d = defaultSettings();
  const q = pageQuery(d.sort as SortSpec, d.sort2 as SortSpec | null);
  let e = engineOf(batch), pending = next;
  return timeWithSetup(runs, () => {
    e = engineOf(batch);
    e.query(q);
    e.settle();
    pending = { ...next, records: next.records.map((b) => b.slice(0)) };
  }, () => {
    e.apply(pending);
    e.query(q);
    e.settle();
  });
}
