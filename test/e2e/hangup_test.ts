/**
 * Losing the terminal must not leave the kernel changed: the monitor runs in a real terminal (a
 * private tmux server) on a test namespace with --enable-acct and --track, the terminal goes
 * away (`tmux kill-session`, SIGHUP), and the namespace's sysctls and nftables are read back
 * with `sysctl` and `nft` to check that everything conntop changed is back as it was.
 *
 * conntop runs under a small shell wrapper that outlives the hang-up (its HUP trap runs only
 * after conntop has finished), records conntop's pid, and writes its exit code
 * to a file, so the test can see how conntop ended after the terminal is gone.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { Netns } from "../../tools/netns.ts";
import { conntopCommand } from "./_conntop.ts";
import { Tmux } from "../../tools/tmux.ts";
import { sleep, waitForFile } from "../_helpers/wait.ts";

/** Runs conntop (the arguments after the wrapper's first) and leaves its pid and code in `$1`. */
const WRAPPER = `
dir=$1
shift
trap : HUP
sh -c 'echo $$ > "$0/pid"; exec "$@"' "$dir" "$@"
echo $? > "$dir/code.tmp"
mv "$dir/code.tmp" "$dir/code"
`;

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** What conntop changes in `ns` with --enable-acct --track, read with sysctl and nft. */
async function kernelState(ns: Netns): Promise<{ acct: string; tstamp: string; track: boolean }> {
  const tables = await ns.exec(["nft", "list", "tables"]);
  return {
    acct: await ns.sysctl("net.netfilter.nf_conntrack_acct"),
    tstamp: await ns.sysctl("net.netfilter.nf_conntrack_timestamp"),
    track: tables.stdout.includes("conntop_track"),
  };
}

/**
 * Starts the monitor with --enable-acct --track on `ns` in a tmux terminal, waits until it
 * shows its screen and has changed the kernel, and returns the terminal, the trace directory
 * and conntop's pid.
 */
async function startMonitor(ns: Netns, extra: string[] = [], ready = "netns") {
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
  await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 0);
  const dir = await Deno.makeTempDir({ prefix: "conntop-hangup-" });
  const cmd = conntopCommand(["--netns", ns.name, "--enable-acct", "--track", ...extra]);
  const term = await Tmux.start(["sh", "-c", WRAPPER, "wrapper", dir, ...cmd], {
    width: 100,
    height: 24,
    env: { NO_COLOR: "1", XDG_CONFIG_HOME: dir },
  });
  await term.waitFor((s) => s.includes(ready), { what: "conntop's first output" });
  const pid = Number(await waitForFile(`${dir}/pid`, 5000, "conntop's pid"));
  const deadline = Date.now() + 10_000;
  while (!(await kernelState(ns)).track && Date.now() < deadline) await sleep(100);
  assertEquals(await kernelState(ns), { acct: "1", tstamp: "1", track: true });
  return { term, dir, pid };
}

async function assertRestored(ns: Netns, dir: string, pid: number): Promise<void> {
  const code = await waitForFile(`${dir}/code`, 10_000, "conntop's exit code");
  assert(!alive(pid), `conntop (pid ${pid}) is still running`);
  assertEquals(await kernelState(ns), { acct: "0", tstamp: "0", track: false });
  assertEquals(code, "129");
}

Deno.test("the monitor restores sysctls and the --track table and exits 129 when its terminal is killed", async () => {
  await using ns = await Netns.create("hup");
  const { term, dir, pid } = await startMonitor(ns);
  try {
    await term.tmux(["kill-session", "-t", "t"]);
    await assertRestored(ns, dir, pid);
  } finally {
    await term.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the monitor restores sysctls and the --track table and exits 129 on SIGHUP", async () => {
  await using ns = await Netns.create("sighup");
  const { term, dir, pid } = await startMonitor(ns);
  try {
    Deno.kill(pid, "SIGHUP");
    await assertRestored(ns, dir, pid);
    // The terminal is still there: the monitor left its screen and raw mode behind it.
    assertEquals(await term.format("#{alternate_on}"), "0");
  } finally {
    await term.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--stream on a terminal restores sysctls and the --track table and exits 129 when the terminal is killed", async () => {
  await using ns = await Netns.create("hupstream");
  await ns.exec([
    "conntrack",
    "-I",
    "-t",
    "100",
    "-s",
    "10.1.0.1",
    "-d",
    "10.1.0.2",
    "-p",
    "udp",
    "--sport",
    "1",
    "--dport",
    "2",
  ]);
  const { term, dir, pid } = await startMonitor(ns, ["--stream"], "10.1.0.1");
  try {
    await term.tmux(["kill-session", "-t", "t"]);
    // --stream writes only what changes: a new connection makes it write to the lost terminal.
    await ns.exec([
      "conntrack",
      "-I",
      "-t",
      "100",
      "-s",
      "10.1.0.3",
      "-d",
      "10.1.0.4",
      "-p",
      "udp",
      "--sport",
      "3",
      "--dport",
      "4",
    ]);
    await assertRestored(ns, dir, pid);
  } finally {
    await term.close();
    await Deno.remove(dir, { recursive: true });
  }
});
