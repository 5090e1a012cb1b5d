/**
 * `conntop --restore [--netns NS]`: undoes what earlier conntop runs, killed before they could
 * restore (SIGKILL, a crash), left changed in a namespace (the --enable-acct sysctls, the --track
 * table), from their undo journals in /run/conntop. It starts nothing: no collecting, no UI.
 *
 * Exit codes: 0 when everything is restored or there was nothing to do; 1 when a change could
 * not be undone, or a conntop still running there holds the changes (it restores them when it
 * ends); 2 for no privilege, a missing namespace or an unsafe journal directory.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import { Collector, netnsPath } from "../collector/mod.ts";
import { EnvironmentError, ExitCode } from "../errors.ts";
import { collectorOptions } from "./session.ts";

/**
 * Runs `--restore` for `opts`; `print` gets the lines of what was done (standard output),
 * `warn` the lines of what was not (standard error). Resolves with the exit code.
 */
export async function runRestore(
  opts: Options,
  print: (line: string) => void,
  warn: (line: string) => void,
): Promise<number> {
  if (opts.netns !== undefined) {
    const path = netnsPath(opts.netns);
    try {
      Deno.statSync(path);
    } catch {
      throw new EnvironmentError(`Network namespace '${opts.netns}' not found (no ${path})`);
    }
  }
  const where = opts.netns === undefined
    ? "this network namespace"
    : `network namespace '${opts.netns}'`;
  const report = await Collector.restore(collectorOptions(opts));
  for (const line of report.restored) print(line);
  for (const line of report.failed) warn(line);
  for (const pid of report.running) {
    warn(
      `Not restored: conntop (pid ${pid}) still runs in ${where} and restores its changes when it ends`,
    );
  }
  if (report.failed.length > 0 || report.running.length > 0) return ExitCode.FAILURE;
  if (report.restored.length === 0) print(`Nothing to restore in ${where}`);
  return ExitCode.OK;
}
