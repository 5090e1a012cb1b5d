/**
 * scripts/link.sh: the one-time step that gives a clone `conntop` and `conntopd` commands. The
 * launchers are written into a temporary bin directory and run from another directory with a
 * bare environment (what `sudo` leaves), and checked from outside: the deno process they become
 * (its PID and /proc/PID/cmdline: `exec`, the pinned deno, exactly the build's permission flags),
 * no banner or deno diagnostics on stderr, exit codes and signals passed through; and the
 * files: a file the script did not write is never replaced without --force, nor removed.
 *
 * Requires root (namespaces) and `--allow-all`.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { freePort } from "../../tools/ports.ts";
import {
  CONNTOP_PERMISSIONS,
  CONNTOP_V8_FLAGS_ARG,
  CONNTOPD_BUILD_PERMISSIONS,
} from "../../scripts/_build/commands.ts";
import { VERSION } from "../../src/version.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const LINK = `${ROOT}/scripts/link.sh`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const decoder = new TextDecoder();

/** Runs `cmd` in `cwd` with nothing but `env` (as `env -i`), killed after 60 s. */
async function runBare(cwd: string, env: Record<string, string>, cmd: string[]): Promise<Run> {
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    cwd,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs scripts/link.sh with `args` from the test's environment. */
function link(args: string[]): Promise<Run> {
  return runBare(ROOT, {
    PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
  }, ["bash", LINK, ...args]);
}

/**
 * A bare environment, with the bin directory first on PATH: less than even `sudo` leaves (no
 * HOME: deno finds its cache through the password database).
 */
function bareEnv(bin: string): Record<string, string> {
  return { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` };
}

/** The pinned deno, as scripts/setup.sh reports it. */
async function pinnedDeno(): Promise<string> {
  const r = await runBare(ROOT, {
    PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
  }, ["bash", `${ROOT}/scripts/setup.sh`, "--print-deno"]);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** Permission flags of a deno command line (`--allow-*`, `--deny-*`, `-A`). */
function permissionFlags(argv: string[]): string[] {
  return argv.filter((a) => /^--(allow|deny)-/.test(a) || a === "-A");
}

async function withTempDirs(fn: (bin: string, cwd: string) => Promise<void>): Promise<void> {
  const bin = await Deno.makeTempDir({ prefix: "conntop-link-bin-" });
  const cwd = await Deno.makeTempDir({ prefix: "conntop-link-cwd-" });
  try {
    await fn(bin, cwd);
  } finally {
    await Deno.remove(bin, { recursive: true });
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("link.sh writes conntop and conntopd launchers that run the clone from anywhere, with no banner", async () => {
  await withTempDirs(async (bin, cwd) => {
    const r = await link(["--bin-dir", bin]);
    assertEquals(r.code, 0, r.stderr);
    for (const name of ["conntop", "conntopd"]) {
      const st = await Deno.lstat(`${bin}/${name}`);
      assert(st.isFile, `${name} is a regular file`);
      assertEquals(st.mode! & 0o777, 0o755, `${name}'s mode`);
    }
    const env = bareEnv(bin);

    const version = await runBare(cwd, env, ["conntop", "--version"]);
    assertEquals(version.code, 0, version.stderr);
    assertEquals(version.stdout.split("\n")[0], `conntop ${VERSION}`);
    assertEquals(version.stderr, "", "nothing but conntop's output");

    const help = await runBare(cwd, env, ["conntopd", "--help"]);
    assertEquals(help.code, 0, help.stderr);
    assertStringIncludes(help.stdout, "conntopd");
    assertStringIncludes(help.stdout, "--listen");
    assertEquals(help.stderr, "");

    assertEquals([...Deno.readDirSync(cwd)], [], "nothing written into the working directory");
  });
});

Deno.test("through the launcher, --once -o json reads a namespace and stderr holds only conntop's lines", async () => {
  await using ns = await Netns.create("link");
  await loadConntrack(ns, [
    "-I -t 300 -s 10.7.0.1 -d 10.7.0.2 -p udp --sport 40000 --dport 53",
    "-I -t 300 -s 10.7.0.1 -d 10.7.0.3 -p tcp --state ESTABLISHED --sport 40001 --dport 443",
  ]);
  await withTempDirs(async (bin, cwd) => {
    assertEquals((await link(["--bin-dir", bin])).code, 0);
    const r = await runBare(cwd, bareEnv(bin), [
      "conntop",
      "--once",
      "-o",
      "json",
      "-n",
      "--netns",
      ns.name,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const rows = (JSON.parse(r.stdout) as { connections: { orig_dst: string }[] }).connections;
    assertEquals(rows.map((c) => c.orig_dst).sort(), ["10.7.0.2", "10.7.0.3"]);
    // conntop may warn (accounting off, …); deno itself must say nothing: no "Task" banner,
    // no "Download", no "Info … allow-run", no "Warning".
    for (const line of r.stderr.split("\n").filter((l) => l !== "")) {
      assertMatch(line, /^conntop: /, `a line on stderr not from conntop: ${JSON.stringify(line)}`);
    }
  });
});

Deno.test("the launchers become the pinned deno with exactly the binaries' permissions, and pass exit codes and signals through", async () => {
  await using ns = await Netns.create("linkp");
  const deno = await pinnedDeno();
  await withTempDirs(async (bin, cwd) => {
    assertEquals((await link(["--bin-dir", bin])).code, 0);
    const env = bareEnv(bin);

    // Bad usage: conntop's own two lines and exit code 2, from both launchers.
    const bad = await runBare(cwd, env, ["conntop", "--bogus"]);
    assertEquals(bad.code, 2);
    assertEquals(
      bad.stderr,
      "conntop: Unknown option '--bogus'\nTry 'conntop --help' for more information.\n",
    );
    const badd = await runBare(cwd, env, ["conntopd", "--bogus"]);
    assertEquals(badd.code, 2);
    assertMatch(badd.stderr, /^conntopd: .*'--bogus'/);

    for (
      const [name, args, perms, main] of [
        ["conntop", ["--stream", "--netns", ns.name], CONNTOP_PERMISSIONS, "main.ts"],
        [
          "conntopd",
          ["--netns", ns.name, "--port", String(freePort())],
          CONNTOPD_BUILD_PERMISSIONS,
          "src/conntopd.ts",
        ],
      ] as const
    ) {
      const child = new Deno.Command(name, {
        args: [...args],
        cwd,
        clearEnv: true,
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = child.output();
      try {
        // The process started is deno itself (exec): its command line, read by the PID the
        // launcher was started as, once the shell has been replaced.
        let argv: string[] = [];
        for (let i = 0; i < 100; i++) {
          argv = decoder.decode(await Deno.readFile(`/proc/${child.pid}/cmdline`))
            .split("\0").filter((a) => a !== "");
          if (argv.includes(`${ROOT}/${main}`)) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        assertEquals(await Deno.realPath(`/proc/${child.pid}/exe`), await Deno.realPath(deno));
        assertEquals(argv[1], "run", argv.join(" "));
        assertEquals(permissionFlags(argv), [...perms], `${name}'s permissions`);
        assertEquals(
          argv.filter((a) => a.startsWith("--v8-flags")),
          name === "conntop" ? [CONNTOP_V8_FLAGS_ARG] : [],
          `${name}'s V8 flags, as its binary has them`,
        );
        assert(argv.includes("--no-prompt"), "a missing permission fails, never asks");
        assertEquals(argv.indexOf(`${ROOT}/${main}`), argv.length - args.length - 1);
        // Let it start, then SIGTERM the launcher's PID: conntop's own exit code 143 comes back.
        await new Promise((r) => setTimeout(r, 1500));
        child.kill("SIGTERM");
      } catch (err) {
        child.kill("SIGKILL");
        await output;
        throw err;
      }
      const out = await output;
      assertEquals(out.code, 143, `${name}: ${decoder.decode(out.stderr)}`);
    }
  });
});

Deno.test("link.sh never replaces or removes a file it did not write, unless --force", async () => {
  await withTempDirs(async (bin, cwd) => {
    const foreign = "#!/bin/sh\necho someone else's conntop\n";
    await Deno.writeTextFile(`${bin}/conntop`, foreign);
    // A link planted where conntopd goes, pointing at a file that must stay as it is.
    await Deno.writeTextFile(`${cwd}/target`, "keep\n");
    await Deno.symlink(`${cwd}/target`, `${bin}/conntopd`);

    const refused = await link(["--bin-dir", bin]);
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, `'${bin}/conntop'`);
    assertStringIncludes(refused.stderr, "--force");
    assertEquals(await Deno.readTextFile(`${bin}/conntop`), foreign);
    assert((await Deno.lstat(`${bin}/conntopd`)).isSymlink, "the planted link is left alone");
    assertEquals(await Deno.readTextFile(`${cwd}/target`), "keep\n");

    const uninstall = await link(["--bin-dir", bin, "--uninstall"]);
    assertEquals(uninstall.code, 0, uninstall.stderr);
    assertEquals(await Deno.readTextFile(`${bin}/conntop`), foreign, "--uninstall keeps it");
    assert((await Deno.lstat(`${bin}/conntopd`)).isSymlink);

    const forced = await link(["--bin-dir", bin, "--force"]);
    assertEquals(forced.code, 0, forced.stderr);
    assert((await Deno.lstat(`${bin}/conntopd`)).isFile, "the link itself is replaced");
    assertEquals(await Deno.readTextFile(`${cwd}/target`), "keep\n", "never written through");
    const v = await runBare(cwd, bareEnv(bin), ["conntop", "--version"]);
    assertEquals(v.code, 0, v.stderr);

    // Its own launchers it replaces without --force, and removes.
    assertEquals((await link(["--bin-dir", bin])).code, 0);
    const removed = await link(["--bin-dir", bin, "--uninstall"]);
    assertEquals(removed.code, 0, removed.stderr);
    assertEquals([...Deno.readDirSync(bin)], []);
  });
});

Deno.test("link.sh rejects bad usage with one line and exit 2", async () => {
  for (
    const [args, want] of [
      [["--bogus"], "link.sh: Unknown option '--bogus' (try 'link.sh --help')\n"],
      [["--bin-dir"], "link.sh: Option '--bin-dir' needs a directory (try 'link.sh --help')\n"],
      [
        ["--bin-dir", "/nonexistent-conntop-bin"],
        "link.sh: Bin directory '/nonexistent-conntop-bin' does not exist (try 'link.sh --help')\n",
      ],
    ] as const
  ) {
    const r = await link([...args]);
    assertEquals(r.code, 2, args.join(" "));
    assertEquals(r.stderr, want);
  }
});

Deno.test("a launcher says when the permission lists changed since it was written", async () => {
  await withTempDirs(async (bin, cwd) => {
    assertEquals((await link(["--bin-dir", bin])).code, 0);
    // Stand in for a `git pull` that changed scripts/_build/commands.ts: the launcher's record
    // of the file's checksum no longer matches.
    const path = `${bin}/conntop`;
    const text = await Deno.readTextFile(path);
    const stale = text.replace(/\b[0-9a-f]{64}\b/g, "0".repeat(64));
    assert(stale !== text, "the launcher records a sha256");
    await Deno.writeTextFile(path, stale);
    const r = await runBare(cwd, bareEnv(bin), ["conntop", "--version"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(
      r.stderr,
      `conntop: warning: ${ROOT}/scripts/_build/commands.ts changed since scripts/link.sh wrote this launcher: run it again\n`,
    );
  });
});

Deno.test("deno.json's conntopd task runs conntopd with exactly the binary's permissions", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  assertEquals(
    config.tasks.conntopd,
    `deno run ${CONNTOPD_BUILD_PERMISSIONS.join(" ")} src/conntopd.ts`,
  );
});
