/**
 * Re-sort time of the whole table, in process: conntop's `sortSlots()` (what the list does when
 * the sort column changes, and at every refresh) over a {@linkcode ConnectionModel} of a real
 * table, against two references timed in the same process on as many numbers — a typed array's
 * own sort (`Float64Array.prototype.sort`, no comparator) and `Array.prototype.sort` with a
 * numeric comparator.
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
  COLUMNS,
  defaultSettings,
  RowList,
  SearchTexts,
  sortSlots,
} from "../../src/ui/mod.ts";
import { summarize, type Summary } from "./stats.ts";
import { prng } from "../../tools/prng.ts";

/** One column sorted on one of the two tables. */
export interface SortCase {
  column: ColumnId;
  desc: boolean;
  /** "busy": synthetic rates and counters; "idle": the table as loaded (all zero). */
  table: "busy" | "idle";
  /** Wall time of one `sortSlots()` over every connection, ms. */
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
  /** `RowList.update()` with the default sort: what the list does at every refresh, ms. */
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
 * The records of `model` with synthetic rates and counters, in a new model (slots renumbered
 * from 0). Deterministic.
 */
export function busyModel(model: ConnectionModel): ConnectionModel {
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
    at += RECORD_SIZE;
    slot++;
  }
  const batch: BatchMessage = {
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
  const busy = new ConnectionModel();
  busy.apply(batch);
  return busy;
}

/** Times `fn` `runs` times after two untimed runs; ms. */
function time(runs: number, fn: () => void): Summary {
  fn();
  fn();
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return summarize(ms);
}

/** Times each case; the data-independent references go first. */
export function measureSorts(
  idle: ConnectionModel,
  runs: number,
  log: (line: string) => void,
): SortResult {
  const busy = busyModel(idle);
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
  const slotsOf = (m: ConnectionModel) => Uint32Array.from(m.slots());
  const cases: SortCase[] = [];
  for (const [table, model] of [["busy", busy], ["idle", idle]] as const) {
    const slots = slotsOf(model);
    for (const column of SORT_COLUMNS) {
      const sort = { column, desc: COLUMNS[column].defaultDesc };
      const ms = time(runs, () => sortSlots(model, slots, sort, sort2));
      cases.push({ column, desc: sort.desc, table, ms });
      log(
        `sortSlots ${column}${sort.desc ? " desc" : ""}, ${table} table: ` +
          `${ms.median.toFixed(1)} ms median (${ms.min.toFixed(1)}-${ms.max.toFixed(1)})`,
      );
    }
  }
  const rowsUpdate = {
    busy: timeRows(busy, runs),
    idle: timeRows(idle, runs),
  };
  log(
    `RowList.update, default sort: busy ${rowsUpdate.busy.median.toFixed(1)} ms, idle ` +
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

function timeRows(model: ConnectionModel, runs: number): Summary {
  const s = defaultSettings();
  const texts = new SearchTexts();
  return time(runs, () => {
    new RowList().update(model, { sort: s.sort, sort2: s.sort2, text: "", locked: false }, texts);
  });
}
