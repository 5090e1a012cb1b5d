/**
 * `conntop --once`: prints the table once, like `conntrack -L`, in a format for people or
 * scripts. With `--interval S` it samples twice, S seconds apart, so rates are filled. With
 * `--connect` it prints a server's table: the snapshot it sends first, as the server has it.
 * `--sort`, `--reverse`, `--top` and `--columns` choose the rows, their order and what is
 * printed of them.
 *
 * It writes as it goes: the rows are slot numbers ordered over the records
 * (src/app/once_rows.ts), each encoded straight from its record into bytes
 * (src/output/records.ts; the text table makes one connection at a time). It must never hold
 * the whole output, nor a connection object per row, and imports nothing of the UI or the
 * terminal. The collector hands its table over at the end rather than a copy of it.
 *
 * It runs no worker: the collector and the enrichment service run on the main thread, which
 * has nothing else to do while they work (a worker isolate is about 15 MB); only hostnames of
 * another network namespace are looked up by a worker (src/app/enrichment.ts says why).
 * Hostnames are looked up only for at most {@linkcode ONCE_MAX_HOST_LOOKUPS} distinct
 * addresses.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import { Has, IPPROTO, OFF } from "../conntrack/mod.ts";
import { CONNECTION_FIELDS, type Filter, isEmptyFilter } from "../core/mod.ts";
import { ConnectionModel } from "../model/mod.ts";
import type { Connection } from "../core/mod.ts";
import type { AddrInfo, EnrichStore } from "../enrich/mod.ts";
import {
  ByteSink,
  columnsTable,
  csvHeaderOf,
  DEFAULT_TABLE,
  type Field,
  fieldsOf,
  recordCsvEncoder,
  recordJsonEncoder,
  type RecordRow,
  snapshotParts,
  TableLayout,
} from "../output/mod.ts";
import { keepTop, type RowSelection, selectRows, type SortLevel } from "./once_rows.ts";
import { SORT_KEYS, type SortContext } from "../engine/mod.ts";
import { ENRICHED_SORT, sortLevels } from "./once_sort.ts";
import { runSession, type SessionHandlers } from "./session.ts";
import { runRemoteSession } from "./remote.ts";
import { emptyTableHint } from "./hints.ts";
import { type Enrichment, startEnrichment } from "./enrichment.ts";

/**
 * Runs --once, writing to `out` (which must be done with the bytes when it resolves); resolves
 * with the exit code.
 */
export async function runOnce(
  opts: Options,
  out: (bytes: Uint8Array) => Promise<void>,
  warn: (line: string) => void,
): Promise<number> {
  const model = new ConnectionModel();
  const warnings: string[] = [];
  const note = (w: string) => {
    warnings.push(w);
    warn(w);
  };
  const fields = opts.columns === undefined ? CONNECTION_FIELDS : fieldsOf(opts.columns);
  const need = needs(opts, opts.format === "table" && opts.columns === undefined ? [] : fields);
  // Enrichment loads while the table is read, when the output shows or sorts on what it finds.
  using enrichment = need.store
    ? startEnrichment(
      { ...opts, geoip: need.geoip, hostnames: need.hostnames },
      { onWarning: note },
      { maxQueue: 1 << 20 },
      // On this thread when the table is collected here too: one isolate in all.
      opts.remote === undefined,
    )
    : undefined;
  const wanted = opts.intervalGiven ? 2 : 1;
  // `--top N` of one dump in an order the records alone decide: the collector's table keeps
  // only those N as the kernel lists the table (once_rows.ts keepTop), so a quarter-million
  // connections are never held for twenty. Without events: one dump is the whole choice, and
  // an event would concern a connection it left out.
  const bounded = opts.remote === undefined && opts.top !== undefined && wanted === 1 &&
    opts.sort.every((id) => SORT_KEYS[id].enriched !== true);
  let seen = 0;
  let flowtables = false;
  let netns = opts.netns ?? null;
  const handlers: SessionHandlers = {
    onBatch: (b, ready) => {
      flowtables = ready.flowtables;
      model.apply(b);
      return ++seen >= wanted;
    },
    onWarning: note,
  };
  // A server's first batch is its whole table: one is all it takes. The local collector hands
  // its table over with the last batch wanted (transferred, not copied: held once).
  const code = opts.remote === undefined
    ? await runSession(bounded ? { ...opts, events: false } : opts, handlers, {
      handOver: wanted,
      here: true,
      prepareTable: bounded
        ? (t) => t.limit(keepTop(selection(opts, { owner: () => undefined })), opts.top!)
        : undefined,
    })
    : await runRemoteSession(
      opts,
      {
        ...handlers,
        onWelcome: (w) => void (netns = w.netns),
      },
      "never",
      opts.remote.deadlineMs,
    );
  if (code !== 0) return code;
  const totals = model.totals!;
  if (totals.count === 0 && !opts.track) {
    note(emptyTableHint(netns ?? undefined, opts.remote?.display));
  }
  if (totals.offloaded > 0 && !flowtables) {
    note(
      `${totals.offloaded} connections are offloaded to a flowtable: their counters may stand still`,
    );
  }
  const now = model.timeMs;
  const store = enrichment?.store;
  const sel = selection(opts, { enrich: store, owner: (slot: number) => model.owner(slot) });
  let rows: Uint32Array;
  if (enrichment !== undefined && need.sort) {
    // The sort reads the answers: every row's addresses are asked for before it.
    await enrich(enrichment, model, matching(model, opts.filter), note);
    rows = selectRows(model, sel);
  } else {
    rows = selectRows(model, sel);
    if (enrichment !== undefined) await enrich(enrichment, model, rows, note);
  }
  // The table's rows are made one at a time, filled from the answers (one entry per address),
  // written, and dropped: the output is never whole in memory.
  const row = (slot: number): Connection => {
    const c = model.connection(slot, now);
    if (store !== undefined) {
      const v = model.page(slot), i = model.index(slot);
      const src = store.addressAt(v, i, OFF.ORIG_SRC), dst = store.addressAt(v, i, OFF.ORIG_DST);
      store.fill(c, false, src, dst);
    }
    return c;
  };
  // The scripting formats are written straight from the records: one reused row and one
  // reused set of enrichment fields, no connection object.
  const scratch = emptyEnriched();
  const record: RecordRow = {
    v: model.page(0),
    i: 0,
    extra: undefined,
    owner: undefined,
    enriched: store === undefined ? undefined : scratch,
  };
  const recordRow = (slot: number): RecordRow => {
    const v = model.page(slot), i = model.index(slot);
    record.v = v;
    record.i = i;
    record.extra = model.extra(slot);
    record.owner = model.owner(slot);
    if (store !== undefined) {
      const l4 = v.u8At(i, OFF.L4);
      const ports = v.has(i, Has.PORTS) && l4 !== IPPROTO.GRE;
      scratch.protonum = l4;
      scratch.orig_sport = ports ? v.u16At(i, OFF.ORIG_SPORT) : null;
      scratch.orig_dport = ports ? v.u16At(i, OFF.ORIG_DPORT) : null;
      const src = store.addressAt(v, i, OFF.ORIG_SRC), dst = store.addressAt(v, i, OFF.ORIG_DST);
      store.fill(scratch, false, src, dst);
    }
    return record;
  };
  const header = {
    "format_version": 1,
    time: new Date(now).toISOString(),
    netns,
    accounting: totals.accounting,
    timestamps: totals.timestamps,
    totals,
    status: model.status!,
    warnings,
    connections: [],
  };
  const sink = new ByteSink(out);
  if (opts.format === "table") await writeTable(sink, opts, rows, row);
  else await writeRecords(sink, opts.format, fields, header, rows, recordRow, now);
  return 0;
}

// Writes `rows` as JSON, NDJSON or CSV, each straight from its record.
async function writeRecords(
  w: ByteSink,
  format: Options["format"],
  fields: readonly Field[],
  header: Readonly<Record<string, unknown>>,
  rows: Uint32Array,
  row: (slot: number) => RecordRow,
  nowMs: number,
): Promise<void> {
  switch (format) {
    case "json": {
      const parts = snapshotParts(header);
      const encode = recordJsonEncoder(fields, "    ", nowMs);
      const first = TEXT.encode(parts.first), next = TEXT.encode(parts.next);
      w.text(parts.head);
      for (let r = 0; r < rows.length; r++) {
        w.bytes(r === 0 ? first : next);
        encode(w, row(rows[r]!));
        if (w.full) await w.flush();
      }
      w.text(rows.length === 0 ? parts.emptyTail : parts.tail);
      break;
    }
    case "ndjson": {
      const encode = recordJsonEncoder(fields, null, nowMs);
      for (const s of rows) {
        encode(w, row(s));
        w.byte(10);
        if (w.full) await w.flush();
      }
      break;
    }
    default: {
      const encode = recordCsvEncoder(fields, nowMs);
      w.text(csvHeaderOf(fields));
      for (const s of rows) {
        encode(w, row(s));
        if (w.full) await w.flush();
      }
    }
  }
  await w.flush();
}

// Writes `rows` as the text table; `row` makes each one's connection. Two passes: the widths
// first (keeping only them), then the lines.
async function writeTable(
  w: ByteSink,
  opts: Options,
  rows: Uint32Array,
  row: (slot: number) => Connection,
): Promise<void> {
  const t = new TableLayout(
    opts.columns === undefined ? DEFAULT_TABLE : columnsTable(opts.columns),
  );
  for (const s of rows) t.measure(row(s));
  w.text(t.header());
  for (const s of rows) {
    w.text(t.line(row(s)));
    if (w.full) await w.flush();
  }
  await w.flush();
}

const TEXT = new TextEncoder();

/** Enrichment fields to fill for each row in turn (and what filling them reads). */
function emptyEnriched(): Parameters<EnrichStore["fill"]>[0] {
  return {
    protonum: 0,
    "orig_src": "",
    "orig_dst": "",
    "orig_sport": null,
    "orig_dport": null,
    process: null,
    pid: null,
    "src_host": null,
    "dst_host": null,
    "src_class": null,
    "dst_class": null,
    "src_country": null,
    "dst_country": null,
    "src_asn": null,
    "dst_asn": null,
    "src_org": null,
    "dst_org": null,
    "src_city": null,
    "dst_city": null,
    "sport_service": null,
    "dport_service": null,
  };
}

/** Longest wait for hostnames in --once, ms: lookups not answered by then stay null. */
const ONCE_DNS_DEADLINE_MS = 5000;
/**
 * Longest wait for GeoIP answers in --once, ms. They come from local files, in well under a
 * second here, but many seconds on a slow machine (emulated arm64 took over 5): waiting only as
 * long as for hostnames left countries out without a word. The bound is for a service that
 * stopped answering.
 */
const ONCE_GEO_DEADLINE_MS = 60_000;

/**
 * Most distinct addresses whose hostnames one --once run looks up. About what the resolver
 * (16 lookups at once) answers within the deadline on a usual network, or quicker; a full
 * listing of a big table has tens of thousands, which could only time out, holding memory for
 * each. Above it, no name is looked up (a listing with names for some rows only would mislead a
 * script), and one warning says so.
 */
export const ONCE_MAX_HOST_LOOKUPS = 1000;

/** --reverse without --sort: the default order (protocol number, then id) reversed. */
const REVERSED: SortLevel = {
  num: (v, i) => v.u8At(i, OFF.L4) * 2 ** 32 + v.u32At(i, OFF.ID),
  desc: true,
};

/** The fields whose values come from the enrichment store (classes, GeoIP, names, services). */
const STORE_FIELDS: ReadonlySet<string> = new Set<string>([
  ...ENRICHED_SORT,
  "sport_service",
  "dport_service",
]);
const GEO_FIELDS = /^(src|dst)_(country|asn|org|city)$/;
const HOST_FIELDS = /^(src|dst)_host$/;

/** What of enrichment a run prints or sorts on. */
interface Needs {
  /** Any answer of the store. */
  store: boolean;
  geoip: boolean;
  hostnames: boolean;
  /** The sort reads answers. */
  sort: boolean;
}

function needs(opts: Options, fields: readonly string[]): Needs {
  const sorted = opts.sort.filter((id) => ENRICHED_SORT.has(id));
  const used = [...fields, ...sorted];
  return {
    store: used.some((f) => STORE_FIELDS.has(f)),
    geoip: opts.geoip && used.some((f) => GEO_FIELDS.test(f)),
    hostnames: opts.hostnames && used.some((f) => HOST_FIELDS.test(f)),
    sort: sorted.length > 0,
  };
}

/** The rows `opts` asks for: its filter, order and `--top`, the order's keys read through `ctx`. */
function selection(opts: Options, ctx: SortContext): RowSelection {
  const levels = opts.sort.length > 0
    ? sortLevels(opts.sort, opts.reverse, ctx)
    : opts.reverse
    ? [REVERSED]
    : [];
  return { filter: opts.filter, levels, top: opts.top };
}

/** The slots matching `filter`, in slot order. */
function matching(model: ConnectionModel, filter: Filter): Uint32Array {
  const empty = isEmptyFilter(filter);
  const out = new Uint32Array(model.size);
  let n = 0;
  for (const s of model.slots()) if (empty || model.matches(filter, s)) out[n++] = s;
  return out.subarray(0, n);
}

// Asks for the addresses of `slots` (each distinct address once: the store keeps one entry per
// address, and an IPv4 one is found by its number, without making its text), then waits for
// the answers (GeoIP is quick; hostnames until the deadline). Hostnames are asked for only when
// the rows have at most ONCE_MAX_HOST_LOOKUPS distinct addresses; `note` warns when not.
async function enrich(
  e: Enrichment,
  model: ConnectionModel,
  slots: Uint32Array,
  note: (warning: string) => void,
): Promise<void> {
  await e.ready;
  const store = e.store;
  store.setLocal(model.local);
  // A new address makes a new entry of the store: its size counts the distinct addresses
  // (cheaper than a set of 400k lookups). The first few are kept for the hostnames (none are
  // asked for past the limit).
  const first: AddrInfo[] = [];
  const start = store.size;
  let known = start;
  for (let r = 0; r < slots.length; r++) {
    const s = slots[r]!;
    const v = model.page(s), i = model.index(s);
    const src = store.addressAt(v, i, OFF.ORIG_SRC);
    if (store.size !== known) {
      known++;
      if (first.length <= ONCE_MAX_HOST_LOOKUPS) first.push(src);
    }
    const dst = store.addressAt(v, i, OFF.ORIG_DST);
    if (store.size !== known) {
      known++;
      if (first.length <= ONCE_MAX_HOST_LOOKUPS) first.push(dst);
    }
  }
  const distinct = known - start;
  const within = distinct <= ONCE_MAX_HOST_LOOKUPS;
  const asked = store.hostnamesAllowed && within ? first : [];
  if (within) {
    for (const a of asked) store.wantHost(a);
  } else if (store.hostnamesAllowed) {
    const n = (x: number) => x.toLocaleString("en-US");
    const most = n(ONCE_MAX_HOST_LOOKUPS);
    note(
      `Hostnames not looked up: the rows have ${n(distinct)} distinct addresses, more than ` +
        `${most}: pass -n to skip lookups or --top N to print fewer rows`,
    );
  }
  store.flush();
  const t0 = Date.now();
  const waiting = () =>
    (store.pendingGeo > 0 && Date.now() - t0 < ONCE_GEO_DEADLINE_MS) ||
    (store.pendingHosts > 0 && Date.now() - t0 < ONCE_DNS_DEADLINE_MS);
  while (waiting()) await new Promise((r) => setTimeout(r, 10));
  // What is still missing is said, once each: a script must not take a missing answer for none.
  const n = (x: number) => x.toLocaleString("en-US");
  if (store.pendingGeo > 0) {
    note(
      `No GeoIP answer for ${n(store.pendingGeo)} addresses within ` +
        `${ONCE_GEO_DEADLINE_MS / 1000} s: their country, AS and city are left empty`,
    );
  }
  // A name, or the answer that there is none, is an answer; a lookup that failed or timed out
  // (the resolver's own bound), or is still out at the deadline, is not.
  const unanswered = asked.filter((a) => {
    const st = a.host?.status;
    return st === "pending" || st === "timeout" || st === "failed";
  }).length;
  if (unanswered > 0) {
    note(
      `No hostname for ${n(unanswered)} addresses: the resolver did not answer within ` +
        `${ONCE_DNS_DEADLINE_MS / 1000} s`,
    );
  }
}
