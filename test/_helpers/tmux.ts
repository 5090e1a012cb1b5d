/**
 * A terminal for end-to-end tests of the full-screen UI: a tmux server of its own, one session of
 * a fixed size running one command, keys sent as a person types them, and the screen read back
 * as text (optionally with its SGR attributes).
 *
 * Each {@linkcode Tmux} starts a private server on its own socket (`tmux -L conntop-test-…`), so
 * a test never sees or touches a user's tmux sessions, and reads no tmux config but its own:
 * no status line (the pane gets every row asked for), `escape-time 0` (an Escape arrives as an
 * Escape at once), and `remain-on-exit on` (a command that dies leaves its last screen to read).
 *
 * Clean-up must not depend on the test passing: use `await using`. Closing kills the server,
 * then waits for every process that ran in its panes to be gone, ending by pid those that are
 * not.
 *
 * Note on keys: an Escape sent in the same `sendKeys` call as other keys arrives in one read and
 * decodes as Alt+key, as it would from a person typing fast. Send Escape alone and wait for its
 * effect before sending more.
 *
 * Requires tmux (installed by scripts/setup.sh) and `--allow-run --allow-read --allow-write`.
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

import { runCommand } from "./netns.ts";

/** Options of {@linkcode Tmux.start}. */
export interface TmuxStartOptions {
  /** Columns of the terminal. */
  width: number;
  /** Rows of the terminal. */
  height: number;
  /** Variables set for the command, on top of the test process's environment. */
  env?: Record<string, string>;
}

/** Options of {@linkcode Tmux.capture}. */
export interface CaptureOptions {
  /** Keep the SGR sequences (colours, bold, reverse…) in the text (`capture-pane -e`). */
  escapes?: boolean;
  /** Join lines the terminal wrapped, keeping trailing spaces (`capture-pane -J`). */
  join?: boolean;
}

/** Options of {@linkcode Tmux.waitFor}. */
export interface WaitForOptions extends CaptureOptions {
  /** Give up after this long, in ms (default 10 000). */
  timeoutMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
}

const POLL_MS = 50;
const CLOSE_WAIT_MS = 3000;

const CONFIG = [
  "set -g status off",
  "set -g escape-time 0",
  "set -g remain-on-exit on",
  "set -g history-limit 1000",
  "",
].join("\n");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function randomHex(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buffer, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A private tmux server with one session; close it with `await using` or {@linkcode close}. */
export class Tmux implements AsyncDisposable {
  /** The socket name given to `tmux -L`. */
  readonly socket: string;
  #dir: string;
  #closed = false;

  private constructor(socket: string, dir: string) {
    this.socket = socket;
    this.#dir = dir;
  }

  /**
   * Starts a server on a new private socket and a detached session of `width` × `height`
   * running `command` (argv, executed without a shell), with `env` added to its environment.
   *
   * @param command The program and its arguments.
   * @param options The terminal size and environment.
   * @returns The running terminal.
   * @throws {Error} When tmux is missing or the session cannot start; nothing is left behind.
   */
  static async start(command: readonly string[], options: TmuxStartOptions): Promise<Tmux> {
    if (command.length === 0) {
      throw new Error("Failed to start tmux session: expected a command, got an empty one");
    }
    const dir = await Deno.makeTempDir({ prefix: "conntop-tmux-" });
    const socket = `conntop-test-${Deno.pid}-${randomHex(4)}`;
    const term = new Tmux(socket, dir);
    try {
      const config = `${dir}/tmux.conf`;
      await Deno.writeTextFile(config, CONFIG);
      const env = Object.entries(options.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
      await runCommand([
        ...tmuxCommand(socket),
        "-f",
        config,
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        String(options.width),
        "-y",
        String(options.height),
        ...env,
        "--",
        ...command,
      ]);
    } catch (err) {
      await term.close();
      throw err;
    }
    return term;
  }

  /** Runs a tmux command against this server; returns its standard output. */
  async tmux(args: readonly string[]): Promise<string> {
    if (this.#closed) {
      throw new Error(`Failed to run 'tmux ${args.join(" ")}': server '${this.socket}' is closed`);
    }
    const { stdout } = await runCommand([...tmuxCommand(this.socket), ...args]);
    return stdout;
  }

  /**
   * Sends keys by tmux's names ("Enter", "Escape", "F9", "C-c", "Home"…) in one write.
   * A name tmux does not know is sent as its characters.
   */
  async sendKeys(...keys: string[]): Promise<void> {
    await this.tmux(["send-keys", "-t", "t", ...keys]);
  }

  /** Types `text` literally, character by character as the terminal would send them. */
  async sendText(text: string): Promise<void> {
    await this.tmux(["send-keys", "-t", "t", "-l", "--", text]);
  }

  /** The visible screen as text, one line per row (trailing blanks trimmed unless joined). */
  async capture(options: CaptureOptions = {}): Promise<string> {
    const flags = ["-p", ...(options.escapes ? ["-e"] : []), ...(options.join ? ["-J"] : [])];
    return await this.tmux(["capture-pane", "-t", "t", ...flags]);
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
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    while (true) {
      screen = await this.capture(options);
      if (predicate(screen)) return screen;
      if (Date.now() >= deadline) break;
      await sleep(POLL_MS);
    }
    throw new Error(
      `Timed out after ${timeoutMs} ms waiting for ${options.what ?? "the screen"}; ` +
        `the screen was:\n${screen}`,
    );
  }

  /** Resizes the terminal; the command gets SIGWINCH as from a real one. */
  async resize(width: number, height: number): Promise<void> {
    await this.tmux(["resize-window", "-t", "t", "-x", String(width), "-y", String(height)]);
  }

  /** Expands a tmux format for the pane, e.g. `#{alternate_on}` or `#{pane_width}`. */
  async format(format: string): Promise<string> {
    return (await this.tmux(["display-message", "-p", "-t", "t", format])).replace(/\n$/, "");
  }

  /** Whether {@linkcode close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Kills the server and waits for it and every process that ran in its pane to be gone,
   * sending SIGKILL by pid to any still there after 3 s; removes the socket and config files.
   *
   * Safe to call twice and never throws, so that clean-up cannot hide a test's own failure.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    const pids = new Set<number>();
    let socketPath: string | undefined;
    try {
      const out = await this.tmux(["list-panes", "-a", "-F", "#{pid} #{pane_pid} #{socket_path}"]);
      for (const word of out.split(/\s+/)) {
        if (/^\d+$/.test(word)) pids.add(Number(word));
        else if (word.startsWith("/")) socketPath = word;
      }
      for (const pid of [...pids]) for (const d of descendants(pid)) pids.add(d);
    } catch {
      // No server (it never started, or its last pane is gone): nothing to collect.
    }
    this.#closed = true;
    await runCommand([...tmuxCommand(this.socket), "kill-server"], { check: false })
      .catch(() => {});
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
    // tmux leaves its socket file behind when killed. When the server could not say where it
    // is, it is where tmux puts it: $TMUX_TMPDIR (or /tmp)/tmux-UID/NAME.
    socketPath ??= `${Deno.env.get("TMUX_TMPDIR") || "/tmp"}/tmux-${Deno.uid()}/${this.socket}`;
    await Deno.remove(socketPath).catch(() => {});
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  /** Same as {@linkcode Tmux.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// -u: screens are UTF-8 whatever the test process's locale says (the UI draws ▲, │, …).
function tmuxCommand(socket: string): string[] {
  return ["tmux", "-u", "-L", socket];
}

/** Whether `pid` runs (a zombie does not: it has ended and only waits for its parent). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
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
