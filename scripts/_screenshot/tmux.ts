/**
 * The terminal the screenshot is taken in: a tmux server of its own (`tmux -L ctshot-PID`,
 * never the user's), with one session of a fixed size running one command, no status line, and
 * an environment of its own (only what is given here, not the caller's: a `NO_COLOR` in the
 * caller's shell must not change the picture).
 *
 * Requires tmux and `--allow-run --allow-read --allow-write`.
 *
 * @module
 */

/** Options of {@linkcode Terminal.start}. */
export interface TerminalOptions {
  width: number;
  height: number;
  /** The whole environment of the command, apart from what tmux adds (TERM, TMUX). */
  env: Record<string, string>;
  /** The command's working directory. */
  cwd: string;
}

const CONFIG = [
  "set -g status off",
  "set -g escape-time 0",
  // A command that dies leaves its last screen, to quote in the error.
  "set -g remain-on-exit on",
  'set -g default-terminal "tmux-256color"',
  "",
].join("\n");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `pid` is a running process (not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

/** A private tmux server with one session; see the module documentation. */
export class Terminal {
  readonly socket: string;
  readonly #dir: string;
  readonly #env: Record<string, string>;
  #panePid: number | undefined;
  #closed = false;

  private constructor(socket: string, dir: string, env: Record<string, string>) {
    this.socket = socket;
    this.#dir = dir;
    this.#env = env;
  }

  /**
   * Starts the server and a detached session running `command` (argv, no shell).
   *
   * @param command The program and its arguments.
   * @param options The terminal's size and the command's environment.
   * @param onCreated Called as soon as there is something to clean up, before tmux starts, so
   * that an interruption during the start leaves nothing behind.
   * @throws {Error} When tmux fails; whatever was made is closed first.
   */
  static async start(
    command: readonly string[],
    options: TerminalOptions,
    onCreated: (t: Terminal) => void,
  ): Promise<Terminal> {
    const dir = await Deno.makeTempDir({ prefix: "ctshot-tmux-" });
    const term = new Terminal(`ctshot-${Deno.pid}`, dir, options.env);
    onCreated(term);
    await Deno.writeTextFile(`${dir}/tmux.conf`, CONFIG);
    await term.#tmux([
      "-f",
      `${dir}/tmux.conf`,
      "new-session",
      "-d",
      "-c",
      options.cwd,
      "-s",
      "shot",
      "-x",
      String(options.width),
      "-y",
      String(options.height),
      "--",
      ...command,
    ]);
    term.#panePid = Number(
      (await term.#tmux(["display-message", "-p", "-t", "shot", "#{pane_pid}"])).trim(),
    );
    return term;
  }

  async #tmux(args: readonly string[]): Promise<string> {
    // -u: the screen is UTF-8 whatever the locale says (conntop draws ▼, …).
    const cmd = ["tmux", "-u", "-L", this.socket, ...args];
    const child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      clearEnv: true,
      env: this.#env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    const out = await child.output();
    const dec = new TextDecoder();
    if (!out.success) {
      throw new Error(
        `Failed to run 'tmux ${args.join(" ")}' on server '${this.socket}': ` +
          `exit code ${out.code}: ${dec.decode(out.stderr).trim()}`,
      );
    }
    return dec.decode(out.stdout);
  }

  /**
   * The screen, one line per row. With `escapes`, the SGR sequences are kept and trailing
   * blanks too (`-e -N`), so a coloured bar that ends in spaces keeps its length.
   */
  capture(options: { escapes?: boolean } = {}): Promise<string> {
    const flags = options.escapes ? ["-e", "-N"] : [];
    return this.#tmux(["capture-pane", "-p", "-t", "shot", ...flags]);
  }

  /** Sends keys by tmux's names ("q", "F5", "C-c"). */
  async sendKeys(...keys: string[]): Promise<void> {
    await this.#tmux(["send-keys", "-t", "shot", ...keys]);
  }

  /** Whether the command in the pane has exited. */
  async dead(): Promise<boolean> {
    return (await this.#tmux(["display-message", "-p", "-t", "shot", "#{pane_dead}"])).trim() ===
      "1";
  }

  /**
   * Ends the command with `quitKeys` (waiting up to 3 s for it), kills the server, ends the
   * pane's process by its pid if it is still there, and removes the socket and config files.
   * Safe to call twice.
   */
  async close(quitKeys: string[] = []): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (quitKeys.length > 0 && this.#panePid !== undefined && alive(this.#panePid)) {
        await this.#tmux(["send-keys", "-t", "shot", ...quitKeys]);
        const deadline = Date.now() + 3000;
        while (alive(this.#panePid) && Date.now() < deadline) await sleep(50);
      }
    } catch {
      // The server is gone already; kill-server below finds nothing.
    }
    await this.#tmux(["kill-server"]).catch(() => {});
    const pid = this.#panePid;
    if (pid !== undefined) {
      // The pane's process gets SIGHUP from the server; this is for one that ignores it.
      const deadline = Date.now() + 3000;
      while (alive(pid) && Date.now() < deadline) await sleep(50);
      if (alive(pid)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // Gone meanwhile.
        }
      }
    }
    const tmpdir = this.#env.TMUX_TMPDIR || "/tmp";
    await Deno.remove(`${tmpdir}/tmux-${Deno.uid()}/${this.socket}`).catch(() => {});
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
