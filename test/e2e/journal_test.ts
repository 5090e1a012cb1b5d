/**
 * The undo journal: what --enable-acct and --track change in a namespace is written to
 * /run/conntop before it is changed, so a conntop killed with SIGKILL (or lost with its machine
 * mid-run) leaves a record the next start, or `conntop --restore`, undoes. Every check of the
 * kernel is made with `sysctl` and `nft` inside the test namespace, never with conntop's own
 * reading of it.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { runCommand } from "../../tools/run.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { Conntopd } from "../_helpers/conntopd.ts";
import { ConntopProcess, runConntop } from "./_conntop.ts";

const JOURNAL_DIR = "/run/conntop";
const ENTRY = "-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p udp --sport 1 --dport 2";

interface KernelState {
  acct: string;
  tstamp: string;
  track: boolean;
}

async function kernelState(ns: Netns): Promise<KernelState> {
  const tables = await ns.exec(["nft", "list", "tables"]);
  return {
    acct: await ns.sysctl("net.netfilter.nf_conntrack_acct"),
    tstamp: await ns.sysctl("net.netfilter.nf_conntrack_timestamp"),
    track: tables.stdout.includes("table inet conntop_track"),
  };
}

const CHANGED: KernelState = { acct: "1", tstamp: "1", track: true };
const ORIGINAL: KernelState = { acct: "0", tstamp: "0", track: false };

/** The namespace's inode, as `stat` gives it for its /run/netns file. */
async function netnsInode(ns: Netns): Promise<string> {
  return (await runCommand(["stat", "-L", "-c", "%i", `/run/netns/${ns.name}`])).stdout.trim();
}

async function journalFiles(ns: Netns): Promise<string[]> {
  const ino = await netnsInode(ns);
  try {
    return [...Deno.readDirSync(JOURNAL_DIR)].map((e) => e.name).filter((n) =>
      n.startsWith(`net-${ino}-`)
    );
  } catch {
    return [];
  }
}

/** A namespace with accounting off, one connection, and a conntop killed with SIGKILL in it. */
async function killedConntop(ns: Netns): Promise<number> {
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
  await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 0);
  await loadConntrack(ns, [ENTRY]);
  const mon = new ConntopProcess(["--stream", "--enable-acct", "--track", "--netns", ns.name]);
  await mon.waitFor(() => mon.lines.length >= 1, 10_000, "the first refresh");
  const pid = mon.child.pid;
  assertEquals(await mon.stop("SIGKILL"), 137);
  assertEquals(await kernelState(ns), CHANGED, "SIGKILL left the kernel changed");
  return pid;
}

Deno.test("the journal is kept in a root-only directory, one 0600 file per namespace and run", async () => {
  await using ns = await Netns.create("jrnl");
  await loadConntrack(ns, [ENTRY]);
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
  await using mon = new ConntopProcess([
    "--stream",
    "--enable-acct",
    "--track",
    "--netns",
    ns.name,
  ]);
  await mon.waitFor(() => mon.lines.length >= 1, 10_000, "the first refresh");
  const dir = (await runCommand(["stat", "-c", "%F %a %u", JOURNAL_DIR])).stdout.trim();
  assertEquals(dir, "directory 700 0");
  const files = await journalFiles(ns);
  assertEquals(files, [`net-${await netnsInode(ns)}-${mon.child.pid}.json`]);
  const file = (await runCommand(["stat", "-c", "%F %a %u", `${JOURNAL_DIR}/${files[0]}`]))
    .stdout.trim();
  assertEquals(file, "regular file 600 0");
  assertEquals(await mon.stop("SIGTERM"), 143);
  assertEquals(await journalFiles(ns), [], "a clean exit removes the journal");
});

Deno.test("conntop --restore --netns undoes what a conntop killed with SIGKILL left", async () => {
  await using ns = await Netns.create("jrst");
  const pid = await killedConntop(ns);
  const r = await runConntop(["--restore", "--netns", ns.name]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await kernelState(ns), ORIGINAL);
  assertMatch(
    r.stdout,
    new RegExp(
      `^Restored what conntop \\(pid ${pid}\\) left changed in network namespace '${ns.name}': ` +
        "net.netfilter.nf_conntrack_acct back to 0, net.netfilter.nf_conntrack_timestamp back to 0, " +
        "table inet conntop_track deleted\\n$",
    ),
  );
  assertEquals(await journalFiles(ns), []);
  // Again: nothing to do is not an error.
  const again = await runConntop(["--restore", "--netns", ns.name]);
  assertEquals(again.code, 0, again.stderr);
  assertEquals(again.stdout, `Nothing to restore in network namespace '${ns.name}'\n`);
});

Deno.test("the next start restores what a conntop killed with SIGKILL left, with one warning", async () => {
  await using ns = await Netns.create("jnext");
  const pid = await killedConntop(ns);
  const r = await runConntop(["--once", "--netns", ns.name]);
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.includes("Restored"));
  assertEquals(lines.length, 1, r.stderr);
  assertStringIncludes(lines[0]!, `conntop: Restored what conntop (pid ${pid}) left changed`);
  assertEquals(await kernelState(ns), ORIGINAL);
  assertEquals(await journalFiles(ns), []);
});

Deno.test("--track takes over a leftover table no running conntop owns, and deletes it on exit", async () => {
  await using ns = await Netns.create("jadopt");
  await loadConntrack(ns, [ENTRY]);
  // A table as an earlier conntop, killed before it kept a journal, left it.
  await ns.nft(
    "table inet conntop_track {\n chain out { type filter hook output priority -300; }\n}\n",
  );
  const r = await runConntop(["--once", "--track", "--netns", ns.name]);
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stderr, "conntop: Took over the nftables table 'inet conntop_track'");
  assertEquals((await kernelState(ns)).track, false, "the leftover table is deleted on exit");
});

Deno.test("conntop --restore leaves a namespace whose conntop still runs alone, exit 1", async () => {
  await using ns = await Netns.create("jlive");
  await loadConntrack(ns, [ENTRY]);
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
  await using mon = new ConntopProcess(["--stream", "--enable-acct", "--netns", ns.name]);
  await mon.waitFor(() => mon.lines.length >= 1, 10_000, "the first refresh");
  const r = await runConntop(["--restore", "--netns", ns.name]);
  assertEquals(r.code, 1);
  assertEquals(
    r.stderr,
    `conntop: Not restored: conntop (pid ${mon.child.pid}) still runs in network namespace '${ns.name}' and restores its changes when it ends\n`,
  );
  assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), "1");
  assertEquals(await mon.stop("SIGTERM"), 143);
  assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), "0");
});

Deno.test("the journal of one namespace is never taken for another's", async () => {
  await using a = await Netns.create("ja");
  await using b = await Netns.create("jb");
  await killedConntop(a);
  await killedConntop(b);
  const r = await runConntop(["--restore", "--netns", a.name]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await kernelState(a), ORIGINAL);
  assertEquals(await kernelState(b), CHANGED, "the other namespace is left alone");
  assertEquals((await journalFiles(b)).length, 1);
  const rb = await runConntop(["--restore", "--netns", b.name]);
  assertEquals(rb.code, 0, rb.stderr);
  assertEquals(await kernelState(b), ORIGINAL);
});

Deno.test("conntopd keeps the journal too: conntop --restore undoes a conntopd killed with SIGKILL", async () => {
  await using ns = await Netns.create("jsrv");
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
  await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 0);
  await loadConntrack(ns, [ENTRY]);
  const server = await Conntopd.start(["--netns", ns.name, "--enable-acct", "--track"], {
    permissions: ["--allow-write"],
  });
  try {
    assertEquals(await kernelState(ns), CHANGED);
    assertEquals((await journalFiles(ns)).length, 1);
  } finally {
    await server.stop("SIGKILL");
  }
  assertEquals(await kernelState(ns), CHANGED, "SIGKILL left the kernel changed");
  const r = await runConntop(["--restore", "--netns", ns.name]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await kernelState(ns), ORIGINAL);
  assert((await journalFiles(ns)).length === 0);
});

/**
 * Runs conntop with `args` in a private mount namespace whose /run is a fresh tmpfs, after
 * `prepare` (shell) has set up /run/conntop there; the real /run is never touched. The test
 * namespaces are reached through a recursive bind of /run/netns at `$T/netns`.
 */
async function withPrivateRun(
  prepare: string,
  args: (netnsDir: string) => string[],
): Promise<{ code: number; stderr: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "conntop-privrun-" });
  const script = `set -e
T=$1; shift
mkdir -p "$T/netns"
mount --rbind /run/netns "$T/netns"
mount -t tmpfs conntop-test /run
${prepare}
exec "$@"`;
  const cmd = [
    "unshare",
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    script,
    "sh",
    dir,
  ];
  const r = await runConntop(args(`${dir}/netns`), { prefix: cmd });
  return { code: r.code, stderr: r.stderr, dir };
}

for (
  const [what, prepare] of [
    ["a symbolic link", 'mkdir -m 700 "$T/elsewhere" && ln -s "$T/elsewhere" /run/conntop'],
    ["open to others", "mkdir -m 777 /run/conntop"],
  ] as const
) {
  Deno.test(`--enable-acct refuses an undo journal directory that is ${what}, changing nothing`, async () => {
    await using ns = await Netns.create("junsafe");
    await loadConntrack(ns, [ENTRY]);
    await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
    const r = await withPrivateRun(
      prepare,
      (netns) => ["--once", "--enable-acct", "--track", "--netns", `${netns}/${ns.name}`],
    );
    try {
      assertEquals(r.code, 2, r.stderr);
      assertEquals(
        r.stderr,
        "conntop: Refusing the undo journal directory '/run/conntop': it must be a directory " +
          "owned by uid 0 with mode 0700 (--enable-acct, --track and --restore keep their undo " +
          "journal there)\n",
      );
      assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), "0");
      assertEquals((await kernelState(ns)).track, false);
      if (what === "a symbolic link") {
        assertEquals([...Deno.readDirSync(`${r.dir}/elsewhere`)], [], "nothing written there");
      }
    } finally {
      await Deno.remove(r.dir, { recursive: true });
    }
  });
}

/** Plants a journal for `ns` in /run/conntop, as a run with `pid` would have written it. */
async function plantJournal(ns: Netns, pid: number, entry: Record<string, unknown>) {
  await runCommand(["install", "-d", "-m", "700", "-o", "root", JOURNAL_DIR]);
  const path = `${JOURNAL_DIR}/net-${await netnsInode(ns)}-${pid}.json`;
  await Deno.writeTextFile(path, JSON.stringify({ pid, netns: ns.name, ...entry }), {
    createNew: true,
    mode: 0o600,
  });
  return path;
}

Deno.test("a journal whose pid now belongs to another process is undone", async () => {
  await using ns = await Netns.create("jreuse");
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 1);
  // A live process with the journal's pid, started at another time than the journal says.
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const path = await plantJournal(ns, other.pid, {
    start: "1",
    sysctls: [{ path: "/proc/sys/net/netfilter/nf_conntrack_acct", previous: "0" }],
    track: null,
  });
  try {
    const r = await runConntop(["--restore", "--netns", ns.name]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, `Restored what conntop (pid ${other.pid}) left changed`);
    assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), "0");
  } finally {
    other.kill("SIGKILL");
    await other.status;
    await Deno.remove(path).catch(() => {});
  }
});

Deno.test("a journal naming anything but conntop's own changes is ignored", async () => {
  await using ns = await Netns.create("jbad");
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 1);
  const victim = await Deno.makeTempFile({ prefix: "conntop-victim-" });
  await Deno.writeTextFile(victim, "keep\n");
  const path = await plantJournal(ns, 999_999_999, {
    start: "1",
    sysctls: [{ path: victim, previous: "0" }],
    track: null,
  });
  try {
    const r = await runConntop(["--restore", "--netns", ns.name]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, `Nothing to restore in network namespace '${ns.name}'\n`);
    assertEquals(await Deno.readTextFile(victim), "keep\n");
    assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), "1");
  } finally {
    await Deno.remove(path).catch(() => {});
    await Deno.remove(victim);
  }
});

Deno.test("--enable-acct and --track go on with a warning where /run is read-only, as in a sandboxed service", async () => {
  await using ns = await Netns.create("jro");
  await loadConntrack(ns, [ENTRY]);
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
  await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 0);
  const r = await withPrivateRun(
    "mount -o remount,ro /run",
    (netns) => ["--once", "--enable-acct", "--track", "--netns", `${netns}/${ns.name}`],
  );
  try {
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.includes("undo journal"));
    assertEquals(lines, [
      "conntop: Cannot create the undo journal directory '/run/conntop': read-only file system: " +
      "if conntop is killed (SIGKILL), what --enable-acct and --track changed stays changed",
    ]);
    assertEquals(await kernelState(ns), ORIGINAL, "restored on exit all the same");
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});
