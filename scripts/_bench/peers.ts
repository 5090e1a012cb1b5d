/**
 * conntop against its peers on the same tables: `iptstate` (single-shot `iptstate -1` and its
 * ncurses monitor) and netsniff-ng's `flowtop` (an ncurses monitor), with `conntrack -L` as the
 * reference listing.
 *
 * For each table size, in a throw-away network namespace `ctpeer-<pid>-<size>` loaded with the
 * benchmark's synthetic table (scripts/_bench/entries.ts) and left idle:
 *
 * 1. One full listing, output to /dev/null: `conntrack -L`, `iptstate -1 -t` and the real
 *    `conntop --once -o table -n` (`deno run` with the baked-in permissions), runs alternating
 *    between the tools, under GNU time (wall time measured here, user + system time and max RSS
 *    from wait4) and `timeout -s KILL`. An untimed first run of each counts the lines printed, to
 *    check that nothing was skipped. An empty namespace gives each tool's floor.
 * 2. The monitors, one after the other in a private tmux server (`ctpeer-<pid>`, 160×50): conntop
 *    (`--netns NS --interval 1 -n`), `iptstate -R 1 -t` and `flowtop -46TUDIS -n -G -s -t 1`
 *    (both inside the namespace through `ip netns exec`): the time until each shows the table,
 *    then its CPU (utime + stime of its process tree) over a window and its peak RSS (VmHWM),
 *    and what its screen shows at the end.
 *
 * A tool that does not finish a listing within the timeout, or does not show the table within
 * the ready timeout, is reported as such and not run at larger sizes. Everything started here
 * — namespaces, the tmux server, the programs, temporary files — is removed on every way out;
 * {@linkcode cleanUpPeersSync} does it from signal handlers.
 *
 * Requires root, tmux, coreutils' `timeout`, GNU time (for CPU and RSS of the listings),
 * `iptstate` and `flowtop` (a missing peer is reported, not fatal), and `--allow-all`.
 *
 * @module
 */

import { CONNTOP_PERMISSIONS } from "../_build/commands.ts";
import { tableEntries } from "./entries.ts";
import { Netns } from "../../tools/netns.ts";
import { runCommand } from "../../tools/run.ts";
import { loadEntries } from "./table.ts";
import { machineBusy } from "./proc.ts";
import {
  type BusyProcess,
  busyProcesses,
  gnuTime,
  killTreeSync,
  type TimedRun,
  timedRun,
  treeCpuSeconds,
  treePeakRssKiB,
} from "./peers_proc.ts";
import {
  conntopScreen,
  flowtopScreen,
  flowtopVisible,
  IPTSTATE_COLS,
  IPTSTATE_HEADER_LINES,
  iptstateExpectedRows,
  iptstateScreen,
  iptstateTotals,
  type ScreenState,
} from "./peers_screen.ts";
import { summarize, type Summary } from "./stats.ts";
import { stripSgr } from "../../tools/screen.ts";
import { Tmux } from "../../tools/tmux.ts";
import { monitorCommand } from "./ui.ts";

/** The listing tools. */
export type ListTool = "conntrack" | "iptstate" | "conntop";
/** The monitors. */
export type MonitorTool = "conntop" | "iptstate" | "flowtop";

/** Options of {@linkcode measurePeers}. */
export interface PeersOptions {
  /** Table sizes, smallest first. */
  sizes: number[];
  /** Timed listing runs per tool and size (after one untimed run that counts the lines). */
  runs: number;
  /** Length of each monitor's measured window, s. */
  seconds: number;
  /** Path of conntop's main.ts. */
  mainTs: string;
  log(line: string): void;
}

/** Timeout of one listing run, s. */
export const LIST_TIMEOUT_S = 60;
/** How long a monitor may take to show the table before its window starts anyway, s. */
export const READY_TIMEOUT_S = 60;
/** The monitors' terminal. */
export const WIDTH = 160, HEIGHT = 50;
/** Processes using this much of a core or more are named in the report. */
const BUSY_PERCENT = 10;

/** One tool's listings at one size. */
export interface Listing {
  tool: ListTool;
  /** The command line (without the GNU time and timeout wrappers). */
  command: string[];
  /** Set when the tool was not run at this size, saying why. */
  skipped: string | null;
  /** The untimed first run, whose output lines were counted. */
  check: TimedRun | null;
  /** Rows of connections it printed in that run (lines less its header lines). */
  rows: number | null;
  /** Rows it should print for the table. */
  expectedRows: number;
  /** The count the tool itself reported (conntrack's stderr, iptstate's totals), if any. */
  reported: number | null;
  /** The timed runs. */
  runs: TimedRun[];
  /** Their wall times, ms. */
  wall: Summary | null;
  /** Their user + system times, s. */
  cpu: Summary | null;
  /** Their max RSS, KiB. */
  rss: Summary | null;
  /** A run did not finish within {@linkcode LIST_TIMEOUT_S}. */
  timedOut: boolean;
  /** A run exited with a non-zero status (not a timeout); its status and message. */
  failed: string | null;
}

/** One monitor at one size. */
export interface Monitor {
  tool: MonitorTool;
  command: string[];
  /** Set when the tool was not run at this size, saying why. */
  skipped: string | null;
  /** Start → the table on screen, ms; null when it did not show within the ready timeout. */
  readyMs: number | null;
  /** What the screen showed when the window started. */
  atStart: ScreenState | null;
  /** What the screen showed at the end of the window. */
  atEnd: ScreenState | null;
  /** The first lines of the screen at the end (SGR stripped, blank lines dropped). */
  screen: string[];
  /** The count it should show when it holds the whole table. */
  expectedCount: number;
  /** Length of the window, s. */
  windowS: number;
  /** CPU of its process tree over the window, % of one core. */
  cpuPercent: number | null;
  /** CPU of everything else on the machine over the window, % of one core. */
  otherCpuPercent: number | null;
  /** Peak RSS (VmHWM) summed over its process tree at the end of the window, KiB. */
  peakRssKiB: number | null;
  /** Processes in its tree at the end of the window. */
  processes: number;
  /** It exited before the end of the window: its screen's last lines. */
  exited: string | null;
}

/** Everything at one table size. */
export interface PeersSize {
  size: number;
  /** Entries in the table (`conntrack -C`). */
  loaded: number;
  loadMs: number;
  /** Connections of the table flowtop can show (all but DNS and GRE). */
  flowtopVisible: number;
  listings: Listing[];
  monitors: Monitor[];
}

/** The peers benchmark's results. */
export interface PeersResult {
  /** Listings on an empty namespace: each tool's floor. */
  empty: Listing[];
  sizes: PeersSize[];
  runs: number;
  seconds: number;
  listTimeoutS: number;
  readyTimeoutS: number;
  width: number;
  height: number;
  /** Debian package versions (`dpkg-query`), or "not installed". */
  versions: Record<string, string>;
  tmux: string;
  /** GNU time was found (CPU and RSS of the listings). */
  gnuTime: boolean;
  /** Peers that are not installed, not measured. */
  missing: string[];
  /** Other busy processes, over a second at the start and at the end. */
  busy: { start: BusyProcess[]; end: BusyProcess[] };
  totalMs: number;
}

// --- clean-up ---

/** Pids of wrappers and panes running now. */
const livePids = new Set<number>();
/** Temporary directories not yet removed. */
const liveDirs = new Set<string>();

/** Kills every process tree started here and removes the temporary directories. */
export function cleanUpPeersSync(): void {
  for (const pid of livePids) killTreeSync(pid);
  livePids.clear();
  for (const dir of liveDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // gone already
    }
  }
  liveDirs.clear();
}

const big = (n: number) => n.toLocaleString("en-US");

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

async function dpkgVersion(pkg: string): Promise<string> {
  try {
    const r = await runCommand(["dpkg-query", "-W", "-f", "${Version}", pkg], { check: false });
    return r.code === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : "not installed";
  } catch {
    return "unknown (no dpkg-query)";
  }
}

function onPath(tool: string): boolean {
  const dirs = (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":");
  for (const dir of [...dirs, "/usr/sbin", "/sbin"]) {
    try {
      if (Deno.statSync(`${dir}/${tool}`).isFile) return true;
    } catch {
      // not there
    }
  }
  return false;
}

// --- listings ---

interface ListSpec {
  tool: ListTool;
  command: string[];
  env?: Record<string, string>;
  /** Lines printed before the rows. */
  header: number;
  expectedRows: number;
  reported(r: TimedRun): number | null;
}

function listSpecs(ns: Netns, n: number, opts: PeersOptions, config: string): ListSpec[] {
  return [
    {
      tool: "conntrack",
      command: ns.command("conntrack", "-L"),
      header: 0,
      expectedRows: n,
      reported: (r) => {
        const m = /(\d+) flow entries have been shown/.exec(r.stderr);
        return m === null ? null : Number(m[1]);
      },
    },
    {
      tool: "iptstate",
      command: ns.command("iptstate", "-1", "-t"),
      env: { COLS: String(IPTSTATE_COLS) },
      header: IPTSTATE_HEADER_LINES,
      expectedRows: iptstateExpectedRows(n),
      reported: (r) => iptstateTotals(r.head)?.total ?? null,
    },
    {
      tool: "conntop",
      command: [
        Deno.execPath(),
        "run",
        ...CONNTOP_PERMISSIONS,
        opts.mainTs,
        "--once",
        "-o",
        "table",
        "-n",
        "--netns",
        ns.name,
      ],
      env: { XDG_CONFIG_HOME: config },
      header: 1,
      expectedRows: n,
      reported: () => null,
    },
  ];
}

function describeFailure(r: TimedRun): string {
  const msg = r.stderr.trim().split("\n").filter((l) => !/exited with non-zero/.test(l));
  return `exit status ${r.code}${msg.length > 0 ? `: ${msg.slice(-2).join(" / ")}` : ""}`;
}

async function measureListings(
  ns: Netns,
  n: number,
  opts: PeersOptions,
  config: string,
  skip: Map<string, string>,
): Promise<Listing[]> {
  const specs = listSpecs(ns, n, opts, config);
  const out: Listing[] = specs.map((s) => ({
    tool: s.tool,
    command: s.command,
    skipped: skip.get(`list:${s.tool}`) ?? null,
    check: null,
    rows: null,
    expectedRows: s.expectedRows,
    reported: null,
    runs: [],
    wall: null,
    cpu: null,
    rss: null,
    timedOut: false,
    failed: null,
  }));
  const once = (s: ListSpec, countLines: boolean) => {
    let wrapper = 0;
    return timedRun(s.command, {
      timeoutS: LIST_TIMEOUT_S,
      countLines,
      env: s.env,
      track: (pid) => {
        if (pid !== null) livePids.add(wrapper = pid);
        else livePids.delete(wrapper);
      },
    });
  };
  // Run 0 counts the lines (untimed); runs 1.. are timed, the tools' order rotating each run.
  for (let i = 0; i <= opts.runs; i++) {
    for (let k = 0; k < specs.length; k++) {
      const j = (i + k) % specs.length;
      const s = specs[j]!, l = out[j]!;
      if (l.skipped !== null || l.timedOut || l.failed !== null) continue;
      const r = await once(s, i === 0);
      if (r.timedOut) {
        l.timedOut = true;
        opts.log(`peers: ${n}: ${s.tool} did not finish in ${LIST_TIMEOUT_S} s`);
        continue;
      }
      if (r.code !== 0) {
        l.failed = describeFailure(r);
        opts.log(`peers: ${n}: ${s.tool} failed: ${l.failed}`);
        continue;
      }
      if (i === 0) {
        l.check = r;
        l.rows = r.lines === null ? null : r.lines - s.header;
        l.reported = s.reported(r);
        opts.log(
          `peers: ${n}: ${s.tool}: ${l.rows} rows printed (expected ${s.expectedRows})` +
            (l.reported !== null ? `, it reported ${l.reported}` : ""),
        );
      } else {
        l.runs.push(r);
        opts.log(
          `peers: ${n}: run ${i}/${opts.runs}: ${s.tool} ${r.wallMs.toFixed(1)} ms` +
            (r.cpuS !== null ? `, CPU ${r.cpuS.toFixed(2)} s, max RSS ${r.maxRssKiB} KiB` : ""),
        );
      }
    }
  }
  for (const l of out) {
    if (l.runs.length === 0) continue;
    l.wall = summarize(l.runs.map((r) => r.wallMs));
    const cpu = l.runs.map((r) => r.cpuS).filter((x): x is number => x !== null);
    const rss = l.runs.map((r) => r.maxRssKiB).filter((x): x is number => x !== null);
    l.cpu = cpu.length > 0 ? summarize(cpu) : null;
    l.rss = rss.length > 0 ? summarize(rss) : null;
  }
  return out;
}

// --- monitors ---

interface MonitorSpec {
  tool: MonitorTool;
  command: string[];
  env?: Record<string, string>;
  parse(lines: readonly string[]): ScreenState;
  expectedCount: number;
  ready(s: ScreenState): boolean;
}

function monitorSpecs(
  ns: Netns,
  loaded: number,
  visible: number,
  opts: PeersOptions,
  config: string,
): MonitorSpec[] {
  return [
    {
      tool: "conntop",
      command: monitorCommand(opts.mainTs, ns, ["-n"]),
      env: { XDG_CONFIG_HOME: config },
      parse: conntopScreen,
      expectedCount: loaded,
      ready: (s) => s.count === loaded && s.rows > 0,
    },
    {
      tool: "iptstate",
      command: ns.command("iptstate", "-R", "1", "-t"),
      parse: iptstateScreen,
      expectedCount: loaded,
      ready: (s) => s.count === loaded && s.rows > 0,
    },
    {
      tool: "flowtop",
      command: ns.command("flowtop", "-46TUDIS", "-n", "-G", "-s", "-t", "1"),
      parse: flowtopScreen,
      expectedCount: visible,
      ready: (s) => !s.collecting && s.count !== null && s.rows > 0,
    },
  ];
}

async function screenOf(t: Tmux): Promise<string[]> {
  return (await t.captureLines({ escapes: true, start: 0, end: "-" })).map(stripSgr);
}

async function paneDead(t: Tmux): Promise<boolean> {
  return (await t.format("#{pane_dead}")) === "1";
}

async function measureMonitor(
  spec: MonitorSpec,
  opts: PeersOptions,
  size: number,
): Promise<Monitor> {
  const m = blankMonitor(spec, null);
  const t0 = performance.now();
  const t = await Tmux.start(spec.command, {
    width: WIDTH,
    height: HEIGHT,
    env: spec.env,
    cwd: new URL("../..", import.meta.url).pathname,
    control: true,
    socketPrefix: "ctpeer",
  });
  let pid = 0;
  try {
    const pidText = await t.format("#{pane_pid}");
    pid = Number(pidText);
    if (!/^\d+$/.test(pidText) || pid <= 0) {
      throw new Error(`Failed to read the pane's process id: tmux said '${pidText}'`);
    }
    livePids.add(pid);
    // Wait for the table, polling the screen.
    const deadline = t0 + READY_TIMEOUT_S * 1000;
    let lines: string[] = [];
    for (;;) {
      lines = await screenOf(t);
      const s = spec.parse(lines);
      if (spec.ready(s)) {
        m.readyMs = performance.now() - t0;
        break;
      }
      if (await paneDead(t)) break;
      if (performance.now() > deadline) break;
      await sleep(200);
    }
    m.atStart = spec.parse(lines);
    if (await paneDead(t)) {
      m.exited = lines.filter((l) => l.trim() !== "").slice(-3).join(" / ");
      opts.log(`peers: ${size}: ${spec.tool} exited: ${m.exited}`);
      return m;
    }
    opts.log(
      m.readyMs !== null
        ? `peers: ${size}: ${spec.tool} (pid ${pid}) shows the table after ` +
          `${(m.readyMs / 1000).toFixed(1)} s (${JSON.stringify(m.atStart)})`
        : `peers: ${size}: ${spec.tool} (pid ${pid}) did not show the table in ` +
          `${READY_TIMEOUT_S} s (${JSON.stringify(m.atStart)}); measuring anyway`,
    );
    const c0 = treeCpuSeconds(pid), busy0 = machineBusy(), w0 = performance.now();
    await sleep(opts.seconds * 1000);
    const c1 = treeCpuSeconds(pid), busy1 = machineBusy();
    m.windowS = (performance.now() - w0) / 1000;
    m.peakRssKiB = treePeakRssKiB(pid);
    m.processes = c1.processes;
    const cpu = c1.seconds - c0.seconds;
    m.cpuPercent = (cpu / m.windowS) * 100;
    m.otherCpuPercent = ((busy1 - busy0 - cpu) / m.windowS) * 100;
    lines = await screenOf(t);
    m.atEnd = spec.parse(lines);
    m.screen = lines.filter((l) => l.trim() !== "").slice(0, 6).map((l) => l.trimEnd());
    if (await paneDead(t)) m.exited = lines.filter((l) => l.trim() !== "").slice(-3).join(" / ");
    opts.log(
      `peers: ${size}: ${spec.tool}: CPU ${m.cpuPercent.toFixed(1)} % over ` +
        `${m.windowS.toFixed(1)} s (rest of the machine ${m.otherCpuPercent.toFixed(1)} %), ` +
        `peak RSS ${(m.peakRssKiB / 1024).toFixed(1)} MiB, ${m.processes} process(es), ` +
        `screen ${JSON.stringify(m.atEnd)}`,
    );
    return m;
  } finally {
    // Quit politely, then make sure: flowtop ignores the SIGHUP of a killed tmux server.
    try {
      if (pid > 0 && !(await paneDead(t))) {
        await t.sendKeys("q");
        const until = performance.now() + 3000;
        while (performance.now() < until && !(await paneDead(t))) await sleep(100);
      }
    } catch {
      // the control client is gone; the kill below does it
    }
    if (pid > 0) {
      killTreeSync(pid);
      livePids.delete(pid);
    }
    await t.close();
  }
}

// --- the whole part ---

async function loadTable(size: number, opts: PeersOptions) {
  const ns = await Netns.named(`ctpeer-${Deno.pid}-${size}`);
  try {
    const lines = tableEntries(size);
    const t0 = performance.now();
    const loaded = size === 0 ? 0 : await loadEntries(ns, lines);
    const loadMs = performance.now() - t0;
    if (size > 0) {
      opts.log(`peers: ${ns.name}: loaded ${loaded} entries in ${(loadMs / 1000).toFixed(1)} s`);
    }
    if (loaded !== size) opts.log(`peers: warning: asked for ${size} entries, loaded ${loaded}`);
    return { ns, loaded, loadMs, visible: flowtopVisible(lines) };
  } catch (err) {
    await ns.close();
    throw err;
  }
}

/** Runs the peers benchmark (see the module's description). */
export async function measurePeers(opts: PeersOptions): Promise<PeersResult> {
  const w0 = performance.now();
  const versions: Record<string, string> = {};
  for (const pkg of ["iptstate", "netsniff-ng", "conntrack", "tmux", "time"]) {
    versions[pkg] = await dpkgVersion(pkg);
  }
  const tmux = new TextDecoder().decode(
    (await new Deno.Command("tmux", { args: ["-V"], stderr: "null" }).output()).stdout,
  ).trim();
  const missing = ["iptstate", "flowtop"].filter((t) => !onPath(t));
  const skip = new Map<string, string>();
  for (const tool of missing) {
    skip.set(`list:${tool}`, "it is not installed");
    skip.set(`mon:${tool}`, "it is not installed");
    opts.log(`peers: ${tool} is not installed: not measured`);
  }
  if (gnuTime() === null) {
    opts.log("peers: GNU time (/usr/bin/time) not found: listings' CPU and RSS not measured");
  }
  opts.log(`peers: versions ${JSON.stringify(versions)}`);
  const busyStart = await busyProcesses(1000, BUSY_PERCENT, [Deno.pid]);
  if (busyStart.length > 0) opts.log(`peers: busy processes: ${JSON.stringify(busyStart)}`);
  const dir = await Deno.makeTempDir({ prefix: "ctpeer-" });
  liveDirs.add(dir);
  const config = `${dir}/config`;
  await Deno.mkdir(config, { recursive: true });
  const sizes: PeersSize[] = [];
  let empty: Listing[] = [];
  try {
    {
      const { ns } = await loadTable(0, opts);
      try {
        opts.log("peers: listings of an empty namespace");
        empty = await measureListings(ns, 0, opts, config, skip);
      } finally {
        await ns.close();
      }
    }
    for (const size of opts.sizes) {
      const { ns, loaded, loadMs, visible } = await loadTable(size, opts);
      try {
        const listings = await measureListings(ns, loaded, opts, config, skip);
        for (const l of listings) {
          if (l.timedOut) {
            skip.set(`list:${l.tool}`, `it did not finish at ${big(size)} in ${LIST_TIMEOUT_S} s`);
          }
        }
        const monitors: Monitor[] = [];
        for (const spec of monitorSpecs(ns, loaded, visible, opts, config)) {
          const why = skip.get(`mon:${spec.tool}`);
          if (why !== undefined) {
            monitors.push(blankMonitor(spec, why));
            opts.log(`peers: ${size}: ${spec.tool} not run: ${why}`);
            continue;
          }
          opts.log(`peers: ${size}: ${spec.tool} in tmux for the table, then ${opts.seconds} s`);
          const m = await measureMonitor(spec, opts, size);
          monitors.push(m);
          if (m.readyMs === null) {
            skip.set(
              `mon:${spec.tool}`,
              m.exited !== null
                ? `it exited at ${big(size)}`
                : `it did not show the table at ${big(size)} in ${READY_TIMEOUT_S} s`,
            );
          }
        }
        sizes.push({ size, loaded, loadMs, flowtopVisible: visible, listings, monitors });
      } finally {
        await ns.close();
      }
    }
  } finally {
    cleanUpPeersSync();
  }
  const busyEnd = await busyProcesses(1000, BUSY_PERCENT, [Deno.pid]);
  if (busyEnd.length > 0) opts.log(`peers: busy processes: ${JSON.stringify(busyEnd)}`);
  return {
    empty,
    sizes,
    runs: opts.runs,
    seconds: opts.seconds,
    listTimeoutS: LIST_TIMEOUT_S,
    readyTimeoutS: READY_TIMEOUT_S,
    width: WIDTH,
    height: HEIGHT,
    versions,
    tmux,
    gnuTime: gnuTime() !== null,
    missing,
    busy: { start: busyStart, end: busyEnd },
    totalMs: performance.now() - w0,
  };
}

/** A monitor's result before anything is measured (`skipped`: why it is not run, or null). */
function blankMonitor(spec: MonitorSpec, skipped: string | null): Monitor {
  return {
    tool: spec.tool,
    command: spec.command,
    skipped,
    readyMs: null,
    atStart: null,
    atEnd: null,
    screen: [],
    expectedCount: spec.expectedCount,
    windowS: 0,
    cpuPercent: null,
    otherCpuPercent: null,
    peakRssKiB: null,
    processes: 0,
    exited: null,
  };
}
