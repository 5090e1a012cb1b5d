/**
 * The benchmark's results and their markdown rendering: one table with `conntrack -L` and
 * conntop side by side, followed by the notes that say what each number measures, and when the
 * interactive monitor was measured, a second table for it against its own references, and when
 * enrichment was measured, its tables: GeoIP lookups per second, the caches at work, and the
 * main thread and the monitor with enrichment off and on, and when the client-server mode was
 * measured, its tables (scripts/_bench/server_report.ts). Pure functions: no I/O.
 *
 * @module
 */

import { COLUMNS, defaultSettings } from "../../src/ui/mod.ts";
import type { EnrichResult, LookupProbe } from "./enrich.ts";
import type { GeoipBenchResult } from "./geoip.ts";
import type { RefreshSample } from "./in_process.ts";
import type { ForeignEntries } from "./table.ts";
import type { ServerResult } from "./server.ts";
import { serverNotes, serverTables } from "./server_report.ts";
import type { ConntopSteady, ReferenceSteady } from "./steady.ts";
import { median, type Summary } from "./stats.ts";
import type { ConntopDrive, KeyPress, UiResult } from "./ui.ts";
import { type ProbeFrame, rowsRecomputed } from "./ui_probe.ts";
import { type Percentiles, percentiles } from "./ui_stats.ts";

/** The machine the benchmark ran on. */
export interface HostInfo {
  date: string;
  cpus: number;
  cpuModel: string;
  kernel: string;
  deno: string;
  conntrack: string;
}

/** Full-read comparison at one table size. */
export interface SizeResult {
  size: number;
  /** Entries in the kernel table after loading (`conntrack -C`). */
  loaded: number;
  loadMs: number;
  /** `conntrack -L` wall times, ms. */
  reference: Summary;
  /** Entries each `conntrack -L` run reported. */
  referenceShown: number[];
  /** `ip netns exec NS true` wall times, ms. */
  execOverhead: Summary;
  /** conntop refresh times (start of refresh → apply done), ms. */
  conntop: Summary;
  /** Of which the worker's dump + decode (`status.dumpMs`), ms. */
  conntopDump: Summary;
  /** Of which post → apply done on the main thread, ms. */
  conntopHandOver: Summary;
  /** Records in each refresh's batch. */
  conntopRecords: number[];
  /** The first batch: every connection as new. */
  cold: RefreshSample;
  /** `model.size` after the last refresh. */
  modelSize: number;
  /** conntop median / conntrack -L median. */
  ratio: number;
  /** Warnings from the collector. */
  warnings: string[];
}

/** The steady-state measurement. */
export interface SteadyResult {
  size: number;
  loaded: number;
  /** conntop printing only the churn (as a monitor shows a screenful, not every connection). */
  conntop: ConntopSteady;
  /** conntop printing every connection (all of them at start-up): the output's own cost. */
  conntopAll: ConntopSteady | null;
  reference: ReferenceSteady;
}

/** Everything the benchmark found. */
export interface BenchResults {
  host: HostInfo;
  runs: number;
  sizes: SizeResult[];
  steady: SteadyResult | null;
  /** Worker minus main-thread clock offset, ms. */
  clockSkewMs: number;
  /** Conntrack entries elsewhere on the host, at the start and the end of the run. */
  foreign: { start: ForeignEntries; end: ForeignEntries };
  /** `conntrack -L` wall times on an empty namespace, ms (null when not measured). */
  emptyList: Summary | null;
  /** The interactive monitor's benchmark, when it ran. */
  ui: UiResult | null;
  /** GeoIP lookups per second, one result per round, when the enrichment part ran. */
  geoip: GeoipBenchResult[] | null;
  /** The enrichment caches on one table, when the enrichment part ran. */
  enrich: EnrichResult | null;
  /** The client-server mode, when it ran. */
  server: ServerResult | null;
}

/** `12,345`. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** Milliseconds with three significant digits or so: `4.21 ms`, `42.1 ms`, `421 ms`. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  const digits = x < 10 ? 2 : x < 100 ? 1 : 0;
  return `${x.toFixed(digits)} ms`;
}

/** KiB as MiB with one decimal. */
export function mib(kib: number | null): string {
  return kib === null ? "n/a" : `${(kib / 1024).toFixed(1)} MiB`;
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(1)} %` : "n/a";
}

function ratio(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : "n/a";
}

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/**
 * The markdown report: a heading line, the table against `conntrack -L` and its notes (when
 * measured), then the interactive monitor's table and its notes (when measured).
 */
export function renderMarkdown(r: BenchResults): string {
  const h = r.host;
  const out: string[] = [];
  out.push(
    `Measured ${h.date} on ${h.cpus} × ${h.cpuModel}, Linux ${h.kernel}, Deno ${h.deno}, ` +
      `${h.conntrack}.`,
  );
  const general = generalNotes(r);
  if (r.sizes.length > 0 || r.steady !== null) {
    out.push("");
    out.push(...collectorTable(r));
    out.push("");
    out.push(...notes(r).concat(general).map((n) => `- ${n}`));
  }
  let generalSaid = r.sizes.length > 0 || r.steady !== null;
  if (r.ui !== null) {
    out.push("");
    out.push(...uiTable(r.ui));
    out.push("");
    const tail = generalSaid ? [] : general.slice(0, 1);
    out.push(...uiNotes(r.ui).concat(tail).map((n) => `- ${n}`));
    generalSaid = true;
  }
  if (r.geoip !== null || r.enrich !== null || bothDrives(r.ui) !== null) {
    out.push("");
    out.push(...enrichTables(r));
    out.push("");
    const tail = generalSaid ? [] : general.slice(0, 1);
    out.push(...enrichNotes(r).concat(tail).map((n) => `- ${n}`));
    generalSaid = true;
  }
  if (r.server !== null) {
    out.push("");
    out.push(...serverTables(r.server));
    out.push("");
    const tail = generalSaid ? [] : general.slice(0, 1);
    out.push(...serverNotes(r.server).concat(tail).map((n) => `- ${n}`));
  }
  return out.join("\n") + "\n";
}

function collectorTable(r: BenchResults): string[] {
  const out: string[] = [];
  out.push(row(["Measure", "`conntrack -L`", "conntop", "conntop ÷ conntrack"]));
  out.push(row([":--", "--:", "--:", "--:"]));
  for (const s of r.sizes) {
    out.push(row([
      `Full read of ${count(s.size)} connections (median of ${r.runs})`,
      ms(s.reference.median),
      ms(s.conntop.median),
      ratio(s.ratio),
    ]));
  }
  for (const s of r.sizes) {
    out.push(row([
      `First read at start-up, ${count(s.size)} connections`,
      "—",
      ms(s.cold.totalMs),
      "",
    ]));
  }
  const st = r.steady;
  if (st !== null) {
    const c = st.conntop;
    const f = st.reference;
    const secs = Math.round(c.seconds);
    out.push(row([
      `CPU, ${count(st.size)} connections read every 1 s for ${secs} s (% of one core)`,
      pct(f.cpuPercent),
      pct(c.cpuPercent),
      ratio(c.cpuPercent / f.cpuPercent),
    ]));
    out.push(row([
      `Peak memory (RSS) at ${count(st.size)} connections`,
      mib(f.peakRssKiB),
      mib(c.peakRssKiB),
      "",
    ]));
    out.push(row([
      `Memory (RSS) at the end of the ${secs} s`,
      "—",
      mib(c.rssKiB[c.rssKiB.length - 1] ?? null),
      "",
    ]));
    const a = st.conntopAll;
    if (a !== null) {
      out.push(row([
        `The same, printing all ${count(st.size)} connections at start-up: CPU / peak RSS`,
        "—",
        `${pct(a.cpuPercent)} / ${mib(a.peakRssKiB)}`,
        "",
      ]));
    }
    out.push(row([
      `Refreshes in ${secs} s (gap between them: mean / max)`,
      `${f.runs} (${ms(f.gapMeanMs)} / ${ms(f.gapMaxMs)})`,
      `${c.refreshes} (${ms(c.gapMeanMs)} / ${ms(c.gapMaxMs)}), ${c.missed} missed`,
      "",
    ]));
  }
  return out;
}

function notes(r: BenchResults): string[] {
  const n: string[] = [];
  const last = r.sizes[r.sizes.length - 1];
  n.push(
    "Tables are synthetic but realistic (55 % TCP in several states, 30 % UDP, 5 % ICMP, 5 % " +
      "IPv6, a little SCTP, UDP-Lite, GRE and ICMPv6; a quarter of IPv4 TCP and UDP NATed), " +
      "loaded with " +
      "`conntrack -R` into a throw-away network namespace with accounting and timestamps on (every " +
      "entry carries counters and a start time), and idle while measured.",
  );
  if (last !== undefined) {
    n.push(
      "Full read, `conntrack -L`: wall time of `ip netns exec NS conntrack -L > /dev/null` " +
        `(of which \`ip netns exec NS true\` alone takes ${ms(last.execOverhead.median)}). ` +
        "conntop: one refresh of the collector running in the benchmark's process, from the " +
        "worker starting it to the main thread having applied the batch to its model: kernel " +
        "dump, decoding into the worker's table, diff, hand-over and `apply()` " +
        `(at ${count(last.size)}: dump and decoding ${ms(last.conntopDump.median)}, ` +
        `hand-over and apply ${ms(last.conntopHandOver.median)}). Runs alternate between the ` +
        "two tools.",
    );
    n.push(
      "First read: conntop's first refresh, where every connection is new and handed over " +
        "whole.",
    );
  }
  const sizeIssues = r.sizes.filter((s) =>
    s.modelSize !== s.size || s.loaded !== s.size || s.referenceShown.some((x) => x !== s.size)
  );
  if (sizeIssues.length === 0 && r.sizes.length > 0) {
    n.push(
      "Both tools saw every connection: `conntrack -L` listed and conntop's `model.size` held " +
        "exactly N at every size.",
    );
  }
  for (const s of sizeIssues) {
    n.push(
      `**Count mismatch at ${count(s.size)}**: kernel table ${count(s.loaded)}, ` +
        `\`conntrack -L\` listed ${s.referenceShown.map(count).join("/")}, ` +
        `conntop's model.size ${count(s.modelSize)}.`,
    );
  }
  const st = r.steady;
  if (st !== null) {
    const c = st.conntop;
    n.push(
      "CPU and memory: conntop is the real program, " +
        "`conntop --stream -o ndjson --interval 1 --src 172.16.0.0/12`, its output drained: " +
        "it collects and models every connection but prints only the churn's flows, as the " +
        "live monitor shows a screenful rather than every connection (the row 'printing all' " +
        "is the same without the filter, printing every connection as `new` at start-up). " +
        `CPU is utime + stime of all its threads (/proc/PID/stat) over ` +
        `${c.seconds.toFixed(1)} s after start-up, peak memory its VmHWM, which includes ` +
        `start-up; VmRSS, sampled every ` +
        `second after start-up, ranged from ${mib(Math.min(...c.rssKiB))} to ` +
        `${mib(Math.max(...c.rssKiB))}. ` +
        "`conntrack -L > /dev/null` was started once a second for as long; its CPU is that of " +
        "the children of the benchmark, its memory the max RSS of one run. Of the CPU, time " +
        `in the kernel (system time) was ${pct(c.systemPercent)} of a core for conntop and ` +
        `${pct(st.reference.systemPercent)} for \`conntrack -L\`. Everything else ` +
        `on the machine used ${pct(c.otherCpuPercent)} of one core while conntop ` +
        `ran (the churn below included), ${pct(st.reference.otherCpuPercent)} while ` +
        "`conntrack -L` ran.",
    );
    n.push(
      "Refreshes: a few short-lived flows are inserted every 500 ms so that every conntop " +
        "refresh prints lines; the refreshes are the distinct `time` values of its output. " +
        "A refresh's `time` is stamped when its dump ends, so the gaps also carry the " +
        "variation of the dump's length; their mean shows whether the schedule drifts. " +
        `conntop started in ${(c.coldStartMs / 1000).toFixed(1)} s (first refresh printed). ` +
        `Its output reached the reader ${ms(c.outputLagMs)} (median) after each refresh time.`,
    );
  }
  return n;
}

/** Notes on the whole run: other conntrack entries on the host, and the clock check. */
function generalNotes(r: BenchResults): string[] {
  const n: string[] = [];
  const fs = r.foreign.start;
  const fe = r.foreign.end;
  const where = (f: ForeignEntries) =>
    Object.entries(f.namespaces).filter(([, v]) => v > 0).map(([k, v]) => `${k}: ${count(v)}`)
      .concat(f.root ? [`root: ${count(f.root)}`] : []).join(", ");
  n.push(
    "The kernel keeps one conntrack hash table for all network namespaces and a dump walks " +
      "all of it, so entries elsewhere on the host slow both tools alike: " +
      (fs.total === 0 && fe.total === 0
        ? "there were none during this run"
        : `${count(fs.total)} at the start of this run (${where(fs)}) and ${count(fe.total)} ` +
          `at its end (${where(fe)})`) +
      (r.emptyList === null
        ? "."
        : `; \`conntrack -L\` of an empty namespace took ${ms(r.emptyList.median)}.`),
  );
  // Rounded first, so that a skew of -0.001 does not print as "-0.00".
  const skew = Math.round(r.clockSkewMs * 100) / 100 || 0;
  n.push(
    `Clock check: the worker's and the main thread's epoch clocks differ by ` +
      `${skew.toFixed(2)} ms.`,
  );
  return n;
}

// --- the interactive monitor ---

/** A number as `ms()` prints it, without the unit. */
function num(x: number): string {
  return ms(x).replace(/ ms$/, "");
}

function triple(p: Percentiles): string {
  return p.n === 0 ? "n/a" : `${num(p.p50)} / ${num(p.p99)} / ${num(p.max)} ms`;
}

function latencies(keys: readonly KeyPress[]): Percentiles {
  return percentiles(keys.flatMap((k) => (k.ms === null ? [] : [k.ms])));
}

function lost(keys: readonly KeyPress[]): number {
  return keys.filter((k) => k.ms === null).length;
}

function verdict(value: number, limit: number): string {
  return Number.isFinite(value) ? (value <= limit ? "met" : "**missed**") : "n/a";
}

const keyFrames = (frames: readonly ProbeFrame[]) => frames.filter((f) => f.cause === "key");
const refreshFrames = (frames: readonly ProbeFrame[]) => frames.filter((f) => f.cause === "batch");

/** The UI's figures, derived once for the table and the notes. */
function uiFigures(u: UiResult) {
  const c = u.conntop;
  const navFrames = keyFrames(c.probe.nav);
  const sortFrames = keyFrames(c.probe.sort);
  const refreshes = refreshFrames(c.probe.nav);
  const recomputed = refreshes.filter(rowsRecomputed);
  return {
    refNav: latencies(u.reference.nav),
    refSort: latencies(u.reference.sort),
    nav: latencies(c.nav),
    sort: latencies(c.sort),
    navInternal: percentiles(navFrames.map((f) => f.written - f.input)),
    navFrame: percentiles(navFrames.map((f) => f.render + f.diff)),
    navBytes: percentiles(navFrames.map((f) => f.bytes)),
    sortInternal: percentiles(sortFrames.map((f) => f.written - f.input)),
    sortRows: percentiles(sortFrames.filter(rowsRecomputed).map((f) => f.rows)),
    sortDiff: percentiles(sortFrames.map((f) => f.diff)),
    refreshes,
    refreshRows: percentiles(recomputed.map((f) => f.rows)),
    refreshFrame: percentiles(recomputed.map((f) => f.render + f.diff)),
  };
}

function uiTable(u: UiResult): string[] {
  const f = uiFigures(u);
  const n = count(u.loaded);
  const s = u.sorts;
  const out: string[] = [];
  out.push(
    `Interactive monitor: ${n} connections refreshed every second (\`--interval 1\`), ` +
      `${u.width}×${u.height} terminal (${u.tmux}); conntop with enrichment ` +
      (u.conntop.enrichment === "on"
        ? "on (its defaults: GeoIP, hostnames, service names)."
        : `off (\`${u.conntop.args.join(" ")}\`).`),
  );
  out.push("");
  out.push(row(["Measure", "Reference", "conntop", "conntop ÷ reference", "Target"]));
  out.push(row([":--", "--:", "--:", "--:", ":--"]));
  const both = (a: Percentiles, b: Percentiles) =>
    `${ratio(b.p50 / a.p50)} / ${ratio(b.p99 / a.p99)}`;
  out.push(row([
    `Keypress to screen, ↑ ↓ PgUp PgDn, p50 / p99 / max (${f.nav.n} keys)`,
    triple(f.refNav),
    triple(f.nav),
    both(f.refNav, f.nav),
    `p99 ≤ 50 ms: ${verdict(f.nav.p99, 50)}`,
  ]));
  if (u.conntop.sort.length > 0) {
    out.push(row([
      `Keypress to screen, \`>\` (next sort column: all ${n} rows re-sorted), ` +
      `p50 / p99 / max (${f.sort.n} keys)`,
      triple(f.refSort),
      triple(f.sort),
      both(f.refSort, f.sort),
      `re-sort ≤ 150 ms: ${verdict(f.sort.p99, 150)}`,
    ]));
  }
  out.push(row([
    "In conntop (frame probe), ↑ ↓ PgUp PgDn: key read → frame written, p50 / p99 / max",
    "—",
    triple(f.navInternal),
    "",
    "",
  ]));
  out.push(row([
    "Frame time of the visible page (render + diff), ↑ ↓ PgUp PgDn, p50 / p99 / max",
    "—",
    triple(f.navFrame),
    "",
    `≤ 5 ms: ${verdict(f.navFrame.p99, 5)}`,
  ]));
  if (u.conntop.sort.length > 0) {
    out.push(row([
      "In conntop, `>`: key read → frame written (re-sort included), p50 / p99 / max",
      "—",
      triple(f.sortInternal),
      "",
      "",
    ]));
  }
  out.push(row([
    `In conntop, each refresh: rows recomputed on the UI thread, p50 / p99 / max ` +
    `(${f.refreshRows.n} refreshes)`,
    "—",
    triple(f.refreshRows),
    "",
    "",
  ]));
  const refs = `${num(s.float64Sort.median)} / ${num(s.arraySort.median)} ms`;
  for (const cs of s.cases.filter((x) => x.table === "busy")) {
    const col = `${COLUMNS[cs.column].title} ${cs.desc ? "▼" : "▲"}`;
    out.push(row([
      `Re-sort of ${count(s.size)} rows by ${col}, in process (median of ${s.runs})`,
      refs,
      ms(cs.ms.median),
      `${ratio(cs.ms.median / s.float64Sort.median)} / ${ratio(cs.ms.median / s.arraySort.median)}`,
      `≤ 150 ms: ${verdict(cs.ms.median, 150)}`,
    ]));
  }
  out.push(row([
    `A refresh in the engine with every row changed (default sort: re-rank, page), in ` +
    `process (median of ${s.runs})`,
    refs,
    ms(s.rowsUpdate.busy.median),
    `${ratio(s.rowsUpdate.busy.median / s.float64Sort.median)} / ${
      ratio(s.rowsUpdate.busy.median / s.arraySort.median)
    }`,
    "",
  ]));
  return out;
}

function uiNotes(u: UiResult): string[] {
  const f = uiFigures(u);
  const c = u.conntop;
  const s = u.sorts;
  const n = count(u.loaded);
  const out: string[] = [];
  const lostKeys = lost(c.nav) + lost(c.sort) + lost(u.reference.nav) + lost(u.reference.sort);
  const args = ["conntop", "--netns", "NS", "--interval", "1", ...c.args].join(" ");
  out.push(
    "Keypress to screen is measured from outside, as a user sees it: conntop " +
      `(\`${args}\`, the baked-in permissions) runs in a pane of a ` +
      "private tmux server, and the benchmark sends each key with `send-keys` and captures the " +
      "pane (`capture-pane -e`) whenever the pane has written something (the `%output` of a " +
      "control-mode client) and every 3 ms otherwise, until the key's effect shows: the cursor " +
      "bar on another connection (↑ ↓ PgUp PgDn), the sort arrow on another column (`>`). " +
      "Latency = effect captured − key sent; nothing is subtracted. " +
      (lostKeys === 0
        ? "Every key's effect showed."
        : `**${lostKeys} keys showed no effect within 5 s** and are left out.`),
  );
  out.push(
    "Reference: the same drive and capture against a trivial raw-mode Deno program " +
      "(scripts/_bench/ui_ref.ts) that draws the same layout and moves a cursor bar and a sort " +
      "arrow the same way, redrawing only what changed; its latency is what tmux, the tty and " +
      "the runtime cost. Ratios are conntop's p50 and p99 over the reference's.",
  );
  out.push(
    `Keys went to conntop at random moments spread over the refresh second (a pause of ` +
      `${c.gapMs[0]}-${c.gapMs[1]} ms before each; ${u.reference.gapMs[0]}-` +
      `${u.reference.gapMs[1]} ms for the reference), ↑ and ↓ alternating, one time in five a ` +
      `PgDn then PgUp, a page below the top of the list; then the \`>\` keys, each cycling ` +
      "to the next column. The table (the benchmark's synthetic mix, loaded with " +
      "`conntrack -R`) is idle, so a few short-lived UDP flows were inserted every 500 ms " +
      `(${c.churnTicks} times), as on a live system: every refresh carries changes and makes ` +
      `the UI recompute its rows (${f.refreshRows.n} of the ${f.refreshes.length} refreshes ` +
      "during the ↑ ↓ keys did).",
  );
  const tr = c.traces.nav;
  if (tr !== null) {
    const hit = tr.keys.filter((k) => k.refreshMs > 0);
    const miss = tr.keys.filter((k) => k.refreshMs === 0);
    const ph = percentiles(hit.map((k) => k.outerMs));
    const pm = percentiles(miss.map((k) => k.outerMs));
    const waited = hit.length === 0
      ? `none of the ${tr.keys.length} ↑ ↓ PgUp PgDn keys arrived while the UI thread was ` +
        "drawing a refresh's frame. "
      : `${hit.length} of the ${tr.keys.length} ↑ ↓ PgUp PgDn keys arrived while the UI ` +
        `thread was drawing a refresh's frame and waited for it: those took ${triple(ph)} ` +
        `(p50 / p99 / max), the other ${miss.length} ${triple(pm)}. `;
    out.push(
      "Where a key's time goes, from the keys matched one to one with the frames they caused " +
        "(the frame probe, `CONNTOP_PROBE`, clocks aligned on the median of effect captured − " +
        `frame written): ${waited}A refresh's frame recomputes the rows (${
          triple(f.refreshRows)
        }) and takes ${triple(f.refreshFrame)} in all. A key's own frame — moving the cursor, ` +
        "drawing the page and writing the difference " +
        `(${f.navBytes.p50} / ${f.navBytes.p99} / ${f.navBytes.max} bytes) — is the ` +
        '"key read → frame written" row; the rest of a key\'s time is tmux and the tty (the ' +
        "reference) and the wait for the UI thread. On a table whose rates differ, the " +
        `refresh with every row changed takes ${ms(s.rowsUpdate.busy.median)} in the engine ` +
        `in process (the last row) against ${ms(s.rowsUpdate.idle.median)} for one that ` +
        "changed nothing.",
    );
  }
  if (c.sort.length > 0) {
    out.push(
      "`>`: the time until the sort arrow has moved, the worst case of interaction: the key's " +
        `frame re-sorts every row first (${triple(f.sortRows)} in its \`rows\`), and the ` +
        "column header is the first line of the frame written, before the rows (writing " +
        `the changed page took ${triple(f.sortDiff)}). The reference's \`>\` only moves its ` +
        "arrow.",
    );
  }
  const idle = s.cases.filter((x) => x.table === "idle")
    .map((x) => `${COLUMNS[x.column].title} ${ms(x.ms.median)}`).join(", ");
  const sort2 = s.sort2 === null
    ? "none"
    : `${COLUMNS[s.sort2.column].title} ${s.sort2.desc ? "▼" : "▲"}`;
  out.push(
    "Re-sort in process: conntop's engine (src/engine/) ordering every connection collected " +
      `from the same namespace by each column in its default direction with the default ` +
      `second key (${sort2}): the query that changes the sort and the settling of the whole ` +
      `order, in a fresh engine (no sort key cached); ` +
      `${s.runs} timed runs after two untimed ones. The loaded table is idle (every rate and ` +
      "counter zero), which leaves the rate column nothing to sort, so the table rows use " +
      "the same records with synthetic rates and counters (45 % of the connections active, " +
      "10 B/s to 10 MB/s, log-uniform); on the idle table as loaded: " +
      `${idle}, and a refresh that changed nothing ${ms(s.rowsUpdate.idle.median)}. ` +
      `References, in the ` +
      `same process on ${count(s.size)} random numbers: \`Float64Array.prototype.sort()\` ` +
      "(no comparator) / `Array.prototype.sort((a, b) => a - b)`; the ratios are over each.",
  );
  out.push(
    `conntop showed all ${n} connections ${(c.startupMs / 1000).toFixed(1)} s after it was ` +
      `started. While the keys were sent it used ${pct(c.cpuPercent)} of one core (its ` +
      "collector reads the whole table every second) and everything else on the machine " +
      `(tmux, this benchmark, the churn) ${pct(c.otherCpuPercent)}; its peak RSS was ` +
      `${mib(c.peakRssKiB)}.`,
  );
  return out;
}

// --- enrichment ---

/** The UI's conntop runs by enrichment. */
function drivesOf(u: UiResult): { on: ConntopDrive | null; off: ConntopDrive | null } {
  const all = [u.conntop, ...(u.conntopOff === null ? [] : [u.conntopOff])];
  return {
    on: all.find((d) => d.enrichment === "on") ?? null,
    off: all.find((d) => d.enrichment === "off") ?? null,
  };
}

/** The UI's runs with enrichment on and off, when both were measured. */
function bothDrives(u: UiResult | null): { on: ConntopDrive; off: ConntopDrive } | null {
  if (u === null) return null;
  const { on, off } = drivesOf(u);
  return on === null || off === null ? null : { on, off };
}

/** Lookups per second as millions: `1.12 M`. */
function perSec(x: number): string {
  return `${(x / 1e6).toFixed(2)} M`;
}

function share(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(2)} %` : "n/a";
}

function pairCell(a: Percentiles, b: Percentiles): string {
  return `${ratio(b.p50 / a.p50)} / ${ratio(b.p99 / a.p99)}`;
}

/** The sort column each `>` of a drive moved to: the default columns, cycling from the sort's. */
function sortTargets(count: number): string[] {
  const s = defaultSettings();
  const ids = s.columns.map((c) => c.id);
  const start = ids.indexOf(s.sort.column);
  return Array.from({ length: count }, (_, k) => ids[(start + k + 1) % ids.length]!);
}

/** Latencies of the `>` keys of `d` that moved the sort onto column `id`, ms. */
function ontoColumn(d: ConntopDrive, id: string): number[] {
  const targets = sortTargets(d.sort.length);
  return d.sort.flatMap((k, i) => (targets[i] === id && k.ms !== null ? [k.ms] : []));
}

function enrichTables(r: BenchResults): string[] {
  const out: string[] = [];
  const g = r.geoip;
  if (g !== null && g.length > 0) {
    const n = g[0]!.n;
    out.push(
      `Enrichment: GeoIP lookups in process, ${count(n)} random public addresses ` +
        `(half IPv4, half IPv6), ${g.length === 1 ? "one round" : `median of ${g.length} rounds`}.`,
    );
    out.push("");
    const range = g.length > 1 ? " (min–max)" : "";
    out.push(row(["GeoIP backend", `Lookups per second${range}`, `÷ mmdb-lib${range}`]));
    out.push(row([":--", "--:", "--:"]));
    const lines: [string, (x: GeoipBenchResult) => number][] = [
      ["mmdb-lib (TypeScript), the embedded country .mmdb: the reference", (x) => x.libPerSec],
      ["libmaxminddb through FFI, the same file", (x) => x.ffiPerSec],
      [
        "The embedded data as conntop opens it (country through mmdb-lib + AS range table)",
        (x) => x.embeddedPerSec,
      ],
      ["The AS range table alone", (x) => x.asnTablePerSec],
    ];
    const spread = (xs: number[], fmt: (x: number) => string) =>
      xs.length === 1
        ? fmt(xs[0]!)
        : `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
    for (const [what, get] of lines) {
      out.push(row([
        what,
        spread(g.map(get), perSec),
        spread(g.map((x) => get(x) / x.libPerSec), ratio),
      ]));
    }
  }
  const e = r.enrich;
  if (e !== null) {
    if (out.length > 0) out.push("");
    out.push(
      `Enrichment caches: ${count(e.loaded)} connections, ${e.refreshes} refreshes, ` +
        `${count(e.keys)} keys (scrolling, sorting by DCC), ${e.width}×${e.height} screen.`,
    );
    out.push("");
    out.push(row(["Measure", "Value"]));
    out.push(row([":--", "--:"]));
    const st = e.store, d = e.distinct, w = e.worker;
    out.push(row([
      "Distinct addresses in the table (sources / destinations), of which public",
      `${count(d.all)} (${count(d.src)} / ${count(d.dst)}), ${count(d.public)} public`,
    ]));
    out.push(row([
      "Store (main thread): address look-ups → entries made; hit ratio",
      `${count(st.lookups)} → ${count(st.entries)}; ${share(st.lookups - st.entries, st.lookups)}`,
    ]));
    const by = st.lookupsBy;
    out.push(row([
      "Of the look-ups, made in frames after a refresh / a sort key / a scroll key / answers",
      `${count(by.refresh)} / ${count(by.sort)} / ${count(by.scroll)} / ${count(by.answers)}`,
    ]));
    out.push(row([
      "GeoIP: public addresses seen → asked of the worker → lookups done (worker time), " +
      "answers naming a country",
      `${count(st.publicEntries)} → ${count(st.geoAsked)} → ${count(w.geoLookups)} ` +
      `(${ms(w.geoMs)}), ${count(st.geoCountries)}`,
    ]));
    out.push(row([
      "GeoIP lookups done ÷ address look-ups of the store / ÷ its entries",
      `${share(w.geoLookups, st.lookups)} / ${share(w.geoLookups, st.entries)}`,
    ]));
    out.push(row([
      "Hostnames: wanted by the rows drawn → asked of the worker; store hit ratio",
      `${count(st.hostWants)} → ${count(st.hostAsked)}; ` +
      share(st.hostWants - st.hostAsked, st.hostWants),
    ]));
    out.push(row([
      "Worker's resolver (`Enricher.stats()`): misses / hits / entries",
      `${count(w.dns.misses)} / ${count(w.dns.hits)} / ${count(w.dns.entries)}`,
    ]));
    out.push(row([
      "Store's retained heap (main thread)",
      e.memory.entries > 0
        ? `${mib(e.memory.bytes / 1024)} for ${count(e.memory.entries)} entries ` +
          `(${Math.round(e.memory.bytes / e.memory.entries)} B each)`
        : "n/a",
    ]));
  }
  const u = r.ui;
  const dr = bothDrives(u);
  if (e !== null || dr !== null) {
    if (out.length > 0) out.push("");
    const where = [
      ...(e !== null ? [`the main thread in process (${count(e.connections)} connections)`] : []),
      ...(dr !== null && u !== null
        ? [`the monitor in tmux (${count(u.loaded)} connections, refreshed every second)`]
        : []),
    ];
    out.push(`Enrichment off and on: ${where.join(" and ")}.`);
    out.push("");
    out.push(row(["Measure", "Enrichment off", "Enrichment on", "on ÷ off", "Target"]));
    out.push(row([":--", "--:", "--:", "--:", ":--"]));
    if (e !== null) {
      const f = e.frames;
      const line = (what: string, p: { on: Percentiles; off: Percentiles }) =>
        out.push(row([
          `${what}, p50 / p99 / max (${p.on.n} frames)`,
          triple(p.off),
          triple(p.on),
          pairCell(p.off, p.on),
          "",
        ]));
      line("In process: frame after a refresh (rows recomputed, page drawn, diff)", f.refresh);
      line("In process: frame after a scroll key (PgDn, End, PgUp, Home)", f.scroll);
      line("In process: frame after a sort key (`<` onto DCC, `I`, `>` off it)", f.sort);
      out.push(row([
        `In process: frame drawn because answers arrived, p50 / p99 / max (${f.answers.n} frames)`,
        "—",
        triple(f.answers),
        "",
        "",
      ]));
      const s = e.sorts;
      out.push(row([
        `In process: re-sort of ${count(e.connections)} rows by DCC ▲, without a store ` +
        `(median of ${s.runs})`,
        ms(s.countryOff.median),
        ms(s.country.median),
        ratio(s.country.median / s.countryOff.median),
        `≤ 150 ms: ${verdict(s.country.median, 150)}`,
      ]));
      out.push(row([
        "In process: the same, off as the monitor's `--no-geoip` makes it (a store, no answers)",
        ms(s.countryNoGeo.median),
        ms(s.country.median),
        ratio(s.country.median / s.countryNoGeo.median),
        "",
      ]));
      out.push(row([
        `In process: re-sort by DESTINATION ▲, the address itself (median of ${s.runs})`,
        "—",
        ms(s.address.median),
        "",
        "",
      ]));
    }
    if (dr !== null) {
      const on = dr.on, off = dr.off;
      const nav = (d: ConntopDrive) => latencies(d.nav);
      const srt = (d: ConntopDrive) => latencies(d.sort);
      const refreshRows = (d: ConntopDrive) =>
        percentiles(refreshFrames(d.probe.nav).filter(rowsRecomputed).map((f) => f.rows));
      const navFrame = (d: ConntopDrive) =>
        percentiles(keyFrames(d.probe.nav).map((f) => f.render + f.diff));
      out.push(row([
        `Monitor: keypress to screen, ↑ ↓ PgUp PgDn, p50 / p99 / max (${nav(on).n} keys)`,
        triple(nav(off)),
        triple(nav(on)),
        pairCell(nav(off), nav(on)),
        `p99 ≤ 50 ms: ${verdict(nav(on).p99, 50)}`,
      ]));
      if (on.sort.length > 0 && off.sort.length > 0) {
        out.push(row([
          `Monitor: keypress to screen, \`>\` (all rows re-sorted), p50 / p99 / max ` +
          `(${srt(on).n} keys)`,
          triple(srt(off)),
          triple(srt(on)),
          pairCell(srt(off), srt(on)),
          `re-sort ≤ 150 ms: ${verdict(srt(on).p99, 150)}`,
        ]));
      }
      const dccOff = ontoColumn(off, "dst_country"), dccOn = ontoColumn(on, "dst_country");
      if (dccOn.length > 0 && dccOff.length > 0) {
        const worst = Math.max(...dccOn);
        out.push(row([
          `Monitor: keypress to screen, \`>\` onto DCC (re-sort by country; ` +
          `${dccOn.length === 1 ? "one key" : `${dccOn.length} keys`})`,
          dccOff.map(ms).join(", "),
          dccOn.map(ms).join(", "),
          ratio(worst / Math.max(...dccOff)),
          `re-sort ≤ 150 ms: ${verdict(worst, 150)}`,
        ]));
      }
      out.push(row([
        "Monitor: frame time of the visible page (render + diff), ↑ ↓ PgUp PgDn, p50 / p99 / max",
        triple(navFrame(off)),
        triple(navFrame(on)),
        pairCell(navFrame(off), navFrame(on)),
        `≤ 5 ms: ${verdict(navFrame(on).p99, 5)}`,
      ]));
      out.push(row([
        "Monitor: rows recomputed at each refresh, p50 / p99 / max",
        triple(refreshRows(off)),
        triple(refreshRows(on)),
        pairCell(refreshRows(off), refreshRows(on)),
        "",
      ]));
      out.push(row([
        "Monitor: CPU while the keys were sent (% of one core) / peak RSS",
        `${pct(off.cpuPercent)} / ${mib(off.peakRssKiB)}`,
        `${pct(on.cpuPercent)} / ${mib(on.peakRssKiB)}`,
        `${ratio(on.cpuPercent / off.cpuPercent)} / ${ratio(on.peakRssKiB / off.peakRssKiB)}`,
        "",
      ]));
    }
  }
  return out;
}

function lookupText(p: LookupProbe): string {
  const outcomes = Object.entries(p.outcomes).map(([k, v]) => `${k} ${v}`).join(", ");
  const slow = p.ms.values.filter((x) => x >= 1000).length;
  return `${p.ms.n} calls one after the other: ${outcomes}; ${triple(p.ms)} (p50 / p99 / ` +
    `max)${slow > 0 ? `, ${slow} of them took a second or more` : ""}`;
}

function enrichNotes(r: BenchResults): string[] {
  const out: string[] = [];
  const g = r.geoip?.[0];
  if (g !== undefined) {
    out.push(
      "GeoIP: `GeoIp.lookup()` over the same addresses for each backend in the benchmark's " +
        "process, one warm-up pass, then passes for at least 1 s (scripts/_bench/geoip.ts). " +
        "FFI and mmdb-lib read the same file, data/geoip/country.mmdb " +
        `(${mib(g.countryBytes / 1024)}); the AS range table is data/geoip/asn-ranges.bin ` +
        `(${mib(g.asnTableBytes / 1024)}). Opening the embedded data took ` +
        `${ms(g.embeddedOpenMs)} (the AS table alone ${ms(g.asnTableLoadMs)}). The reference ` +
        "is mmdb-lib in the same process: a process per lookup (`mmdblookup`) costs " +
        "milliseconds each and would measure process start-up, not the readers; what matters " +
        "is FFI against the pure TypeScript reader on the same file. The lookups run in the " +
        "enrichment worker, once per public address.",
    );
  }
  const e = r.enrich;
  if (e !== null) {
    const src = e.geoSources.map((s) => `${s.kind}: ${s.file.replace(/^.*\//, "")} (${s.backend})`)
      .join(", ");
    out.push(
      "Caches: conntop's collector, a `UiApp` with the store that `startEnrichment()` wires to " +
        "a real enrichment worker (as the monitor does; GeoIP " + (src || "none") + ", ready " +
        `after ${ms(e.readyMs)}), and a second \`UiApp\` without enrichment fed copies of the ` +
        "same batches and the same keys. The table is the benchmark's synthetic mix (servers " +
        "in six IPv4 /24s, three of them documentation ranges, and random IPv6 documentation " +
        "addresses; 4,096 client hosts), with a few short-lived flows inserted every 500 ms " +
        `(${e.churnTicks} times). Each refresh is followed by keys 30 ms apart: by turns the ` +
        "default sort, `<` onto DCC ▲, `I` (DCC ▼), `>` back to RATE; then " +
        "25 × PgDn, End, 3 × PgUp, Home. After each key, refresh and batch of answers a frame " +
        "is drawn and the store's questions sent (`flush()`), as in the monitor's paint. " +
        "The store keeps no counters: its methods are wrapped on the instance to count.",
    );
    const sortLookups = e.store.lookupsBy.refresh + e.store.lookupsBy.sort +
      e.store.lookupsBy.answers;
    out.push(
      "Where the look-ups come from: the rows drawn look up both addresses of each row on the " +
        "page, and a re-sort by DCC looks up the destination of every row " +
        `(${count(e.connections)} per re-sort). Those come after every refresh while sorted by ` +
        "DCC, at the sort keys, and — at most once a second — when answers arrive while sorted " +
        "by DCC; that last re-sort is done in the next frame, whichever it is, so a scroll key " +
        `can carry it (the max of the scroll frames). Frames after refreshes, sort keys and ` +
        `answers made ${share(sortLookups, e.store.lookups)} of the look-ups.`,
    );
    const statuses = Object.entries(e.hostStatus).map(([k, v]) => `${k} ${count(v)}`).join(", ");
    out.push(
      "Hostnames: the worker's resolver with its real lookup, getnameinfo(NI_NAMEREQD). The " +
        "drive runs in a child process inside the benchmark's namespace (`ip netns exec`), " +
        "which has no route to a DNS server, so nothing leaves the machine and every lookup " +
        `fails at once — ${lookupText(e.lookups)} — and is "failed" (answers by status at ` +
        `the end: ${statuses || "none"}; ${
          e.drainMs === null
            ? "**questions were still pending 30 s after the last key**"
            : e.drainMs < 1
            ? "none was pending after the last key"
            : `all answered ${ms(e.drainMs)} after the last key`
        }). ` +
        "The store keeps a name or a 'no name' for 10 minutes and a failure for one, and the drive is shorter, so " +
        "each address reaches the worker once: the resolver's own cache (its hits) only " +
        "serves questions repeated within its lifetimes, which this drive does not make.",
    );
    out.push(
      "Store memory: the retained heap of an `EnrichStore` holding the same entries, with " +
        "the hostnames asked and the answers received, built in a child process run with " +
        "`--v8-flags=--expose-gc` (heap used after full collections, before and after; " +
        "scripts/_bench/enrich_mem.ts). Frame times: both apps in the benchmark's process, " +
        "same batches and keys, alternating which goes first; they share one heap, so each " +
        "can pay for the other's garbage collection. In process, enrichment off is an app " +
        "without a store; the monitor always makes one, so with `-n -P --no-geoip` it still " +
        "formats and classifies every address it draws or sorts by DCC, without GeoIP or " +
        "hostnames (the second re-sort row).",
    );
  }
  const u = r.ui;
  const dr = u === null ? null : drivesOf(u);
  if (u !== null && dr !== null && dr.on !== null) {
    const on = dr.on;
    const answers = keyFrames(on.probe.nav).length === 0
      ? []
      : on.probe.nav.filter((f) => f.cause === "enrich");
    const answerTimes = percentiles(answers.map((f) => f.render + f.diff));
    const dcc = ontoColumn(on, "dst_country").map(ms);
    const proc = ontoColumn(on, "process").map(ms);
    out.push(
      "Monitor: the UI benchmark's drive, once with conntop's defaults (enrichment on: " +
        "GeoIP from the embedded data, hostnames, service names; the DCC and PROCESS columns " +
        "are on its default screen, PROCESS cut at the right edge; H shows hostnames) and " +
        (dr.off === null
          ? "not with enrichment off. "
          : `once with \`${dr.off.args.join(" ")}\`, one after the other on the same table. `) +
        "DCC shows a country for the servers in the three public /24s; PROCESS stays empty, " +
        "since no connection of the table belongs to a socket of the machine. " +
        `While the ↑ ↓ keys were sent, answers arriving made conntop draw ${answers.length} ` +
        `frames of their own (${triple(answerTimes)}). ` +
        (dcc.length > 0 ? `\`>\` onto DCC took ${dcc.join(", ")}` : "") +
        (proc.length > 0 ? `; onto PROCESS ${proc.join(", ")}.` : dcc.length > 0 ? "." : ""),
    );
    if (u.lookups !== null) {
      out.push(
        "The monitor's hostnames: its enrichment worker runs in the root namespace (only the " +
          "collector enters the benchmark's), so its lookups go to the host's resolver. " +
          `getnameinfo there, on the table's addresses: ${lookupText(u.lookups)}. A lookup ` +
          "that takes longer than the resolver's 2 s timeout is shown as unresolved " +
          '("timeout") and asked again after a minute by the store; none of this runs on the UI ' +
          "thread.",
      );
    }
  }
  return out;
}
