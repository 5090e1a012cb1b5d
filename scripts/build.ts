/**
 * Builds standalone binaries with `deno compile` for x86_64 and aarch64 Linux:
 * `dist/conntop-<arch>` and the dedicated server `dist/conntopd-<arch>` (only the collector: no UI,
 * no GeoIP data, and only the permissions it needs).
 *
 * `deno compile` fetches its runtime (denort) from the internet unless `DENORT_BIN` names a
 * local one. Where that is unreachable, this script stops at once with one line saying so,
 * instead of hanging in a download. `--dry-run` prints the exact commands.
 *
 * Usage: deno task build [--dry-run] [--target x86_64|aarch64]...
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CONNTOPD_PERMISSIONS } from "../src/conntopd.ts";

const TARGETS = {
  x86_64: "x86_64-unknown-linux-gnu",
  aarch64: "aarch64-unknown-linux-gnu",
} as const;

/** Permissions baked into conntop: the least it needs to run every mode. */
export const CONNTOP_PERMISSIONS = [
  "--allow-ffi",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
  // --connect and --server.
  "--allow-net",
];

/** The deno compile command line for one target. */
export function compileCommand(arch: keyof typeof TARGETS): string[] {
  return [
    "deno",
    "compile",
    "--no-check",
    ...CONNTOP_PERMISSIONS,
    "--include",
    "src/collector/worker.ts",
    "--include",
    "src/enrich/worker.ts",
    // The embedded GeoIP data (scripts/geodata.ts makes it), read as bytes at run time.
    "--include",
    "data/geoip",
    "--target",
    TARGETS[arch],
    "--output",
    `dist/conntop-${arch}`,
    "main.ts",
  ];
}

/** The deno compile command line of conntopd for one target. */
export function conntopdCompileCommand(arch: keyof typeof TARGETS): string[] {
  return [
    "deno",
    "compile",
    "--no-check",
    ...CONNTOPD_PERMISSIONS,
    // A binary's permissions cannot be widened at run time: --log-file and --track write.
    "--allow-write",
    "--include",
    "src/collector/worker.ts",
    "--target",
    TARGETS[arch],
    "--output",
    `dist/conntopd-${arch}`,
    "src/conntopd.ts",
  ];
}

if (import.meta.main) {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: { "dry-run": { type: "boolean" }, target: { type: "string", multiple: true } },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`build: ${(err as Error).message}`);
    Deno.exit(2);
  }
  const arches = (args.target ?? Object.keys(TARGETS)) as (keyof typeof TARGETS)[];
  for (const a of arches) {
    if (!(a in TARGETS)) {
      console.error(`build: Unknown target '${a}': expected x86_64 or aarch64`);
      Deno.exit(2);
    }
  }
  const cmds = arches.flatMap((a) => [compileCommand(a), conntopdCompileCommand(a)]);
  if (args["dry-run"]) {
    for (const c of cmds) console.log(c.join(" "));
    Deno.exit(0);
  }
  if (!Deno.env.get("DENORT_BIN")) {
    console.error(
      "build: deno compile downloads its runtime (denort), and the internet is unreachable here: set DENORT_BIN to a local denort binary",
    );
    Deno.exit(2);
  }
  const root = new URL("..", import.meta.url).pathname;
  for (const c of cmds) {
    console.error(`build: ${c.join(" ")}`);
    const r = await new Deno.Command(Deno.execPath(), { args: c.slice(1), cwd: root }).output();
    if (!r.success) {
      console.error(`build: deno compile failed for ${c.at(-3)} (exit code ${r.code})`);
      Deno.exit(1);
    }
  }
}
