/**
 * A trickle of short-lived flows into a namespace's conntrack table, so that every refresh of a
 * `--stream` child has something to print and so its refresh times can be read from its output.
 *
 * Each tick inserts a few UDP flows (DNS-like, expiring after a few seconds): conntop receives
 * them as events and prints them as `new` at its next refresh, then as `destroy` once the kernel
 * reaps them. At two ticks per refresh, no refresh is silent, so a missing `time` means a missing
 * refresh, not an idle one.
 *
 * @module
 */

import { churnEntries } from "./entries.ts";
import type { Netns } from "../../tools/netns.ts";
import { runCommand } from "../../tools/run.ts";

/** Options of {@linkcode startChurn}. */
export interface ChurnOptions {
  /** Milliseconds between ticks (default 500). */
  everyMs?: number;
  /** Flows inserted per tick (default 4). */
  perTick?: number;
  /** Their timeout in seconds (default 3). */
  timeoutS?: number;
}

/** A running churn. */
export interface Churn {
  /** Stops it and resolves once its last insertion has finished. */
  stop(): Promise<void>;
  /** Ticks done so far. */
  readonly ticks: number;
  /** Ticks whose insertion failed, with the last error. */
  readonly failures: number;
  readonly lastError: string | undefined;
}

/** Starts inserting flows into `ns` every `everyMs`. */
export function startChurn(ns: Netns, options: ChurnOptions = {}): Churn {
  const everyMs = options.everyMs ?? 500;
  const perTick = options.perTick ?? 4;
  const timeoutS = options.timeoutS ?? 3;
  const cmd = ns.command("conntrack", "-R", "-");
  let stopped = false;
  let wake: (() => void) | undefined;
  const state = { ticks: 0, failures: 0, lastError: undefined as string | undefined };
  const loop = (async () => {
    let next = performance.now();
    while (!stopped) {
      const lines = churnEntries(state.ticks, perTick, timeoutS);
      const r = await runCommand(cmd, { check: false, stdin: lines.join("\n") + "\n" });
      state.ticks++;
      if (r.code !== 0) {
        state.failures++;
        state.lastError = r.stderr.trim();
      }
      next += everyMs;
      const wait = next - performance.now();
      if (wait > 0 && !stopped) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
    get ticks() {
      return state.ticks;
    },
    get failures() {
      return state.failures;
    },
    get lastError() {
      return state.lastError;
    },
  };
}
