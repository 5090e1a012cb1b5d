/**
 * The messages between the main thread and the collector worker, declared once for both sides.
 * Bulk data (connection records) travels as a transferred ArrayBuffer, never as cloned objects.
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";

export type { BatchMessage, CollectorStatus, LocalAddressList, Totals } from "../core/mod.ts";
export { CHUNK_RECORDS } from "../core/mod.ts";

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
   * Refreshes to collect before handing the table itself over and stopping (--once): the last
   * batch transfers the table's buffer (`handedOver`), so the records exist once in the
   * process, never as a copy beside the collector's; earlier batches carry only `changes`.
   */
  handOver?: number;
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
  | BatchMessage
  | { type: "warning"; message: string }
  | ({ type: "restored" } & RestoreReport)
  | { type: "fatal"; message: string; exitCode: number }
  | { type: "stopped" };

/** The ready message as received. */
export type ReadyMessage = Extract<FromCollector, { type: "ready" }>;
