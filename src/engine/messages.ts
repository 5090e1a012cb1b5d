/**
 * The messages between a screen (the main thread) and the engine it asks, hosted in the
 * collector's worker: view queries and their answers, and the batches of a source that is not
 * the worker's own collector (a recording, a remote server), whose buffers are transferred.
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import type { TableAnswer, TableQuery } from "./host.ts";

/** How the engine is set up in the worker. */
export interface EngineSetup {
  /**
   * The worker's own collector still posts each batch to the main thread with its records
   * (copies: the engine keeps the originals), for a recording; otherwise only its totals and
   * status go.
   */
  forward: boolean;
  /** Sort and search on enrichment answers from the enrichment hosted in the worker. */
  enrich: boolean;
  /**
   * The worker's own collector feeds it: the engine reads the collector's table in place
   * instead of keeping a copy (a recording and a remote server send batches with records).
   */
  live: boolean;
}

/** Screen → engine. */
export type ToEngine =
  | { type: "setup"; setup: EngineSetup }
  /** A view query; answered with a "window" of the same id, and again after every batch. */
  | { type: "query"; id: number; q: TableQuery }
  /** A batch from a recording or a remote server. */
  | { type: "batch"; batch: BatchMessage }
  | { type: "close" };

/** Engine → screen. */
export type FromEngine =
  /** The answer to query `id` (the last one asked, when a batch or enrichment changed it). */
  | { type: "window"; id: number; w: TableAnswer }
  | { type: "fatal"; message: string };
