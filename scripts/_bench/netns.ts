/**
 * Throw-away network namespaces for the benchmark, filled through `conntrack -R -` and read
 * with `conntrack -L`, the reference conntop is measured against.
 *
 * The root namespace is never touched: every command runs through `ip netns exec`. Each
 * namespace made here is remembered until it is deleted, so that {@linkcode deleteAllSync} can
 * delete what is left from a signal handler or an `unload` listener, where nothing can be
 * awaited.
 *
 * Requires root and `--allow-run`.
 *
 * @module
 */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Namespaces created and not yet deleted. */
const live = new Set<string>();

/** What a finished command printed and how it exited. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Text written to standard input, which is then closed. */
  stdin?: string;
  /** Discard standard output instead of collecting it. */
  discardStdout?: boolean;
}

/** Runs `cmd` to completion. Throws when it cannot be started, not when it fails. */
export async function run(cmd: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: options.discardStdout ? "null" : "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(encoder.encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: options.discardStdout ? "" : decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

function failure(action: string, cmd: readonly string[], r: RunResult): Error {
  const detail = r.stderr.trim().split("\n").slice(-3).join(" / ");
  return new Error(`Failed to ${action}: '${cmd.join(" ")}' exited with ${r.code}: ${detail}`);
}

/** A network namespace made for the benchmark. */
export class BenchNetns {
  readonly name: string;
  #deleted = false;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates namespace `name`; throws when it exists already or cannot be made. */
  static async create(name: string): Promise<BenchNetns> {
    const cmd = ["ip", "netns", "add", name];
    // Remembered before it exists, so that a signal arriving meanwhile still deletes it.
    live.add(name);
    const r = await run(cmd);
    if (r.code !== 0) {
      live.delete(name);
      throw failure(`create network namespace '${name}'`, cmd, r);
    }
    return new BenchNetns(name);
  }

  /** The command line running `cmd` inside the namespace. */
  cmd(...cmd: string[]): string[] {
    return ["ip", "netns", "exec", this.name, ...cmd];
  }

  /**
   * Loads `lines` (for `conntrack -R -`) and returns how many entries the table then holds.
   * Accounting and timestamps are switched on first, as on a router one monitors, so every
   * entry carries counters and a start time and the dumps are as large as real ones.
   */
  async load(lines: readonly string[]): Promise<number> {
    for (const key of ["net.netfilter.nf_conntrack_acct", "net.netfilter.nf_conntrack_timestamp"]) {
      const set = this.cmd("sysctl", "-q", "-w", `${key}=1`);
      const r = await run(set);
      if (r.code !== 0) throw failure(`set ${key} in '${this.name}'`, set, r);
    }
    const cmd = this.cmd("conntrack", "-R", "-");
    // Chunks keep one bad line from voiding the whole load, and its message readable.
    const chunk = 50_000;
    for (let i = 0; i < lines.length; i += chunk) {
      const r = await run(cmd, { stdin: lines.slice(i, i + chunk).join("\n") + "\n" });
      if (r.code !== 0) {
        throw failure(`load conntrack entries ${i}-${i + chunk} into '${this.name}'`, cmd, r);
      }
    }
    return await this.count();
  }

  /** Entries in the namespace's conntrack table (`conntrack -C`). */
  async count(): Promise<number> {
    const cmd = this.cmd("conntrack", "-C");
    const r = await run(cmd);
    const n = Number(r.stdout.trim());
    if (r.code !== 0 || !Number.isInteger(n)) {
      throw failure(`count the conntrack entries of '${this.name}'`, cmd, r);
    }
    return n;
  }

  /**
   * Runs `conntrack -L` with its output to /dev/null; returns its wall time in ms (from spawn to
   * exit, `ip netns exec` included) and the entry count it reported on stderr.
   */
  async conntrackList(): Promise<{ wallMs: number; shown: number }> {
    const cmd = this.cmd("conntrack", "-L");
    const t0 = performance.now();
    const r = await run(cmd, { discardStdout: true });
    const wallMs = performance.now() - t0;
    const m = /(\d+) flow entries have been shown/.exec(r.stderr);
    if (r.code !== 0 || m === null) throw failure(`list the table of '${this.name}'`, cmd, r);
    return { wallMs, shown: Number(m[1]) };
  }

  /** Wall time in ms of `ip netns exec NS true`: the part of a reference run that is not conntrack. */
  async execOverheadMs(): Promise<number> {
    const cmd = this.cmd("true");
    const t0 = performance.now();
    const r = await run(cmd);
    const ms = performance.now() - t0;
    if (r.code !== 0) throw failure(`run a command in '${this.name}'`, cmd, r);
    return ms;
  }

  /** Deletes the namespace (its conntrack table goes with it). Safe to call twice. */
  async delete(): Promise<void> {
    if (this.#deleted) return;
    this.#deleted = true;
    const cmd = ["ip", "netns", "del", this.name];
    const r = await run(cmd);
    live.delete(this.name);
    if (r.code !== 0) throw failure(`delete network namespace '${this.name}'`, cmd, r);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.delete();
  }
}

/** Deletes every namespace not yet deleted, synchronously; returns the names it failed on. */
export function deleteAllSync(): string[] {
  const failed: string[] = [];
  for (const name of live) {
    try {
      const r = new Deno.Command("ip", {
        args: ["netns", "del", name],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (!r.success) failed.push(name);
    } catch {
      failed.push(name);
    }
    live.delete(name);
  }
  return failed;
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
  const list = await run(["ip", "netns", "list"]);
  const namespaces: Record<string, number> = {};
  for (const line of list.stdout.split("\n")) {
    const name = line.trim().split(/\s+/)[0];
    if (name === undefined || name === "" || name.startsWith(ownPrefix)) continue;
    const r = await run(["ip", "netns", "exec", name, "conntrack", "-C"]);
    const n = Number(r.stdout.trim());
    if (r.code === 0 && Number.isInteger(n)) namespaces[name] = n;
  }
  const total = (root ?? 0) + Object.values(namespaces).reduce((a, b) => a + b, 0);
  return { root, namespaces, total };
}
