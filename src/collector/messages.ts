/**
 * The messages between the main thread and the collector worker, declared once for both sides.
 * Bulk data (connection records) travels as a transferred ArrayBuffer, never as cloned objects.
 *
 * @module
 */

import type { Extra } from "../conntrack/mod.ts";
import type { Owner } from "../enrich/types.ts";

/** The monitored host's interface addresses, as text (see LocalAddresses in enrich/classes). */
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

/** What the collector is asked to do. */
export interface CollectorOptions {
  /** Milliseconds between refreshes. */
  intervalMs: number;
  /** Network namespace to monitor: a name under /run/netns or a path. */
  netns?: string;
  /** Turn accounting and timestamps on for the run, and restore them on exit. */
  enableAcct: boolean;
  /** Add a small nftables table that makes the kernel track connections, removed on exit. */
  track: boolean;
  /** Kernel receive buffer for events, in bytes. */
  eventBufferBytes: number;
  /** Subscribe to events (short-lived connections, final counters); dumps alone otherwise. */
  events: boolean;
  /**
   * Only undo what earlier runs left changed in the namespace (`conntop --restore`): no
   * collecting; the worker answers with a "restored" message and stops.
   */
  restoreOnly?: boolean;
}

/** What `conntop --restore` found and did in a namespace. */
export interface RestoreReport {
  /** One line per undone run (or leftover table deleted). */
  restored: string[];
  /** One line per change that could not be undone. */
  failed: string[];
  /** Pids of runs still alive that hold changes there (they restore them when they end). */
  running: number[];
}

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

/** A sysctl value the collector changed, to restore if the worker cannot. */
export interface SysctlChange {
  path: string;
  previous: string;
}

/** Main thread → worker. */
export type ToCollector =
  | { type: "start"; options: CollectorOptions }
  | { type: "collect" }
  /** Stop collecting (no dumps, no event socket) until "resume": a server with no client. */
  | { type: "pause" }
  /** Collect again, with a dump at once. */
  | { type: "resume" }
  | { type: "stop" }
  /**
   * Host the enrichment service in this worker, speaking src/enrich/messages.ts over `port`
   * (transferred). Independent of collecting: a replay or a remote monitor sends only this.
   */
  | { type: "enrich"; port: MessagePort }
  /**
   * Host the engine (src/engine/serve.ts) in this worker, speaking src/engine/messages.ts over
   * `port` (transferred): the collector's batches go to it, and a screen's queries come.
   */
  | { type: "engine"; port: MessagePort };

/** Worker → main thread. */
export type FromCollector =
  | {
    type: "ready";
    /** Things the user should know about the kernel's state, one line each. */
    warnings: string[];
    /** Sysctls changed for this run (restored by the worker on stop). */
    changed: SysctlChange[];
    /** An nftables table added by --track (deleted by the worker on stop). */
    trackTable: string | null;
    /**
     * This run's undo journal (removed by the worker once it restored everything); absent or
     * null when nothing is journaled (and in a remote server's ready facts).
     */
    journal?: string | null;
    flowtables: boolean;
  }
  | {
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
     * The batch holds the whole table and replaces the one the receiver had (a remote server's
     * snapshot); never set by the local collector.
     */
    reset?: boolean;
    /**
     * The records went to the engine hosted in the worker (src/engine/serve.ts): this message
     * carries the totals, status, owners' count and host addresses only (`records` empty).
     */
    inWorker?: boolean;
    /**
     * Within the worker only, to an engine reading the collector's table in place: the
     * changes as (slot, KIND) pairs, without copies of the records (`records` empty).
     */
    changes?: Uint32Array;
  }
  | { type: "warning"; message: string }
  | ({ type: "restored" } & RestoreReport)
  | { type: "fatal"; message: string; exitCode: number }
  | { type: "stopped" };

/** A batch message as received. */
export type BatchMessage = Extract<FromCollector, { type: "batch" }>;
/** The ready message as received. */
export type ReadyMessage = Extract<FromCollector, { type: "ready" }>;
