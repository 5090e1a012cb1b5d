/**
 * The client of client-server mode (`conntop --connect`): one connection to a conntop server
 * (connection.ts), a reconnecting data source built on it (source.ts) with its state in words
 * (status.ts), and the comparison of a table before and after a reconnection (resync.ts).
 * Hostnames, GeoIP and services stay with the caller: the server sends only the table.
 *
 * @module
 */

export { Backoff, type BackoffOptions } from "./backoff.ts";
export {
  byeError,
  type ConnectionHandlers,
  type ConnectOptions,
  ServerConnection,
  silenceLimitMs,
} from "./connection.ts";
export { printable, RemoteError, type RemoteErrorKind } from "./errors.ts";
export { connectionKey, diffTables, type TableDiff } from "./resync.ts";
export {
  connectOptions,
  type RemoteHandlers,
  type RemoteRunOptions,
  type RemoteState,
  type RetryPolicy,
  runRemote,
} from "./source.ts";
export { type StateLevel, stateText } from "./status.ts";
