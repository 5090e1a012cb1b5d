/**
 * A screen's table in its own thread: the engine answers at once. For tests, and for any
 * caller that has no worker to ask.
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import { Engine, type EngineOptions } from "./engine.ts";
import { EngineHost, type TableAnswer, type TableQuery } from "./host.ts";

/** Where a screen's queries go: answered at once (in process) or later (a worker). */
export interface TableLink {
  /** Whether answers come back before `query` returns. */
  readonly immediate: boolean;
  /** Asks query `id`; the answer goes to the screen's handler (now, or later). */
  query(id: number, q: TableQuery): void;
  /** Hands over a batch of a recording or a remote server (its buffers may be transferred). */
  batch(b: BatchMessage): void;
  close(): void;
}

/** The engine in process. */
export class LocalTable implements TableLink {
  readonly immediate = true;
  readonly host: EngineHost;
  #onWindow: (id: number, w: TableAnswer) => void;

  constructor(onWindow: (id: number, w: TableAnswer) => void, opts: EngineOptions = {}) {
    this.host = new EngineHost(new Engine(opts));
    this.#onWindow = onWindow;
  }

  query(id: number, q: TableQuery): void {
    this.#onWindow(id, this.host.answer(q));
  }

  batch(b: BatchMessage): void {
    this.host.apply(b);
  }

  close(): void {}
}
