/**
 * A private tmux server for the UI benchmark, driven through one control-mode client
 * (`tmux -C attach`): keys are sent and the pane is captured as commands written to that
 * client, so that no process is started per key or per poll, and the client's `%output`
 * notifications say when the program in the pane has written something — the moment worth
 * capturing the screen.
 *
 * The server listens on its own socket, `ctbench-ui-<pid>`, so that it never meets another
 * tmux (the user's, or tests running meanwhile). It is killed by {@linkcode TmuxServer.kill},
 * and by {@linkcode killAllTmuxSync} from a signal handler or an `unload` listener, where
 * nothing can be awaited.
 *
 * Requires `tmux` (3.2 or later) and `--allow-run`.
 *
 * @module
 */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Sockets of servers started and not yet killed. */
const live = new Set<string>();

/**
 * The socket file of server `socket`, which tmux leaves behind when the server is killed: in
 * `$TMUX_TMPDIR` (or /tmp), directory `tmux-UID`.
 */
function socketPath(socket: string): string {
  const dir = Deno.env.get("TMUX_TMPDIR") || "/tmp";
  return `${dir}/tmux-${Deno.uid()}/${socket}`;
}

function removeSocket(socket: string): void {
  try {
    Deno.removeSync(socketPath(socket));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

function tmuxSync(socket: string, args: string[]): Deno.CommandOutput {
  return new Deno.Command("tmux", {
    args: ["-L", socket, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
}

/** Kills every server not yet killed, synchronously; returns the sockets it failed on. */
export function killAllTmuxSync(): string[] {
  const failed: string[] = [];
  for (const socket of live) {
    try {
      const r = tmuxSync(socket, ["kill-server"]);
      // "no server running" means it is gone already.
      if (
        !r.success && !/no server|error connecting|No such file/i.test(decoder.decode(r.stderr))
      ) {
        failed.push(socket);
      } else removeSocket(socket);
    } catch {
      failed.push(socket);
    }
    live.delete(socket);
  }
  return failed;
}

/** Options of {@linkcode TmuxServer.start}. */
export interface TmuxStartOptions {
  /** Session (and window) size in cells. */
  width: number;
  height: number;
  /** The program to run, executed directly (no shell). */
  command: string[];
  /** Environment for the program, on top of the server's. */
  env?: Record<string, string>;
  /** Working directory of the program. */
  cwd?: string;
}

/** A tmux server with one session and the control client attached to it. */
export class TmuxServer {
  readonly socket: string;
  readonly session = "bench";
  #client!: Deno.ChildProcess;
  #writer!: WritableStreamDefaultWriter<Uint8Array>;
  #pending: { resolve(lines: string[]): void; reject(err: Error): void; cmd: string }[] = [];
  #block: string[] | null = null;
  /** Resolved by `%session-changed`, which follows the attach: the client is ready then. */
  #attached!: Promise<void>;
  #onAttached!: () => void;
  #outputs = 0;
  #outputWaiters: (() => void)[] = [];
  #reading: Promise<void> | undefined;
  #exited = false;
  #killed = false;

  private constructor(socket: string) {
    this.socket = socket;
  }

  /**
   * Starts server `socket` with one detached session running `options.command`, and attaches
   * the control client. The pane stays after the program exits (`remain-on-exit`), so that
   * what it printed can be read.
   */
  static async start(socket: string, options: TmuxStartOptions): Promise<TmuxServer> {
    const t = new TmuxServer(socket);
    live.add(socket);
    try {
      const env = Object.entries(options.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
      // One invocation: the server starts with an empty config and the options are set before
      // the program runs; the window keeps its size whatever clients attach.
      const args = [
        "-f",
        "/dev/null",
        ...["set-option", "-g", "status", "off", ";"],
        ...["set-option", "-g", "remain-on-exit", "on", ";"],
        "new-session",
        "-d",
        "-s",
        t.session,
        "-x",
        String(options.width),
        "-y",
        String(options.height),
        ...(options.cwd !== undefined ? ["-c", options.cwd] : []),
        ...env,
        ...options.command,
        // Set before any session exists, this one makes tmux 3.3a exit.
        ...[";", "set-option", "-g", "window-size", "manual"],
      ];
      const r = await new Deno.Command("tmux", {
        args: ["-L", socket, ...args],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!r.success) {
        throw new Error(
          `Failed to start tmux server '${socket}': ${decoder.decode(r.stderr).trim()}`,
        );
      }
      t.#client = new Deno.Command("tmux", {
        args: ["-L", socket, "-C", "attach-session", "-t", t.session],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      t.#writer = t.#client.stdin.getWriter();
      t.#attached = new Promise((resolve) => (t.#onAttached = resolve));
      t.#reading = t.#read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const attached = await Promise.race([
        t.#attached.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 10_000))),
      ]);
      clearTimeout(timer);
      if (!attached) {
        throw new Error(`Failed to attach a control client to tmux server '${socket}' in 10 s`);
      }
      return t;
    } catch (err) {
      await t.kill();
      throw err;
    }
  }

  /** `%output` notifications received so far. */
  get outputs(): number {
    return this.#outputs;
  }

  /** Resolves when an `%output` arrives after the `seen`-th, or after `timeoutMs`. */
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

  /** Runs a tmux command through the control client; resolves with its output lines. */
  command(cmd: string): Promise<string[]> {
    if (this.#exited) {
      return Promise.reject(new Error(`Failed to run '${cmd}': the tmux control client exited`));
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject, cmd });
      this.#writer.write(encoder.encode(cmd + "\n")).catch((err) => reject(err));
    });
  }

  /** Sends one key (a tmux key name such as `Down`, `NPage`, `q`, or `>`). */
  sendKey(key: string): Promise<string[]> {
    return this.command(`send-keys -t ${this.session} '${key}'`);
  }

  /**
   * The pane's lines `from` to `to` (0-based, inclusive; "-" is the last), with SGR sequences
   * (`-e`).
   */
  capture(from: number, to: number | "-"): Promise<string[]> {
    return this.command(`capture-pane -p -e -t ${this.session} -S ${from} -E ${to}`);
  }

  /** A format of the pane (`#{pane_pid}`, `#{pane_dead}`, …). */
  async display(format: string): Promise<string> {
    const out = await this.command(`display-message -p -t ${this.session} '${format}'`);
    return out.join("\n");
  }

  /** Kills the server (and so the program in its pane, with SIGHUP). Safe to call twice. */
  async kill(): Promise<void> {
    if (this.#killed) return;
    this.#killed = true;
    try {
      await this.#writer?.close();
    } catch {
      // the client is gone already
    }
    await new Deno.Command("tmux", {
      args: ["-L", this.socket, "kill-server"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    live.delete(this.socket);
    try {
      this.#client?.kill("SIGKILL");
    } catch {
      // exited with the server
    }
    await this.#client?.status;
    await this.#reading?.catch(() => {});
    removeSocket(this.socket);
  }

  async #read(): Promise<void> {
    let rest = "";
    try {
      for await (const chunk of this.#client.stdout) {
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
