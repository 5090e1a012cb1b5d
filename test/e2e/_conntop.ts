/**
 * Runs conntop as users do: a separate `deno run` of main.ts, optionally inside a test
 * namespace's view through `--netns`.
 *
 * @module
 */

import { CONNTOP_PERMISSIONS, CONNTOP_V8_FLAGS_ARG } from "../../scripts/_build/commands.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/**
 * The command line that runs conntop with `args`, with exactly the permissions the build bakes
 * into the binary (not --allow-all), so a missing permission fails here first, and its V8 flags.
 */
export function conntopCommand(args: string[]): string[] {
  return [Deno.execPath(), "run", ...CONNTOP_PERMISSIONS, CONNTOP_V8_FLAGS_ARG, MAIN, ...args];
}

/** What a finished conntop printed and how it exited. */
export interface ConntopResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs conntop to completion. `prefix` runs it under another command (e.g. capsh). */
export async function runConntop(
  args: string[],
  opts: { env?: Record<string, string>; prefix?: string[] } = {},
): Promise<ConntopResult> {
  const cmd = [...(opts.prefix ?? []), ...conntopCommand(args)];
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A conntop running in the background, with its output collected line by line. */
export class ConntopProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  stderr = "";
  readonly #done: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string> = {}) {
    const cmd = conntopCommand(args);
    this.child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const read = async (stream: ReadableStream<Uint8Array>, onText: (t: string) => void) => {
      const dec = new TextDecoder();
      for await (const chunk of stream) onText(dec.decode(chunk, { stream: true }));
    };
    let partial = "";
    this.#done = Promise.all([
      read(this.child.stdout, (t) => {
        partial += t;
        const parts = partial.split("\n");
        partial = parts.pop()!;
        this.lines.push(...parts);
        this.#notify();
      }),
      read(this.child.stderr, (t) => {
        this.stderr += t;
        this.#notify();
      }),
    ]).then(() => this.#notify());
  }

  #notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds (checked at each output), or fails after `timeoutMs`. */
  async waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Parsed NDJSON lines so far. */
  json<T = Record<string, unknown>>(): T[] {
    return this.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as T);
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL").catch(() => {});
  }
}
