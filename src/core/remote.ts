/**
 * What client-server mode was asked for, as the server, the client and the command line share
 * it: endpoints, the server's and the client's options, log levels. Parsing lives in
 * src/cli/remote.ts; these shapes live at the bottom of the import graph.
 *
 * @module
 */

/** The default TCP port of client-server mode (the original C++ conntop's). */
export const DEFAULT_PORT = 55555;

/** Log levels, quietest first. */
export const LOG_LEVELS = ["error", "warning", "info", "debug"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** An address to listen on or connect to. */
export interface Endpoint {
  /** A hostname, an IPv4 address or an IPv6 address (without brackets). */
  host: string;
  port: number;
}

/** What the server was asked for. */
export interface ServerOptions {
  /** Addresses to listen on (all with `port`). Default: 127.0.0.1 and ::1. */
  listen: Endpoint[];
  /** Whether --listen-any was given. */
  listenAny: boolean;
  port: number;
  /** The name clients see (default: the hostname). */
  name: string | undefined;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Listening beyond loopback without token and TLS was explicitly allowed. */
  insecure: boolean;
  logFile?: string;
  logLevel: LogLevel;
  maxClients: number;
  idleTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** Bytes of deltas a client may have queued before it gets a fresh snapshot instead. */
  clientQueueBytes: number;
}

/** What the client was asked for. */
export interface RemoteOptions {
  server: Endpoint;
  /** The text given to --connect, for messages and the header. */
  display: string;
  tokenFile?: string;
  /** Use TLS (--tls, or implied by --tls-ca). */
  tls: boolean;
  /** A PEM file of certificate authorities (or the server's own certificate) to trust. */
  tlsCa?: string;
  /** The name the client gives the server (default: the hostname). */
  name: string | undefined;
  /** Sending the token in clear beyond loopback was explicitly allowed (--insecure). */
  insecure: boolean;
  /** --once gives up when the table has not come within this long, ms (--deadline). */
  deadlineMs: number;
}

/** Whether `host` (an IPv4 or IPv6 address) is a loopback address. */
export function isLoopback(host: string): boolean {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return host.startsWith("127.");
  let canonical: string;
  try {
    // The URL parser spells every IPv6 address one way: [::1], [::ffff:7f00:1].
    canonical = new URL(`http://[${host}]/`).hostname;
  } catch {
    return false;
  }
  return canonical === "[::1]" || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/** An Endpoint as text: `host:port`, IPv6 in brackets. */
export function endpointText(e: Endpoint): string {
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}
