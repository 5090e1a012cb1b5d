/**
 * The options of client-server mode: `--server` (and conntopd) and `--connect`. Parsed from
 * the values `node:util`'s parseArgs gave, after the common options; every bad value or
 * combination is a {@linkcode UsageError}.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { parseInteger, parseSeconds } from "./number.ts";
import { isPrintable } from "../text/mod.ts";
import {
  DEFAULT_PORT,
  type Endpoint,
  endpointText,
  isLoopback,
  type RemoteOptions,
  type ServerOptions,
} from "../core/mod.ts";

export {
  type Endpoint,
  endpointText,
  isLoopback,
  LOG_LEVELS,
  type RemoteOptions,
  type ServerOptions,
} from "../core/mod.ts";

/** parseArgs values of the client-server options. */
export type RemoteValues = {
  server?: boolean;
  connect?: string;
  listen?: string[];
  "listen-any"?: boolean;
  port?: string;
  name?: string;
  "token-file"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  "tls-ca"?: string;
  tls?: boolean;
  insecure?: boolean;
  "log-file"?: string;
  verbose?: boolean[];
  quiet?: boolean;
  "max-clients"?: string;
  "idle-timeout"?: string;
  "handshake-timeout"?: string;
  "client-queue"?: string;
  deadline?: string;
};

/** parseArgs' spec of the client-server options. */
export const REMOTE_SPEC = {
  server: { type: "boolean" },
  connect: { type: "string" },
  listen: { type: "string", multiple: true },
  "listen-any": { type: "boolean" },
  port: { type: "string" },
  name: { type: "string" },
  "token-file": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-ca": { type: "string" },
  tls: { type: "boolean" },
  insecure: { type: "boolean" },
  "log-file": { type: "string" },
  verbose: { type: "boolean", short: "v", multiple: true },
  quiet: { type: "boolean", short: "q" },
  "max-clients": { type: "string" },
  "idle-timeout": { type: "string" },
  "handshake-timeout": { type: "string" },
  "client-queue": { type: "string" },
  deadline: { type: "string" },
} as const;

/** How long `--connect --once` waits for the server's table by default, seconds. */
export const DEFAULT_DEADLINE_S = 30;

const SERVER_ONLY = [
  "listen",
  "listen-any",
  "tls-cert",
  "tls-key",
  "log-file",
  "verbose",
  "quiet",
  "max-clients",
  "idle-timeout",
  "handshake-timeout",
  "client-queue",
] as const;
const CLIENT_ONLY = ["tls-ca", "tls", "deadline"] as const;

/** The server's options from `v`. */
export function parseServerOptions(v: RemoteValues): ServerOptions {
  if (v.connect !== undefined) {
    throw new UsageError("Options --server and --connect cannot be combined");
  }
  for (const k of CLIENT_ONLY) {
    if (v[k] !== undefined) throw new UsageError(`Option --${k} is for --connect`);
  }
  const port = v.port === undefined ? DEFAULT_PORT : parsePort("--port", v.port);
  const listen: Endpoint[] = [];
  for (const text of v.listen ?? []) {
    const host = unbracket(text);
    if (host === "" || !isAddress(host)) {
      throw new UsageError(
        `Invalid value for --listen: expected an IPv4 or IPv6 address, got '${text}'`,
      );
    }
    listen.push({ host, port });
  }
  if (v["listen-any"] && listen.length > 0) {
    throw new UsageError("Options --listen and --listen-any cannot be combined");
  }
  if (v["listen-any"]) listen.push({ host: "0.0.0.0", port }, { host: "::", port });
  if (listen.length === 0) listen.push({ host: "127.0.0.1", port }, { host: "::1", port });
  if ((v["tls-cert"] === undefined) !== (v["tls-key"] === undefined)) {
    throw new UsageError("Options --tls-cert and --tls-key go together");
  }
  for (const k of ["token-file", "tls-cert", "tls-key", "log-file"] as const) {
    if (v[k] === "") throw new UsageError(`Invalid value for --${k}: expected a file name, got ''`);
  }
  const verbosity = (v.verbose ?? []).length;
  if (verbosity > 0 && v.quiet) {
    throw new UsageError("Options --verbose and --quiet cannot be combined");
  }
  return {
    listen,
    listenAny: v["listen-any"] ?? false,
    port,
    name: parseName(v.name),
    tokenFile: v["token-file"],
    tlsCert: v["tls-cert"],
    tlsKey: v["tls-key"],
    insecure: v.insecure ?? false,
    logFile: v["log-file"],
    logLevel: v.quiet ? "error" : verbosity > 0 ? "debug" : "info",
    maxClients: v["max-clients"] === undefined
      ? 64
      : parseInteger("--max-clients", v["max-clients"], 1, 10000),
    idleTimeoutMs: seconds("--idle-timeout", v["idle-timeout"], 60, 5, 86400),
    handshakeTimeoutMs: seconds("--handshake-timeout", v["handshake-timeout"], 10, 0.1, 600),
    clientQueueBytes: v["client-queue"] === undefined
      ? 32 << 20
      : parseInteger("--client-queue", v["client-queue"], 64 << 10, 2 ** 32),
  };
}

/** The client's options from `v`, or undefined without --connect. */
export function parseRemoteOptions(v: RemoteValues): RemoteOptions | undefined {
  if (v.connect === undefined) {
    for (const k of [...CLIENT_ONLY, "token-file", "name", "port", "insecure"] as const) {
      if (v[k] !== undefined) throw new UsageError(`Option --${k} needs --server or --connect`);
    }
    for (const k of SERVER_ONLY) {
      if (v[k] !== undefined) throw new UsageError(`Option --${k} needs --server`);
    }
    return undefined;
  }
  for (const k of SERVER_ONLY) {
    if (v[k] !== undefined) throw new UsageError(`Option --${k} is for --server`);
  }
  const port = v.port === undefined ? DEFAULT_PORT : parsePort("--port", v.port);
  const server = parseEndpoint(v.connect, port);
  if (v["token-file"] === "" || v["tls-ca"] === "") {
    throw new UsageError(
      `Invalid value for --${
        v["token-file"] === "" ? "token-file" : "tls-ca"
      }: expected a file name, got ''`,
    );
  }
  const tls = (v.tls ?? false) || v["tls-ca"] !== undefined;
  // Messages name the port too, also when it came from --port or the default.
  const display = hasPort(v.connect) ? v.connect : endpointText(server);
  const insecure = v.insecure ?? false;
  // The server's rule (server/exposure.ts) from this side: a token crosses the network only
  // encrypted. A hostname other than localhost may resolve anywhere, so it counts as remote.
  if (v["token-file"] !== undefined && !tls && !insecure && !isLoopbackHost(server.host)) {
    throw new UsageError(
      `Sending the token to ${display} (beyond loopback) without TLS needs --tls or --tls-ca, ` +
        "or --insecure",
    );
  }
  return {
    server,
    display,
    tokenFile: v["token-file"],
    tls,
    tlsCa: v["tls-ca"],
    name: parseName(v.name),
    insecure,
    deadlineMs: seconds("--deadline", v.deadline, DEFAULT_DEADLINE_S, 0.1, 86400),
  };
}

/** Whether --connect's `text` names a port (`HOST:PORT`, `[IPV6]:PORT`). */
function hasPort(text: string): boolean {
  return /^\[[^\]]*\]:/.test(text) || (text.match(/:/g) ?? []).length === 1;
}

/** {@linkcode isLoopback}, and the name `localhost`. */
function isLoopbackHost(host: string): boolean {
  return host.toLowerCase() === "localhost" || isLoopback(host);
}

/**
 * `HOST`, `HOST:PORT`, `[IPV6]` or `[IPV6]:PORT` (a bare IPv6 address without brackets is
 * taken whole, without a port).
 */
export function parseEndpoint(text: string, defaultPort: number): Endpoint {
  const bad = () =>
    new UsageError(
      `Invalid value for --connect: expected HOST[:PORT] or [IPV6][:PORT], got '${text}'`,
    );
  let host: string;
  let port = defaultPort;
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracket !== null) {
    host = bracket[1]!;
    if (!isIpv6(host)) throw bad();
    if (bracket[2] !== undefined) port = parsePort("--connect", bracket[2], text);
  } else if ((text.match(/:/g) ?? []).length > 1) {
    host = text;
    if (!isIpv6(host)) throw bad();
  } else {
    const [h, p] = text.split(":");
    host = h!;
    if (p !== undefined) port = parsePort("--connect", p, text);
  }
  if (host === "" || !/^[A-Za-z0-9.:_-]+$/.test(host)) throw bad();
  return { host, port };
}

function unbracket(text: string): string {
  const m = /^\[(.*)\]$/.exec(text);
  return m === null ? text : m[1]!;
}

function isAddress(host: string): boolean {
  return isIpv4(host) || isIpv6(host);
}

function isIpv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIpv6(s: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(":")) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

function parseName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const length = [...name].length;
  if (length < 1 || length > 64 || !isPrintable(name)) {
    throw new UsageError(
      `Invalid value for --name: expected 1 to 64 printable characters, got '${name}'`,
    );
  }
  return name;
}

function parsePort(option: string, text: string, whole = text): number {
  return parseInteger(option, text, 1, 65535, { whole, what: "a port from 1 to 65535" });
}

function seconds(option: string, text: string | undefined, def: number, min: number, max: number) {
  return text === undefined ? def * 1000 : parseSeconds(option, text, min, max);
}
