/**
 * What one refresh of the table carries from whoever collects it (the collector worker, a
 * server, a recording) to whoever shows it: the batch of changed records and the totals and
 * status that come with it. These shapes cross threads, the wire and files, so they live at the
 * bottom of the import graph.
 *
 * @module
 */

import type { Extra } from "../conntrack/mod.ts";
import type { Owner } from "./enrichment.ts";

/** The monitored host's interface addresses, as text (see LocalAddresses in core/classes). */
export interface LocalAddressList {
  v4: string[];
  v6: string[];
  /** Broadcast addresses of the local IPv4 networks. */
  broadcast: string[];
}

/**
 * Records per chunk of a batch: bounds the memory a refresh of a huge table needs at once, and
 * is the model's page size, so a chunk of new connections can become a page as it is.
 */
export const CHUNK_RECORDS = 8192;

/** Table totals sent with every batch. */
export interface Totals {
  /** Connections in conntop's table. */
  count: number;
  /** The kernel's count (net.netfilter.nf_conntrack_count), when readable. */
  kernelCount: number | null;
  /** net.netfilter.nf_conntrack_max, when readable. */
  max: number | null;
  /** Connections by protocol name. */
  byProto: Record<string, number>;
  ipv4: number;
  ipv6: number;
  /** Byte and packet accounting (net.netfilter.nf_conntrack_acct). */
  accounting: boolean | null;
  /** Start timestamps (net.netfilter.nf_conntrack_timestamp). */
  timestamps: boolean | null;
  /** Connections offloaded to a flowtable (their counters may stand still). */
  offloaded: number;
}

/** How the collector is doing. */
export interface CollectorStatus {
  /** Duration of the last dump in milliseconds. */
  dumpMs: number;
  /** Dumps so far. */
  dumps: number;
  /** Times the event socket overflowed (ENOBUFS); each is followed by a resync dump. */
  eventOverruns: number;
  /** Events received. */
  events: number;
  /** The last dump was interrupted by a table change (NLM_F_DUMP_INTR). */
  dumpInterrupted: boolean;
  /** Whether event subscription works. */
  eventsEnabled: boolean;
  /** Last non-fatal error, if any. */
  lastError?: string;
}

/** One refresh's changed records, as posted by the collector or received from a server. */
export interface BatchMessage {
  type: "batch";
  seq: number;
  /** Wall-clock time of the refresh, ms since the epoch. */
  timeMs: number;
  /** When this refresh began (before its dump), ms since the epoch. */
  startedMs: number;
  /** `count` records (layout in conntrack/record.ts) in chunks, transferred. */
  records: ArrayBuffer[];
  count: number;
  extras: [number, Extra][];
  /**
   * Owning processes found since the last batch, by slot (null: no longer known). Only for
   * connections that end on this host.
   */
  owners?: [number, Owner | null][];
  /** The host's interface addresses, when they changed (always in the first batch). */
  local?: LocalAddressList;
  totals: Totals;
  status: CollectorStatus;
  /**
   * The batch holds the whole table and replaces the one the receiver had: a remote server's
   * snapshot, or a collector's first batch after it let its table go while paused (conntopd
   * with no client).
   */
  reset?: boolean;
  /**
   * `records` is the collector's table itself: one buffer, one record per slot (KIND 0: a
   * free slot), transferred rather than copied by a collector that stops after it (--once;
   * see `handOver` in the collector's options). Earlier batches of such a run carry only
   * `changes`.
   */
  handedOver?: boolean;
  /**
   * The records went to the engine hosted in the worker (src/engine/serve.ts): this message
   * carries the totals, status, owners' count and host addresses only (`records` empty).
   */
  inWorker?: boolean;
  /**
   * The changes as (slot, KIND) pairs, without copies of the records (`records` empty): within
   * the worker, to an engine reading the collector's table in place; and in a run that takes
   * the table itself at its end (`handedOver`).
   */
  changes?: Uint32Array;
}
