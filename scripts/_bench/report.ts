/**
 * The benchmark's results and their markdown rendering: one table with `conntrack -L` and
 * conntop side by side, followed by the notes that say what each number measures. Pure
 * functions: no I/O.
 *
 * @module
 */

import type { RefreshSample } from "./in_process.ts";
import type { ForeignEntries } from "./netns.ts";
import type { ConntopSteady, ReferenceSteady } from "./steady.ts";
import type { Summary } from "./stats.ts";

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
  /** `conntrack -L` wall times on an empty namespace, ms. */
  emptyList: Summary;
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

/** The markdown report: a heading line, the table, and notes. */
export function renderMarkdown(r: BenchResults): string {
  const h = r.host;
  const out: string[] = [];
  out.push(
    `Measured ${h.date} on ${h.cpus} × ${h.cpuModel}, Linux ${h.kernel}, Deno ${h.deno}, ` +
      `${h.conntrack}.`,
  );
  out.push("");
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
  out.push("");
  out.push(...notes(r).map((n) => `- ${n}`));
  return out.join("\n") + "\n";
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
      `; \`conntrack -L\` of an empty namespace took ${ms(r.emptyList.median)}.`,
  );
  // Rounded first, so that a skew of -0.001 does not print as "-0.00".
  const skew = Math.round(r.clockSkewMs * 100) / 100 || 0;
  n.push(
    `Clock check: the worker's and the main thread's epoch clocks differ by ` +
      `${skew.toFixed(2)} ms.`,
  );
  return n;
}
