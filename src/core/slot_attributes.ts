/**
 * The string attributes (extras) and owners of a table's slots, as batches set them: what a
 * reader of the collector's table keeps beside the records (the server's sent table, the
 * engine's store). No I/O.
 *
 * @module
 */

import { type Extra, Kind, OFF, type RecordView } from "../conntrack/mod.ts";
import type { BatchMessage } from "./batch.ts";
import type { Owner } from "./enrichment.ts";

/** Extras and owners by slot. */
export class SlotAttributes {
  #extras = new Map<number, Extra>();
  #owners = new Map<number, Owner>();

  /**
   * Takes a batch's extras and owners; a slot it destroys (in its changes, or in the records of
   * `views`) loses both, and a batch holding the whole table (`reset`) starts afresh.
   */
  apply(batch: BatchMessage, views: readonly RecordView[] = []): void {
    if (batch.reset === true) this.clear();
    for (const [slot, extra] of batch.extras) this.#extras.set(slot, extra);
    for (const [slot, owner] of batch.owners ?? []) {
      if (owner === null) this.#owners.delete(slot);
      else this.#owners.set(slot, owner);
    }
    for (const v of views) {
      for (let i = 0; i < v.count; i++) {
        if (v.u8At(i, OFF.KIND) === Kind.DESTROY) this.#gone(v.u32At(i, OFF.SLOT));
      }
    }
    const changes = batch.changes;
    for (let j = 0; changes !== undefined && j < changes.length; j += 2) {
      if (changes[j + 1] === Kind.DESTROY) this.#gone(changes[j]!);
    }
  }

  /** Forgets every slot's. */
  clear(): void {
    this.#extras.clear();
    this.#owners.clear();
  }

  /** The extra string attributes of `slot`. */
  extra(slot: number): Extra | undefined {
    return this.#extras.get(slot);
  }

  /** The owner of `slot`. */
  owner(slot: number): Owner | undefined {
    return this.#owners.get(slot);
  }

  #gone(slot: number): void {
    this.#extras.delete(slot);
    this.#owners.delete(slot);
  }
}
