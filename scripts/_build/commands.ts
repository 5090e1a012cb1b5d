/**
 * The `deno compile` command lines of conntop and conntopd: targets, baked permissions and
 * embedded files. Used by scripts/build.ts and by the tests, which run conntop with exactly these
 * permissions.
 *
 * @module
 */

import { CONNTOPD_PERMISSIONS } from "../../src/conntopd.ts";

/** The targets, by the architecture name used in file names. */
export const TARGETS = {
  x86_64: "x86_64-unknown-linux-gnu",
  aarch64: "aarch64-unknown-linux-gnu",
} as const;

/** An architecture conntop is built for. */
export type Arch = keyof typeof TARGETS;

/** The environment variables conntop reads (`--allow-env` is limited to these). */
export const CONNTOP_ENV = [
  // Colours (src/term/color.ts, main.ts).
  "NO_COLOR",
  "CONNTOP_COLOR",
  "TERM",
  "COLORTERM",
  // The config file (src/config/store.ts) and GeoIP directories (src/enrich/geoip/discover.ts).
  "HOME",
  "XDG_CONFIG_HOME",
  // Library paths (ffi/).
  "CONNTOP_LIBNFCT",
  "CONNTOP_LIBMAXMINDDB",
  // GeoIP overrides (src/app/enrichment.ts) and the start-up probe (src/app/probe.ts).
  "CONNTOP_GEOIP_PATH",
  "CONNTOP_NO_EMBEDDED_GEOIP",
  "CONNTOP_PROBE",
];

/**
 * Permissions baked into conntop: the least it needs to run every mode. Reads and writes stay
 * open (the config file, --record and --replay files, --geoip-dir, /proc and /sys); the network
 * too (--connect and --server name any host).
 */
export const CONNTOP_PERMISSIONS: readonly string[] = [
  "--allow-ffi",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  `--allow-env=${CONNTOP_ENV.join(",")}`,
  // nft: --track and the flowtable check; ip and sh: restoring sysctls if the collector died.
  "--allow-run=nft,ip,sh",
  // The header's host name (the settings file's owner is read through FFI: no uid or gid).
  "--allow-sys=hostname",
];

/**
 * V8 flags conntop runs with, baked into the binary (`deno compile --v8-flags`) and passed by
 * `deno task start`, the launchers and the benchmark. Measured on the monitor (README, "How it
 * works"; peak RSS, 200x50 tmux pane, 1 s refresh):
 * - `--max-semi-space-size=1`: a young generation capped at 1 MB keeps 6 MB off the peak at 1k
 *   connections and 16 MB at 200k, at no measurable CPU;
 * - `--optimize-for-size`: the old generation grows less before it is collected, so the
 *   worker's garbage between two dumps is smaller: 6 MB off the peak at 200k (none at 1k);
 * - `--no-short-builtin-calls`: V8 would map a 2 MB copy of its builtins next to each isolate's
 *   heap (file pages counted again in the RSS, twice with the worker): 2 MB off at 1k, 5 MB
 *   at 200k.
 * With both, `--once -o csv -n` at 200k peaks 50 MB lower (230 → 180 MB) and takes about 7 %
 * more wall time (user CPU +13 %); `-o json` is unchanged.
 * `--lite-mode` would save 18 MB at 1k but takes 4× the CPU per refresh at 200k;
 * `--single-threaded` bought nothing. The young-generation cap stays last: the build test reads
 * it back from the binary.
 */
export const CONNTOP_V8_FLAGS: readonly string[] = [
  "--optimize-for-size",
  "--no-short-builtin-calls",
  "--max-semi-space-size=1",
];

/** {@linkcode CONNTOP_V8_FLAGS} as the one `deno` argument that sets them. */
export const CONNTOP_V8_FLAGS_ARG = `--v8-flags=${CONNTOP_V8_FLAGS.join(",")}`;

/** Files embedded in conntop besides its module graph: workers and the GeoIP data. */
export const CONNTOP_INCLUDES = [
  "src/collector/worker.ts",
  "src/enrich/service.ts",
  "src/engine/serve.ts",
  "data/geoip",
];

/** Files embedded in conntopd besides its module graph: the collector worker. */
export const CONNTOPD_INCLUDES = ["src/collector/worker.ts"];

/** conntopd's baked permissions: its own (src/conntopd.ts) plus writing, for --log-file and
 * --track (a binary's permissions cannot be widened at run time). */
export const CONNTOPD_BUILD_PERMISSIONS: readonly string[] = [
  ...CONNTOPD_PERMISSIONS,
  "--allow-write",
];

/** The `deno compile` command line of conntop for one target. */
export function compileCommand(arch: Arch, outDir = "dist"): string[] {
  return [
    "deno",
    "compile",
    "--no-check",
    // A missing permission fails at once with conntop's one-line message; it never asks.
    "--no-prompt",
    ...CONNTOP_PERMISSIONS,
    CONNTOP_V8_FLAGS_ARG,
    ...CONNTOP_INCLUDES.flatMap((f) => ["--include", f]),
    "--target",
    TARGETS[arch],
    "--output",
    `${outDir}/conntop-${arch}`,
    "main.ts",
  ];
}

/** The `deno compile` command line of conntopd for one target. */
export function conntopdCompileCommand(arch: Arch, outDir = "dist"): string[] {
  return [
    "deno",
    "compile",
    "--no-check",
    "--no-prompt",
    ...CONNTOPD_BUILD_PERMISSIONS,
    ...CONNTOPD_INCLUDES.flatMap((f) => ["--include", f]),
    "--target",
    TARGETS[arch],
    "--output",
    `${outDir}/conntopd-${arch}`,
    "src/conntopd.ts",
  ];
}
