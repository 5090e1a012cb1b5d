/**
 * Runs conntopd as an operator does: a separate `deno run` of src/conntopd.ts with exactly the
 * permissions it documents ({@linkcode CONNTOPD_PERMISSIONS}, not --allow-all), so a missing
 * permission fails here first.
 *
 * The server runs in the root namespace and listens on its loopback (127.0.0.1, ::1) on a free
 * port, while its collector reads a test namespace's table through `--netns`: the tests reach it
 * over loopback only, and its table holds just what the test loaded. Clean-up never depends on
 * the test passing: use `await using`.
 *
 * @example
 * ```ts ignore
 * await using ns = await Netns.create("srv");
 * await loadConntrack(ns, ["-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p udp --sport 1 --dport 53"]);
 * await using server = await Conntopd.start(["--netns", ns.name, "--interval", "0.2"]);
 * ```
 *
 * @module
 */

import { CONNTOPD_PERMISSIONS } from "../../src/conntopd.ts";
import { type ExecResult, runCommand } from "../../tools/run.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { freePort } from "../../tools/ports.ts";
import { scaledMs } from "../../tools/time_scale.ts";
// Transitional re-export for tests of other issue-14 branches; new code imports tools/ports.ts.
export { freePort };

const CONNTOPD = new URL("../../src/conntopd.ts", import.meta.url).pathname;

/** The command line that runs conntopd with `args` (and `extra` permissions). */
export function conntopdCommand(args: readonly string[], extra: readonly string[] = []): string[] {
  return [Deno.execPath(), "run", ...CONNTOPD_PERMISSIONS, ...extra, CONNTOPD, ...args];
}

/** Options of {@linkcode Conntopd.start}. */
export interface ConntopdOptions {
  /** Permissions beyond {@linkcode CONNTOPD_PERMISSIONS} (e.g. `--allow-write=FILE`). */
  permissions?: string[];
  /** Run it under another command (e.g. `ip netns exec NS`). */
  prefix?: string[];
  /** Wait for this log line before returning (default: the listening line). */
  readyLine?: RegExp;
  /** Do not pass --port (the caller gives one); default false. */
  ownPort?: boolean;
  /** The server logs to this file (--log-file): {@linkcode Conntopd.lines} are read from it. */
  logFile?: string;
  /** How long to wait for the ready line, ms (default 30 s). */
  timeoutMs?: number;
}

/** A conntopd running in the background, its stderr (the log) collected line by line. */
export class Conntopd implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  /** Log lines so far. */
  readonly lines: string[] = [];
  stdout = "";
  /** What the server wrote on stderr (its log, unless it has a log file). */
  stderr = "";
  #logFile: string | undefined;
  #partial = "";
  #done: Promise<void>;
  #waiters: (() => void)[] = [];
  #exited = false;

  private constructor(args: readonly string[], port: number, opts: ConntopdOptions) {
    this.port = port;
    this.#logFile = opts.logFile;
    const cmd = [...(opts.prefix ?? []), ...conntopdCommand(args, opts.permissions)];
    this.child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const read = async (stream: ReadableStream<Uint8Array>, onText: (t: string) => void) => {
      const dec = new TextDecoder();
      for await (const chunk of stream) onText(dec.decode(chunk, { stream: true }));
    };
    this.#done = Promise.all([
      read(this.child.stdout, (t) => {
        this.stdout += t;
        this.#notify();
      }),
      read(this.child.stderr, (t) => {
        this.stderr += t;
        if (this.#logFile !== undefined) return this.#notify();
        this.#partial += t;
        const parts = this.#partial.split("\n");
        this.#partial = parts.pop()!;
        this.lines.push(...parts);
        this.#notify();
      }),
      this.child.status.then(() => {
        this.#exited = true;
      }),
    ]).then(() => {
      if (this.#partial !== "") this.lines.push(this.#partial);
      this.#partial = "";
      this.#notify();
    });
  }

  /**
   * Starts conntopd with `args` plus `--port` (a free port, unless `opts.ownPort`) and waits
   * until it logs that it listens; retries on another port when that one was taken meanwhile.
   * Throws with the log when it exits or does not get ready in time.
   */
  static async start(args: readonly string[], opts: ConntopdOptions = {}): Promise<Conntopd> {
    for (let attempt = 0;; attempt++) {
      const port = opts.ownPort ? 0 : freePort();
      const full = opts.ownPort ? args : [...args, "--port", String(port)];
      const d = new Conntopd(full, port, opts);
      try {
        await d.waitForLog(opts.readyLine ?? / INFO .*serving /, opts.timeoutMs ?? 30_000);
        return d;
      } catch (err) {
        await d.stop("SIGKILL");
        if (attempt < 3 && /address already in use/i.test(d.log)) continue;
        throw err;
      }
    }
  }

  /** The process id of the server (the deno process itself). */
  get pid(): number {
    return this.child.pid;
  }

  /** The whole log so far. */
  get log(): string {
    const stderr = this.#logFile !== undefined && this.stderr !== ""
      ? `\nstderr: ${this.stderr}`
      : "";
    return this.lines.join("\n") + stderr;
  }

  #notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds (checked at every output), or fails after `timeoutMs`. */
  async waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + scaledMs(timeoutMs);
    while ((this.#readLogFile(), !pred())) {
      if (this.#exited && !pred()) {
        await this.#done;
        if (pred()) return;
        throw new Error(`conntopd exited while waiting for ${what}; log:\n${this.log}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}; log:\n${this.log}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  // With a log file, the lines are the file's (read again at each check).
  #readLogFile(): void {
    if (this.#logFile === undefined) return;
    let text = "";
    try {
      text = Deno.readTextFileSync(this.#logFile);
    } catch {
      // not there yet
    }
    const lines = text.split("\n");
    lines.pop();
    this.lines.splice(0, this.lines.length, ...lines);
  }

  /** Waits for a log line matching `re` (at index `from` or later); returns it. */
  async waitForLog(re: RegExp, timeoutMs = 30_000, from = 0): Promise<string> {
    let found: string | undefined;
    await this.waitFor(
      () => (found = this.lines.slice(from).find((l) => re.test(l))) !== undefined,
      timeoutMs,
      `a log line matching ${re}`,
    );
    return found!;
  }

  /** The server's resident set size, in KiB (VmRSS of /proc/PID/status). */
  async rssKiB(): Promise<number> {
    const status = await Deno.readTextFile(`/proc/${this.pid}/status`);
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (m === null) throw new Error(`No VmRSS in /proc/${this.pid}/status`);
    return Number(m[1]);
  }

  /** Sends `signal` and waits for the exit; returns the exit code. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    const status = await this.child.status;
    await this.#done;
    return status.code;
  }

  /** Waits for the exit without signalling; returns the exit code. */
  async exited(timeoutMs = 30_000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([
      this.child.status.then((s) => s.code),
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () => reject(new Error(`conntopd did not exit; log:\n${this.log}`)),
          timeoutMs,
        )
      ),
    ]).finally(() => clearTimeout(timer));
    await this.#done;
    return code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL").catch(() => {});
  }
}

/** Runs conntopd to completion (for start-up errors); returns its exit code and output. */
export function runConntopd(
  args: readonly string[],
  opts: { permissions?: string[]; prefix?: string[] } = {},
): Promise<ExecResult> {
  const cmd = [...(opts.prefix ?? []), ...conntopdCommand(args, opts.permissions)];
  return runCommand(cmd, { check: false });
}

/** A test namespace with entries loaded and a conntopd serving its table. */
export interface Served extends AsyncDisposable {
  ns: Netns;
  server: Conntopd;
}

/**
 * Creates a namespace, loads `entries` (conntrack command lines, see loadConntrack) and starts
 * conntopd on it with `args`; disposing it kills the server and deletes the namespace, also when
 * the start fails.
 */
export async function serveNamespace(
  entries: readonly string[],
  args: readonly string[] = [],
  opts: ConntopdOptions = {},
): Promise<Served> {
  const ns = await Netns.create("srv");
  try {
    if (entries.length > 0) await loadConntrack(ns, entries);
    const server = await Conntopd.start(["--netns", ns.name, ...args], opts);
    return {
      ns,
      server,
      async [Symbol.asyncDispose]() {
        await server.stop("SIGKILL").catch(() => {});
        await ns.close();
      },
    };
  } catch (err) {
    await ns.close();
    throw err;
  }
}
