/**
 * Runs a command to completion and collects what it printed: the one process runner of the
 * tests, the benchmark and the screenshot script (tools/tmux.ts and tools/netns.ts run their
 * commands through it).
 *
 * What it must never do: start a shell (the argv runs as given), or leave a command waiting on
 * a full pipe (input is written while the output is read).
 *
 * Requires `--allow-run`.
 *
 * @example
 * ```ts ignore
 * import { runCommand } from "./run.ts";
 *
 * const { stdout } = await runCommand(["ip", "netns", "list"]);
 * const r = await runCommand(["conntrack", "-L"], { check: false, stdout: "null" });
 * ```
 *
 * @module
 */

/** Options of {@linkcode runCommand}. */
export interface ExecOptions {
  /** Text written to the command's standard input, which is closed afterwards. */
  stdin?: string;
  /** Throw when the command exits with a non-zero code (default `true`). */
  check?: boolean;
  /** `"null"` discards standard output instead of collecting it (a large listing). */
  stdout?: "piped" | "null";
  /** Run with exactly this environment instead of adding to the caller's. */
  clearEnv?: boolean;
  /** Variables for the command (its whole environment with `clearEnv`). */
  env?: Record<string, string>;
}

/** What a finished command printed and how it exited. */
export interface ExecResult {
  /** The exit code. */
  code: number;
  /** Everything written to standard output, decoded as UTF-8 ("" when discarded). */
  stdout: string;
  /** Everything written to standard error, decoded as UTF-8. */
  stderr: string;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** `cmd` as a shell would show it, for messages. */
export function formatCommand(cmd: readonly string[]): string {
  return cmd.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)
    .join(" ");
}

/**
 * Runs a command on the host and collects its output.
 *
 * @param cmd The program and its arguments.
 * @param options Standard input, whether a failure throws, where the output goes.
 * @returns The exit code and the decoded output.
 * @throws {Error} When the program cannot be started, or when it exits with a non-zero code
 * and `options.check` is not `false`; the message names the command, the code and stderr.
 */
export async function runCommand(
  cmd: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const [program, ...args] = cmd;
  if (program === undefined) {
    throw new Error("Failed to run command: expected a program name, got an empty command");
  }
  const discard = options.stdout === "null";
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: discard ? "null" : "piped",
      stderr: "piped",
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.clearEnv ? { clearEnv: true } : {}),
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `Failed to run '${formatCommand(cmd)}': '${program}' not found ` +
          "(run scripts/setup.sh --dev)",
        { cause: err },
      );
    }
    throw err;
  }
  // Write and read at once, so that a command that answers before it has read all its input
  // cannot fill the pipe and wait for us while we wait for it.
  const writing = options.stdin === undefined
    ? Promise.resolve()
    : writeAll(child.stdin, encoder.encode(options.stdin));
  const [output] = await Promise.all([child.output(), writing]);
  const result: ExecResult = {
    code: output.code,
    stdout: discard ? "" : decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
  if (options.check !== false && result.code !== 0) {
    const stderr = result.stderr.trim();
    throw new Error(
      `Failed to run '${formatCommand(cmd)}': exit code ${result.code}` +
        (stderr === "" ? "" : `: ${stderr}`),
    );
  }
  return result;
}

async function writeAll(stream: WritableStream<Uint8Array>, data: Uint8Array): Promise<void> {
  const writer = stream.getWriter();
  try {
    await writer.write(data);
    await writer.close();
  } catch (err) {
    // The command may exit without reading all of its input; its exit code tells the story.
    if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
  }
}
