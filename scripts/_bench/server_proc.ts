/**
 * Child processes of the server benchmark: a server (conntopd, or the original C++ one) with its
 * log collected, a host of protocol clients (server_clients.ts), and commands whose output is
 * only counted (`conntrack -L`, `conntrack -E`). Every child is remembered until it has exited,
 * so that {@linkcode killAllSync} can end what is left from a signal handler.
 *
 * @module
 */

import type { ClientsReady, ClientStats } from "./server_clients.ts";

/** Children started and not yet reaped. */
const live = new Set<Deno.ChildProcess>();

/** SIGKILLs every child still running (signal handlers, `unload`); returns how many. */
export function killAllSync(): number {
  let n = 0;
  for (const c of live) {
    try {
      c.kill("SIGKILL");
      n++;
    } catch {
      // already gone
    }
  }
  live.clear();
  return n;
}

function spawn(cmd: readonly string[], opts: { stdin?: boolean } = {}): Deno.ChildProcess {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  live.add(child);
  void child.status.then(() => live.delete(child));
  return child;
}

async function stopChild(child: Deno.ChildProcess, signal: Deno.Signal, graceMs: number) {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const st = await Promise.race([
    child.status,
    new Promise<null>((r) => (timer = setTimeout(() => r(null), graceMs))),
  ]);
  clearTimeout(timer);
  if (st === null) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return (await child.status).code;
}

/** Reads a stream as text lines, calling `onLine` for each. */
async function lines(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void) {
  const dec = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += dec.decode(chunk, { stream: true });
    const parts = rest.split("\n");
    rest = parts.pop()!;
    for (const p of parts) onLine(p);
  }
  if (rest !== "") onLine(rest);
}

/** A server process: its log lines kept (the first 2,000 and the last 200). */
export class ServerProcess {
  readonly child: Deno.ChildProcess;
  readonly name: string;
  readonly head: string[] = [];
  readonly tail: string[] = [];
  logLines = 0;
  exitCode: number | null = null;
  #waiters: (() => void)[] = [];
  #done: Promise<void>;

  constructor(name: string, cmd: readonly string[]) {
    this.name = name;
    this.child = spawn(cmd);
    const onLine = (l: string) => {
      this.logLines++;
      if (this.head.length < 2000) this.head.push(l);
      this.tail.push(l);
      if (this.tail.length > 200) this.tail.shift();
      this.#wake();
    };
    this.#done = Promise.all([
      lines(this.child.stdout, onLine),
      lines(this.child.stderr, onLine),
      this.child.status.then((s) => {
        this.exitCode = s.code;
        this.#wake();
      }),
    ]).then(() => {});
  }

  get pid(): number {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === null;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** The log as kept, head and tail. */
  get log(): string {
    return this.logLines <= this.head.length
      ? this.head.join("\n")
      : [...this.head.slice(0, 50), "…", ...this.tail].join("\n");
  }

  /** Log lines (of the first 2,000) matching `re`. */
  grep(re: RegExp): string[] {
    return this.head.filter((l) => re.test(l));
  }

  /** Waits for a log line matching `re`; throws when the process exits first or after `ms`. */
  async waitForLog(re: RegExp, ms: number): Promise<string> {
    const deadline = performance.now() + ms;
    for (;;) {
      const hit = this.head.find((l) => re.test(l)) ?? this.tail.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (!this.running) {
        throw new Error(`${this.name} exited with ${this.exitCode}; log:\n${this.log}`);
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${this.name} did not log ${re} in ${ms} ms:\n${this.log}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; returns the exit code. */
  async stop(graceMs = 10_000): Promise<number> {
    const code = await stopChild(this.child, "SIGTERM", graceMs);
    await this.#done.catch(() => {});
    return code;
  }
}

/** A process hosting protocol clients (server_clients.ts). */
export class ClientHost {
  readonly child: Deno.ChildProcess;
  #lines: unknown[] = [];
  #waiters: (() => void)[] = [];
  #stderr = "";
  #exited = false;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #done: Promise<void>;

  /** `cmd` runs server_clients.ts (possibly through `ip netns exec`). */
  constructor(cmd: readonly string[]) {
    this.child = spawn(cmd, { stdin: true });
    this.#writer = this.child.stdin.getWriter();
    this.#done = Promise.all([
      lines(this.child.stdout, (l) => {
        try {
          this.#lines.push(JSON.parse(l));
        } catch {
          this.#stderr += l + "\n";
        }
        this.#wake();
      }),
      lines(this.child.stderr, (l) => {
        if (this.#stderr.length < 8192) this.#stderr += l + "\n";
      }),
      this.child.status.then(() => {
        this.#exited = true;
        this.#wake();
      }),
    ]).then(() => {});
  }

  get pid(): number {
    return this.child.pid;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #next(key: string, ms: number): Promise<unknown> {
    const deadline = performance.now() + ms;
    for (;;) {
      const i = this.#lines.findIndex((x) => typeof x === "object" && x !== null && key in x);
      const err = this.#lines.find((x) => typeof x === "object" && x !== null && "error" in x);
      if (err !== undefined) {
        throw new Error(`Clients failed: ${(err as { error: string }).error}`);
      }
      if (i >= 0) return (this.#lines.splice(i, 1)[0] as Record<string, unknown>)[key];
      if (this.#exited) {
        await this.#done;
        if (this.#lines.some((x) => typeof x === "object" && x !== null && key in x)) continue;
        throw new Error(`The client process exited: ${this.#stderr.trim().slice(-2000)}`);
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`No '${key}' from the client process in ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until every client holds the table. */
  ready(ms: number): Promise<ClientsReady> {
    return this.#next("ready", ms) as Promise<ClientsReady>;
  }

  /** The clients' counters now. */
  async stats(): Promise<ClientStats> {
    await this.#writer.write(new TextEncoder().encode("stats\n"));
    return await this.#next("stats", 10_000) as ClientStats;
  }

  /** Closes the clients (bye) and waits for the process; returns their last counters. */
  async stop(): Promise<ClientStats | null> {
    let last: ClientStats | null = null;
    try {
      await this.#writer.write(new TextEncoder().encode("stop\n"));
      await this.#writer.close();
      last = await this.#next("stats", 15_000) as ClientStats;
    } catch {
      // exited already, or did not answer: killed below
    }
    await stopChild(this.child, "SIGTERM", 5_000);
    await this.#done.catch(() => {});
    return last;
  }
}

/** Runs `cmd`, counting its stdout bytes and lines; returns them, the wall time and stderr. */
export async function countOutput(
  cmd: readonly string[],
): Promise<{ ms: number; bytes: number; lines: number; stderr: string; code: number }> {
  const t0 = performance.now();
  const child = spawn(cmd);
  let bytes = 0;
  let nl = 0;
  const out = (async () => {
    for await (const chunk of child.stdout) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) nl++;
    }
  })();
  const err = new Response(child.stderr).text();
  const [status, stderr] = await Promise.all([child.status, err, out]);
  return { ms: performance.now() - t0, bytes, lines: nl, stderr, code: status.code };
}

/** A long-running command whose stdout is only counted (`conntrack -E`). */
export class OutputCounter {
  readonly child: Deno.ChildProcess;
  bytes = 0;
  lines = 0;
  stderr = "";
  #waiters: (() => void)[] = [];
  #done: Promise<void>;

  constructor(cmd: readonly string[]) {
    const child = this.child = spawn(cmd);
    this.#done = Promise.all([
      (async () => {
        for await (const chunk of child.stdout) {
          this.bytes += chunk.length;
          for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) this.lines++;
          const w = this.#waiters;
          this.#waiters = [];
          for (const f of w) f();
        }
      })(),
      (async () => {
        const dec = new TextDecoder();
        for await (const chunk of child.stderr) {
          if (this.stderr.length < 4096) this.stderr += dec.decode(chunk, { stream: true });
        }
      })(),
    ]).then(() => {});
  }

  /** Waits until `lines` reaches `n`; false after `ms`. */
  async untilLines(n: number, ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (this.lines < n) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  async stop(): Promise<void> {
    await stopChild(this.child, "SIGTERM", 5_000);
    await this.#done.catch(() => {});
  }
}

/** The mark changer (server_marks.ts) running in a namespace. */
export class Marker {
  readonly child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: string[] = [];
  #waiters: (() => void)[] = [];
  #stderr = "";
  #exited = false;

  constructor(cmd: readonly string[]) {
    this.child = spawn(cmd, { stdin: true });
    this.#writer = this.child.stdin.getWriter();
    void lines(this.child.stdout, (l) => {
      this.#lines.push(l);
      this.#wake();
    });
    void lines(this.child.stderr, (l) => {
      if (this.#stderr.length < 4096) this.#stderr += l + "\n";
    });
    void this.child.status.then(() => {
      this.#exited = true;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #line(ms: number): Promise<string> {
    const deadline = performance.now() + ms;
    while (this.#lines.length === 0) {
      if (this.#exited) throw new Error(`The mark changer exited: ${this.#stderr.trim()}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`The mark changer did not answer in ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.#lines.shift()!;
  }

  /** Waits for the changer to have built its tuples; returns how many it can change. */
  async ready(ms = 120_000): Promise<number> {
    const l = await this.#line(ms);
    const m = /^ready (\d+)$/.exec(l);
    if (m === null) throw new Error(`The mark changer said '${l}'`);
    return Number(m[1]);
  }

  /** Sets mark `mark` on `count` flows from index `from`. */
  async change(
    from: number,
    count: number,
    mark: number,
  ): Promise<{ done: number; failed: number; ms: number }> {
    await this.#writer.write(new TextEncoder().encode(`${from} ${count} ${mark}\n`));
    const [done, failed, ms] = (await this.#line(60_000)).split(" ").map(Number);
    return { done: done!, failed: failed!, ms: ms! };
  }

  async stop(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await stopChild(this.child, "SIGTERM", 5_000);
  }
}
