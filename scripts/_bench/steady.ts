/**
 * Steady-state cost of refreshing a large table every second, measured on whole processes:
 *
 * - conntop: the real program, `deno run <baked-in permissions> main.ts --stream --netns NS
 *   --interval 1 -o ndjson [filter]`,
 *   spawned as a child whose output is drained (lines counted, never kept). Its CPU time is read
 *   from /proc/PID/stat (all its threads) at the start and the end of the window, its memory from
 *   /proc/PID/status (VmRSS every second, VmHWM at the end).
 * - the reference: `conntrack -L` with its output to /dev/null, started once a second for the
 *   same time; its CPU is this process's `cutime + cstime` (children waited for) over the
 *   window, so nothing else may run as a child of this process meanwhile.
 *
 * How conntop's refresh regularity is read without changing conntop: an idle table prints
 * nothing in `--stream` mode, so a churn (churn.ts) inserts a few short-lived flows every 500 ms.
 * Each refresh then prints lines carrying the refresh's `time`, and the distinct `time` values
 * are the refreshes: a true one-second refresh shows one per second with gaps of ~1000 ms. The
 * churn adds a handful of connections to 200,000; its own processes are children of this one
 * and do not count as conntop's CPU. It is stopped before the reference runs, whose CPU is
 * measured through this process's children.
 *
 * @module
 */

import { startChurn } from "./churn.ts";
import { CONNTOP_PERMISSIONS } from "../build.ts";
import type { Netns } from "../../tools/netns.ts";
import { runCommand } from "../../tools/run.ts";
import { conntrackList } from "./table.ts";
import { cpuTimes, identity, machineBusy, memory } from "./proc.ts";
import { RefreshTimes } from "./refresh_times.ts";
import { gaps, max, mean, median, min } from "./stats.ts";

const epochNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What {@linkcode measureConntop} found. */
export interface ConntopSteady {
  pid: number;
  /** /proc/PID/exe and comm of the measured process, to show it is deno itself. */
  exe: string;
  comm: string;
  threads: number;
  /** Length of the measuring window, in seconds. */
  seconds: number;
  cpuSeconds: number;
  /** CPU time over wall time, in percent of one core. */
  cpuPercent: number;
  /** Of `cpuPercent`, the part spent in the kernel (system time). */
  systemPercent: number;
  /** CPU used by everything else on the machine meanwhile (the churn included), % of one core. */
  otherCpuPercent: number;
  /** VmHWM at the end of the window (the peak since the process started), in KiB. */
  peakRssKiB: number;
  /** VmRSS once a second during the window, in KiB. */
  rssKiB: number[];
  /** From spawn to the last line of the first refresh (the whole table as `new`), in ms. */
  coldStartMs: number;
  /** Lines printed by the first refresh. */
  coldStartLines: number;
  /** Bytes printed by the first refresh. */
  coldStartBytes: number;
  /** Lines printed in all. */
  lines: number;
  /** Refreshes seen within the window. */
  refreshes: number;
  /** Gaps between consecutive refresh times within the window, in ms. */
  gapMeanMs: number;
  gapMinMs: number;
  gapMaxMs: number;
  /** Refreshes missing from the window: a gap of ~2 s counts one, ~3 s two, and so on. */
  missed: number;
  /** Median time from a refresh's `time` to its first line arriving here, in ms. */
  outputLagMs: number;
  /** Churn ticks and failed ticks. */
  churnTicks: number;
  churnFailures: number;
  exitCode: number | null;
  /** The child's stderr (first 4 KiB). */
  stderr: string;
}

/** Options of {@linkcode measureConntop}. */
export interface ConntopSteadyOptions {
  /** Path of conntop's main.ts. */
  mainTs: string;
  /** Length of the measuring window in seconds. */
  seconds: number;
  /** Called with progress lines. */
  log(line: string): void;
  /** Registers the child so that a signal handler can kill it; undefined unregisters. */
  track(child: Deno.ChildProcess | undefined): void;
  /** More conntop options, e.g. a filter. */
  extraArgs?: string[];
}

/** Runs conntop `--stream` on `ns` and measures it over `seconds` after it has warmed up. */
export async function measureConntop(
  ns: Netns,
  options: ConntopSteadyOptions,
): Promise<ConntopSteady> {
  // Deno.execPath() is the deno binary itself, so the child's pid is the process measured (no
  // shell or npm wrapper in between); identity() below shows it.
  const spawnedMs = epochNow();
  const child = new Deno.Command(Deno.execPath(), {
    // Exactly the permissions the build bakes into the binary, as users run it.
    args: [
      "run",
      ...CONNTOP_PERMISSIONS,
      options.mainTs,
      "--stream",
      "--netns",
      ns.name,
      "--interval",
      "1",
      "-o",
      "ndjson",
      ...(options.extraArgs ?? []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  options.track(child);
  const times = new RefreshTimes();
  const reading = (async () => {
    for await (const chunk of child.stdout) times.push(chunk, epochNow());
  })();
  let stderr = "";
  const readingErr = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      if (stderr.length < 4096) stderr += dec.decode(chunk, { stream: true });
    }
  })();
  const churn = startChurn(ns);
  let exitCode: number | null = null;
  let result: ConntopSteady;
  try {
    // Warm-up: the cold start (every connection printed as `new`) and two refreshes after it.
    const deadline = performance.now() + 180_000;
    while (times.refreshes.length < 3) {
      if (performance.now() > deadline) {
        throw new Error(
          `conntop printed ${times.refreshes.length} refreshes in 180 s (stderr: ${stderr.trim()})`,
        );
      }
      const st = await Promise.race([child.status, sleep(100).then(() => null)]);
      if (st !== null) {
        throw new Error(`conntop exited early with code ${st.code}: ${stderr.trim()}`);
      }
    }
    const cold = times.refreshes[0]!;
    const coldStartMs = cold.lastArrivedMs - spawnedMs;
    options.log(
      `conntop cold start: ${cold.lines} lines in ${
        (coldStartMs / 1000).toFixed(1)
      } s; measuring ${options.seconds} s`,
    );
    const who = identity(child.pid);
    const c0 = cpuTimes(child.pid);
    const busy0 = machineBusy();
    const t0 = performance.now();
    const e0 = epochNow();
    const rssKiB: number[] = [];
    for (let s = 1; s <= options.seconds; s++) {
      await sleep(t0 + s * 1000 - performance.now());
      rssKiB.push(memory(child.pid).rssKiB);
    }
    const c1 = cpuTimes(child.pid);
    const cpu0 = c0.self;
    const cpu1 = c1.self;
    const busy1 = machineBusy();
    const seconds = (performance.now() - t0) / 1000;
    const e1 = epochNow();
    const peakRssKiB = memory(child.pid).hwmKiB;
    const inWindow = times.refreshes.filter((r) => r.arrivedMs >= e0 && r.arrivedMs <= e1);
    const g = gaps(inWindow.map((r) => r.timeMs));
    result = {
      pid: child.pid,
      ...who,
      seconds,
      cpuSeconds: cpu1 - cpu0,
      cpuPercent: ((cpu1 - cpu0) / seconds) * 100,
      systemPercent: ((c1.selfSystem - c0.selfSystem) / seconds) * 100,
      otherCpuPercent: ((busy1 - busy0 - (cpu1 - cpu0)) / seconds) * 100,
      peakRssKiB,
      rssKiB,
      coldStartMs,
      coldStartLines: cold.lines,
      coldStartBytes: cold.bytes,
      lines: times.lines,
      refreshes: inWindow.length,
      gapMeanMs: mean(g),
      gapMinMs: min(g),
      gapMaxMs: max(g),
      missed: g.reduce((n, x) => n + Math.max(0, Math.round(x / 1000) - 1), 0),
      outputLagMs: median(inWindow.map((r) => r.arrivedMs - r.timeMs)),
      churnTicks: churn.ticks,
      churnFailures: churn.failures,
      exitCode: null,
      stderr: "",
    };
  } finally {
    await churn.stop();
    // SIGINT: conntop stops its collector and exits 130 (it changed nothing in the kernel here:
    // no --enable-acct, no --track, so even SIGKILL would leave nothing behind).
    try {
      child.kill("SIGINT");
    } catch {
      // already gone
    }
    const st = await Promise.race([child.status, sleep(10_000).then(() => null)]);
    if (st === null) child.kill("SIGKILL");
    exitCode = (await child.status).code;
    await reading.catch(() => {});
    await readingErr.catch(() => {});
    options.track(undefined);
  }
  return { ...result, exitCode, stderr };
}

/** What {@linkcode measureReference} found. */
export interface ReferenceSteady {
  /** Runs of `conntrack -L` started. */
  runs: number;
  seconds: number;
  cpuSeconds: number;
  cpuPercent: number;
  /** Of `cpuPercent`, the part spent in the kernel (system time). */
  systemPercent: number;
  /** CPU used by everything else on the machine meanwhile, in % of one core. */
  otherCpuPercent: number;
  /** Wall time of one run, median and max, in ms. */
  wallMedianMs: number;
  wallMaxMs: number;
  /** Gaps between the starts of consecutive runs, in ms. */
  gapMeanMs: number;
  gapMaxMs: number;
  /** Maximum RSS of one run (GNU time's %M), in KiB, or null when /usr/bin/time is missing. */
  peakRssKiB: number | null;
  /** Entries the last run listed. */
  shown: number;
}

/**
 * Starts `conntrack -L > /dev/null` in `ns` once a second (or right after the previous run when
 * one takes longer) for `seconds`, and measures the CPU of all of them. No other child of this
 * process may run meanwhile.
 */
export async function measureReference(ns: Netns, seconds: number): Promise<ReferenceSteady> {
  const c0 = cpuTimes("self");
  const cpu0 = c0.children;
  const busy0 = machineBusy();
  const t0 = performance.now();
  const starts: number[] = [];
  const walls: number[] = [];
  let shown = 0;
  for (let k = 0; k < seconds; k++) {
    const wait = t0 + k * 1000 - performance.now();
    if (wait > 0) await sleep(wait);
    starts.push(performance.now());
    const r = await conntrackList(ns);
    walls.push(r.wallMs);
    shown = r.shown;
  }
  // The window ends one period after the last start, as conntop's does.
  const wait = t0 + seconds * 1000 - performance.now();
  if (wait > 0) await sleep(wait);
  const elapsed = (performance.now() - t0) / 1000;
  const c1 = cpuTimes("self");
  const cpu1 = c1.children;
  const busy1 = machineBusy();
  const g = gaps(starts);
  return {
    runs: starts.length,
    seconds: elapsed,
    cpuSeconds: cpu1 - cpu0,
    cpuPercent: ((cpu1 - cpu0) / elapsed) * 100,
    systemPercent: ((c1.childrenSystem - c0.childrenSystem) / elapsed) * 100,
    otherCpuPercent: ((busy1 - busy0 - (cpu1 - cpu0)) / elapsed) * 100,
    wallMedianMs: median(walls),
    wallMaxMs: max(walls),
    gapMeanMs: mean(g),
    gapMaxMs: max(g),
    peakRssKiB: await referencePeakRss(ns),
    shown,
  };
}

async function referencePeakRss(ns: Netns): Promise<number | null> {
  try {
    const r = await runCommand([
      "/usr/bin/time",
      "-f",
      "maxrss=%M",
      ...ns.command("conntrack", "-L"),
    ], {
      check: false,
      stdout: "null",
    });
    const m = /maxrss=(\d+)/.exec(r.stderr);
    return m === null ? null : Number(m[1]);
  } catch (err) {
    if (
      err instanceof Deno.errors.NotFound ||
      (err instanceof Error && err.cause instanceof Deno.errors.NotFound)
    ) return null;
    throw err;
  }
}
