/**
 * Runs a collector for the length of one command: starts it, reports its warnings, and stops
 * it (restoring whatever it changed in the kernel) on every way out — normal end, SIGINT,
 * SIGTERM, SIGHUP, a fatal error, or an uncaught error or unhandled rejection anywhere on the
 * main thread (which would otherwise end the process with the kernel still changed).
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import { Collector, netnsPath, type ReadyMessage } from "../collector/mod.ts";
import type { LocalCollector } from "../collector/local.ts";
import type { CollectorOptions, CtTable } from "../collector/mod.ts";
import { ConntopError, EnvironmentError } from "../errors.ts";
import type { Options } from "../cli/mod.ts";
import { isHangUp } from "../term/hangup.ts";
import { HANGUP_EXIT_CODE, onExitSignal, onUncaughtError, uncaughtMessage } from "../signals.ts";

/** What a command does with the collector's output. */
export interface SessionHandlers {
  /** Called with each batch; return true to end the session. */
  onBatch(batch: BatchMessage, ready: ReadyMessage): boolean | void;
  onWarning?(message: string): void;
  /** Called once the collector has started, before the first batch is handed over. */
  onReady?(ready: ReadyMessage): Promise<void> | void;
  /** Ends the session (exit code 0) when aborted, e.g. by a quit key. */
  signal?: AbortSignal;
}

/** The collector options for `opts`. */
export function collectorOptions(opts: Options): CollectorOptions {
  return {
    intervalMs: opts.intervalMs,
    netns: opts.netns,
    enableAcct: opts.enableAcct,
    track: opts.track,
    eventBufferBytes: opts.eventBufferBytes,
    events: opts.events,
  };
}

/**
 * Runs until a handler ends it or a signal arrives (`more`: collector options beyond the
 * command line's, e.g. `handOver` for --once); resolves with the exit code a signal asks
 * for (0 otherwise). Rejects with {@linkcode ConntopError} on a fatal collector error, after the
 * collector has cleaned up.
 */
export async function runSession(
  opts: Options,
  handlers: SessionHandlers,
  more: Pick<CollectorOptions, "handOver"> & {
    /** Collect on this thread (`--once`: it has nothing else to do meanwhile). */
    here?: boolean;
    /** With `here`: hears of the collector's table before its first dump (to bound it). */
    prepareTable?: (table: CtTable) => void;
  } = {},
): Promise<number> {
  if (opts.netns !== undefined) {
    const path = netnsPath(opts.netns);
    try {
      Deno.statSync(path);
    } catch {
      throw new EnvironmentError(`Network namespace '${opts.netns}' not found (no ${path})`);
    }
  }
  let finish!: (code: number) => void;
  let fail!: (err: ConntopError) => void;
  const done = new Promise<number>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  let ready: ReadyMessage | undefined;
  let ended = false;
  const end = (code: number) => {
    if (!ended) {
      ended = true;
      finish(code);
    }
  };
  handlers.signal?.addEventListener("abort", () => end(0), { once: true });
  const removeSignals = onExitSignal(end);
  const removeUncaught = onUncaughtError((err) => {
    if (ended) return;
    ended = true;
    fail(new ConntopError(uncaughtMessage(err), 1, { cause: err }));
  });
  let collector: Collector | LocalCollector | undefined;
  let overruns = 0;
  // Batches that arrive while onReady runs wait for it.
  let early: BatchMessage[] | undefined = [];
  const deliver = (b: BatchMessage) => {
    if (ended) return;
    if (b.status.eventOverruns > overruns) {
      overruns = b.status.eventOverruns;
      handlers.onWarning?.(
        `The event socket overflowed (ENOBUFS, ${overruns} so far): resynchronised with a dump; a larger --event-buffer avoids it`,
      );
    }
    try {
      if (handlers.onBatch(b, ready!) === true) end(0);
    } catch (err) {
      // The reader went away (`conntop --stream | head`): a normal end, as for any filter.
      if (err instanceof Deno.errors.BrokenPipe) return end(0);
      // The terminal it writes to is gone (EIO): a hang-up, as SIGHUP would be.
      if (isHangUp(err)) return end(HANGUP_EXIT_CODE);
      ended = true;
      fail(err instanceof ConntopError ? err : new ConntopError(String(err), 1, { cause: err }));
    }
  };
  try {
    const { here, prepareTable, ...more2 } = more;
    const collectorHandlers = {
      prepareTable,
      onBatch: (b: BatchMessage) => {
        if (ended) return;
        if (early !== undefined) early.push(b);
        else deliver(b);
      },
      onWarning: (m: string) => handlers.onWarning?.(m),
      onFatal: (err: ConntopError) => {
        if (!ended) {
          ended = true;
          fail(err);
        }
      },
    };
    const options = { ...collectorOptions(opts), ...more2 };
    // The collection loop is loaded only for a command that runs it on this thread: the
    // monitor's UI thread never holds it.
    collector = here
      ? await (await import("../collector/local.ts")).LocalCollector.start(
        options,
        collectorHandlers,
        true,
      )
      : await Collector.start(options, collectorHandlers);
    ready = collector.ready;
    for (const w of ready.warnings) handlers.onWarning?.(w);
    await handlers.onReady?.(ready);
    const waiting = early;
    early = undefined;
    for (const b of waiting) deliver(b);
    return await done;
  } finally {
    ended = true;
    await collector?.stop();
    removeSignals();
    removeUncaught();
  }
}
