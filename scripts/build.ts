/**
 * Builds the standalone binaries with `deno compile` for x86_64 and aarch64 Linux:
 * `dist/conntop-<arch>` and the dedicated server `dist/conntopd-<arch>` (only the collector: no
 * UI, no GeoIP), each with the least Deno permissions it needs baked in; then the shell
 * completions (`dist/completions/`) and, per architecture, a release archive
 * `dist/conntop-<version>-linux-<arch>.tar.gz` that unpacks to the layout `scripts/install.sh`
 * installs from.
 *
 * `deno compile` takes its runtime (denort) from `DENORT_BIN` when set, else from Deno's cache
 * (`$DENO_DIR/dl/release/v<version>/denort-<target>.zip`), else downloads it from dl.deno.land.
 * When none of the three is possible this script stops at once with one line saying so and what
 * to set, never hanging in a download. `DENORT_BIN` serves every target: a runtime of another
 * architecture, or the deno CLI itself (which starts a REPL instead of the program), makes a
 * binary that proves the compile (module graph, embedded files, flags) but does not run; the
 * build says so.
 *
 * Usage: deno task build [--dry-run] [--target x86_64|aarch64]... [--out-dir DIR] [--no-archive]
 *
 * Exit status: 0 built, 1 a compile, writing or packaging step failed, 2 bad usage, 3 no runtime (denort)
 * available.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Arch, compileCommand, conntopdCompileCommand, TARGETS } from "./_build/commands.ts";
import { archive, completionFiles } from "./_build/release.ts";
import { run } from "./_build/run.ts";
import { findRuntime } from "./_build/runtime.ts";

export {
  compileCommand,
  CONNTOP_PERMISSIONS,
  CONNTOPD_BUILD_PERMISSIONS,
  conntopdCompileCommand,
} from "./_build/commands.ts";

async function denoDir(): Promise<string> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const r = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stderr: "null" })
    .output();
  try {
    return JSON.parse(new TextDecoder().decode(r.stdout)).denoDir;
  } catch {
    return `${Deno.env.get("HOME") ?? ""}/.cache/deno`;
  }
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        "dry-run": { type: "boolean" },
        target: { type: "string", multiple: true },
        "out-dir": { type: "string" },
        "no-archive": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`build: ${(err as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(
      "Usage: deno task build [--dry-run] [--target x86_64|aarch64]... [--out-dir DIR] [--no-archive]",
    );
    return 0;
  }
  const arches = (args.target ?? Object.keys(TARGETS)) as Arch[];
  for (const a of arches) {
    if (!(a in TARGETS)) {
      console.error(`build: Unknown target '${a}': expected x86_64 or aarch64`);
      return 2;
    }
  }
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  // The commands run in the repository's root: a relative --out-dir is relative to it.
  const outArg = args["out-dir"] ?? "dist";
  const outDir = outArg.startsWith("/") ? outArg : `${root}/${outArg}`;
  const compiles = arches.flatMap((
    a,
  ) => [compileCommand(a, outArg), conntopdCompileCommand(a, outArg)]);
  if (args["dry-run"]) {
    for (const c of compiles) console.log(c.join(" "));
    return 0;
  }

  const dir = await denoDir();
  const denortBin = Deno.env.get("DENORT_BIN");
  for (const a of arches) {
    const rt = await findRuntime(a, { denortBin, denoDir: dir });
    if (rt.kind === "none") {
      console.error(`build: ${rt.reason}`);
      return 3;
    }
    if (rt.kind === "env") { for (const w of rt.warnings) console.error(`build: warning: ${w}`); }
  }

  await Deno.mkdir(`${outDir}/completions`, { recursive: true });
  for (const [name, text] of completionFiles()) {
    await Deno.writeTextFile(`${outDir}/completions/${name}`, text);
  }
  for (const c of compiles) {
    if (!await run(c, root)) {
      console.error(`build: deno compile failed for ${c.at(-3)}`);
      return 1;
    }
  }
  if (!args["no-archive"]) {
    for (const a of arches) {
      if (!await archive(root, outDir, a)) {
        console.error(`build: packing the ${a} release archive failed`);
        return 1;
      }
    }
  }
  return 0;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    // A file of the release that is missing or unwritable output: one line, not a stack trace.
    console.error(`build: ${err instanceof Error ? err.message : err}`);
    code = 1;
  }
  Deno.exit(code);
}
