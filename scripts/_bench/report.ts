/**
 * The benchmark's results and their markdown rendering: one table with `conntrack -L` and
 * conntop side by side, followed by the notes that say what each number measures, and when the
 * interactive monitor was measured, a second table for it against its own references. Pure
 * functions: no I/O.
 *
 * @module
 */

import { COLUMNS } from "../../src/ui/mod.ts";
import type { RefreshSample } from "./in_process.ts";
import type { ForeignEntries } from "./netns.ts";
import type { ConntopSteady, ReferenceSteady } from "./steady.ts";
import type { Summary } from "./stats.ts";
import type { KeyPress, UiResult } from "./ui.ts";
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
  if (r.ui !== null) {
    out.push("");
    out.push(...uiTable(r.ui));
    out.push("");
    const tail = r.sizes.length > 0 || r.steady !== null ? [] : general.slice(0, 1);
    out.push(...uiNotes(r.ui).concat(tail).map((n) => `- ${n}`));
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
      `${u.width}×${u.height} terminal (${u.tmux}).`,
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
    `Rows recomputed at a refresh (\`RowList.update\`, default sort), in process ` +
    `(median of ${s.runs})`,
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
  out.push(
    "Keypress to screen is measured from outside, as a user sees it: conntop " +
      `(\`conntop --netns NS --interval 1\`, the baked-in permissions) runs in a pane of a ` +
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
        `recompute takes ${ms(s.rowsUpdate.busy.median)} in process (the last row) against ` +
        `${ms(s.rowsUpdate.idle.median)} on this idle one.`,
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
    "Re-sort in process: conntop's `sortSlots()` over every connection of a model filled by " +
      `its collector from the same namespace, each column in its default direction with the ` +
      `default second key (${sort2}), slots in slot order as the list passes them; ` +
      `${s.runs} timed runs after two untimed ones. The loaded table is idle (every rate and ` +
      "counter zero), which leaves the rate column nothing to sort, so the table rows use " +
      "the same records with synthetic rates and counters (45 % of the connections active, " +
      "10 B/s to 10 MB/s, log-uniform); on the idle table as loaded: " +
      `${idle}, and \`RowList.update\` ${ms(s.rowsUpdate.idle.median)}. References, in the ` +
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
