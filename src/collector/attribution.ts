/**
 * Which process owns each connection that ends on this host: the collector's side of
 * enrichment, since it is a fact about the monitored host (a remote client cannot know it).
 *
 * New connections whose source (or, for incoming ones, reply source) is an address of a local
 * interface are looked up among the host's sockets; a connection not found at once (a server
 * socket still in the accept queue) is tried again for a few refreshes, then left alone. The
 * interface addresses are re-read at every refresh and reported when they change.
 *
 * @module
 */

import { Has, Kind, OFF, RECORD_SIZE, RecordView } from "../conntrack/mod.ts";
import { LocalAddresses } from "../core/mod.ts";
import type { Owner } from "../core/mod.ts";
import type { LocalAddressList } from "./messages.ts";
import {
  type ConntrackTuples,
  localSocketOf,
  type SocketOwners,
  type SocketQuery,
} from "./owners.ts";

/** The four addresses of a record (one array for all: this runs for every new connection). */
const ADDRESS_OFFSETS = [OFF.ORIG_SRC, OFF.ORIG_DST, OFF.REPLY_SRC, OFF.REPLY_DST] as const;

/** Refreshes a new connection is looked for before giving up. */
const TRIES = 5;

interface Pending {
  id: number;
  query: SocketQuery;
  tries: number;
}

/** Tracks owners across refreshes. */
export class OwnerTracker {
  #owners: SocketOwners;
  #local: LocalAddresses;
  #pending = new Map<number, Pending>();
  #readLocal: () => LocalAddresses;

  constructor(owners: SocketOwners, readLocal: () => LocalAddresses = LocalAddresses.current) {
    this.#owners = owners;
    this.#readLocal = readLocal;
    this.#local = readLocal();
  }

  /** The interface addresses now. */
  get local(): LocalAddressList {
    return this.#local.toJSON();
  }

  /** Re-reads the interface addresses; returns them when they changed. */
  refreshLocal(): LocalAddressList | undefined {
    let next: LocalAddresses;
    try {
      next = this.#readLocal();
    } catch {
      return undefined; // keep the last known list
    }
    if (next.equals(this.#local)) return undefined;
    this.#local = next;
    return next.toJSON();
  }

  /**
   * Looks at a batch's records (new and destroyed connections) and returns the owners found
   * since the last call.
   */
  update(chunks: readonly Uint8Array[]): [number, Owner | null][] {
    for (const chunk of chunks) {
      const v = new RecordView(chunk.buffer as ArrayBuffer);
      const count = chunk.byteLength / RECORD_SIZE;
      for (let i = 0; i < count; i++) this.#note(v.u8At(i, OFF.KIND), v.u32At(i, OFF.SLOT), v, i);
    }
    return this.#resolve();
  }

  /**
   * As {@linkcode OwnerTracker.update}, for a batch of (slot, KIND) pairs whose records are read
   * in the table itself (`table`, one record per slot).
   */
  updateChanges(changes: Uint32Array, table: RecordView): [number, Owner | null][] {
    for (let j = 0; j < changes.length; j += 2) {
      const slot = changes[j]!;
      this.#note(changes[j + 1]!, slot, table, slot);
    }
    return this.#resolve();
  }

  #note(kind: number, slot: number, v: RecordView, i: number): void {
    if (kind === Kind.DESTROY) {
      this.#pending.delete(slot);
      return;
    }
    if (kind !== Kind.NEW || v.u8At(i, OFF.KIND) === 0 || !this.#mayBeLocal(v, i)) return;
    const query = localSocketOf(tuplesOf(v, i), this.#local);
    if (query !== null) this.#pending.set(slot, { id: v.u32At(i, OFF.ID), query, tries: 0 });
  }

  #resolve(): [number, Owner | null][] {
    if (this.#pending.size === 0) return [];
    const entries = [...this.#pending];
    const found = this.#owners.resolve(entries.map(([, p]) => p.query));
    const out: [number, Owner | null][] = [];
    entries.forEach(([slot, p], k) => {
      const owner = found[k] ?? null;
      if (owner !== null) {
        out.push([slot, owner]);
        this.#pending.delete(slot);
      } else if (++p.tries >= TRIES) {
        this.#pending.delete(slot);
      }
    });
    return out;
  }

  // A cheap test before any allocation: most connections of a router are forwarded, with no
  // local address in either tuple and no multicast or broadcast destination.
  #mayBeLocal(v: RecordView, i: number): boolean {
    const fam = v.u8At(i, OFF.FAMILY) === 10 ? 6 : 4;
    const u8 = v.u8, base = i * RECORD_SIZE;
    for (const off of ADDRESS_OFFSETS) if (this.#local.has(fam, u8, base + off)) return true;
    const d0 = u8[base + OFF.ORIG_DST]!;
    return fam === 6 ? d0 === 0xff : d0 >= 224 || this.#local.isBroadcast(u8, base + OFF.ORIG_DST);
  }
}

// The tuples of record `i`, as owners.ts reads them (views into the record, no copies).
function tuplesOf(v: RecordView, i: number): ConntrackTuples {
  const fam = v.u8At(i, OFF.FAMILY) === 10 ? 6 : 4;
  const len = fam === 6 ? 16 : 4;
  const base = i * RECORD_SIZE;
  const addr = (off: number) => v.u8.subarray(base + off, base + off + len);
  // ICMP's echo id sits where the source port does, which is what owners.ts expects.
  const hasPorts = (v.u16At(i, OFF.HAS) & (Has.PORTS | Has.ICMP)) !== 0;
  const port = (off: number) => (hasPorts ? v.u16At(i, off) : 0);
  return {
    family: fam,
    protocol: v.u8At(i, OFF.L4),
    origSrc: addr(OFF.ORIG_SRC),
    origDst: addr(OFF.ORIG_DST),
    origSport: port(OFF.ORIG_SPORT),
    origDport: port(OFF.ORIG_DPORT),
    replySrc: addr(OFF.REPLY_SRC),
    replyDst: addr(OFF.REPLY_DST),
    replySport: port(OFF.REPLY_SPORT),
    replyDport: port(OFF.REPLY_DPORT),
  };
}
