/**
 * The benchmark's tables: a namespace of tools/netns.ts filled through `conntrack -R -` and read
 * with `conntrack -L`, the reference conntop is measured against, and the entries elsewhere on
 * the host that share the kernel's hash table with them.
 *
 * The root namespace is never touched: every command runs through `ip netns exec`.
 *
 * Requires root and `--allow-run`.
 *
 * @module
 */

import type { Netns } from "../../tools/netns.ts";
import { type ExecResult, runCommand } from "../../tools/run.ts";

function failure(action: string, cmd: readonly string[], r: ExecResult): Error {
  const detail = r.stderr.trim().split("\n").slice(-3).join(" / ");
  return new Error(`Failed to ${action}: '${cmd.join(" ")}' exited with ${r.code}: ${detail}`);
}

/** Runs `cmd` in `ns`; throws naming the action when it fails. */
async function inNs(ns: Netns, action: string, cmd: string[], stdin?: string): Promise<ExecResult> {
  const full = ns.command(...cmd);
  const r = await runCommand(full, { check: false, ...(stdin === undefined ? {} : { stdin }) });
  if (r.code !== 0) throw failure(action, full, r);
  return r;
}

/**
 * Loads `lines` (for `conntrack -R -`) into `ns` and returns how many entries the table then
 * holds. Accounting and timestamps are switched on first, as on a router one monitors, so every
 * entry carries counters and a start time and the dumps are as large as real ones.
 */
export async function loadEntries(ns: Netns, lines: readonly string[]): Promise<number> {
  for (const key of ["net.netfilter.nf_conntrack_acct", "net.netfilter.nf_conntrack_timestamp"]) {
    await inNs(ns, `set ${key} in '${ns.name}'`, ["sysctl", "-q", "-w", `${key}=1`]);
  }
  // Chunks keep one bad line from voiding the whole load, and its message readable.
  const chunk = 50_000;
  for (let i = 0; i < lines.length; i += chunk) {
    await inNs(
      ns,
      `load conntrack entries ${i}-${i + chunk} into '${ns.name}'`,
      ["conntrack", "-R", "-"],
      lines.slice(i, i + chunk).join("\n") + "\n",
    );
  }
  return await countEntries(ns);
}

/** Entries in the namespace's conntrack table (`conntrack -C`). */
export async function countEntries(ns: Netns): Promise<number> {
  const r = await inNs(ns, `count the conntrack entries of '${ns.name}'`, ["conntrack", "-C"]);
  const n = Number(r.stdout.trim());
  if (!Number.isInteger(n)) throw failure(`count the conntrack entries of '${ns.name}'`, [], r);
  return n;
}

/**
 * Runs `conntrack -L` with its output to /dev/null; returns its wall time in ms (from spawn to
 * exit, `ip netns exec` included) and the entry count it reported on stderr.
 */
export async function conntrackList(ns: Netns): Promise<{ wallMs: number; shown: number }> {
  const cmd = ns.command("conntrack", "-L");
  const t0 = performance.now();
  const r = await runCommand(cmd, { check: false, stdout: "null" });
  const wallMs = performance.now() - t0;
  const m = /(\d+) flow entries have been shown/.exec(r.stderr);
  if (r.code !== 0 || m === null) throw failure(`list the table of '${ns.name}'`, cmd, r);
  return { wallMs, shown: Number(m[1]) };
}

/** Wall time in ms of `ip netns exec NS true`: the part of a reference run that is not conntrack. */
export async function execOverheadMs(ns: Netns): Promise<number> {
  const t0 = performance.now();
  await inNs(ns, `run a command in '${ns.name}'`, ["true"]);
  return performance.now() - t0;
}

/** Conntrack entries elsewhere on the host, which share the kernel's hash table with ours. */
export interface ForeignEntries {
  /** Entries in the root namespace (its `nf_conntrack_count`), or null when unreadable. */
  root: number | null;
  /** Entries in each named namespace not made by this run. */
  namespaces: Record<string, number>;
  /** Their sum. */
  total: number;
}

/**
 * Counts the conntrack entries outside this run's namespaces (read only: `conntrack -C` in each
 * named namespace, the root's count from /proc). The kernel keeps one hash table for all
 * namespaces and a dump walks all of it, so other entries slow down every dump alike.
 */
export async function foreignEntries(ownPrefix: string): Promise<ForeignEntries> {
  const rootText = await Deno.readTextFile("/proc/sys/net/netfilter/nf_conntrack_count")
    .catch(() => null);
  const root = rootText === null ? null : Number(rootText.trim());
  const list = await runCommand(["ip", "netns", "list"], { check: false });
  const namespaces: Record<string, number> = {};
  for (const line of list.stdout.split("\n")) {
    const name = line.trim().split(/\s+/)[0];
    if (name === undefined || name === "" || name.startsWith(ownPrefix)) continue;
    const r = await runCommand(["ip", "netns", "exec", name, "conntrack", "-C"], { check: false });
    const n = Number(r.stdout.trim());
    if (r.code === 0 && Number.isInteger(n)) namespaces[name] = n;
  }
  const total = (root ?? 0) + Object.values(namespaces).reduce((a, b) => a + b, 0);
  return { root, namespaces, total };
}
