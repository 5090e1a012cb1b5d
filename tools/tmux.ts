/**
 * The one tmux driver of the tests, the benchmark and the screenshot script: a tmux server of
 * its own, one session of a fixed size running one command, keys sent as a person types them,
 * and the screen read back as text (optionally with its SGR attributes, which tools/screen.ts
 * reads).
 *
 * Each {@linkcode Tmux} starts a private server on its own socket (`tmux -L PREFIX-PID-RANDOM`),
 * so it never sees or touches a user's tmux sessions, and reads no tmux config but its own: no
 * status line (the pane gets every row asked for), `escape-time 0` (an Escape arrives as an
 * Escape at once), `remain-on-exit on` (a command that dies leaves its last screen to read), and
 * a window that keeps its size whatever clients attach.
 *
 * Two ways to talk to it. By default every call is one `tmux` process. With `control: true` a
 * control-mode client (`tmux -C attach`) stays attached and carries the commands, so that no
 * process starts per key or per poll, and its `%output` notifications say when the program in
 * the pane has written something ({@linkcode Tmux.outputs}, {@linkcode Tmux.waitOutput}): the
 * moment worth capturing the screen, which is what the benchmark times keys by.
 *
 * Clean-up must not depend on the caller succeeding: use `await using` (or `close()` in a
 * `finally`). Closing kills the server, then waits for every process that ran in its pane to be
 * gone, ending by pid those that are not. A signal handler, where nothing can be awaited, calls
 * {@linkcode closeAllTmuxSync}.
 *
 * Note on keys: an Escape sent in the same `sendKeys` call as other keys arrives in one read and
 * decodes as Alt+key, as it would from a person typing fast. Send Escape alone and wait for its
 * effect before sending more.
 *
 * Requires tmux 3.2 or later (installed by scripts/setup.sh) and `--allow-run --allow-read
 * --allow-write`.
 *
 * @example Run a command and wait for what it prints
 * ```ts ignore
 * import { Tmux } from "./tmux.ts";
 *
 * await using term = await Tmux.start(["/bin/sh", "-c", "echo ready; exec sleep 60"], {
 *   width: 80,
 *   height: 24,
 *   env: { XDG_CONFIG_HOME: "/tmp/x" },
 * });
 * await term.waitFor((screen) => screen.includes("ready"));
 * await term.sendKeys("C-c");
 * ```
 *
 * @module
 */

import { runCommand } from "./run.ts";
import { scaledMs } from "./time_scale.ts";

/** Options of {@linkcode Tmux.start}. */
export interface TmuxStartOptions {
  /** Columns of the terminal. */
  width: number;
  /** Rows of the terminal. */
  height: number;
  /**
   * Variables for the command: added to the caller's environment, or, with `clearEnv`, the
   * whole environment of the server and so of the command (apart from what tmux adds: TERM,
   * TMUX), so that a `NO_COLOR` in the caller's shell cannot change a screenshot.
   */
  env?: Record<string, string>;
  /** See `env`. */
  clearEnv?: boolean;
  /** The command's working directory (default: the caller's). */
  cwd?: string;
  /** Start of the socket's name, to tell whose server it is (default `conntop-test`). */
  socketPrefix?: string;
  /** `default-terminal` of the server (default: tmux's own). */
  terminal?: string;
  /** Attach a control-mode client and send commands through it (see the module notes). */
  control?: boolean;
  /**
   * Called as soon as there is something to clean up, before tmux starts, so that an
   * interruption during the start can close it.
   */
  onCreated?: (term: Tmux) => void;
}

/** Options of {@linkcode Tmux.capture}. */
export interface CaptureOptions {
  /** Keep the SGR sequences (colours, bold, reverse…) in the text (`capture-pane -e`). */
  escapes?: boolean;
  /** Join lines the terminal wrapped, keeping trailing spaces (`capture-pane -J`). */
  join?: boolean;
  /** Keep trailing blanks, so a coloured bar that ends in spaces keeps its length (`-N`). */
  trailing?: boolean;
  /** First line (0-based) to capture (default the first visible one). */
  start?: number;
  /** Last line (0-based, inclusive; "-" the last one) to capture (default the last visible). */
  end?: number | "-";
}

/** Options of {@linkcode Tmux.waitFor}. */
export interface WaitForOptions extends CaptureOptions {
  /** Give up after this long, in ms (default 10 000). */
  timeoutMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
  /**
   * Return only a screen that matched and stayed the same for this long, in ms (default 0: the
   * first match). A program's frame reaches tmux in pieces, and a capture between two of them
   * shows the new frame's top over the old one's bottom: a predicate met by the top alone
   * would hand the test half a frame.
   */
  settleMs?: number;
}

const POLL_MS = 50;
const CLOSE_WAIT_MS = 3000;
const ATTACH_TIMEOUT_MS = 10_000;
const SESSION = "t";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Servers started and not yet closed, for {@linkcode closeAllTmuxSync}. */
const live = new Set<Tmux>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function randomHex(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buffer, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Kills every server started here and not yet closed, synchronously (from a signal handler or
 * an `unload` listener); returns the sockets it failed on. The pane's program gets SIGHUP from
 * its dying server.
 */
export function closeAllTmuxSync(): string[] {
  const failed: string[] = [];
  for (const term of live) {
    live.delete(term);
    try {
      const r = new Deno.Command("tmux", {
        args: ["-L", term.socket, "kill-server"],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).outputSync();
      // "no server running" means it is gone already.
      const gone = /no server|error connecting|No such file/i.test(decoder.decode(r.stderr));
      if (!r.success && !gone) failed.push(term.socket);
      else Deno.removeSync(term.socketPath);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) failed.push(term.socket);
    }
  }
  return failed;
}

/** A private tmux server with one session; close it with `await using` or {@linkcode close}. */
export class Tmux implements AsyncDisposable {
  /** The socket name given to `tmux -L`. */
  readonly socket: string;
  readonly #env: Record<string, string> | undefined;
  #closed = false;
  #control: ControlClient | undefined;

  private constructor(socket: string, env: Record<string, string> | undefined) {
    this.socket = socket;
    this.#env = env;
  }

  /**
   * Starts a server on a new private socket and a detached session of `width` × `height`
   * running `command` (argv, executed without a shell).
   *
   * @param command The program and its arguments.
   * @param options The terminal size, environment and how to talk to the server.
   * @returns The running terminal.
   * @throws {Error} When tmux is missing or the session cannot start; nothing is left behind.
   */
  static async start(command: readonly string[], options: TmuxStartOptions): Promise<Tmux> {
    if (command.length === 0) {
      throw new Error("Failed to start tmux session: expected a command, got an empty one");
    }
    const prefix = options.socketPrefix ?? "conntop-test";
    const term = new Tmux(
      `${prefix}-${Deno.pid}-${randomHex(4)}`,
      options.clearEnv ? options.env ?? {} : undefined,
    );
    live.add(term);
    options.onCreated?.(term);
    try {
      const env = options.clearEnv
        ? []
        : Object.entries(options.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
      const terminal = options.terminal === undefined
        ? []
        : ["set-option", "-g", "default-terminal", options.terminal, ";"];
      // One invocation and no config file: the options are set before the program runs.
      await term.#run([
        "-f",
        "/dev/null",
        ...["set-option", "-g", "status", "off", ";"],
        ...["set-option", "-g", "escape-time", "0", ";"],
        ...["set-option", "-g", "remain-on-exit", "on", ";"],
        ...["set-option", "-g", "history-limit", "1000", ";"],
        ...terminal,
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        String(options.width),
        "-y",
        String(options.height),
        ...(options.cwd === undefined ? [] : ["-c", options.cwd]),
        ...env,
        "--",
        ...command,
        // Set before any session exists, this one makes tmux 3.3a exit.
        ...[";", "set-option", "-g", "window-size", "manual"],
      ]);
      if (options.control) term.#control = await ControlClient.attach(term);
    } catch (err) {
      await term.close();
      throw err;
    }
    return term;
  }

  /** The socket file, which tmux leaves behind when its server is killed. */
  get socketPath(): string {
    const dir = (this.#env ?? Deno.env.toObject()).TMUX_TMPDIR || "/tmp";
    return `${dir}/tmux-${Deno.uid()}/${this.socket}`;
  }

  /** Runs one `tmux` process against this server. */
  async #run(args: readonly string[]): Promise<string> {
    // -u: screens are UTF-8 whatever the caller's locale says (the UI draws ▲, │, …).
    const { stdout } = await runCommand(["tmux", "-u", "-L", this.socket, ...args], {
      ...(this.#env === undefined ? {} : { clearEnv: true, env: this.#env }),
    });
    return stdout;
  }

  /**
   * Runs a tmux command against this server (through the control client when attached);
   * returns its standard output.
   */
  async tmux(args: readonly string[]): Promise<string> {
    if (this.#closed) {
      throw new Error(`Failed to run 'tmux ${args.join(" ")}': server '${this.socket}' is closed`);
    }
    if (this.#control !== undefined && args.every((a) => !/['\n]/.test(a))) {
      const lines = await this.#control.command(args.map((a) => `'${a}'`).join(" "));
      return lines.map((l) => l + "\n").join("");
    }
    return await this.#run(args);
  }

  /**
   * Sends keys by tmux's names ("Enter", "Escape", "F9", "C-c", "Home"…) in one write.
   * A name tmux does not know is sent as its characters.
   */
  async sendKeys(...keys: string[]): Promise<void> {
    await this.tmux(["send-keys", "-t", SESSION, ...keys]);
  }

  /** Types `text` literally, character by character as the terminal would send them. */
  async sendText(text: string): Promise<void> {
    await this.tmux(["send-keys", "-t", SESSION, "-l", "--", text]);
  }

  /** The screen as text, one line per row (trailing blanks trimmed unless joined or kept). */
  async capture(options: CaptureOptions = {}): Promise<string> {
    const flags = [
      "-p",
      ...(options.escapes ? ["-e"] : []),
      ...(options.join ? ["-J"] : []),
      ...(options.trailing ? ["-N"] : []),
      ...(options.start === undefined ? [] : ["-S", String(options.start)]),
      ...(options.end === undefined ? [] : ["-E", String(options.end)]),
    ];
    return await this.tmux(["capture-pane", "-t", SESSION, ...flags]);
  }

  /** {@linkcode capture} as an array of lines. */
  async captureLines(options: CaptureOptions = {}): Promise<string[]> {
    const text = await this.capture(options);
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    return lines;
  }

  /**
   * Polls the screen every 50 ms until `predicate` holds, and returns that screen.
   *
   * @throws {Error} After `timeoutMs`, naming `what` and quoting the last screen.
   */
  async waitFor(
    predicate: (screen: string) => boolean,
    options: WaitForOptions = {},
  ): Promise<string> {
    const timeoutMs = scaledMs(options.timeoutMs ?? 10_000);
    const deadline = Date.now() + timeoutMs;
    const settleMs = options.settleMs ?? 0;
    let screen = "";
    // The matching screen being watched for change, and since when it has been the same.
    let matched: string | undefined;
    let since = 0;
    while (true) {
      screen = await this.capture(options);
      if (!predicate(screen)) matched = undefined;
      else if (settleMs <= 0) return screen;
      else if (screen !== matched) {
        matched = screen;
        since = Date.now();
      } else if (Date.now() - since >= settleMs) return screen;
      if (Date.now() >= deadline) break;
      await sleep(matched === undefined ? POLL_MS : Math.min(POLL_MS, settleMs / 2));
    }
    const state = matched === undefined ? "" : " (it matched, but kept changing)";
    throw new Error(
      `Timed out after ${timeoutMs} ms waiting for ${options.what ?? "the screen"}${state}; ` +
        `the screen was:\n${screen}`,
    );
  }

  /** Resizes the terminal; the command gets SIGWINCH as from a real one. */
  async resize(width: number, height: number): Promise<void> {
    await this.tmux(["resize-window", "-t", SESSION, "-x", String(width), "-y", String(height)]);
  }

  /** Expands a tmux format for the pane, e.g. `#{alternate_on}` or `#{pane_width}`. */
  async format(format: string): Promise<string> {
    return (await this.tmux(["display-message", "-p", "-t", SESSION, format])).replace(/\n$/, "");
  }

  /** The pid of the pane's program. */
  async panePid(): Promise<number> {
    return Number(await this.format("#{pane_pid}"));
  }

  /** Whether the program in the pane has exited. */
  async dead(): Promise<boolean> {
    return (await this.format("#{pane_dead}")) === "1";
  }

  /** `%output` notifications received so far (with `control`; 0 without). */
  get outputs(): number {
    return this.#control?.outputs ?? 0;
  }

  /**
   * Resolves when an `%output` arrives after the `seen`-th, or after `timeoutMs` (at once
   * without `control`, or once the control client has exited).
   */
  waitOutput(seen: number, timeoutMs: number): Promise<void> {
    return this.#control?.waitOutput(seen, timeoutMs) ?? Promise.resolve();
  }

  /**
   * Sends `keys`, then waits up to `timeoutMs` for the pane's program to exit; returns whether
   * it did.
   */
  async quit(keys: string[], timeoutMs = CLOSE_WAIT_MS): Promise<boolean> {
    const pid = await this.panePid();
    await this.sendKeys(...keys);
    const deadline = Date.now() + scaledMs(timeoutMs);
    while (alive(pid) && Date.now() < deadline) await sleep(POLL_MS);
    return !alive(pid);
  }

  /** Whether {@linkcode close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Kills the server and waits for it and every process that ran in its pane to be gone,
   * sending SIGKILL by pid to any still there after 3 s; removes the socket file.
   *
   * Safe to call twice and never throws, so that clean-up cannot hide a caller's own failure.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    const pids = new Set<number>();
    try {
      const out = await this.#run(["list-panes", "-a", "-F", "#{pid} #{pane_pid}"]);
      for (const word of out.split(/\s+/)) if (/^\d+$/.test(word)) pids.add(Number(word));
      for (const pid of [...pids]) for (const d of descendants(pid)) pids.add(d);
    } catch {
      // No server (it never started, or its last pane is gone): nothing to collect.
    }
    this.#closed = true;
    live.delete(this);
    await this.#run(["kill-server"]).catch(() => {});
    await this.#control?.close();
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while ([...pids].some(alive) && Date.now() < deadline) await sleep(POLL_MS);
    for (const pid of pids) {
      if (!alive(pid)) continue;
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    await Deno.remove(this.socketPath).catch(() => {});
  }

  /** Same as {@linkcode Tmux.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * A control-mode client (`tmux -C attach`): commands written to its stdin, answers read as
 * `%begin … %end` blocks, `%output` notifications counted.
 */
class ControlClient {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pending: { resolve(lines: string[]): void; reject(err: Error): void; cmd: string }[] = [];
  #block: string[] | null = null;
  #onAttached: () => void = () => {};
  #outputs = 0;
  #outputWaiters: (() => void)[] = [];
  #reading: Promise<void>;
  #exited = false;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#reading = this.#read();
  }

  static async attach(term: Tmux): Promise<ControlClient> {
    const child = new Deno.Command("tmux", {
      args: ["-u", "-L", term.socket, "-C", "attach-session", "-t", SESSION],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const c = new ControlClient(child);
    // `%session-changed` follows the attach: the client is ready then.
    const attached = new Promise<boolean>((resolve) => (c.#onAttached = () => resolve(true)));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([
      attached,
      new Promise<boolean>((
        resolve,
      ) => (timer = setTimeout(() => resolve(false), ATTACH_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (!ok || c.#exited) {
      await c.close();
      throw new Error(
        `Failed to attach a control client to tmux server '${term.socket}' in ` +
          `${ATTACH_TIMEOUT_MS / 1000} s`,
      );
    }
    return c;
  }

  get outputs(): number {
    return this.#outputs;
  }

  waitOutput(seen: number, timeoutMs: number): Promise<void> {
    if (this.#outputs > seen || this.#exited) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        const i = this.#outputWaiters.indexOf(done);
        if (i >= 0) this.#outputWaiters.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#outputWaiters.push(done);
    });
  }

  command(cmd: string): Promise<string[]> {
    if (this.#exited) {
      return Promise.reject(new Error(`Failed to run '${cmd}': the tmux control client exited`));
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject, cmd });
      this.#writer.write(encoder.encode(cmd + "\n")).catch((err) => reject(err));
    });
  }

  async close(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // The client is gone already.
    }
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Exited with the server.
    }
    await this.#child.status;
    await this.#reading.catch(() => {});
  }

  async #read(): Promise<void> {
    let rest = "";
    try {
      for await (const chunk of this.#child.stdout) {
        rest += decoder.decode(chunk, { stream: true });
        let nl = rest.indexOf("\n");
        while (nl >= 0) {
          this.#line(rest.slice(0, nl));
          rest = rest.slice(nl + 1);
          nl = rest.indexOf("\n");
        }
      }
    } finally {
      this.#exited = true;
      this.#onAttached(); // its commands fail from now on, saying the client exited
      for (const p of this.#pending.splice(0)) {
        p.reject(new Error(`Failed to run '${p.cmd}': the tmux control client exited`));
      }
      for (const w of this.#outputWaiters.slice()) w();
    }
  }

  #line(line: string): void {
    if (this.#block !== null) {
      // Notifications never come inside a block, so only its end can look like one.
      const end = /^%(end|error) \d+ \d+ (\d+)$/.exec(line);
      if (end === null) {
        this.#block.push(line);
        return;
      }
      const out = this.#block;
      this.#block = null;
      // Flags 1: a command this client sent; 0: another's, such as the attach itself.
      if ((Number(end[2]) & 1) === 0) return;
      const p = this.#pending.shift();
      if (p === undefined) return;
      if (end[1] === "error") {
        p.reject(new Error(`tmux command '${p.cmd}' failed: ${out.join(" / ")}`));
      } else p.resolve(out);
      return;
    }
    if (/^%begin \d+ \d+ \d+$/.test(line)) {
      this.#block = [];
    } else if (line.startsWith("%session-changed ")) {
      this.#onAttached();
    } else if (line.startsWith("%output ")) {
      this.#outputs++;
      for (const w of this.#outputWaiters.slice()) w();
    }
  }
}

/** Whether `pid` runs (a zombie does not: it has ended and only waits for its parent). */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

/** Every descendant of `pid`, read from /proc (threads' children included). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    let tasks: string[];
    try {
      tasks = [...Deno.readDirSync(`/proc/${p}/task`)].map((e) => e.name);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      let children = "";
      try {
        children = Deno.readTextFileSync(`/proc/${p}/task/${tid}/children`);
      } catch {
        continue;
      }
      for (const word of children.split(/\s+/)) {
        if (/^\d+$/.test(word) && !out.includes(Number(word))) {
          out.push(Number(word));
          queue.push(Number(word));
        }
      }
    }
  }
  return out;
}
