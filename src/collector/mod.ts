/**
 * The collector as the rest of conntop sees it: a handle on the worker that reads the conntrack
 * table, and the messages it sends. The worker itself (worker.ts) and everything it uses
 * (netlink, kernel, table) are internal: only the worker calls FFI.
 *
 * The collector run in the caller's own thread (local.ts, for conntopd) is a second door, not
 * exported here: it loads the whole collection loop and its FFI, which the monitor's UI thread
 * must not hold.
 *
 * @module
 */

export { Collector, type CollectorHandlers } from "./client.ts";
export {
  type BatchMessage,
  CHUNK_RECORDS,
  type CollectorOptions,
  type CollectorStatus,
  type LocalAddressList,
  type ReadyMessage,
  type SysctlChange,
  type Totals,
} from "./messages.ts";
export { netnsPath } from "./netns.ts";
export type { CtTable, SentWatcher, TableLimit } from "./table.ts";
export { WorkerThread } from "./thread.ts";
export { type ToCollector } from "./messages.ts";
