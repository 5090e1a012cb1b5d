/**
 * Helpers of install_test.ts: a real build into a temporary directory, runs of
 * scripts/install.sh in a private mount namespace with a stub `systemctl`, and listings of a
 * directory tree to compare before and after.
 *
 * The binaries are compiled with `DENORT_BIN` set to the deno CLI itself: real compiles of the
 * real module graph, but running one starts a REPL, so nothing here ever runs them.
 *
 * Requires root (for `unshare --mount`) and `--allow-all`.
 *
 * @module
 */

import { runCommand } from "../../tools/run.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The script under test. */
export const INSTALL_SH = `${REPO}/scripts/install.sh`;
/** The unit template it installs. */
export const UNIT_TEMPLATE = `${REPO}/scripts/conntopd.service`;
/** Where it takes the man pages from. */
export const MAN_DIR = `${REPO}/man`;

/** The architecture the script picks from `uname -m` on this machine. */
export const ARCH: "x86_64" | "aarch64" = Deno.build.arch;

/** The completion files of a build, by name under `completions/`, and where each goes. */
export const COMPLETIONS: readonly { file: string; target: string }[] = [
  { file: "conntop.bash", target: "share/bash-completion/completions/conntop" },
  { file: "conntopd.bash", target: "share/bash-completion/completions/conntopd" },
  { file: "_conntop", target: "share/zsh/site-functions/_conntop" },
  { file: "_conntopd", target: "share/zsh/site-functions/_conntopd" },
  { file: "conntop.fish", target: "share/fish/vendor_completions.d/conntop.fish" },
  { file: "conntopd.fish", target: "share/fish/vendor_completions.d/conntopd.fish" },
];

/** Whether `path` exists (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Builds the binaries of this machine's architecture and the completions into `outDir` with
 * `deno task build --target ARCH --out-dir DIR --no-archive`, the runtime being deno itself.
 */
export async function buildDist(outDir: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "build", "--target", ARCH, "--out-dir", outDir, "--no-archive"],
    cwd: REPO,
    env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Failed to build into '${outDir}': exit code ${out.code}: ` +
        new TextDecoder().decode(out.stderr).trim(),
    );
  }
}

// Hashes by inode, size and change times: the binaries are 100 MB each, and most listings see
// the same files again. Any write gives a file a new ctime, and a rename a new inode.
const hashes = new Map<string, string>();

/** The hex sha256 of a file's content. */
export async function sha256File(path: string): Promise<string> {
  const st = await Deno.stat(path);
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtime?.getTime()}:${st.ctime?.getTime()}`;
  const known = hashes.get(key);
  if (known !== undefined) return known;
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  hashes.set(key, hex);
  return hex;
}

/**
 * Every entry under `root` (itself included, as `.`), one line each, sorted:
 * `PATH TYPE MODE` and for files their size and sha256, for symlinks their target.
 * An absent `root` lists as nothing.
 */
export async function listTree(root: string): Promise<string[]> {
  const lines: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const path = rel === "." ? root : `${root}/${rel}`;
    const st = await Deno.lstat(path);
    const mode = ((st.mode ?? 0) & 0o7777).toString(8);
    if (st.isSymlink) {
      lines.push(`${rel} link ${mode} ${await Deno.readLink(path)}`);
    } else if (st.isDirectory) {
      lines.push(`${rel} dir ${mode}`);
      for await (const e of Deno.readDir(path)) {
        await visit(rel === "." ? e.name : `${rel}/${e.name}`);
      }
    } else {
      lines.push(`${rel} file ${mode} ${st.size} ${await sha256File(path)}`);
    }
  };
  if (await exists(root)) await visit(".");
  return lines.sort();
}

/** Options of {@linkcode runInstall}. */
export interface RunInstallOptions {
  /** Pretend systemd runs the machine: /run/systemd/system exists (in the private /run). */
  systemd?: boolean;
  /** What the stub's `systemctl is-enabled conntopd.service` answers (default: not enabled). */
  enabled?: boolean;
}

/** What a run of install.sh printed, how it exited, and what it asked of systemctl. */
export interface InstallResult {
  code: number;
  stdout: string;
  stderr: string;
  /** One line per systemctl call: its arguments. */
  systemctl: string[];
}

/**
 * Runs scripts/install.sh with `args`, in a private mount namespace whose /run is an empty
 * tmpfs (with /run/systemd/system when `opts.systemd`), so whether it believes systemd runs the
 * machine is the test's choice; and with a stub `systemctl` first on PATH that only writes its
 * arguments down, so the machine's systemd is never asked anything.
 */
export async function runInstall(
  args: readonly string[],
  opts: RunInstallOptions = {},
): Promise<InstallResult> {
  const stub = await Deno.makeTempDir({ prefix: "conntop-install-stub-" });
  try {
    const log = `${stub}/systemctl.log`;
    await Deno.writeTextFile(log, "");
    await Deno.writeTextFile(
      `${stub}/systemctl`,
      `#!/bin/sh
printf '%s\\n' "$*" >> '${log}'
case "$*" in
  *is-enabled*) exit ${opts.enabled ? 0 : 1} ;;
  *is-active*) exit 3 ;;
esac
exit 0
`,
    );
    await Deno.chmod(`${stub}/systemctl`, 0o755);
    const setup = "mount -t tmpfs tmpfs /run" +
      (opts.systemd ? " && mkdir -p /run/systemd/system" : "") + ' && exec "$@"';
    const r = await runCommand([
      "env",
      `PATH=${stub}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      setup,
      "sh",
      INSTALL_SH,
      ...args,
    ], { check: false });
    const calls = (await Deno.readTextFile(log)).split("\n").filter((l) => l !== "");
    return { ...r, systemctl: calls };
  } finally {
    await Deno.remove(stub, { recursive: true });
  }
}
