/**
 * scripts/setup.sh's two Debian package lists: by default what running conntop and conntopd
 * needs and nothing more, and with `--dev` what the tests and the benchmark call. Both are
 * checked against what is found independently on this machine: the programs conntop may run
 * (the `--allow-run` lists the build bakes in) and the libraries it loads through FFI, and the
 * programs the tests and the benchmark name, each mapped to its package by `dpkg -S`.
 *
 * Requires Debian's dpkg, the dev set installed (as CI does), and `--allow-all`.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { runCommand } from "../../tools/run.ts";
import { CONNTOP_PERMISSIONS, CONNTOPD_BUILD_PERMISSIONS } from "../../scripts/_build/commands.ts";
import { LIBNFCT_SONAME } from "../../ffi/conntrack.ts";
import { LIBMAXMINDDB_SONAME } from "../../ffi/maxminddb.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const SETUP = `${ROOT}/scripts/setup.sh`;
const SYSTEM_PATH = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** The words of the bash array `readonly NAME=( … )` in setup.sh. */
function bashArray(text: string, name: string): string[] {
  const m = new RegExp(`^readonly ${name}=\\(\\n([^)]*)\\)`, "m").exec(text);
  assert(m !== null, `setup.sh has no array ${name}`);
  return m[1]!.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter((l) => l !== "");
}

async function lists(): Promise<{ run: string[]; dev: string[] }> {
  const text = await Deno.readTextFile(SETUP);
  return { run: bashArray(text, "PACKAGES"), dev: bashArray(text, "DEV_PACKAGES") };
}

/** The package owning `path` (trying the other half of the /usr merge too), or undefined. */
async function owner(path: string): Promise<string | undefined> {
  const real = await Deno.realPath(path);
  const candidates = new Set<string>();
  for (const p of [path, real]) {
    candidates.add(p);
    if (p.startsWith("/usr/")) candidates.add(p.slice(4));
    else candidates.add(`/usr${p}`);
  }
  for (const p of candidates) {
    const r = await runCommand(["dpkg", "-S", p], { check: false });
    // "diversion by dash from: /bin/sh" lines name no package; "pkg[:arch][, pkg]: path" do.
    const line = r.stdout.split("\n").find((l) => !l.startsWith("diversion ") && l.includes(": "));
    if (r.code === 0 && line !== undefined) return line.split(/[:,]/)[0]!.trim();
  }
  return undefined;
}

/** Where `program` is in the system's directories (not the test user's PATH), or undefined. */
function which(program: string): string | undefined {
  for (const dir of SYSTEM_PATH) {
    try {
      const st = Deno.statSync(`${dir}/${program}`);
      if (st.isFile && (st.mode! & 0o111) !== 0) return `${dir}/${program}`;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** Whether Debian always has `pkg` (Essential, or Priority required). */
async function alwaysThere(pkg: string): Promise<boolean> {
  const r = await runCommand(["dpkg-query", "-W", "-f=${Essential} ${Priority}", pkg], {
    check: false,
  });
  return r.code === 0 && /^yes |required$/.test(r.stdout.trim());
}

/** The packages `pkg` depends on directly (Depends and Pre-Depends, alternatives included). */
async function dependencies(pkg: string): Promise<Set<string>> {
  const r = await runCommand(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", pkg]);
  return new Set(
    r.stdout.split(/[,|]/).map((d) => d.trim().split(/[\s:(]/)[0]!).filter((d) => d !== ""),
  );
}

/** The packages of what conntop and conntopd need at run time, found from their own sources. */
async function runtimeNeeds(): Promise<Map<string, string>> {
  const needs = new Map<string, string>(); // package → what it provides
  const programs = new Set<string>();
  for (const flag of [...CONNTOP_PERMISSIONS, ...CONNTOPD_BUILD_PERMISSIONS]) {
    const m = /^--allow-run=(.*)$/.exec(flag);
    if (m !== null) { for (const p of m[1]!.split(",")) programs.add(p); }
  }
  for (const p of programs) {
    const path = which(p);
    assert(path !== undefined, `'${p}' (in --allow-run) is not installed`);
    const pkg = await owner(path);
    assert(pkg !== undefined, `no package owns ${path}`);
    needs.set(pkg, p);
  }
  const ldconfig = (await runCommand(["ldconfig", "-p"])).stdout;
  for (const soname of [LIBNFCT_SONAME, LIBMAXMINDDB_SONAME]) {
    const m = new RegExp(`^\\s*${soname.replaceAll(".", "\\.")} \\(.*x86-64.*\\) => (\\S+)`, "m")
      .exec(ldconfig) ?? new RegExp(`^\\s*${soname.replaceAll(".", "\\.")} .* => (\\S+)`, "m")
      .exec(ldconfig);
    assert(m !== null, `${soname} is not installed`);
    const pkg = await owner(m[1]!);
    assert(pkg !== undefined, `no package owns ${m[1]}`);
    needs.set(pkg, soname);
  }
  return needs;
}

Deno.test("setup.sh installs by default exactly the packages conntop and conntopd run or load", async () => {
  const { run } = await lists();
  const needs = runtimeNeeds();
  const wanted: string[] = [];
  for (const [pkg] of await needs) if (!await alwaysThere(pkg)) wanted.push(pkg);
  assertEquals([...run].sort(), wanted.sort());
});

/**
 * Program names the tests and the benchmark start: string literals opening an array or a call
 * (`["ip", …]`, `new Deno.Command("tmux", …)`, `ns.cmd("ss", …)`) that name a program in the
 * system's directories.
 */
async function programsCalled(): Promise<Map<string, string>> {
  const found = new Map<string, string>(); // program → a file naming it
  const dirs = [`${ROOT}/test`, `${ROOT}/scripts/_bench`];
  const files = [`${ROOT}/scripts/bench.ts`];
  for (const d of dirs) {
    const walk = async (dir: string) => {
      for await (const e of Deno.readDir(dir)) {
        if (e.isDirectory) await walk(`${dir}/${e.name}`);
        else if (e.name.endsWith(".ts")) files.push(`${dir}/${e.name}`);
      }
    };
    await walk(d);
  }
  for (const f of files) {
    const text = await Deno.readTextFile(f);
    for (const m of text.matchAll(/(?:\[\s*|\(\s*)"([a-z][a-z0-9_.+-]*)"/g)) {
      const name = m[1]!;
      if (!found.has(name) && which(name) !== undefined) found.set(name, f.slice(ROOT.length + 1));
    }
  }
  return found;
}

Deno.test("setup.sh --dev adds a package for every program the tests and the benchmark call", async () => {
  const { run, dev } = await lists();
  const all = new Set([...run, ...dev]);
  const deps = new Set<string>();
  for (const pkg of all) for (const d of await dependencies(pkg)) deps.add(d);
  const called = await programsCalled();
  // The tools the tests are known to rely on are among those found (the scan works).
  for (const p of ["conntrack", "tmux", "mmdblookup", "dnsmasq", "openssl", "setpriv", "fish"]) {
    assert(called.has(p), `the scan of test/ did not find '${p}'`);
  }
  const missing: string[] = [];
  for (const [program, file] of called) {
    const pkg = await owner(which(program)!);
    if (pkg === undefined) {
      missing.push(`${program} (${file}): no package owns it`);
    } else if (!all.has(pkg) && !deps.has(pkg) && !await alwaysThere(pkg)) {
      missing.push(`${program} (${file}): package ${pkg}`);
    }
  }
  assertEquals(missing, []);
  for (const pkg of dev) assert(!run.includes(pkg), `${pkg} is in both lists`);
});

Deno.test("setup.sh takes --dev, and rejects an unknown argument with one line and exit 2", async () => {
  const dev = await runCommand(["bash", SETUP, "--dev"], { check: false });
  assertEquals(dev.code, 0, dev.stderr);
  const bad = await runCommand(["bash", SETUP, "--bogus"], { check: false });
  assertEquals(bad.code, 2);
  assertEquals(
    bad.stderr,
    "setup: unknown argument '--bogus' (expected --dev, --print-deno or --help)\n",
  );
});

Deno.test("scripts/run.sh installs the dev set for the test, bench and ok tasks only", async () => {
  // `bash -x` traces the setup.sh command line run.sh runs; the task itself only prints help.
  for (const [task, dev] of [["test", true], ["ok", true], ["start", false], ["check", false]]) {
    const r = await runCommand(["bash", "-x", `${ROOT}/scripts/run.sh`, task as string, "--help"], {
      check: false,
    });
    const line = r.stderr.split("\n").find((l) => /^\++ bash \S*setup\.sh /.test(l));
    assert(line !== undefined, `${task}: no setup.sh call traced:\n${r.stderr}`);
    assertEquals(/ --dev\b/.test(line), dev, `${task}: ${line}`);
  }
});
