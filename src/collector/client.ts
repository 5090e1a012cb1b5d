/**
 * The main thread's handle on the collector worker: starts it, receives its batches, asks it to
 * stop, and makes sure whatever it changed in the kernel is restored even when it dies.
 *
 * The main thread never calls FFI: everything blocking happens in the worker.
 *
 * @module
 */

import { ConntopError, ExitCode } from "../errors.ts";
import type {
  BatchMessage,
  CollectorOptions,
  FromCollector,
  ReadyMessage,
  RestoreReport,
  ToCollector,
} from "./messages.ts";
import { WorkerThread } from "./thread.ts";

/** Callbacks for what the collector reports. */
export interface CollectorHandlers {
  onBatch(batch: BatchMessage): void;
  onWarning?(message: string): void;
  /** A fatal error after start-up (before it, `start()` rejects instead). */
  onFatal?(error: ConntopError): void;
}

/** A running collector worker. */
export class Collector {
  #thread: WorkerThread;
  #worker: Worker;
  #ready: ReadyMessage | undefined;
  #stopped: Promise<void>;
  #stoppedResolve!: () => void;
  #options: CollectorOptions;
  #stopRequested = false;

  private constructor(thread: WorkerThread, options: CollectorOptions) {
    this.#thread = thread;
    this.#worker = thread.worker;
    this.#options = options;
    this.#stopped = new Promise((resolve) => (this.#stoppedResolve = resolve));
  }

  /**
   * Starts the worker and resolves once it has opened its sockets; rejects with a
   * {@linkcode ConntopError} (carrying the exit code) when it cannot start.
   */
  static start(options: CollectorOptions, handlers: CollectorHandlers): Promise<Collector> {
    // The process's one worker thread, which the enrichment may share (see thread.ts).
    const thread = WorkerThread.forCollector();
    const worker = thread.worker;
    const c = new Collector(thread, options);
    return new Promise((resolve, reject) => {
      let started = false;
      worker.onmessage = (e: MessageEvent<FromCollector>) => {
        const msg = e.data;
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
          case "stopped":
            c.#stoppedResolve();
            // Done: a later crash of the thread (the enrichment's) is no collector's concern.
            removeOnError();
            thread.release();
            if (!started) reject(new ConntopError("The collector stopped before it started"));
            break;
        }
      };
      // The thread terminates the worker after telling every user.
      const removeOnError = thread.onError((e) => {
        const err = new ConntopError(`The collector crashed: ${e.message}`, ExitCode.FAILURE);
        c.#stoppedResolve();
        c.#restoreFallback();
        if (!started) reject(err);
        else handlers.onFatal?.(err);
      });
      const start: ToCollector = { type: "start", options };
      worker.postMessage(start);
    });
  }

  /**
   * Runs the worker only to undo what earlier runs left changed in the namespace of `options`
   * (`conntop --restore`), and resolves with what it found and did. Rejects with a
   * {@linkcode ConntopError} when it cannot (no privilege, no namespace, unsafe journal).
   */
  static restore(options: CollectorOptions): Promise<RestoreReport> {
    const thread = WorkerThread.forCollector();
    const worker = thread.worker;
    return new Promise((resolve, reject) => {
      let report: RestoreReport | undefined;
      let error: ConntopError | undefined;
      worker.onmessage = (e: MessageEvent<FromCollector>) => {
        const msg = e.data;
        if (msg.type === "restored") {
          report = { restored: msg.restored, failed: msg.failed, running: msg.running };
        } else if (msg.type === "fatal") {
          error = new ConntopError(msg.message, msg.exitCode);
        } else if (msg.type === "stopped") {
          removeOnError();
          thread.release();
          if (report !== undefined) resolve(report);
          else reject(error ?? new ConntopError("The collector stopped before it restored"));
        }
      };
      const removeOnError = thread.onError((e) => {
        reject(new ConntopError(`The collector crashed: ${e.message}`, ExitCode.FAILURE));
      });
      const start: ToCollector = { type: "start", options: { ...options, restoreOnly: true } };
      worker.postMessage(start);
    });
  }

  /** What the collector found at start-up. */
  get ready(): ReadyMessage {
    return this.#ready!;
  }

  /** Asks for a refresh now instead of at the next tick. */
  collect(): void {
    this.#post({ type: "collect" });
  }

  /**
   * Stops collecting until {@linkcode Collector.resume}: no dumps, and the event socket is
   * closed (a server pauses while no client is connected). No batch comes while paused.
   */
  pause(): void {
    this.#post({ type: "pause" });
  }

  /** Collects again after {@linkcode Collector.pause}, with a refresh at once. */
  resume(): void {
    this.#post({ type: "resume" });
  }

  /**
   * Stops the worker, which restores sysctls and removes the --track table; if it does not
   * answer within `timeoutMs`, terminates it and restores them from here.
   */
  async stop(timeoutMs = 3000): Promise<void> {
    if (!this.#stopRequested) {
      this.#stopRequested = true;
      this.#post({ type: "stop" });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#stopped.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      // A hung worker: the enrichment sharing it goes too (the run is ending anyway).
      this.#thread.terminate();
      this.#restoreFallback();
      this.#stoppedResolve();
    }
  }

  #post(msg: ToCollector): void {
    try {
      this.#worker.postMessage(msg);
    } catch {
      // already terminated
    }
  }

  // The worker died before restoring: put back from this thread what it changed.
  #restoreFallback(): void {
    if (this.#ready !== undefined) restoreFromOutside(this.#ready, this.#options.netns);
  }
}

/**
 * Restores what a collector reported changing in `ready` (sysctls, the --track table) from
 * outside it, when it could not (through `ip netns exec` for a collector in namespace `ns`),
 * and removes its journal when that worked. Best effort: never throws.
 */
export function restoreFromOutside(ready: ReadyMessage, ns: string | undefined): void {
  let ok = true;
  const run = (cmd: string[]) => {
    try {
      const full = ns === undefined ? cmd : ["ip", "netns", "exec", ns, ...cmd];
      const r = new Deno.Command(full[0]!, {
        args: full.slice(1),
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (!r.success) ok = false;
    } catch {
      ok = false; // best effort
    }
  };
  // Through a shell rather than Deno's file API, which wants --allow-all for /proc/sys.
  for (const c of ready.changed) {
    run(["sh", "-c", `echo '${c.previous}' > '${c.path}'`]);
  }
  if (ready.trackTable !== null) run(["nft", "delete", "table", "inet", ready.trackTable]);
  // Undone: the journal goes too. Otherwise it stays for the next start or --restore.
  const journal = ready.journal ?? null;
  if (ok && journal !== null) {
    try {
      Deno.removeSync(journal);
    } catch {
      // Left for the next start, which finds nothing changed to undo.
    }
  }
}
