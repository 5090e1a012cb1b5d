/**
 * The screen's handle on the engine in the collector's worker thread: view queries go out over
 * a `MessagePort`, windows come back, and the batches of a recording or a remote server are
 * passed on with their buffers transferred. The live collector in the same worker gives the
 * engine its batches itself.
 *
 * @module
 */

import { WorkerThread } from "../collector/mod.ts";
import type { ToCollector } from "../collector/mod.ts";
import type {
  EngineSetup,
  FromEngine,
  TableAnswer,
  TableLink,
  TableQuery,
  ToEngine,
} from "../engine/mod.ts";
import type { BatchMessage } from "../core/mod.ts";

/** Callbacks of {@linkcode WorkerTable}. */
export interface WorkerTableHandlers {
  onWindow(id: number, w: TableAnswer): void;
  /** The engine could not start in the worker. */
  onFatal(message: string): void;
}

/** The engine in the worker thread. */
export class WorkerTable implements TableLink {
  readonly immediate = false;
  #thread: WorkerThread;
  #port: MessagePort;
  #closed = false;

  /**
   * Attaches an engine to the process's worker thread. Call it before the collector starts,
   * so that the collector runs in the same thread and hands its batches over there.
   */
  constructor(setup: EngineSetup, handlers: WorkerTableHandlers) {
    this.#thread = WorkerThread.forService();
    const channel = new MessageChannel();
    this.#port = channel.port1;
    const attach: ToCollector = { type: "engine", port: channel.port2 };
    this.#thread.worker.postMessage(attach, [channel.port2]);
    this.#port.onmessage = (e: MessageEvent<FromEngine>) => {
      const msg = e.data;
      if (msg.type === "window") handlers.onWindow(msg.id, msg.w);
      else handlers.onFatal(msg.message);
    };
    this.#post({ type: "setup", setup });
  }

  query(id: number, q: TableQuery): void {
    this.#post({ type: "query", id, q });
  }

  batch(b: BatchMessage): void {
    this.#post({ type: "batch", batch: b }, b.records);
  }

  /** Stops the engine and releases the thread. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#post({ type: "close" });
    this.#closed = true;
    this.#port.close();
    this.#thread.release();
  }

  #post(msg: ToEngine, transfer: Transferable[] = []): void {
    if (!this.#closed) this.#port.postMessage(msg, transfer);
  }
}
