/**
 * Commands for the screenshot script ({@linkcode runCommand} of tools/run.ts runs one to
 * completion): {@linkcode haveProgram}, and {@linkcode Background} for a server or traffic loop that runs alongside, with its output
 * collected and a way to wait for the line that says it is ready.
 *
 * Requires `--allow-run`.
 *
 * @module
 */

const decoder = new TextDecoder();

/** Whether the program `name` is on the PATH (or is a path to an executable file). */
export async function haveProgram(name: string): Promise<boolean> {
  const dirs = name.includes("/") ? [""] : (Deno.env.get("PATH") ?? "").split(":");
  for (const dir of dirs) {
    try {
      const info = await Deno.stat(dir === "" ? name : `${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return true;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) {
        throw err;
      }
    }
  }
  return false;
}

/**
 * A process started with {@linkcode Background.start}: its standard output and error are
 * collected as one text, and {@linkcode Background.stop} ends it by its pid.
 */
export class Background {
  /** What it is, for messages ("dnsmasq", "bulk transfer server"). */
  readonly what: string;
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  #output = "";
  #exited = false;
  #waiters: (() => void)[] = [];

  private constructor(what: string, child: Deno.ChildProcess) {
    this.what = what;
    this.#child = child;
    this.#reading = Promise.all([this.#collect(child.stdout), this.#collect(child.stderr)])
      .then(() => {});
    child.status.then(() => {
      this.#exited = true;
      this.#notify();
    });
  }

  /** Starts `cmd` with standard input closed. */
  static start(what: string, cmd: readonly string[]): Background {
    const child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new Background(what, child);
  }

  /** Its process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Everything it has printed so far. */
  get output(): string {
    return this.#output;
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const chunk of stream) {
      this.#output += decoder.decode(chunk, { stream: true });
      this.#notify();
    }
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /**
   * Waits until its output holds the line `line`.
   *
   * @throws {Error} When it exits first or `timeoutMs` passes; the message quotes its output.
   */
  async waitForLine(line: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#output.split("\n").includes(line)) {
      const left = deadline - Date.now();
      if (this.#exited || left <= 0) {
        const why = this.#exited ? "it exited" : `no '${line}' after ${timeoutMs} ms`;
        throw new Error(`Failed to start ${this.what}: ${why}: ${this.#output.trim()}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /**
   * Waits until it has exited by itself.
   *
   * @throws {Error} When it is still running after `timeoutMs`, or exited with a failure; the
   * message quotes its output.
   */
  async waitExit(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const status = await Promise.race([this.#child.status, timeout]);
    clearTimeout(timer);
    if (status === undefined) {
      throw new Error(`Failed to wait for ${this.what}: still running after ${timeoutMs} ms`);
    }
    if (!status.success) {
      await this.#reading.catch(() => {});
      throw new Error(
        `Failed to run ${this.what}: exit code ${status.code}: ${this.#output.trim()}`,
      );
    }
  }

  /**
   * Ends it: SIGTERM, then SIGKILL after `graceMs` (default 2000); resolves once it has exited.
   * Safe to call when it has exited already.
   */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // Exited meanwhile.
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            this.#child.kill("SIGKILL");
          } catch {
            // Exited meanwhile.
          }
          resolve();
        }, graceMs);
      });
      await Promise.race([this.#child.status, killed]);
      clearTimeout(timer);
    }
    await this.#child.status;
    await this.#reading.catch(() => {});
  }
}
