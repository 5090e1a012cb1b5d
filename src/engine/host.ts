/**
 * What runs the engine for one screen, wherever it lives (the collector worker, or in process
 * for tests): it holds batches back while the screen is paused, and answers a query together
 * with what the screen asked on the side — a search (`/`, `n`) that moves the cursor, the
 * connection the details dialog shows.
 *
 * Pure and synchronous, like the engine.
 *
 * @module
 */

import type { BatchMessage, CollectorStatus, Totals } from "../core/mod.ts";
import type { Connection } from "../core/mod.ts";
import type { Anchor, Engine, ViewQuery, ViewWindow } from "./engine.ts";

/** A view query with the screen's side requests. */
export interface TableQuery extends ViewQuery {
  /** Hold batches back (the screen's pause): the rows stay, the totals keep coming. */
  paused: boolean;
  /** Move the cursor to the next row (from the cursor on) whose search text holds `text`. */
  find?: { text: string; backwards: boolean; skipCurrent: boolean };
  /** The connection the details dialog shows. */
  details?: Anchor;
}

/** The answer: the window, and the side answers. */
export interface TableAnswer extends ViewWindow {
  /** While paused: the newest totals and status (the window's are the ones shown). */
  liveTotals?: Totals;
  liveStatus?: CollectorStatus;
  /** Whether the search found a row (then the cursor is on it); absent without a search. */
  found?: boolean;
  /** The details dialog's connection; null when it is gone; absent when not asked. */
  details?: Connection | null;
}

/**
 * The engine of one screen, with its pause. Paused, batches are held back; an engine whose
 * records change in place (the collector's table) cannot stand still, so it goes on and a
 * frozen copy answers until the pause ends.
 */
export class EngineHost {
  readonly engine: Engine;
  #paused = false;
  #held: BatchMessage[] = [];
  #frozen: Engine | undefined;
  #live: { totals: Totals; status: CollectorStatus } | undefined;

  constructor(engine: Engine) {
    this.engine = engine;
  }

  /** Takes a batch: applied now, or held while paused. */
  apply(batch: BatchMessage): void {
    if (this.#paused) this.#live = { totals: batch.totals, status: batch.status };
    if (this.#paused && this.#frozen === undefined) this.#held.push(batch);
    else this.engine.apply(batch);
  }

  /** Whether the engine answering has a full order still to complete (see `settle`). */
  get unsettled(): boolean {
    return (this.#frozen ?? this.engine).unsettled;
  }

  /** Works on the answering engine's full order for about `budgetMs`; returns whether more is left. */
  settle(budgetMs?: number): boolean {
    return (this.#frozen ?? this.engine).settle(budgetMs);
  }

  /** Answers `q` (applying held batches first when it no longer pauses). */
  answer(q: TableQuery): TableAnswer {
    if (this.#paused && !q.paused) {
      for (const b of this.#held) this.engine.apply(b);
      this.#held = [];
      this.#frozen = undefined;
      this.#live = undefined;
    }
    if (!this.#paused && q.paused && this.engine.model.inPlace === true) {
      this.#frozen = this.engine.freeze();
    }
    this.#paused = q.paused;
    const engine = this.#frozen ?? this.engine;
    let w: TableAnswer = engine.query(q);
    if (q.find !== undefined && w.total > 0) {
      const { text, backwards, skipCurrent } = q.find;
      const from = w.cursorRow + (skipCurrent ? (backwards ? -1 : 1) : 0);
      const row = engine.find(text, from, backwards);
      if (row >= 0) {
        // The cursor shows on a found row (the screen turns it on).
        w = { ...engine.query({ ...q, anchor: null, cursorRow: row, cursor: true }) };
      }
      w.found = row >= 0;
    } else if (q.find !== undefined) {
      w.found = false;
    }
    if (q.details !== undefined) {
      w.details = engine.connection(q.details.slot, q.details.id) ?? null;
    }
    if (this.#live !== undefined) {
      w.liveTotals = this.#live.totals;
      w.liveStatus = this.#live.status;
    }
    return w;
  }
}
