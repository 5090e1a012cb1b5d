/**
 * The launchers scripts/link.sh puts on PATH so that a clone has `conntop` and `conntopd`
 * commands: a small POSIX shell script that `exec`s the pinned deno running the clone's source
 * with exactly the permissions the build bakes into the binaries ({@linkcode CONNTOP_PERMISSIONS},
 * {@linkcode CONNTOPD_BUILD_PERMISSIONS}, read from here, never copied) and the same V8 flags
 * ({@linkcode CONNTOP_V8_FLAGS_ARG}), `--no-prompt` as the
 * binaries have, and `--quiet` so that deno itself prints nothing (no "Task" banner, no
 * "Download", no "Info" line). `exec` hands exit codes and signals straight through.
 *
 * A launcher records the sha256 of the files its flags come from; when they change (a pull) it
 * says once per run that it should be written again, and still runs.
 *
 * Run as a script (by scripts/link.sh): `deno run --allow-read=ROOT launcher.ts PROGRAM DENO
 * ROOT` prints the launcher of PROGRAM (`conntop` or `conntopd`).
 *
 * @module
 */

import {
  CONNTOP_PERMISSIONS,
  CONNTOP_V8_FLAGS_ARG,
  CONNTOPD_BUILD_PERMISSIONS,
} from "./commands.ts";

/** The line that marks a file as written by scripts/link.sh (it replaces and removes only those). */
export const LAUNCHER_MARKER = "# conntop-launcher: written by scripts/link.sh";

/** A program a launcher runs. */
export type LaunchedProgram = "conntop" | "conntopd";

/** What each launcher runs, relative to the clone, and the files its flags are read from. */
const PROGRAMS: Record<
  LaunchedProgram,
  {
    main: string;
    permissions: readonly string[];
    /** V8 flags, as the binary has them baked in. */
    v8Flags: readonly string[];
    sources: readonly string[];
  }
> = {
  conntop: {
    main: "main.ts",
    permissions: CONNTOP_PERMISSIONS,
    v8Flags: [CONNTOP_V8_FLAGS_ARG],
    sources: ["scripts/_build/commands.ts"],
  },
  conntopd: {
    main: "src/conntopd.ts",
    permissions: CONNTOPD_BUILD_PERMISSIONS,
    v8Flags: [],
    sources: ["scripts/_build/commands.ts", "src/conntopd.ts"],
  },
};

/** The `deno` arguments a launcher runs PROGRAM with, before the user's arguments. */
export function launcherArgs(program: LaunchedProgram, root: string): string[] {
  const p = PROGRAMS[program];
  return [
    "run",
    "--quiet",
    "--no-prompt",
    // The clone's config (import map, lock file) whatever the working directory holds.
    "--config",
    `${root}/deno.json`,
    ...p.permissions,
    ...p.v8Flags,
    `${root}/${p.main}`,
  ];
}

/** `s` quoted for a POSIX shell. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@linkcode launcherScript}. */
export interface LauncherOptions {
  /** The deno binary to exec (the pinned one, `scripts/setup.sh --print-deno`). */
  deno: string;
  /** The clone's root directory (absolute). */
  root: string;
}

/**
 * The text of PROGRAM's launcher. Requires `--allow-read` of the clone (the checksums).
 */
export async function launcherScript(
  program: LaunchedProgram,
  options: LauncherOptions,
): Promise<string> {
  const { deno, root } = options;
  const p = PROGRAMS[program];
  const checks: string[] = [];
  for (const src of p.sources) {
    const sum = await sha256(`${root}/${src}`);
    // Only a file whose checksum can be taken and differs is reported (no sha256sum: no check).
    checks.push(
      `case $(sha256sum "$root"/${src} 2>/dev/null || echo ${sum}) in`,
      `  ${sum}*) ;;`,
      `  *) echo "${program}: warning: $root/${src} changed since scripts/link.sh wrote this launcher: run it again" >&2 ;;`,
      `esac`,
    );
  }
  const args = launcherArgs(program, "$root").map((a) =>
    a.startsWith("$root") ? `"$root"${a.slice("$root".length)}` : shellQuote(a)
  );
  return [
    "#!/bin/sh",
    LAUNCHER_MARKER,
    `# Runs ${program} from the clone below with the permissions its binary has`,
    `# (scripts/_build/commands.ts). Remove with: scripts/link.sh --uninstall`,
    `root=${shellQuote(root)}`,
    `deno=${shellQuote(deno)}`,
    `if [ ! -f "$root"/${p.main} ]; then`,
    `  echo "${program}: the clone '$root' is gone: run scripts/link.sh from a clone, or remove $0" >&2`,
    `  exit 2`,
    `fi`,
    `if [ ! -x "$deno" ]; then`,
    `  echo "${program}: cannot run deno '$deno': run scripts/link.sh again as this user" >&2`,
    `  exit 2`,
    `fi`,
    ...checks,
    `exec "$deno" ${args.join(" ")} "$@"`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const [program, deno, root] = Deno.args;
  if ((program !== "conntop" && program !== "conntopd") || !deno || !root) {
    console.error("launcher: usage: launcher.ts conntop|conntopd DENO ROOT");
    Deno.exit(2);
  }
  await Deno.stdout.write(new TextEncoder().encode(await launcherScript(program, { deno, root })));
}
