/**
 * conntop's modes: the live monitor, --once, --stream and --restore.
 *
 * Each mode is loaded only when it runs: --once, --stream and --restore never take the
 * terminal, so they load no UI or terminal code (test/app/graph_test.ts checks it), and the
 * monitor loads none of their code (output writers, the server client, the recording reader):
 * every module an isolate loads stays in its heap for the whole run.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";

/**
 * Runs --once, writing to `out` (which must be done with the bytes when it resolves); resolves
 * with the exit code.
 */
export async function runOnce(
  opts: Options,
  out: (bytes: Uint8Array) => Promise<void>,
  warn: (line: string) => void,
): Promise<number> {
  const once = await import("./once.ts");
  return await once.runOnce(opts, out, warn);
}

/** Runs --stream, writing synchronously to `out`; resolves with the exit code. */
export async function runStream(
  opts: Options,
  out: (text: string) => void,
  warn: (line: string) => void,
): Promise<number> {
  const stream = await import("./stream.ts");
  return await stream.runStream(opts, out, warn);
}

/**
 * Runs `--restore` for `opts`; `print` gets the lines of what was done (standard output),
 * `warn` the lines of what was not (standard error). Resolves with the exit code.
 */
export async function runRestore(
  opts: Options,
  print: (line: string) => void,
  warn: (line: string) => void,
): Promise<number> {
  const restore = await import("./restore.ts");
  return await restore.runRestore(opts, print, warn);
}

/** Runs the interactive monitor (loading it first); resolves with the exit code. */
export async function runMonitor(opts: Options): Promise<number> {
  const monitor = await import("./monitor.ts");
  return await monitor.runMonitor(opts);
}
