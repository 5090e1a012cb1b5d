/**
 * The collector on the caller's own thread: the same collection loop as the worker's
 * (loop.ts), for a server that has nothing else to keep responsive but its sockets. It spares
 * the worker isolate (about 15 MB) and the copy of every batch between threads; the loop's long
 * waits run off-thread as nonblocking FFI calls and its dumps yield to the event loop, so
 * clients are still served while it collects.
 *
 * Its interface is {@linkcode Collector}'s; it must never be used where the thread must not
 * call FFI (the monitor's UI thread).
 *
 * Requires `--allow-ffi` on the caller's thread. With a network namespace, it enters it on
 * this thread (the thread's later sockets and child processes are in it too).
 *
 * @module
 */

import { ConntopError, ExitCode } from "../errors.ts";
import { type CollectorHandlers, restoreFromOutside } from "./client.ts";
import { CollectorControl, runCollector } from "./loop.ts";
import type { CollectorOptions, FromCollector, ReadyMessage } from "./messages.ts";
import type { CtTable } from "./table.ts";

/**
 * How often a dump gives the event loop a turn, ms: clients' writes and pings wait at most this
 * long. Each turn costs about 3 ms of wall time (a timer's clamp), so not much more often.
 */
const YIELD_MS = 50;

/**
 * How often a dump of a command that only waits for it (`--once`) gives the event loop a turn,
 * ms: a signal (Ctrl-C) waits at most this long to be handled, for a few ms per dump.
 */
const ONCE_YIELD_MS = 250;

/** {@linkcode CollectorHandlers}, and one more report. */
export interface LocalCollectorHandlers extends CollectorHandlers {
  /** The loop let its table go (paused; see {@linkcode LocalCollector.releases}). */
  onRelease?(): void;
  /**
   * With it, batches carry their changes as (slot, kind) pairs instead of copies of the records
   * (`changes`; `records` empty), and this hears of each table the loop fills, before its first
   * dump: the receiver reads the records there, on this thread, when a batch comes (the table
   * changes again once the batch handler returns).
   */
  onTable?(table: CtTable): void;
  /**
   * Hears of each table the loop fills, before its first dump, without reading it in place
   * (batches keep their records): e.g. to bound it ({@linkcode CtTable.limit}).
   */
  prepareTable?(table: CtTable): void;
}

/** A collector running on this thread. */
export class LocalCollector {
  #control: CollectorControl;
  #ready: ReadyMessage | undefined;
  #options: CollectorOptions;
  #stopped: Promise<void> = Promise.resolve();
  /** Times the loop let its table go while paused. */
  releases = 0;
  /** While paused the loop lets its table go; the resume's first batch holds it all again. */
  readonly releasesWhilePaused = true;

  private constructor(control: CollectorControl, options: CollectorOptions) {
    this.#control = control;
    this.#options = options;
  }

  /**
   * Starts the loop and resolves once it has opened its sockets; rejects with a
   * {@linkcode ConntopError} (carrying the exit code) when it cannot start. For a server (the
   * default) the loop starts paused (call {@linkcode resume}: a server collects only for its
   * clients); while paused it lets its table go (see {@linkcode releases}). `once`: a command
   * that only waits for the table (`--once`): the loop starts at once and its dumps yield
   * seldom.
   */
  static start(
    options: CollectorOptions,
    handlers: LocalCollectorHandlers,
    once = false,
  ): Promise<LocalCollector> {
    return new Promise((resolve, reject) => {
      let started = false;
      const post = (msg: FromCollector) => {
        switch (msg.type) {
          case "ready":
            c.#ready = msg;
            started = true;
            resolve(c);
            break;
          case "batch":
            handlers.onBatch(msg);
            break;
          case "warning":
            handlers.onWarning?.(msg.message);
            break;
          case "fatal": {
            const err = new ConntopError(msg.message, msg.exitCode);
            if (!started) reject(err);
            else handlers.onFatal?.(err);
            break;
          }
        }
      };
      const control = new CollectorControl(
        post,
        once
          ? { yieldMs: ONCE_YIELD_MS }
          : { releaseWhilePaused: true, yieldMs: YIELD_MS, paused: true },
      );
      if (handlers.onTable !== undefined) control.inPlace = true;
      if (handlers.onTable !== undefined || handlers.prepareTable !== undefined) {
        control.onTable = (t) => {
          handlers.prepareTable?.(t);
          handlers.onTable?.(t);
        };
      }
      // Made before the loop starts: the loop says "ready" (or "fatal") before its first await.
      const c = new LocalCollector(control, options);
      control.onRelease = () => {
        c.releases++;
        handlers.onRelease?.();
      };
      // The loop reports its own failures as "fatal"; anything it throws past that is a bug,
      // reported the same way so the server ends cleanly.
      c.#stopped = runCollector(options, control).catch((err) => {
        post({
          type: "fatal",
          message: `The collector crashed: ${err instanceof Error ? err.message : err}`,
          exitCode: ExitCode.FAILURE,
        });
      }).finally(() => {
        if (!started) reject(new ConntopError("The collector stopped before it started"));
      });
    });
  }

  /** What the collector found at start-up. */
  get ready(): ReadyMessage {
    return this.#ready!;
  }

  /** Asks for a refresh now instead of at the next tick. */
  collect(): void {
    this.#control.collect();
  }

  /** Stops collecting (no dumps, no event socket, no table) until {@linkcode resume}. */
  pause(): void {
    this.#control.pause();
  }

  /** Collects again after {@linkcode pause}, with a refresh at once. */
  resume(): void {
    this.#control.resume();
  }

  /**
   * Stops the loop, which restores sysctls and removes the --track table; if it has not
   * finished within `timeoutMs`, restores them from here.
   */
  async stop(timeoutMs = 3000): Promise<void> {
    this.#control.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#stopped.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut && this.#ready !== undefined) {
      restoreFromOutside(this.#ready, this.#options.netns);
    }
  }
}
