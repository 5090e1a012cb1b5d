/**
 * conntop against the reference, `conntrack -L`, on the same tables in one run, printed as a
 * markdown table ready for README.md:
 *
 * 1. Full-read time at several table sizes: `conntrack -L > /dev/null` against one conntop
 *    refresh (dump, decode, diff, hand-over, apply), alternating runs, plus conntop's start-up
 *    read; `model.size` is checked against the table size.
 * 2. Steady state at one size, refreshed every second: CPU and peak memory of the real
 *    `conntop --stream` process against `conntrack -L` started once a second, and how regular
 *    conntop's refreshes are.
 * 3. The interactive monitor (scripts/_bench/ui.ts): keypress-to-screen latency of the real
 *    program in tmux against a trivial raw-mode program, its frame times from its frame probe,
 *    and the re-sort of the whole table in process against the runtime's own sorts; conntop
 *    runs with enrichment on (its defaults) and then off.
 * 4. Enrichment: GeoIP lookups per second through libmaxminddb (FFI) against mmdb-lib
 *    (scripts/_bench/geoip.ts), and on one table the caches at work the way the monitor uses
 *    them — the main thread's store and the enrichment worker's GeoIP and hostname lookups —
 *    over several refreshes with scrolling and sorting by country, with the main thread's frame
 *    times against the same app without enrichment (scripts/_bench/enrich.ts).
 * 5. The client-server mode (scripts/_bench/server.ts): conntopd's snapshot of the whole table
 *    to one client against `conntrack -L` (time and bytes), its bytes per tick when 0.1 %, 1 %
 *    and 10 % of the table change against `conntrack -E`, and its CPU and memory with 0, 1 and
 *    10 clients; against the original C++ conntop server's when its binary is found
 *    (CONNTOP_CPP_SERVER, or the /work/ref build), which is said in the report when it is not.
 * 6. Against the peers (scripts/_bench/peers.ts): one full listing by `iptstate -1`,
 *    `conntrack -L` and `conntop --once`, and the monitors iptstate, netsniff-ng's flowtop and
 *    conntop held open in tmux, on the same idle tables in namespaces `ctpeer-<pid>-<size>`.
 *
 * Every table lives in a throw-away network namespace `ctbench-<pid>-<size>`, deleted on every
 * way out (normal end, error, SIGINT, SIGTERM, SIGHUP); the root namespace's conntrack table and
 * firewall are never touched. So is the UI part's private tmux server, `ctbench-ui-<pid>`, and
 * the enrichment part's child process, and the server part's servers, clients and helpers.
 * Progress goes to stderr, the tables to stdout.
 *
 * Run with `deno task bench` (as root); `deno task bench --help` lists the options.
 *
 * Requires root and `--allow-all` (FFI, subprocesses, /proc).
 *
 * @module
 */

import { clockSkewMs } from "./_bench/clock.ts";
import { cleanUpEnrichSync, type EnrichResult, measureEnrich } from "./_bench/enrich.ts";
import { geoipBench, type GeoipBenchResult } from "./_bench/geoip.ts";
import { tableEntries } from "./_bench/entries.ts";
import { InProcessConntop, type RefreshSample } from "./_bench/in_process.ts";
import { closeAllSync, Netns } from "../tools/netns.ts";
import { runCommand } from "../tools/run.ts";
import {
  conntrackList,
  execOverheadMs,
  type ForeignEntries,
  foreignEntries,
  loadEntries,
} from "./_bench/table.ts";
import { type BenchOptions, parseBenchOptions, USAGE } from "./_bench/options.ts";
import {
  type BenchResults,
  type HostInfo,
  renderMarkdown,
  type SizeResult,
  type SteadyResult,
} from "./_bench/report.ts";
import {
  cleanUpServerSync,
  findCppServer,
  measureFallback,
  measureServer,
  type ServerResult,
} from "./_bench/server.ts";
import { measureConntop, measureReference } from "./_bench/steady.ts";
// --- peers ---
import { cleanUpPeersSync, measurePeers, type PeersResult } from "./_bench/peers.ts";
import { renderPeers } from "./_bench/peers_report.ts";
// --- end peers ---
import { summarize, type Summary } from "./_bench/stats.ts";
import { cleanUpUiSync, measureUi, type UiResult } from "./_bench/ui.ts";
import { measureTargets, renderTargets, type TargetsResult } from "./_bench/targets.ts";
import { closeAllTmuxSync } from "../tools/tmux.ts";

const log = (line: string) => console.error(`bench: ${line}`);
const prefix = () => `ctbench-${Deno.pid}-`;

/** The conntop child of the steady-state run, killed by the signal handler if still running. */
let child: Deno.ChildProcess | undefined;

function cleanUpSync(): void {
  try {
    child?.kill("SIGKILL");
  } catch {
    // already gone
  }
  cleanUpEnrichSync();
  cleanUpServerSync();
  cleanUpPeersSync(); // peers
  const tmuxFailed = closeAllTmuxSync();
  if (tmuxFailed.length > 0) console.error(`bench: Failed to kill tmux ${tmuxFailed.join(", ")}`);
  const uiFailed = cleanUpUiSync();
  if (uiFailed.length > 0) console.error(`bench: Failed to remove ${uiFailed.join(", ")}`);
  const failed = closeAllSync();
  if (failed.length > 0) {
    console.error(`bench: Failed to delete network namespaces: ${failed.join(", ")}`);
  }
}

function installSignalHandlers(): void {
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    Deno.addSignalListener(sig, () => {
      log(`${sig}: deleting the benchmark's namespaces and exiting`);
      cleanUpSync();
      Deno.exit(code);
    });
  }
  // Last resort for a way out that skips the finally blocks (Deno.exit from elsewhere).
  globalThis.addEventListener("unload", cleanUpSync);
}

/** The targets' line on the entries elsewhere on the host, which slow every dump alike. */
function foreignNote(start: ForeignEntries, end: ForeignEntries): string {
  if (start.total === 0 && end.total === 0) return "";
  return `\nThe kernel keeps one conntrack hash table for all network namespaces and a dump walks ` +
    `all of it: ${start.total.toLocaleString("en-US")} entries elsewhere on the host at the ` +
    `start and ${end.total.toLocaleString("en-US")} at the end slowed every dump, conntop's and ` +
    "the references' alike.\n";
}

async function hostInfo(): Promise<HostInfo> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU";
  const ct = await runCommand(["conntrack", "--version"], { check: false });
  const ctVersion = /v(\d+\.\d+\.\d+)/.exec(ct.stdout + ct.stderr)?.[1] ?? "unknown";
  const d = new Date();
  return {
    date: `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`,
    cpus: navigator.hardwareConcurrency,
    cpuModel,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    conntrack: `conntrack-tools ${ctVersion}`,
  };
}

async function checkEnvironment(opts: BenchOptions): Promise<void> {
  if (Deno.uid() !== 0) {
    throw new Error("The benchmark needs root: it creates network namespaces (run with sudo)");
  }
  const tools = opts.ui || opts.peers || opts.targets
    ? ["ip", "conntrack", "tmux"]
    : ["ip", "conntrack"];
  for (const tool of tools) {
    try {
      await runCommand([tool, "-V"], { check: false });
    } catch (err) {
      if (
        err instanceof Deno.errors.NotFound ||
        (err instanceof Error && err.cause instanceof Deno.errors.NotFound)
      ) {
        throw new Error(`Command '${tool}' not found: run scripts/setup.sh --dev first`);
      }
      throw err;
    }
  }
  const maxText = await Deno.readTextFile("/proc/sys/net/netfilter/nf_conntrack_max")
    .catch(() => null);
  const largest = Math.max(
    ...(opts.collector ? opts.sizes : []),
    opts.cpuSeconds > 0 && opts.collector ? opts.cpuSize : 0,
    opts.ui ? opts.uiSize : 0,
    opts.enrich ? opts.enrichSize : 0,
    opts.server ? opts.serverSize : 0,
    opts.peers ? Math.max(...opts.peersSizes) : 0, // peers
    opts.targets ? 250_000 : 0,
  );
  // The churn of the steady-state run adds a few dozen entries on top.
  if (maxText !== null && Number(maxText) < largest + 1000) {
    throw new Error(
      `Cannot load ${largest} entries: net.netfilter.nf_conntrack_max is ${maxText.trim()}`,
    );
  }
}

async function loadTable(
  size: number,
  suffix = "",
  before?: (ns: Netns) => Promise<void>,
): Promise<{ ns: Netns; loaded: number; ms: number }> {
  const ns = await Netns.named(`${prefix()}${size}${suffix}`);
  try {
    await before?.(ns);
    const lines = tableEntries(size);
    const t0 = performance.now();
    const loaded = await loadEntries(ns, lines);
    const ms = performance.now() - t0;
    log(`${ns.name}: loaded ${loaded} entries in ${(ms / 1000).toFixed(1)} s`);
    if (loaded !== size) log(`warning: asked for ${size} entries, the table holds ${loaded}`);
    return { ns, loaded, ms };
  } catch (err) {
    await ns.close();
    throw err;
  }
}

async function measureSize(size: number, runs: number): Promise<SizeResult> {
  const { ns, loaded, ms: loadMs } = await loadTable(size);
  try {
    const { conntop, cold } = await InProcessConntop.start(ns.name);
    log(
      `conntop first read: ${cold.totalMs.toFixed(1)} ms, ${cold.records} records, ` +
        `model.size ${cold.modelSize}`,
    );
    try {
      const ref: number[] = [];
      const shown: number[] = [];
      const overhead: number[] = [];
      const ours: RefreshSample[] = [];
      // Alternate the tools so that whatever else the machine does hits both alike.
      for (let i = 0; i < runs; i++) {
        const r = await conntrackList(ns);
        ref.push(r.wallMs);
        shown.push(r.shown);
        const o = await conntop.refresh();
        ours.push(o);
        overhead.push(await execOverheadMs(ns));
        log(
          `  ${size}: run ${i + 1}/${runs}: conntrack -L ${r.wallMs.toFixed(1)} ms ` +
            `(${r.shown} shown), conntop ${o.totalMs.toFixed(1)} ms ` +
            `(dump ${o.dumpMs.toFixed(1)}, ${o.records} records, model.size ${o.modelSize})`,
        );
      }
      const reference = summarize(ref);
      const mine = summarize(ours.map((o) => o.totalMs));
      const modelSize = conntop.size;
      if (modelSize !== size) {
        log(`warning: model.size is ${modelSize}, the table has ${size} entries`);
      }
      return {
        size,
        loaded,
        loadMs,
        reference,
        referenceShown: shown,
        execOverhead: summarize(overhead),
        conntop: mine,
        conntopDump: summarize(ours.map((o) => o.dumpMs)),
        conntopHandOver: summarize(ours.map((o) => o.handOverMs)),
        conntopRecords: ours.map((o) => o.records),
        cold,
        modelSize,
        ratio: mine.median / reference.median,
        warnings: [...conntop.warnings],
      };
    } finally {
      await conntop.stop();
    }
  } finally {
    await ns.close();
  }
}

/** `conntrack -L` of an empty namespace: the cost of walking the shared hash table alone. */
async function measureEmpty(runs: number): Promise<Summary> {
  const ns = await Netns.named(`${prefix()}0`);
  try {
    const walls: number[] = [];
    for (let i = 0; i < runs; i++) walls.push((await conntrackList(ns)).wallMs);
    return summarize(walls);
  } finally {
    await ns.close();
  }
}

async function measureSteady(size: number, seconds: number): Promise<SteadyResult> {
  const { ns, loaded } = await loadTable(size);
  try {
    log(`steady state at ${size}: conntop --stream --interval 1 (warm-up, then ${seconds} s)`);
    // Printing only the churn's flows (172.16/12), as the live monitor shows a screenful and
    // not every connection; a second run prints them all, to show what output costs.
    const mainTs = new URL("../main.ts", import.meta.url).pathname;
    const conntop = await measureConntop(ns, {
      mainTs,
      seconds,
      log,
      track: (c) => (child = c),
      extraArgs: ["--src", "172.16.0.0/12"],
    });
    log(
      `conntop: pid ${conntop.pid} (${conntop.comm}, ${conntop.exe}, ${conntop.threads} threads): ` +
        `CPU ${conntop.cpuPercent.toFixed(1)} % (system ${conntop.systemPercent.toFixed(1)} %; ` +
        `rest of the machine ${conntop.otherCpuPercent.toFixed(1)} %), VmHWM ${
          (conntop.peakRssKiB / 1024).toFixed(1)
        } MiB, ` +
        `${conntop.refreshes} refreshes, gaps ${conntop.gapMinMs}-${conntop.gapMaxMs} ms, ` +
        `exit ${conntop.exitCode}`,
    );
    if (conntop.churnFailures > 0) log(`warning: ${conntop.churnFailures} churn ticks failed`);
    log(`steady state at ${size}: conntop printing every connection (${seconds} s)`);
    const conntopAll = await measureConntop(ns, {
      mainTs,
      seconds,
      log,
      track: (c) => (child = c),
    });
    log(
      `conntop, all output: CPU ${conntopAll.cpuPercent.toFixed(1)} %, VmHWM ${
        (conntopAll.peakRssKiB / 1024).toFixed(1)
      } MiB`,
    );
    log(`steady state at ${size}: conntrack -L once a second for ${seconds} s`);
    const reference = await measureReference(ns, seconds);
    log(
      `conntrack -L: ${reference.runs} runs, CPU ${reference.cpuPercent.toFixed(1)} % ` +
        `(system ${reference.systemPercent.toFixed(1)} %; rest of the machine ${
          reference.otherCpuPercent.toFixed(1)
        } %), ` +
        `wall ${reference.wallMedianMs.toFixed(1)} ms median, ${reference.shown} shown`,
    );
    return { size, loaded, conntop, conntopAll, reference };
  } finally {
    await ns.close();
  }
}

async function measureUiSize(opts: BenchOptions): Promise<UiResult> {
  const { ns, loaded } = await loadTable(opts.uiSize, "-ui");
  try {
    const mainTs = new URL("../main.ts", import.meta.url).pathname;
    const ui = await measureUi(ns, opts.uiSize, loaded, {
      mainTs,
      keys: opts.uiKeys,
      sortKeys: opts.uiSortKeys,
      sortRuns: opts.uiSortRuns,
      cpuProfDir: opts.uiCpuProf,
      enrichment: opts.uiEnrich,
      log,
    });
    log(`UI benchmark done in ${(ui.totalMs / 1000).toFixed(0)} s`);
    return ui;
  } finally {
    await ns.close();
  }
}

async function measureGeoip(addresses: number, rounds: number): Promise<GeoipBenchResult[]> {
  const out: GeoipBenchResult[] = [];
  const k = (x: number) => `${Math.round(x / 1000)}k/s`;
  for (let i = 0; i < rounds; i++) {
    log(`GeoIP: lookups per second over ${addresses} random public addresses (${i + 1}/${rounds})`);
    const g = await geoipBench({ n: addresses });
    log(
      `GeoIP: libmaxminddb (FFI) ${k(g.ffiPerSec)}, mmdb-lib ${k(g.libPerSec)}, embedded ` +
        `${k(g.embeddedPerSec)}, AS table ${k(g.asnTablePerSec)}`,
    );
    out.push(g);
  }
  return out;
}

async function measureEnrichSize(opts: BenchOptions): Promise<EnrichResult> {
  const { ns, loaded } = await loadTable(opts.enrichSize, "-enrich");
  try {
    const r = await measureEnrich(ns, opts.enrichSize, loaded, {
      refreshes: opts.enrichRefreshes,
      pages: 25,
      sortRuns: opts.uiSortRuns,
      log,
    });
    log(`enrichment benchmark done in ${(r.totalMs / 1000).toFixed(0)} s`);
    return r;
  } finally {
    await ns.close();
  }
}

/**
 * The server part's namespace: conntrack events for every entry (`nf_conntrack_events=1`; the
 * kernel's default, 2, gives them only to entries created while someone listens, and this table
 * is loaded before anyone does), so that changes reach conntopd as events, as on a live host,
 * and `conntrack -E` can print them as the reference.
 */
async function eventsOn(ns: Netns): Promise<void> {
  const cmd = ns.command("sysctl", "-q", "-w", "net.netfilter.nf_conntrack_events=1");
  const r = await runCommand(cmd, { check: false });
  if (r.code !== 0) throw new Error(`Failed to turn events on in ${ns.name}: ${r.stderr.trim()}`);
}

async function measureServerPart(opts: BenchOptions): Promise<ServerResult> {
  const cpp = findCppServer();
  log(
    cpp.path === null
      ? `server: the C++ conntop server is not measured: ${cpp.why}`
      : `server: the C++ conntop server: ${cpp.path}`,
  );
  const sopts = {
    runs: opts.serverRuns,
    rounds: opts.serverRounds,
    fractions: [0.001, 0.01, 0.1],
    seconds: opts.serverSeconds,
    clients: opts.serverClients,
    cppServer: cpp.path,
    cppMissing: cpp.why,
    log: (l: string) => log(`server: ${l}`),
  };
  const t0 = performance.now();
  const { ns, loaded } = await loadTable(opts.serverSize, "-server", eventsOn);
  let r: ServerResult;
  try {
    r = await measureServer(ns, opts.serverSize, loaded, sopts);
  } finally {
    await ns.close();
  }
  await measureFallback(r, [150_000, 100_000, 50_000, 10_000], sopts, async (size) => {
    const t = await loadTable(size, "-server", eventsOn);
    return { ns: t.ns, loaded: t.loaded };
  });
  r.totalMs = performance.now() - t0;
  log(`server benchmark done in ${(r.totalMs / 1000).toFixed(0)} s`);
  return r;
}

async function main(args: string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseBenchOptions(args);
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : err}`);
    console.error("Try 'deno task bench --help' for more information.");
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  installSignalHandlers();
  try {
    await checkEnvironment(opts);
    const host = await hostInfo();
    log(
      `${host.cpus} × ${host.cpuModel}, Linux ${host.kernel}, Deno ${host.deno}, ` +
        `${host.conntrack}, ${host.date}`,
    );
    const skew = await clockSkewMs();
    log(`clock skew between a worker and the main thread: ${skew.toFixed(3)} ms`);
    const foreignStart = await foreignEntries(prefix());
    if (foreignStart.total > 0) {
      log(
        `note: ${foreignStart.total} conntrack entries elsewhere on the host ` +
          `(${JSON.stringify(foreignStart.namespaces)}, root ${foreignStart.root}) ` +
          "share the kernel's hash table and slow every dump",
      );
    }
    let emptyList: Summary | null = null;
    const sizes: SizeResult[] = [];
    let steady: SteadyResult | null = null;
    // GeoIP first: it is quick, and fails at once when the embedded data or the library is
    // missing.
    const geoip = opts.enrich ? await measureGeoip(opts.geoipAddresses, opts.geoipRounds) : null;
    if (opts.collector) {
      emptyList = await measureEmpty(opts.runs);
      log(`conntrack -L of an empty namespace: ${emptyList.median.toFixed(1)} ms median`);
      for (const size of opts.sizes) sizes.push(await measureSize(size, opts.runs));
      steady = opts.cpuSeconds > 0 && opts.cpuSize > 0
        ? await measureSteady(opts.cpuSize, opts.cpuSeconds)
        : null;
    }
    const enrich = opts.enrich ? await measureEnrichSize(opts) : null;
    const ui = opts.ui ? await measureUiSize(opts) : null;
    const server = opts.server ? await measureServerPart(opts) : null;
    // --- peers ---
    let peers: PeersResult | null = null;
    if (opts.peers) {
      peers = await measurePeers({
        sizes: opts.peersSizes,
        runs: opts.runs,
        seconds: opts.peersSeconds,
        mainTs: new URL("../main.ts", import.meta.url).pathname,
        log,
      });
      log(`peers benchmark done in ${(peers.totalMs / 1000).toFixed(0)} s`);
    }
    // --- end peers ---
    let targets: TargetsResult | null = null;
    if (opts.targets) {
      targets = await measureTargets({
        mainTs: new URL("../main.ts", import.meta.url).pathname,
        groups: opts.targetGroups,
        runs: opts.targetRuns,
        seconds: opts.targetSeconds,
        keys: opts.targetKeys,
        helpKeys: opts.targetHelpKeys,
        sortKeys: opts.targetSortKeys,
        daemonAfterS: opts.targetAfter,
        log,
      }, (size, suffix) => loadTable(size, suffix));
      log(`targets done in ${(targets.totalMs / 1000).toFixed(0)} s`);
    }
    const foreignEnd = await foreignEntries(prefix());
    const results: BenchResults = {
      host,
      runs: opts.runs,
      sizes,
      steady,
      clockSkewMs: skew,
      foreign: { start: foreignStart, end: foreignEnd },
      emptyList,
      ui,
      geoip,
      enrich,
      server,
    };
    const anyOther = opts.collector || opts.ui || opts.enrich || opts.server;
    const text = (anyOther ? renderMarkdown(results) : "") +
      (peers === null ? "" : "\n" + renderPeers(peers, foreignStart)) + // peers
      (targets === null ? "" : "\n" + renderTargets(
        targets,
        anyOther
          ? ""
          : `Measured ${host.date} on ${host.cpus} × ${host.cpuModel}, Linux ${host.kernel}, ` +
            `Deno ${host.deno}, ${host.conntrack}.`,
      ) + foreignNote(foreignStart, foreignEnd));
    if (opts.json !== undefined) {
      const all = { options: opts, ...results, peers, targets }; // peers
      await Deno.writeTextFile(opts.json, JSON.stringify(all, null, 2));
      log(`results written to ${opts.json}`);
    }
    console.log(text.trimEnd());
    return 0;
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : err}`);
    return 1;
  } finally {
    cleanUpSync();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
