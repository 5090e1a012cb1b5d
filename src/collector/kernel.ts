/**
 * The kernel state conntop reads and, when asked, changes: capabilities, conntrack sysctls,
 * a tracking nftables table (--track), flowtables.
 *
 * Everything here is synchronous on purpose: the collector worker may have moved its own
 * thread into another network namespace, and /proc/sys/net and child processes follow the
 * namespace of the thread that opens or forks them. Async file I/O would run on a pool
 * thread in the wrong namespace. /proc files are read through the C library (see
 * `readSmallFile`), as Deno would want --allow-all for them.
 *
 * @module
 */

import type { SysctlChange } from "./messages.ts";
import { readSmallFile, writeSmallFile } from "../../ffi/libc.ts";

const NETFILTER = "/proc/sys/net/netfilter";
const CAP_NET_ADMIN = 12;

/** Whether this process has CAP_NET_ADMIN in its effective set. */
export function hasCapNetAdmin(): boolean {
  try {
    const status = readSmallFile("/proc/thread-self/status");
    const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
    if (m === null) return true;
    return (BigInt(`0x${m[1]}`) >> BigInt(CAP_NET_ADMIN) & 1n) === 1n;
  } catch {
    return true; // cannot tell: let the kernel decide
  }
}

/** A conntrack sysctl's value (e.g. "nf_conntrack_acct"), or null when unreadable. */
export function readSysctl(name: string): string | null {
  try {
    return readSmallFile(`${NETFILTER}/${name}`).trim();
  } catch {
    return null;
  }
}

/** A conntrack sysctl as a number, or null. */
export function readSysctlNumber(name: string): number | null {
  const v = readSysctl(name);
  return v === null || !/^\d+$/.test(v) ? null : Number(v);
}

/**
 * Sets `name` to `value` if it differs, returning what to restore (or null when unchanged).
 * `before` is called with that change just before it is made (to journal it); when it throws,
 * nothing is changed. Throws a one-line Error when the sysctl cannot be written.
 */
export function setSysctl(
  name: string,
  value: string,
  before?: (change: SysctlChange) => void,
): SysctlChange | null {
  const path = `${NETFILTER}/${name}`;
  const previous = readSysctl(name);
  if (previous === null) throw new Error(`Failed to read sysctl '${path}'`);
  if (previous === value) return null;
  before?.({ path, previous });
  try {
    writeSmallFile(path, `${value}\n`);
  } catch (err) {
    throw new Error(`Failed to set sysctl '${path}' to ${value}`, { cause: err });
  }
  return { path, previous };
}

/** Restores sysctls changed by {@linkcode setSysctl}; returns the paths that failed. */
export function restoreSysctls(changes: SysctlChange[]): string[] {
  const failed: string[] = [];
  for (const c of changes.toReversed()) {
    try {
      writeSmallFile(c.path, `${c.previous}\n`);
    } catch {
      failed.push(c.path);
    }
  }
  return failed;
}

/** Runs `nft` with `args` in this thread's namespace; returns its exit code and output. */
function nft(args: string[]): { ok: boolean; out: string } {
  try {
    const r = new Deno.Command("nft", { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .outputSync();
    const text = new TextDecoder();
    return { ok: r.success, out: text.decode(r.stdout) + text.decode(r.stderr) };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { ok: false, out: "nft not found (install the Debian package nftables)" };
    }
    throw err;
  }
}

/** Name of the nftables table --track adds (family inet). */
export const TRACK_TABLE = "conntop_track";

/** Whether the table {@linkcode addTrackTable} adds is there (from this run or another). */
export function trackTableExists(): boolean {
  return nft(["list", "table", "inet", TRACK_TABLE]).ok;
}

/**
 * Adds a minimal inet table whose rules need conntrack, so the kernel tracks every connection
 * of this namespace, and returns its name. The caller checks first that it is not there
 * ({@linkcode trackTableExists}). Throws a one-line Error when nft fails.
 */
export function addTrackTable(): string {
  const script = [
    `table inet ${TRACK_TABLE} {`,
    `  comment "added by conntop --track; removed when conntop exits"`,
    "  chain pre { type filter hook prerouting priority -300; ct state invalid counter; }",
    "  chain out { type filter hook output priority -300; ct state invalid counter; }",
    "}",
  ].join("\n");
  const file = Deno.makeTempFileSync({ prefix: "conntop-track-", suffix: ".nft" });
  try {
    Deno.writeTextFileSync(file, script + "\n");
    const r = nft(["-f", file]);
    if (!r.ok) {
      throw new Error(`Failed to add nftables table '${TRACK_TABLE}': ${firstLine(r.out)}`);
    }
  } finally {
    Deno.removeSync(file);
  }
  return TRACK_TABLE;
}

/** Deletes the table {@linkcode addTrackTable} added; returns false on failure. */
export function deleteTrackTable(name: string): boolean {
  return nft(["delete", "table", "inet", name]).ok;
}

/** Whether the namespace's ruleset has a flowtable (offloaded flows' counters may stand still). */
export function hasFlowtables(): boolean {
  const r = nft(["list", "flowtables"]);
  return r.ok && /\bflowtable\b/.test(r.out);
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}
