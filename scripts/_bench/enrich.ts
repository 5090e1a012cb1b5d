/**
 * Enrichment on a large table, the way the monitor runs it: conntop's collector fills a
 * {@linkcode UiApp}, and the app gets the main thread's {@linkcode EnrichStore} wired to a real
 * enrichment worker by `startEnrichment()` (as src/app/monitor.ts does). Over several refreshes
 * the benchmark presses keys as a user would — scrolling page by page through the list, to the
 * end and back, and sorting on the destination country (DCC), ascending and descending — and
 * draws a frame after each key, each refresh and each batch of answers, asking the worker about
 * what the frame needed (`store.flush()`), as the monitor's paint does. A second app without
 * enrichment gets copies of the same batches and the same keys: the frame times of the two are
 * the main thread's cost of enrichment.
 *
 * It reports:
 *
 * - the distinct addresses of the table, and how the store's cache did: address look-ups
 *   against entries made, GeoIP questions sent and lookups the worker did, hostnames wanted by
 *   the rows shown against those sent to the worker, and the worker's resolver counters
 *   (`Enricher.stats()`);
 * - the retained heap of a store holding those entries and answers, measured in a child process
 *   run with `--expose-gc` (enrich_mem.ts);
 * - frame times with and without enrichment, and the re-sort of every row by DCC against a
 *   re-sort by address;
 * - how the system's reverse lookup (getnameinfo, which the worker calls) answers there, timed
 *   on a sample of the table's addresses.
 *
 * The drive ({@linkcode driveEnrichment}) runs in a child process started inside the
 * benchmark's namespace (enrich_run.ts under `ip netns exec`), so that the worker's real
 * resolver — getnameinfo(NI_NAMEREQD), which cannot be swapped from outside the worker — asks
 * no DNS server: the namespace has no route to one, and every lookup fails at once. Nothing
 * leaves the machine, and the counts do not depend on the host's resolver.
 * {@linkcode measureEnrich} starts it, with a churn of short-lived flows meanwhile, and
 * {@linkcode cleanUpEnrichSync} kills it from signal handlers.
 *
 * Requires root and `--allow-all` (the collector, FFI, the child processes).
 *
 * @module
 */

import { enricherOptions, startEnrichment } from "../../src/app/enrichment.ts";
import { type Options, parseOptions } from "../../src/cli/mod.ts";
import type { BatchMessage } from "../../src/collector/mod.ts";
import { startSteppedCollector } from "./stepped_collector.ts";
import { formatAddress, OFF, parseAddress, RECORD_SIZE } from "../../src/conntrack/mod.ts";
import type { EnricherStats, GeoSourceInfo } from "../../src/enrich/messages.ts";
import { type AddrInfo, EnrichStore } from "../../src/enrich/store.ts";
import { openGeoIp } from "../../src/enrich/geoip/open.ts";
import type { GeoInfo, HostEntry } from "../../src/core/enrichment.ts";
import type { ConnectionModel } from "../../src/model/mod.ts";
import { CellBuffer, diff } from "../../src/term/buffer.ts";
import type { KeyEvent } from "../../src/term/input.ts";
import { COLUMNS, defaultSettings, UiApp } from "../../src/ui/mod.ts";
import { batchOfModel, timeResort } from "./ui_sort.ts";
import { AF_INET, AF_INET6, EaiError, lookupName } from "../../ffi/libc.ts";
import { startChurn } from "./churn.ts";
import type { Netns } from "../../tools/netns.ts";
import type { Summary } from "./stats.ts";
import { type Percentiles, percentiles } from "./ui_stats.ts";

/** The screen the apps draw, as the UI benchmark's pane. */
const WIDTH = 160;
const HEIGHT = 50;
/** Pause between keys, ms: a key held down repeats about 30 times a second. */
const KEY_GAP_MS = 30;
/** How long the worker may take to answer everything asked once the drive ends, ms. */
const DRAIN_TIMEOUT_MS = 30_000;
/** Reverse lookups timed by {@linkcode probeReverseLookups}. */
const PROBE_LOOKUPS = 100;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Options of {@linkcode driveEnrichment} and {@linkcode measureEnrich}. */
export interface EnrichOptions {
  /** Refreshes driven (each followed by keys). */
  refreshes: number;
  /** PageDown presses after each refresh. */
  pages: number;
  /** Timed runs of each in-process sort. */
  sortRuns: number;
  log(line: string): void;
}

/** How the system's reverse lookup answered a sample of the table's addresses. */
export interface LookupProbe {
  /** Outcomes by name ("name", "EAI_NONAME", "EAI_AGAIN", …) and how many. */
  outcomes: Record<string, number>;
  /** Time of each getnameinfo call, ms. */
  ms: Percentiles;
}

/** The store's counters, from wrapping its methods (it keeps none of its own). */
export interface StoreCounts {
  /** `address()` calls (directly, or through `addressAt()` and `fill()`). */
  lookups: number;
  /** Entries made: the look-ups that missed. */
  entries: number;
  /** Entries of class "public" (the only ones GeoIP is asked about). */
  publicEntries: number;
  /** Addresses sent to the worker for GeoIP. */
  geoAsked: number;
  /** GeoIP answers that named a country. */
  geoCountries: number;
  /** `wantHost()` calls: a row shown wanting the hostname of one of its addresses. */
  hostWants: number;
  /** Addresses sent to the worker for hostnames. */
  hostAsked: number;
  /** Of `lookups`, those made in each kind of frame (a re-sort by DCC looks up every row). */
  lookupsBy: Record<FrameKind, number>;
}

/** What a frame was drawn for. */
export type FrameKind = "refresh" | "sort" | "scroll" | "answers";

/** A frame time with enrichment and without, ms. */
export interface FramePair {
  on: Percentiles;
  off: Percentiles;
}

/** The retained heap of a store, from enrich_mem.ts. */
export interface StoreMemory {
  entries: number;
  bytes: number;
}

/** What {@linkcode driveEnrichment} found. */
export interface EnrichDrive {
  /** Connections in the model at the end. */
  connections: number;
  width: number;
  height: number;
  refreshes: number;
  /** Keys pressed (to each app). */
  keys: number;
  /** Distinct addresses in the table at the end (source and destination of the original tuple). */
  distinct: { all: number; src: number; dst: number; public: number };
  store: StoreCounts;
  /** The worker's counters at the end. */
  worker: EnricherStats;
  /** The worker's databases. */
  geoSources: GeoSourceInfo[];
  /** Start → worker ready (databases open), ms. */
  readyMs: number;
  /** Hostname entries of the store by status at the end. */
  hostStatus: Record<string, number>;
  /** End of the drive → every question answered, ms (null: not within the timeout). */
  drainMs: number | null;
  lookups: LookupProbe;
  frames: {
    refresh: FramePair;
    scroll: FramePair;
    sort: FramePair;
    /** Frames drawn because answers arrived (enrichment only). */
    answers: Percentiles;
  };
  /** Re-sorts of every row, in process, after the drive (store warm), ms. */
  sorts: {
    runs: number;
    /** By DCC ▲ with the store. */
    country: Summary;
    /** By DCC ▲ without a store (every value missing at once). */
    countryOff: Summary;
    /**
     * By DCC ▲ with a store made as `--no-geoip` makes it (addresses classified, no GeoIP
     * answers): what the monitor pays with enrichment off.
     */
    countryNoGeo: Summary;
    /** By DESTINATION ▲ (the address itself): the reference. */
    address: Summary;
  };
  memory: StoreMemory;
}

/** What {@linkcode measureEnrich} found. */
export interface EnrichResult extends EnrichDrive {
  /** Connections asked for and loaded. */
  size: number;
  loaded: number;
  /** Churn ticks (a few new flows every 500 ms) during the drive. */
  churnTicks: number;
  /** Wall time of the part (loading the table excluded), ms. */
  totalMs: number;
}

function key(name: string): KeyEvent {
  return { type: "key", name, ctrl: false, alt: false, shift: false };
}

/** An app and its two cell buffers, painted as the monitor paints (minus the terminal write). */
class Screen {
  readonly app: UiApp;
  readonly store: EnrichStore | undefined;
  #prev: CellBuffer | undefined;
  #next = new CellBuffer(WIDTH, HEIGHT);

  constructor(app: UiApp, store: EnrichStore | undefined) {
    this.app = app;
    this.store = store;
    app.resize(WIDTH, HEIGHT);
  }

  /** Draws a frame and returns its time, ms. */
  paint(): number {
    const t0 = performance.now();
    this.#next = this.app.frame(this.#next);
    diff(this.#prev, this.#next, "256");
    [this.#prev, this.#next] = [this.#next, this.#prev ?? new CellBuffer(WIDTH, HEIGHT)];
    this.store?.flush();
    return performance.now() - t0;
  }

  /** Handles a key and draws its frame; returns the time of both, ms. */
  press(name: string): number {
    const t0 = performance.now();
    this.app.handle([key(name)]);
    this.paint();
    return performance.now() - t0;
  }
}

/** The batch with copies of its record buffers, which the model takes over. */
function copyBatch(b: BatchMessage): BatchMessage {
  return { ...b, records: b.records.map((r) => r.slice(0)) };
}

/**
 * Times getnameinfo (the worker's lookup) on up to {@linkcode PROBE_LOOKUPS} of `addresses`,
 * one after the other, in this process's network namespace.
 */
export async function probeReverseLookups(addresses: readonly string[]): Promise<LookupProbe> {
  const names = new Map<number, string>(
    Object.entries(EaiError).map(([k, v]) => [v as number, k]),
  );
  const outcomes: Record<string, number> = {};
  const ms: number[] = [];
  const step = Math.max(1, Math.floor(addresses.length / PROBE_LOOKUPS));
  for (let i = 0; i < addresses.length && ms.length < PROBE_LOOKUPS; i += step) {
    const p = parseAddress(addresses[i]!);
    if (p === undefined) continue;
    const t0 = performance.now();
    const r = await lookupName(p.family === 2 ? AF_INET : AF_INET6, p.bytes);
    ms.push(performance.now() - t0);
    const o = typeof r === "string" ? "name" : names.get(r) ?? `error ${r}`;
    outcomes[o] = (outcomes[o] ?? 0) + 1;
  }
  return { outcomes, ms: percentiles(ms) };
}

/** Distinct source and destination addresses of `model`. */
function distinctAddresses(model: ConnectionModel): { src: Set<string>; dst: Set<string> } {
  const src = new Set<string>(), dst = new Set<string>();
  for (const s of model.slots()) {
    const v = model.page(s), i = model.index(s);
    const fam = v.u8At(i, OFF.FAMILY);
    src.add(formatAddress(fam, v.u8, i * RECORD_SIZE + OFF.ORIG_SRC));
    dst.add(formatAddress(fam, v.u8, i * RECORD_SIZE + OFF.ORIG_DST));
  }
  return { src, dst };
}

/** The distinct addresses of `model` (original source and destination), for the lookup probe. */
export function sampleAddresses(model: ConnectionModel): string[] {
  const { src, dst } = distinctAddresses(model);
  return [...new Set([...src, ...dst])];
}

/** The retained heap of a store holding these entries and answers (child with --expose-gc). */
async function storeMemory(input: {
  addresses: string[];
  hostAsked: string[];
  geo: [string, GeoInfo][];
  hosts: [string, HostEntry][];
}): Promise<StoreMemory> {
  const script = new URL("./enrich_mem.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--v8-flags=--expose-gc", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(input)));
  await w.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-2).join(" / ");
    throw new Error(
      `Failed to measure the store's memory: enrich_mem.ts exited ${out.code}: ${err}`,
    );
  }
  return JSON.parse(text) as StoreMemory;
}

/**
 * The GeoIP databases the worker opened: the same search with the same options (the worker's
 * "ready" message, which names them, is consumed by startEnrichment()).
 */
async function geoSourcesOf(cli: Options): Promise<GeoSourceInfo[]> {
  const o = enricherOptions(cli);
  const { geoip } = await openGeoIp({
    dirs: o.geoipDirs,
    searchPaths: o.geoipSearchPaths,
    embedded: o.geoipEmbedded,
  });
  try {
    return geoip.sources().map((s) => ({
      kind: s.kind,
      file: s.file,
      type: s.type,
      backend: s.backend,
    }));
  } finally {
    geoip.close();
  }
}

/**
 * Drives the two apps over `opts.refreshes` refreshes of this process's network namespace and
 * measures what the module documentation lists. Run it in the benchmark's namespace
 * (enrich_run.ts, through {@linkcode measureEnrich}).
 */
export async function driveEnrichment(opts: EnrichOptions): Promise<EnrichDrive> {
  const cli = parseOptions(["--interval", "1"]);
  let on: Screen | undefined;
  /** What the frame being drawn is for, to count the store's look-ups by it. */
  let phase: FrameKind = "refresh";
  const answerFrames: number[] = [];
  let answerTimer: ReturnType<typeof setTimeout> | undefined;
  // As the monitor: answers schedule one frame, drawn once the thread is free.
  const onAnswers = () => {
    answerTimer ??= setTimeout(() => {
      answerTimer = undefined;
      if (on === undefined) return;
      phase = "answers";
      answerFrames.push(on.paint());
    }, 0);
  };
  const enrichment = startEnrichment(cli, { onChange: onAnswers, onWarning: opts.log });
  try {
    const store = enrichment.store;
    const t0 = performance.now();
    let readyMs = NaN;
    enrichment.ready.then(() => (readyMs = performance.now() - t0));

    // The store keeps no counters, so its methods are wrapped on this instance, calling the
    // originals: what is counted is exactly what the UI asked of it.
    const counts: StoreCounts = {
      lookups: 0,
      entries: 0,
      publicEntries: 0,
      geoAsked: 0,
      geoCountries: 0,
      hostWants: 0,
      hostAsked: 0,
      lookupsBy: { refresh: 0, sort: 0, scroll: 0, answers: 0 },
    };
    let counting = true;
    const seen = new Set<string>();
    const hostAsked = new Set<string>();
    const answers = { geo: new Map<string, GeoInfo>(), hosts: new Map<string, HostEntry>() };
    const address = store.address.bind(store);
    store.address = (text: string): AddrInfo => {
      if (!counting) return address(text);
      const before = store.size;
      const info = address(text);
      counts.lookups++;
      counts.lookupsBy[phase]++;
      if (store.size !== before) {
        counts.entries++;
        seen.add(text);
        if (info.cls === "public") counts.publicEntries++;
      }
      return info;
    };
    const wantHost = store.wantHost.bind(store);
    store.wantHost = (info: AddrInfo): void => {
      if (counting) counts.hostWants++;
      wantHost(info);
    };
    const apply = store.apply.bind(store);
    store.apply = (geo, hosts) => {
      for (const [t, g] of geo) answers.geo.set(t, g);
      for (const [t, h] of hosts) answers.hosts.set(t, h);
      apply(geo, hosts);
    };
    const enricher = enrichment.enricher;
    const geoAsk = enricher.geo.bind(enricher);
    enricher.geo = (list: string[]) => {
      counts.geoAsked += list.length;
      geoAsk(list);
    };
    const hostAsk = enricher.hosts.bind(enricher);
    enricher.hosts = (list: string[]) => {
      counts.hostAsked += list.length;
      for (const t of list) hostAsked.add(t);
      hostAsk(list);
    };

    const appOptions = { filter: cli.filter, host: "bench", source: "live" };
    const onApp = new UiApp({ ...appOptions, settings: defaultSettings(), enrich: store });
    const offApp = new UiApp({ ...appOptions, settings: defaultSettings() });
    on = new Screen(onApp, store);
    const off = new Screen(offApp, undefined);
    const pair = (): [number[], number[]] => [[], []];
    const frames = { refresh: pair(), scroll: pair(), sort: pair() };
    let step = 0;
    // Alternates which app goes first, so that neither always finds the caches warm.
    const both = (kind: Exclude<FrameKind, "answers">, fn: (s: Screen) => number) => {
      phase = kind;
      const order = step++ % 2 === 0 ? [on!, off] : [off, on!];
      for (const s of order) frames[kind][s === off ? 1 : 0].push(fn(s));
    };
    let pendingBatch: BatchMessage | undefined;
    const collector = await startSteppedCollector((b) => (pendingBatch = b));
    let keys = 0;
    try {
      const applyBatch = () => {
        const b = pendingBatch;
        pendingBatch = undefined;
        if (b === undefined) return;
        offApp.onBatch(copyBatch(b));
        onApp.onBatch(b);
        both("refresh", (s) => s.paint());
      };
      applyBatch();
      opts.log(`enrichment: ${onApp.model.size} connections read, ${opts.refreshes} refreshes`);
      await enrichment.ready;
      const press = async (kind: "scroll" | "sort", name: string) => {
        await sleep(KEY_GAP_MS);
        both(kind, (s) => s.press(name));
        keys++;
      };
      // Sort plan, one entry per refresh, cycling: the default (RATE ▼), then `<` onto DCC ▲,
      // `I` for DCC ▼, and `>` back onto RATE ▼.
      const plan: string[][] = [[], ["<"], ["I"], [">"]];
      for (let r = 0; r < opts.refreshes; r++) {
        if (r > 0) {
          await collector.refresh();
          applyBatch();
        }
        for (const k of plan[r % plan.length]!) await press("sort", k);
        for (let p = 0; p < opts.pages; p++) await press("scroll", "pagedown");
        await press("scroll", "end");
        for (let p = 0; p < 3; p++) await press("scroll", "pageup");
        await press("scroll", "home");
        const col = onApp.state.settings.sort;
        opts.log(
          `  refresh ${r + 1}/${opts.refreshes}: sorted by ${COLUMNS[col.column].title}` +
            `${col.desc ? " ▼" : " ▲"}, store ${store.size} addresses, ${store.pending} pending`,
        );
      }
    } finally {
      await collector.stop();
    }
    const d0 = performance.now();
    let drainMs: number | null = null;
    while (performance.now() - d0 < DRAIN_TIMEOUT_MS) {
      if (store.pending === 0) {
        drainMs = performance.now() - d0;
        break;
      }
      await sleep(10);
    }
    const worker = await enricher.stats();
    counting = false;
    for (const g of answers.geo.values()) if (g.country !== null) counts.geoCountries++;
    const hostStatus: Record<string, number> = {};
    for (const t of seen) {
      const h = store.address(t).host;
      if (h === undefined) continue;
      hostStatus[h.status] = (hostStatus[h.status] ?? 0) + 1;
    }
    opts.log(
      `enrichment: ${counts.lookups} store look-ups, ${counts.entries} entries, ` +
        `GeoIP ${counts.geoAsked} asked / ${worker.geoLookups} looked up, hostnames ` +
        `${counts.hostWants} wanted / ${counts.hostAsked} asked, resolver ${worker.dns.misses} ` +
        `misses ${worker.dns.hits} hits, ${JSON.stringify(hostStatus)}, drained in ` +
        `${drainMs === null ? "(timeout)" : drainMs.toFixed(0)} ms`,
    );

    // Re-sorts of every row with the store warm (not counted).
    const model = onApp.model;
    const batch = batchOfModel(model, false);
    const sort2 = defaultSettings().sort2;
    const asc = (column: "dst_country" | "dst") => ({ column, desc: false });
    const noGeo = new EnrichStore({ geoip: false, hostnames: false });
    const runs = opts.sortRuns;
    const sorts = {
      runs,
      country: timeResort(batch, asc("dst_country"), sort2, runs, store),
      countryOff: timeResort(batch, asc("dst_country"), sort2, runs),
      countryNoGeo: timeResort(batch, asc("dst_country"), sort2, runs, noGeo),
      address: timeResort(batch, asc("dst"), sort2, runs, store),
    };
    opts.log(
      `re-sort of ${batch.count} rows: DCC ${sorts.country.median.toFixed(1)} ms (no store ` +
        `${sorts.countryOff.median.toFixed(1)} ms, no GeoIP ${
          sorts.countryNoGeo.median.toFixed(1)
        } ms), DESTINATION ${sorts.address.median.toFixed(1)} ms`,
    );

    const geoSources = await geoSourcesOf(cli);
    const { src, dst } = distinctAddresses(model);
    const all = new Set([...src, ...dst]);
    const classes = new EnrichStore({ geoip: false, hostnames: false });
    let publicCount = 0;
    for (const t of all) if (classes.address(t).cls === "public") publicCount++;
    const lookups = await probeReverseLookups([...all]);
    opts.log(
      `getnameinfo here: ${JSON.stringify(lookups.outcomes)}, ${
        lookups.ms.p50.toFixed(2)
      } ms median`,
    );
    const memory = await storeMemory({
      addresses: [...seen],
      hostAsked: [...hostAsked],
      geo: [...answers.geo],
      hosts: [...answers.hosts],
    });
    opts.log(
      `store memory: ${memory.entries} entries, ${(memory.bytes / 1048576).toFixed(2)} MiB`,
    );
    const fp = (p: [number[], number[]]): FramePair => ({
      on: percentiles(p[0]),
      off: percentiles(p[1]),
    });
    return {
      connections: model.size,
      width: WIDTH,
      height: HEIGHT,
      refreshes: opts.refreshes,
      keys,
      distinct: { all: all.size, src: src.size, dst: dst.size, public: publicCount },
      store: counts,
      worker,
      geoSources,
      readyMs,
      hostStatus,
      drainMs,
      lookups,
      frames: {
        refresh: fp(frames.refresh),
        scroll: fp(frames.scroll),
        sort: fp(frames.sort),
        answers: percentiles(answerFrames),
      },
      sorts,
      memory,
    };
  } finally {
    clearTimeout(answerTimer);
    on = undefined;
    enrichment.close();
  }
}

/** The drive's child process, killed by {@linkcode cleanUpEnrichSync} if still running. */
let child: Deno.ChildProcess | undefined;

/** Kills the drive's child process, if any (for signal handlers). */
export function cleanUpEnrichSync(): void {
  try {
    child?.kill("SIGKILL");
  } catch {
    // already gone
  }
  child = undefined;
}

/** Passes each line of `stream` to `log`. */
async function forwardLines(
  stream: ReadableStream<Uint8Array>,
  log: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + text).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) log(l);
  }
  if (rest !== "") log(rest);
}

/**
 * Runs {@linkcode driveEnrichment} in a child process inside `ns` (which holds `loaded`
 * connections), with a few short-lived flows inserted every 500 ms meanwhile so that every
 * refresh carries changes, as on a live system.
 */
export async function measureEnrich(
  ns: Netns,
  size: number,
  loaded: number,
  opts: EnrichOptions,
): Promise<EnrichResult> {
  const w0 = performance.now();
  const script = new URL("./enrich_run.ts", import.meta.url).pathname;
  const args = { refreshes: opts.refreshes, pages: opts.pages, sortRuns: opts.sortRuns };
  const cmd = ns.command(Deno.execPath(), "run", "--allow-all", "--no-prompt", script);
  const churn = startChurn(ns);
  try {
    const c = new Deno.Command(cmd[0]!, {
      args: [...cmd.slice(1), JSON.stringify(args)],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    child = c;
    const logs = forwardLines(c.stderr, (l) => opts.log(`  ${l}`));
    const out = await new Response(c.stdout).text();
    const status = await c.status;
    await logs;
    if (!status.success) {
      throw new Error(
        `Failed to drive enrichment in '${ns.name}': enrich_run.ts exited with ${status.code}`,
      );
    }
    const drive = JSON.parse(out) as EnrichDrive;
    return { ...drive, size, loaded, churnTicks: churn.ticks, totalMs: performance.now() - w0 };
  } finally {
    child = undefined;
    await churn.stop();
  }
}
