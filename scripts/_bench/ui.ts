/**
 * The interactive monitor's benchmark, on a large table refreshed every second:
 *
 * 1. Keypress to screen, from outside: conntop runs in a private tmux server's pane
 *    (`conntop --netns NS --interval 1`, 160×50, its own config directory and frame probe).
 *    Once its header shows every connection, keys are sent at random moments spread over the
 *    refresh second — Down/Up, now and then PageDown/PageUp — and the pane is captured
 *    (`capture-pane -e`) until the cursor bar stands where the key puts it; then `>` (next sort
 *    column, so a re-sort of the whole table) until the sort arrow has moved. Latency = effect
 *    captured − key sent, nothing subtracted. The same drive runs against a trivial raw-mode
 *    program (ui_ref.ts) in the same kind of pane: the reference, what tmux and the tty cost.
 * 2. Inside conntop: its frame probe (`CONNTOP_PROBE`) says, for the frames those keys caused,
 *    the time from reading the key to the frame written and the frame's own time, and for the
 *    refreshes, the time spent recomputing the rows.
 * 3. Re-sort of the whole table in this process (ui_sort.ts).
 *
 * conntop runs with enrichment on, as by default (GeoIP from the embedded data or the system's
 * databases, hostnames, service names; the DCC and PROCESS columns are on the default screen),
 * and, unless told otherwise, a second time with enrichment off (`-n -P --no-geoip`), the same
 * drive again. Its hostnames are looked up by its enrichment worker in the root namespace (only
 * its collector enters the benchmark's), so through the host's resolver: how that resolver
 * answers is timed on a sample of the table's addresses (enrich.ts, probeReverseLookups).
 *
 * The screen is captured when the pane has written something (the control client's `%output`)
 * and every {@linkcode POLL_MS} ms otherwise, through one tmux control client, so that polling
 * starts no process and costs the two CPUs little.
 *
 * Every tmux server and temporary directory made here is removed on every way out; call
 * {@linkcode cleanUpUiSync} from signal handlers.
 *
 * Requires root, tmux and `--allow-all`.
 *
 * @module
 */

import { CONNTOP_PERMISSIONS } from "../build.ts";
import { CONNTOP_V8_FLAGS_ARG } from "../_build/commands.ts";
import { defaultSettings, layout } from "../../src/ui/mod.ts";
import type { Netns } from "../../tools/netns.ts";
import { cpuTimes, machineBusy, memory } from "./proc.ts";
import { startChurn } from "./churn.ts";
import { type KeyTraces, parseProbe, type ProbeFrame, traceKeys } from "./ui_probe.ts";
import { isHighlighted, parseLines, stripSgr } from "../../tools/screen.ts";
import { collectModel, measureSorts, type SortResult } from "./ui_sort.ts";
import { closeAllTmuxSync, Tmux } from "../../tools/tmux.ts";
import { prng } from "../../tools/prng.ts";
import { type LookupProbe, probeReverseLookups, sampleAddresses } from "./enrich.ts";

/**
 * The monitor as the benchmark runs it: the real program with its baked-in permissions and V8
 * flags (as the binary and `deno task start` run it: without them the young generation alone
 * holds 16 MB more at 200k), reading namespace `ns` every second.
 */
export function monitorCommand(
  mainTs: string,
  ns: Netns,
  args: readonly string[] = [],
  denoFlags: readonly string[] = [],
): string[] {
  return [
    Deno.execPath(),
    "run",
    ...CONNTOP_PERMISSIONS,
    CONNTOP_V8_FLAGS_ARG,
    ...denoFlags,
    mainTs,
    "--netns",
    ns.name,
    "--interval",
    "1",
    ...args,
  ];
}

/** Fallback poll period when the pane writes nothing, ms. */
export const POLL_MS = 3;
/** A key whose effect has not shown after this long counts as lost, ms. */
const KEY_TIMEOUT_MS = 5_000;
const READY_TIMEOUT_MS = 180_000;
/** Refreshes let pass after the first full screen before keys are sent. */
const WARM_UP_MS = 3_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Temporary directories not yet removed. */
const liveDirs = new Set<string>();

/** Kills the benchmark's tmux servers and removes its temporary directories; returns failures. */
export function cleanUpUiSync(): string[] {
  const failed = closeAllTmuxSync().map((s) => `tmux server ${s}`);
  for (const dir of liveDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) failed.push(`directory ${dir}`);
    }
    liveDirs.delete(dir);
  }
  return failed;
}

/** Options of {@linkcode measureUi}. */
export interface UiOptions {
  /** Path of conntop's main.ts. */
  mainTs: string;
  /** Down/Up/PageDown/PageUp presses, per program. */
  keys: number;
  /** `>` presses, per program. */
  sortKeys: number;
  /** Timed runs of each in-process sort. */
  sortRuns: number;
  /** Write conntop's V8 CPU profile (`--cpu-prof`) into this directory. */
  cpuProfDir?: string;
  /**
   * The conntop runs, in order: with enrichment on (the default program) and off
   * (`-n -P --no-geoip`). Default: both.
   */
  enrichment?: readonly ("on" | "off")[];
  log(line: string): void;
}

/** conntop's arguments, besides `--netns NS --interval 1`, for enrichment off. */
export const ENRICH_OFF_ARGS: readonly string[] = ["-n", "-P", "--no-geoip"];

/** One key sent. */
export interface KeyPress {
  /** tmux key name. */
  key: string;
  /** Key sent → effect captured, ms; null when it did not show within the timeout. */
  ms: number | null;
  /** Captures it took. */
  captures: number;
  /** When it was sent, ms of this process's clock. */
  sentAt: number;
}

/** The drive of one program. */
export interface Drive {
  /** Down/Up/PageDown/PageUp. */
  nav: KeyPress[];
  /** `>`. */
  sort: KeyPress[];
  /** Range of the random pause before each key, ms. */
  gapMs: [number, number];
}

/** conntop's drive, with what the probe and /proc said meanwhile. */
export interface ConntopDrive extends Drive {
  /** Enrichment on (the defaults) or off ({@linkcode ENRICH_OFF_ARGS}). */
  enrichment: "on" | "off";
  /** conntop's arguments after `--netns NS --interval 1`. */
  args: string[];
  /** Pane started → header showing every connection, ms. */
  startupMs: number;
  /** Probe frames of each phase (keys' frames, refreshes' "batch" frames, …). */
  probe: { nav: ProbeFrame[]; sort: ProbeFrame[] };
  /** The keys matched with their frames (null when they could not be). */
  traces: { nav: KeyTraces | null; sort: KeyTraces | null };
  /** Churn ticks (a few new flows every 500 ms) during the drive, and failed ticks. */
  churnTicks: number;
  churnFailures: number;
  /** CPU of conntop (all threads) while keys were sent, % of one core. */
  cpuPercent: number;
  /** CPU of everything else meanwhile (tmux, this benchmark, others), % of one core. */
  otherCpuPercent: number;
  /** conntop's VmHWM at the end, KiB. */
  peakRssKiB: number;
  /** Exit status shown by tmux after `q` (null if it had to be killed). */
  exitStatus: number | null;
}

/** Everything the UI benchmark found. */
export interface UiResult {
  /** Connections asked for and loaded. */
  size: number;
  loaded: number;
  width: number;
  height: number;
  /** Rows of the list on that screen (a page). */
  page: number;
  /** `tmux -V`. */
  tmux: string;
  sorts: SortResult;
  reference: Drive;
  /** The first conntop run: enrichment on, unless only "off" was asked for. */
  conntop: ConntopDrive;
  /** The run with enrichment off, when both were measured. */
  conntopOff: ConntopDrive | null;
  /**
   * How getnameinfo answered in this process's (the root) network namespace, where conntop's
   * enrichment worker looks hostnames up; null when enrichment was not on.
   */
  lookups: LookupProbe | null;
  /** Wall time of the whole UI part, ms (loading the table excluded). */
  totalMs: number;
}

/** Sends `key` and captures lines `from`-`to` until `done` holds; the latency in ms or null. */
export async function timeKey(
  t: Tmux,
  key: string,
  from: number,
  to: number,
  done: (lines: string[]) => boolean,
): Promise<KeyPress> {
  const t0 = performance.now();
  const sent = t.sendKeys(key);
  let captures = 0;
  try {
    for (;;) {
      const seen = t.outputs;
      const lines = await t.captureLines({ escapes: true, start: from, end: to });
      captures++;
      if (done(lines)) return { key, ms: performance.now() - t0, captures, sentAt: t0 };
      if (performance.now() - t0 > KEY_TIMEOUT_MS) return { key, ms: null, captures, sentAt: t0 };
      // Output that came while capturing may not be in the capture: look again at once.
      if (t.outputs === seen) await t.waitOutput(seen, POLL_MS);
    }
  } finally {
    await sent;
  }
}

/**
 * The first `width` characters of the only highlighted line (the cursor bar: reverse video or
 * a background colour on its first cell), or null when none or several lines are.
 */
export function highlightedText(lines: readonly string[], width: number): string | null {
  const hit = parseLines(lines).filter((l) => isHighlighted(l.first));
  return hit.length === 1 ? [...hit[0]!.text].slice(0, width).join("") : null;
}

/** The column (in code points) of the sort arrow ▲/▼ in a column header line, or -1. */
export function arrowColumn(line: string): number {
  return [...stripSgr(line)].findIndex((c) => c === "▲" || c === "▼");
}

export interface Screen {
  /** First line of the list, and its height. */
  listY: number;
  page: number;
  /** The column header line. */
  columnsY: number;
  /** Characters of a row that tell its connection: the columns up to the destination port. */
  identityWidth: number;
}

export async function cursorIdentity(t: Tmux, s: Screen): Promise<string | null> {
  return highlightedText(
    await t.captureLines({ escapes: true, start: s.listY, end: s.listY + s.page - 1 }),
    s.identityWidth,
  );
}

/**
 * Moves the cursor a page down, away from the top of the list, where the newest connections of
 * a live table come and go (and the cursor with the one it is on when it goes).
 */
export async function leaveFirstPage(t: Tmux): Promise<void> {
  await t.sendKeys("NPage");
  await sleep(300);
}

/**
 * Down/Up/PageDown/PageUp, `count` presses: Down (or one time in five PageDown) and back with
 * Up (PageUp).
 *
 * A key's effect is seen when the cursor bar shows another connection. The bar follows its
 * connection when a refresh reorders the rows, so a refresh moves the bar on the screen but
 * never changes what it shows, and only a key can; a connection is told by its tuple (the
 * columns before the first that changes over time), unique in the benchmark's table.
 */
async function navigate(
  t: Tmux,
  s: Screen,
  count: number,
  gap: () => number,
  rand: () => number,
  log: (line: string) => void,
): Promise<KeyPress[]> {
  const out: KeyPress[] = [];
  let back: string | undefined;
  for (let k = 0; k < count; k++) {
    const key = back ?? (rand() < 0.2 ? "NPage" : "Down");
    back = back === undefined ? (key === "NPage" ? "PPage" : "Up") : undefined;
    await sleep(gap());
    const before = await cursorIdentity(t, s);
    if (before === null) throw new Error("Failed to find the cursor bar on the screen");
    const p = await timeKey(t, key, s.listY, s.listY + s.page - 1, (lines) => {
      const now = highlightedText(lines, s.identityWidth);
      return now !== null && now !== before;
    });
    out.push(p);
    if (p.ms === null) log(`  ${key}: no effect within ${KEY_TIMEOUT_MS} ms`);
    if ((k + 1) % 25 === 0) log(`  ${k + 1}/${count} keys`);
  }
  return out;
}

/** `>`, `count` presses: each moves the sort arrow to the next column. */
async function cycleSort(
  t: Tmux,
  s: Screen,
  count: number,
  gap: () => number,
  log: (line: string) => void,
): Promise<KeyPress[]> {
  const out: KeyPress[] = [];
  for (let k = 0; k < count; k++) {
    await sleep(gap());
    const before = arrowColumn(
      (await t.captureLines({ escapes: true, start: s.columnsY, end: s.columnsY }))[0] ?? "",
    );
    if (before < 0) throw new Error("Failed to find the sort arrow in the column header");
    const p = await timeKey(t, ">", s.columnsY, s.columnsY, (lines) => {
      const now = arrowColumn(lines[0] ?? "");
      return now >= 0 && now !== before;
    });
    out.push(p);
    if (p.ms === null) log(`  >: no effect within ${KEY_TIMEOUT_MS} ms`);
    if ((k + 1) % 10 === 0) log(`  ${k + 1}/${count} sort keys`);
  }
  return out;
}

/**
 * Columns that stay the same for the life of a connection of the benchmark's table: the tuple,
 * and the state, which an idle connection keeps.
 */
const IDENTITY_COLUMNS: ReadonlySet<string> = new Set([
  "proto",
  "state",
  "src",
  "sport",
  "dst",
  "dport",
]);

export function screenOf(width: number, height: number): Screen {
  const l = layout(width, height);
  let identityWidth = 0;
  for (const c of defaultSettings().columns) {
    if (!IDENTITY_COLUMNS.has(c.id)) break;
    identityWidth += c.width + 1;
  }
  return { listY: l.list.y, page: l.list.height, columnsY: l.columns.y, identityWidth };
}

/** Waits until the pane's first line holds `text`; throws with the pane's text if it exits. */
export async function waitForHeader(t: Tmux, text: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = stripSgr((await t.captureLines({ escapes: true, start: 0, end: 0 }))[0] ?? "");
    if (line.includes(text)) return;
    if ((await t.format("#{pane_dead}")) === "1") {
      const screen = (await t.captureLines({ escapes: true, start: 0, end: "-" })).map(stripSgr)
        .filter((l) => l.trim() !== "");
      throw new Error(
        `The program in the pane exited before showing '${text}': ${screen.join(" / ")}`,
      );
    }
    if (performance.now() > deadline) {
      throw new Error(
        `The pane did not show '${text}' within ${timeoutMs} ms (it shows '${line.trim()}')`,
      );
    }
    await sleep(20);
  }
}

/** Quits with `q`; the exit status tmux saw, or null when it had to be killed. */
export async function quit(t: Tmux): Promise<number | null> {
  await t.sendKeys("q");
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    if ((await t.format("#{pane_dead}")) === "1") {
      const st = Number(await t.format("#{pane_dead_status}"));
      return Number.isInteger(st) ? st : null;
    }
    await sleep(50);
  }
  return null;
}

export async function driveReference(
  opts: UiOptions,
  width: number,
  height: number,
): Promise<Drive> {
  const refTs = new URL("./ui_ref.ts", import.meta.url).pathname;
  const t = await Tmux.start([Deno.execPath(), "run", "--no-prompt", refTs], {
    width,
    height,
    control: true,
    socketPrefix: "ctbench-ui",
  });
  try {
    await waitForHeader(t, "reference", 60_000);
    const s = screenOf(width, height);
    const gapMs: [number, number] = [20, 220];
    const rand = prng(1);
    const gap = () => gapMs[0] + rand() * (gapMs[1] - gapMs[0]);
    opts.log(`reference: ${opts.keys} keys`);
    await leaveFirstPage(t);
    const nav = await navigate(t, s, opts.keys, gap, rand, opts.log);
    opts.log(`reference: ${opts.sortKeys} '>' keys`);
    const sort = await cycleSort(t, s, opts.sortKeys, gap, opts.log);
    await quit(t);
    return { nav, sort, gapMs };
  } finally {
    await t.close();
  }
}

export function readProbe(path: string): ProbeFrame[] {
  try {
    return parseProbe(Deno.readTextFileSync(path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

async function driveConntop(
  ns: Netns,
  loaded: number,
  opts: UiOptions,
  enrichment: "on" | "off",
  width: number,
  height: number,
  parent: string,
): Promise<ConntopDrive> {
  const dir = `${parent}/${enrichment}`;
  const probePath = `${dir}/probe.ndjson`;
  const config = `${dir}/config`;
  Deno.mkdirSync(config, { recursive: true });
  const args = enrichment === "on" ? [] : [...ENRICH_OFF_ARGS];
  const prof = opts.cpuProfDir === undefined
    ? []
    : ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`];
  const t0 = performance.now();
  const t = await Tmux.start(monitorCommand(opts.mainTs, ns, args, prof), {
    width,
    height,
    env: { XDG_CONFIG_HOME: config, CONNTOP_PROBE: probePath },
    cwd: new URL("../..", import.meta.url).pathname,
    control: true,
    socketPrefix: "ctbench-ui",
  });
  try {
    const pidText = await t.format("#{pane_pid}");
    const pid = Number(pidText);
    if (!/^\d+$/.test(pidText) || pid <= 0) {
      throw new Error(`Failed to read the pane's process id: tmux said '${pidText}'`);
    }
    await waitForHeader(t, `Conns ${loaded}`, READY_TIMEOUT_MS);
    const startupMs = performance.now() - t0;
    opts.log(
      `conntop (pid ${pid}, enrichment ${enrichment}) shows ${loaded} connections after ` +
        `${(startupMs / 1000).toFixed(1)} s`,
    );
    const s = screenOf(width, height);
    const gapMs: [number, number] = [100, 1100];
    const rand = prng(2);
    const gap = () => gapMs[0] + rand() * (gapMs[1] - gapMs[0]);
    const churn = startChurn(ns);
    try {
      // Two refreshes with the churn's flows, so that every refresh from here on has changes.
      await sleep(WARM_UP_MS);
      await leaveFirstPage(t);
      const b0 = readProbe(probePath).length;
      const c0 = cpuTimes(pid).self, busy0 = machineBusy(), w0 = performance.now();
      opts.log(`conntop: ${opts.keys} keys`);
      const nav = await navigate(t, s, opts.keys, gap, rand, opts.log);
      // The probe line is written just after the frame, which may be on screen a moment before.
      await sleep(200);
      const b1 = readProbe(probePath).length;
      opts.log(`conntop: ${opts.sortKeys} '>' keys (each re-sorts ${loaded} rows)`);
      const sort = await cycleSort(t, s, opts.sortKeys, gap, opts.log);
      await sleep(200);
      const c1 = cpuTimes(pid).self, busy1 = machineBusy();
      const seconds = (performance.now() - w0) / 1000;
      const peakRssKiB = memory(pid).hwmKiB;
      const all = readProbe(probePath);
      await churn.stop();
      const exitStatus = await quit(t);
      const probe = { nav: all.slice(b0, b1), sort: all.slice(b1) };
      return {
        enrichment,
        args,
        nav,
        sort,
        gapMs,
        startupMs,
        probe,
        traces: { nav: traceKeys(nav, probe.nav), sort: traceKeys(sort, probe.sort) },
        churnTicks: churn.ticks,
        churnFailures: churn.failures,
        cpuPercent: ((c1 - c0) / seconds) * 100,
        otherCpuPercent: ((busy1 - busy0 - (c1 - c0)) / seconds) * 100,
        peakRssKiB,
        exitStatus,
      };
    } finally {
      await churn.stop();
    }
  } finally {
    await t.close();
  }
}

async function tmuxVersion(): Promise<string> {
  const out = await new Deno.Command("tmux", { args: ["-V"], stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * Runs the three measurements on `ns`, which holds `loaded` connections: the in-process sorts
 * first, then the reference program, then conntop.
 */
export async function measureUi(
  ns: Netns,
  size: number,
  loaded: number,
  opts: UiOptions,
): Promise<UiResult> {
  const w0 = performance.now();
  const width = 160, height = 50;
  opts.log(`re-sort in process: collecting ${loaded} connections from ${ns.name}`);
  let model: Awaited<ReturnType<typeof collectModel>> | undefined = await collectModel(ns.name);
  const sorts = measureSorts(model, opts.sortRuns, opts.log);
  const runs = opts.enrichment ?? ["on", "off"];
  if (runs.length === 0) throw new Error("Cannot measure the UI: no conntop run asked for");
  let lookups: LookupProbe | null = null;
  if (runs.includes("on")) {
    lookups = await probeReverseLookups(sampleAddresses(model));
    opts.log(
      `getnameinfo in the root namespace (conntop's resolver): ` +
        `${JSON.stringify(lookups.outcomes)}, ${lookups.ms.p50.toFixed(2)} / ` +
        `${lookups.ms.p99.toFixed(1)} / ${lookups.ms.max.toFixed(1)} ms (p50 / p99 / max)`,
    );
  }
  model = undefined; // let the collected table go before conntop starts
  const dir = await Deno.makeTempDir({ prefix: "ctbench-ui-" });
  liveDirs.add(dir);
  try {
    const reference = await driveReference(opts, width, height);
    const drives: ConntopDrive[] = [];
    for (const e of runs) {
      drives.push(await driveConntop(ns, loaded, opts, e, width, height, dir));
    }
    const conntop = drives[0]!;
    return {
      size,
      loaded,
      width,
      height,
      page: screenOf(width, height).page,
      tmux: await tmuxVersion(),
      sorts,
      reference,
      conntop,
      conntopOff: drives.find((d, i) => i > 0 && d.enrichment === "off") ?? null,
      lookups,
      totalMs: performance.now() - w0,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    liveDirs.delete(dir);
  }
}
