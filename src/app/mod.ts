/**
 * conntop's modes: the live monitor, --once, --stream and --restore.
 *
 * The monitor is loaded only when it runs: --once, --stream and --restore never take the
 * terminal, so they load no UI or terminal code (test/app/graph_test.ts checks it).
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";

export { runOnce } from "./once.ts";
export { runRestore } from "./restore.ts";
export { runStream } from "./stream.ts";

/** Runs the interactive monitor (loading it first); resolves with the exit code. */
export async function runMonitor(opts: Options): Promise<number> {
  const monitor = await import("./monitor.ts");
  return await monitor.runMonitor(opts);
}
