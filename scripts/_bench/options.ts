/**
 * Command-line options of scripts/bench.ts.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { MAX_ENTRIES } from "./entries.ts";
import { TARGET_GROUPS, type TargetGroup } from "./targets.ts";

/** What the benchmark was asked to do. */
export interface BenchOptions {
  /** Table sizes for the read-time comparison. */
  sizes: number[];
  /** Length of the steady-state CPU measurement, per tool, in seconds. */
  cpuSeconds: number;
  /** Table size for the steady-state measurement. */
  cpuSize: number;
  /** Timed runs per tool and size. */
  runs: number;
  /** Run the collector's parts: full reads and the steady state (off with any `--…-only`). */
  collector: boolean;
  /** Run the interactive monitor's benchmark (`--no-ui` turns it off). */
  ui: boolean;
  /** Run only the interactive monitor's benchmark (with `--enrich-only`: both). */
  uiOnly: boolean;
  /** Run the enrichment benchmark: GeoIP lookups and the caches (`--no-enrich` turns it off). */
  enrich: boolean;
  /** Run only the enrichment benchmark (with `--ui-only`: both). */
  enrichOnly: boolean;
  /** Table size for the enrichment benchmark. */
  enrichSize: number;
  /** Refreshes driven by the enrichment benchmark. */
  enrichRefreshes: number;
  /** Addresses per pass of the GeoIP lookup benchmark. */
  geoipAddresses: number;
  /** Rounds of the GeoIP lookup benchmark (the median is reported). */
  geoipRounds: number;
  /** The UI benchmark's conntop runs: enrichment on (default program), off, or both. */
  uiEnrich: ("on" | "off")[];
  /** Table size for the UI benchmark. */
  uiSize: number;
  /** Up/Down/PageUp/PageDown keys sent, per program. */
  uiKeys: number;
  /** `>` keys (re-sorts) sent, per program. */
  uiSortKeys: number;
  /** Timed runs of each in-process sort. */
  uiSortRuns: number;
  /** Write conntop's CPU profile of the UI run into this directory. */
  uiCpuProf?: string;
  /** Run the client-server benchmark (`--no-server` turns it off). */
  server: boolean;
  /** Run only the client-server benchmark (with other `--…-only`: those too). */
  serverOnly: boolean;
  /** Table size for the client-server benchmark. */
  serverSize: number;
  /** Length of each load phase (0, 1, 10 clients…), per server, in seconds. */
  serverSeconds: number;
  /** Timed snapshot runs of each kind (and `conntrack -L` runs). */
  serverRuns: number;
  /** Ticks measured per level of change. */
  serverRounds: number;
  /** Clients of the load phases, in order. */
  serverClients: number[];
  // --- peers (scripts/_bench/peers.ts) ---
  /** Run the comparison with iptstate and flowtop (`--no-peers` turns it off). */
  peers: boolean;
  /** Run only the peers comparison (with other `--…-only`: those too). */
  peersOnly: boolean;
  /** Table sizes for the peers comparison, smallest first. */
  peersSizes: number[];
  /** How long each monitor is measured once it shows the table, in seconds. */
  peersSeconds: number;
  // --- end peers ---
  // --- targets (scripts/_bench/targets.ts) ---
  /** Measure the targets (`--no-targets` turns it off). */
  targets: boolean;
  /** Run only the targets (with other `--…-only`: those too). */
  targetsOnly: boolean;
  /** Which groups of targets. */
  targetGroups: TargetGroup[];
  /** Runs of each target measure (the median is reported). */
  targetRuns: number;
  /** CPU window of each monitor and conntopd run, s. */
  targetSeconds: number;
  /** Down keys, help open/close pairs and `>` keys per run. */
  targetKeys: number;
  targetHelpKeys: number;
  targetSortKeys: number;
  /** Seconds waited after conntopd's client left. */
  targetAfter: number;
  /** Also write the results as JSON to this file. */
  json?: string;
  help: boolean;
}

/** Usage text. */
export const USAGE = `Usage: deno task bench [OPTIONS]

Compares conntop with conntrack -L on tables of realistic connections in throw-away network
namespaces (needs root), and prints a markdown table on stdout (progress on stderr).

Options:
  --sizes N,N,...     table sizes for the full-read comparison (default 10000,100000,250000)
  --runs N            timed runs per tool and size (default 5)
  --cpu-size N        table size for the CPU and memory measurement (default 200000)
  --cpu-seconds S     length of the CPU measurement, per tool (default 30)
  --quick             sizes 10000,50000, 3 runs, 10 s of CPU at 50000; UI at 50000 with 30
                      keys, 14 re-sorts and 5 sort runs; enrichment at 50000 with 4
                      refreshes, 20000 GeoIP addresses in 1 round (explicit options win)
  --json FILE         also write every result as JSON to FILE

The interactive monitor (needs tmux), on one table refreshed every second:
  --no-ui             skip it
  --ui-only           run only it
  --ui-size N         table size (default 250000)
  --ui-keys N         Up/Down/PageUp/PageDown keys sent to conntop and to the reference
                      program (default 100)
  --ui-sort-keys N    '>' keys sent (each re-sorts the whole table) (default 28)
  --ui-sort-runs N    timed runs of each in-process sort (default 10)
  --ui-cpu-prof DIR   write conntop's V8 CPU profile of the UI run into DIR
  --ui-enrich WHICH   conntop with enrichment 'on' (its defaults), 'off' (-n -P --no-geoip)
                      or 'both', one run after the other (default both)

Enrichment (GeoIP lookups per second, then the caches on one table, scrolled and sorted by
country over several refreshes; no tmux needed):
  --no-enrich         skip it
  --enrich-only       run only it (with --ui-only: it and the UI, not the collector's parts)
  --enrich-size N     table size (default 250000)
  --enrich-refreshes N  refreshes driven (default 8)
  --geoip-addresses N random public addresses per GeoIP pass (default 100000)
  --geoip-rounds N    rounds of GeoIP passes, the median reported (default 3)

The client-server mode (conntopd and protocol clients on loopback; the original C++ conntop
server too when built: CONNTOP_CPP_SERVER, default /work/ref/conntop-cpp/build-dedicated/conntopd):
  --no-server         skip it
  --server-only       run only it (with other --...-only options: those parts too)
  --server-size N     table size (default 250000)
  --server-seconds S  length of each load phase (0, 1, 10 clients, 0 again), per server
                      (default 20)
  --server-runs N     timed snapshot runs of each kind, and conntrack -L runs (default 3)
  --server-rounds N   ticks measured per level of change (0.1 %, 1 %, 10 %) (default 5)
  --server-clients N,N,...  clients of the load phases, in order (default 0,1,10)
  (--quick: 50000 connections, 10 s phases, 2 runs, 3 rounds)

Against the peers, iptstate and netsniff-ng's flowtop (needs tmux and GNU time; a peer that is
not installed is reported, not measured), on idle tables: one full listing (conntrack -L,
iptstate -1, conntop --once; --runs timed runs each) and the monitors held open in tmux:
  --no-peers          skip it
  --peers-only        run only it (with other --...-only options: those parts too)
  --peers-sizes N,N,...  table sizes (default 10000,100000,250000)
  --peers-seconds S   how long each monitor is measured once it shows the table (default 20)
  (--quick: 10000,50000 connections, 10 s)

The issue's targets, each with its figure, the target and PASS, FAIL or SKIP (a skip is never a
pass); tables of 1k, 200k and 250k (needs tmux, python3, GNU time; iptstate for the memory ratio):
  --no-targets        skip them
  --targets-only      run only them (with other --...-only options: those parts too)
  --targets GROUPS    which groups, comma-separated: monitor (200k still and busy: CPU per
                      refresh, refreshes, peak RSS vs iptstate, Down, help, frame), sort ('>'
                      at 250k), monitor-1k, daemon (conntopd 1k and 200k), once (--once json and
                      csv at 200k), collection (250k) (default all)
  --targets-runs N    runs of each, the median reported (default 3)
  --targets-seconds S CPU window of each monitor and conntopd run (default 25)
  --targets-keys N    Down/Up keys per monitor run (default 60); help open/close pairs are a
                      sixth of it, at least 4; '>' keys per sort run a third, at least 8
  --targets-after S   seconds waited after conntopd's client left (default 60)
  (--quick: 1 run, 10 s windows, 20 keys; the wait after conntopd's client stays 60 s)

  -h, --help          show this help
`;

const SPEC = {
  sizes: { type: "string" },
  runs: { type: "string" },
  "cpu-size": { type: "string" },
  "cpu-seconds": { type: "string" },
  quick: { type: "boolean" },
  "no-ui": { type: "boolean" },
  "ui-only": { type: "boolean" },
  "ui-size": { type: "string" },
  "ui-keys": { type: "string" },
  "ui-sort-keys": { type: "string" },
  "ui-sort-runs": { type: "string" },
  "ui-cpu-prof": { type: "string" },
  "ui-enrich": { type: "string" },
  "no-enrich": { type: "boolean" },
  "enrich-only": { type: "boolean" },
  "enrich-size": { type: "string" },
  "enrich-refreshes": { type: "string" },
  "geoip-addresses": { type: "string" },
  "geoip-rounds": { type: "string" },
  "no-server": { type: "boolean" },
  "server-only": { type: "boolean" },
  "server-size": { type: "string" },
  "server-seconds": { type: "string" },
  "server-runs": { type: "string" },
  "server-rounds": { type: "string" },
  "server-clients": { type: "string" },
  "no-peers": { type: "boolean" },
  "peers-only": { type: "boolean" },
  "peers-sizes": { type: "string" },
  "peers-seconds": { type: "string" },
  "no-targets": { type: "boolean" },
  "targets-only": { type: "boolean" },
  targets: { type: "string" },
  "targets-runs": { type: "string" },
  "targets-seconds": { type: "string" },
  "targets-keys": { type: "string" },
  "targets-after": { type: "string" },
  json: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function integer(name: string, text: string, lo: number, hi: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < lo || n > hi) {
    throw new Error(
      `Invalid value for ${name}: expected an integer from ${lo} to ${hi}, got '${text}'`,
    );
  }
  return n;
}

/** Parses the benchmark's arguments; throws an Error naming the bad option. */
export function parseBenchOptions(args: string[]): BenchOptions {
  const { values: v } = parseArgs({ args, options: SPEC, strict: true, allowPositionals: false });
  const quick = v.quick ?? false;
  const size = (name: string, text: string) => integer(name, text, 1, MAX_ENTRIES);
  if (v["no-ui"] && v["ui-only"]) {
    throw new Error("Options --no-ui and --ui-only exclude each other");
  }
  if (v["no-enrich"] && v["enrich-only"]) {
    throw new Error("Options --no-enrich and --enrich-only exclude each other");
  }
  const uiEnrich = v["ui-enrich"] ?? "both";
  if (uiEnrich !== "both" && uiEnrich !== "on" && uiEnrich !== "off") {
    throw new Error(
      `Invalid value for --ui-enrich: expected 'on', 'off' or 'both', got '${uiEnrich}'`,
    );
  }
  if (v["no-server"] && v["server-only"]) {
    throw new Error("Options --no-server and --server-only exclude each other");
  }
  if (v["no-peers"] && v["peers-only"]) {
    throw new Error("Options --no-peers and --peers-only exclude each other");
  }
  if (v["no-targets"] && v["targets-only"]) {
    throw new Error("Options --no-targets and --targets-only exclude each other");
  }
  const targetGroups = (v.targets ?? TARGET_GROUPS.join(",")).split(",").map((g) => g.trim());
  for (const g of targetGroups) {
    if (!(TARGET_GROUPS as readonly string[]).includes(g)) {
      throw new Error(
        `Invalid value for --targets: expected groups among ${TARGET_GROUPS.join(", ")}, ` +
          `got '${g}'`,
      );
    }
  }
  const targetsOnly = (v["targets-only"] ?? false) || v.targets !== undefined;
  const peersOnly = v["peers-only"] ?? false;
  const uiOnly = v["ui-only"] ?? false;
  const enrichOnly = v["enrich-only"] ?? false;
  const serverOnly = v["server-only"] ?? false;
  // Any --…-only option runs the parts it names and no other.
  const anyOnly = uiOnly || enrichOnly || serverOnly || peersOnly || targetsOnly;
  const count = (name: keyof typeof v, dflt: number, quickDflt: number, lo: number) => {
    const text = v[name];
    return typeof text === "string"
      ? integer(`--${name}`, text, lo, 10_000)
      : quick
      ? quickDflt
      : dflt;
  };
  return {
    sizes: v.sizes !== undefined
      ? v.sizes.split(",").map((s) => size("--sizes", s.trim()))
      : quick
      ? [10_000, 50_000]
      : [10_000, 100_000, 250_000],
    runs: v.runs !== undefined ? integer("--runs", v.runs, 1, 1000) : quick ? 3 : 5,
    cpuSize: v["cpu-size"] !== undefined
      ? integer("--cpu-size", v["cpu-size"], 0, MAX_ENTRIES)
      : quick
      ? 50_000
      : 200_000,
    cpuSeconds: v["cpu-seconds"] !== undefined
      ? integer("--cpu-seconds", v["cpu-seconds"], 0, 3600)
      : quick
      ? 10
      : 30,
    collector: !anyOnly,
    ui: !(v["no-ui"] ?? false) && (uiOnly || !anyOnly),
    uiOnly,
    enrich: !(v["no-enrich"] ?? false) && (enrichOnly || !anyOnly),
    enrichOnly,
    server: !(v["no-server"] ?? false) && (serverOnly || !anyOnly),
    serverOnly,
    serverSize: v["server-size"] !== undefined
      ? size("--server-size", v["server-size"])
      : quick
      ? 50_000
      : 250_000,
    serverSeconds: v["server-seconds"] !== undefined
      ? integer("--server-seconds", v["server-seconds"], 3, 3600)
      : quick
      ? 10
      : 20,
    serverRuns: count("server-runs", 3, 2, 1),
    serverRounds: count("server-rounds", 5, 3, 1),
    serverClients: v["server-clients"] !== undefined
      ? v["server-clients"].split(",").map((s) => integer("--server-clients", s.trim(), 0, 64))
      : [0, 1, 10],
    peers: !(v["no-peers"] ?? false) && (peersOnly || !anyOnly),
    peersOnly,
    peersSizes: v["peers-sizes"] !== undefined
      ? v["peers-sizes"].split(",").map((s) => size("--peers-sizes", s.trim())).sort((a, b) =>
        a - b
      )
      : quick
      ? [10_000, 50_000]
      : [10_000, 100_000, 250_000],
    peersSeconds: v["peers-seconds"] !== undefined
      ? integer("--peers-seconds", v["peers-seconds"], 3, 3600)
      : quick
      ? 10
      : 20,
    enrichSize: v["enrich-size"] !== undefined
      ? size("--enrich-size", v["enrich-size"])
      : quick
      ? 50_000
      : 250_000,
    enrichRefreshes: count("enrich-refreshes", 8, 4, 1),
    geoipAddresses: v["geoip-addresses"] !== undefined
      ? integer("--geoip-addresses", v["geoip-addresses"], 2, 10_000_000)
      : quick
      ? 20_000
      : 100_000,
    geoipRounds: count("geoip-rounds", 3, 1, 1),
    uiEnrich: uiEnrich === "both" ? ["on", "off"] : [uiEnrich],
    uiSize: v["ui-size"] !== undefined ? size("--ui-size", v["ui-size"]) : quick ? 50_000 : 250_000,
    uiKeys: count("ui-keys", 100, 30, 1),
    uiSortKeys: count("ui-sort-keys", 28, 14, 0),
    uiSortRuns: count("ui-sort-runs", 10, 5, 1),
    uiCpuProf: v["ui-cpu-prof"],
    targets: !(v["no-targets"] ?? false) && (targetsOnly || !anyOnly),
    targetsOnly,
    targetGroups: targetGroups as TargetGroup[],
    targetRuns: count("targets-runs", 3, 1, 1),
    targetSeconds: v["targets-seconds"] !== undefined
      ? integer("--targets-seconds", v["targets-seconds"], 3, 3600)
      : quick
      ? 10
      : 25,
    targetKeys: count("targets-keys", 60, 20, 2),
    targetHelpKeys: Math.max(4, Math.floor(count("targets-keys", 60, 20, 2) / 6)),
    targetSortKeys: Math.max(8, Math.floor(count("targets-keys", 60, 20, 2) / 3)),
    targetAfter: v["targets-after"] !== undefined
      ? integer("--targets-after", v["targets-after"], 0, 3600)
      : 60,
    json: v.json,
    help: v.help ?? false,
  };
}
