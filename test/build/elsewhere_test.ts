/**
 * What differs in a compiled binary: it runs from any working directory, with only the
 * permissions baked in, and nothing but the environment variables it is allowed to read. These
 * tests run conntop and conntopd with `deno run` and exactly the build's permission flags
 * (scripts/_build/commands.ts), from an empty temporary directory, with a bare environment, so a
 * missing permission or a path taken relative to the working directory fails here: workers
 * (static `new URL(..., import.meta.url)`), the embedded GeoIP data read as bytes, the config
 * file, libraries from the system's paths, nft for --track, the sysctls of --enable-acct.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { mmdblookup } from "../_helpers/mmdblookup.ts";
import { Conntopd } from "../_helpers/conntopd.ts";
import { Tmux } from "../../tools/tmux.ts";
import { CONNTOP_PERMISSIONS, CONNTOPD_BUILD_PERMISSIONS } from "../../scripts/_build/commands.ts";
import { CONNTOPD_PERMISSIONS } from "../../src/conntopd.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const DENO = Deno.execPath();

/** Entries of the test table: two public destinations (GeoIP answers) and a private one. */
const ENTRIES = [
  "-I -t 300 -s 10.9.0.1 -d 8.8.8.8 -p udp --sport 40000 --dport 53",
  "-I -t 300 -s 10.9.0.1 -d 1.1.1.1 -p tcp --state ESTABLISHED --sport 40001 --dport 443",
  "-I -t 300 -s 10.9.0.1 -d 10.9.0.2 -p tcp --state ESTABLISHED --sport 40002 --dport 22",
];

/** Deno's own cache (of `deno run`, not of conntop: a compiled binary has none). */
const DENO_DIR = JSON.parse(
  new TextDecoder().decode(
    new Deno.Command(DENO, { args: ["info", "--json"], stderr: "null" }).outputSync().stdout,
  ),
).denoDir as string;

/** A bare environment: what a service manager or `sudo` leaves, nothing of the test's. */
function bareEnv(home: string): Record<string, string> {
  return { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: home, NO_COLOR: "1", DENO_DIR };
}

/** Runs `cmd` in `cwd` with only `env`; returns the exit code and output. */
async function runIn(cwd: string, env: Record<string, string>, cmd: string[]) {
  const out = await new Deno.Command("env", {
    args: ["-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...cmd],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const conntop = (
  args: string[],
) => [DENO, "run", ...CONNTOP_PERMISSIONS, `${ROOT}/main.ts`, ...args];

interface Row {
  "orig_dst": string;
  "dst_country": string | null;
  "dst_asn": number | null;
}

Deno.test("from another directory with the baked permissions, --once reads the namespace, the embedded GeoIP data and undoes --enable-acct and --track", async () => {
  await using ns = await Netns.create("else");
  await loadConntrack(ns, ENTRIES);
  const acctBefore = await ns.sysctl("net.netfilter.nf_conntrack_acct");
  const cwd = await Deno.makeTempDir({ prefix: "conntop-elsewhere-" });
  try {
    const r = await runIn(
      cwd,
      bareEnv(cwd),
      conntop([
        "--once",
        "-o",
        "json",
        "--netns",
        ns.name,
        "-n",
        "--enable-acct",
        "--track",
      ]),
    );
    assertEquals(r.code, 0, r.stderr);
    assert(!/permission/i.test(r.stderr), r.stderr);
    const rows = (JSON.parse(r.stdout) as { connections: Row[] }).connections;
    assertEquals(rows.map((c) => c.orig_dst).sort(), ["1.1.1.1", "10.9.0.2", "8.8.8.8"]);
    const embedded = `${ROOT}/data/geoip/country.mmdb`;
    for (const ip of ["8.8.8.8", "1.1.1.1"]) {
      const want = await mmdblookup(embedded, ip) as { country_code?: string } | null;
      assert(want?.country_code !== undefined, `the embedded data has a country for ${ip}`);
      assertEquals(rows.find((c) => c.orig_dst === ip)?.dst_country, want.country_code, ip);
      assert(rows.find((c) => c.orig_dst === ip)?.dst_asn !== null, `an AS for ${ip}`);
    }
    assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), acctBefore, "acct restored");
    const tables = await ns.exec(["nft", "list", "tables"]);
    assertEquals(tables.stdout.trim(), "", "the --track table is gone");
    assertEquals([...Deno.readDirSync(cwd)], [], "nothing written into the working directory");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("from another directory with the baked permissions, the monitor draws the table and saves its config under HOME", async () => {
  await using ns = await Netns.create("elsemon");
  await loadConntrack(ns, ENTRIES);
  const cwd = await Deno.makeTempDir({ prefix: "conntop-elsewhere-" });
  try {
    const env = bareEnv(cwd);
    // An existing config: saving replaces it (atomically, keeping its owner).
    await Deno.mkdir(`${cwd}/.config/conntop`, { recursive: true });
    await Deno.writeTextFile(`${cwd}/.config/conntop/config.json`, "{}\n");
    const argv = [
      "env",
      "-i",
      ...Object.entries({ ...env, TERM: "xterm-256color" }).map(([k, v]) => `${k}=${v}`),
    ];
    await using term = await Tmux.start(
      [
        "/bin/sh",
        "-c",
        `cd "$0" && "$@"; echo "exit code: $?"; exec sleep 600`,
        cwd,
        ...argv,
        ...conntop(["--netns", ns.name, "-n"]),
      ],
      { width: 140, height: 30 },
    );
    await term.waitFor(
      (s) => s.includes("8.8.8.8") && s.includes("1.1.1.1") && s.includes("10.9.0.2"),
      {
        timeoutMs: 20_000,
      },
    );
    // A setting changed in the monitor is saved on quit: I inverts the sort order.
    await term.sendKeys("I");
    await term.sendKeys("q");
    const screen = await term.waitFor((s) => s.includes("exit code:"), { timeoutMs: 10_000 });
    assertStringIncludes(screen, "exit code: 0");
    const config = JSON.parse(await Deno.readTextFile(`${cwd}/.config/conntop/config.json`));
    assert(typeof config === "object" && config !== null, "a config object");
    assert(Object.keys(config).length > 0, "the changed setting was saved over the old file");
    const top = [...Deno.readDirSync(cwd)].map((e) => e.name);
    assertEquals(top, [".config"], "only the config, under HOME");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("from other directories with the baked permissions, conntopd serves and conntop --connect shows the table", async () => {
  await using ns = await Netns.create("elsesrv");
  await loadConntrack(ns, ENTRIES);
  assertEquals([...CONNTOPD_PERMISSIONS, "--allow-write"], CONNTOPD_BUILD_PERMISSIONS);
  const serverDir = await Deno.makeTempDir({ prefix: "conntopd-elsewhere-" });
  const clientDir = await Deno.makeTempDir({ prefix: "conntop-elsewhere-" });
  try {
    const log = `${serverDir}/conntopd.log`;
    await using server = await Conntopd.start(["--netns", ns.name, "--log-file", log], {
      // The helper runs CONNTOPD_PERMISSIONS plus these: together the binary's set. From its
      // own directory, with a bare environment.
      permissions: ["--allow-write"],
      prefix: [
        "sh",
        "-c",
        'cd "$0" && d=$1 && shift && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DENO_DIR="$d" "$@"',
        serverDir,
        DENO_DIR,
      ],
      logFile: log,
    });
    const r = await runIn(
      clientDir,
      bareEnv(clientDir),
      conntop(["--connect", `127.0.0.1:${server.port}`, "--once", "-o", "json", "-n"]),
    );
    assertEquals(r.code, 0, r.stderr);
    const rows = (JSON.parse(r.stdout) as { connections: Row[] }).connections;
    assertEquals(rows.map((c) => c.orig_dst).sort(), ["1.1.1.1", "10.9.0.2", "8.8.8.8"]);
    assertEquals([...Deno.readDirSync(clientDir)], [], "the client wrote nothing there");
    assertStringIncludes(await Deno.readTextFile(log), "serving");
  } finally {
    await Deno.remove(serverDir, { recursive: true });
    await Deno.remove(clientDir, { recursive: true });
  }
});
