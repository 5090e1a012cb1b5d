/**
 * The conntop client-server protocol, version 1: every message either side may send, declared
 * once for the server (src/server) and the client (src/client). docs/protocol.md describes the
 * same thing for people writing their own client; schema/protocol.schema.json is the schema
 * every received message is checked against.
 *
 * Transport: TCP, optionally TLS. Framing: one JSON object per line (UTF-8, `\n`-terminated,
 * no `\n` inside), at most {@linkcode MAX_SERVER_MESSAGE_BYTES} from the server and
 * {@linkcode MAX_CLIENT_MESSAGE_BYTES} from the client, newline included.
 *
 * The exchange:
 *
 * 1. server → `banner` (as soon as the connection, or its TLS handshake, is up)
 * 2. client → `hello` (version it speaks, its name, the token when the banner asks for one)
 * 3. server → `welcome`, or `bye` (`version_mismatch`, `auth_failed`, `protocol_error`)
 * 4. server → a snapshot: `batch` parts with `kind: "snapshot"`; it replaces whatever table the
 *    client had. Then one delta per collector refresh: `batch` parts with `kind: "delta"`,
 *    `seq` one more than the batch before. A fresh snapshot may come at any time (the server
 *    sends one instead of deltas a slow client could not take).
 * 5. either side → `ping` (answered by `pong`) to keep the connection alive; server →
 *    `warning` for collector warnings.
 * 6. either side → `bye` with a reason, then closes.
 *
 * Connection records travel as they are in memory: chunks of the 168-byte layout in
 * conntrack/record.ts, base64-encoded, at most {@linkcode CHUNK_RECORDS} records per part.
 *
 * @module
 */

import type { Extra } from "../conntrack/mod.ts";
import type { CollectorStatus, LocalAddressList, Totals } from "../core/mod.ts";
import type { Owner } from "../core/mod.ts";

export { CHUNK_RECORDS } from "../core/mod.ts";

/** The `protocol` field of the banner: tells a conntop server from anything else. */
export const PROTOCOL_NAME = "conntop";

/** The protocol version this conntop speaks. */
export const PROTOCOL_VERSION = 1;

/** Versions this conntop can speak, newest first. */
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

// The default TCP port lives with the shapes the command line shares (core/remote.ts), so that
// parsing --connect loads no protocol code.
export { DEFAULT_PORT } from "../core/mod.ts";

/** Largest line the server sends, newline included: one chunk of records and its extras. */
export const MAX_SERVER_MESSAGE_BYTES = 4 << 20;

/**
 * Most connection records one batch (snapshot or delta) may hold: one per slot a record may
 * name (4 Mi, see MAX_SLOT in validate.ts).
 */
export const MAX_BATCH_RECORDS = 1 << 22;

/** Most extras one batch may hold (1 Mi): a client's memory must not grow without end. */
export const MAX_BATCH_EXTRAS = 1 << 20;

/** Most owners one batch may hold (1 Mi). */
export const MAX_BATCH_OWNERS = 1 << 20;

/**
 * Most bytes of one batch's lines outside their records (extras, owners and the fixed fields of
 * every part), 64 MiB: the records are bounded by {@linkcode MAX_BATCH_RECORDS}.
 */
export const MAX_BATCH_OTHER_BYTES = 64 << 20;

/** Largest line a client may send, newline included. */
export const MAX_CLIENT_MESSAGE_BYTES = 16 << 10;

/** Why a connection ended (the `reason` of `bye`). */
export const BYE_REASONS = [
  /** No message from the peer within the idle or handshake timeout. */
  "timeout",
  /** The user quit (client) or the operator stopped the server for this client. */
  "user",
  /** The server is shutting down (or its collector failed: see `message`). */
  "server_quit",
  /** No protocol version in common. */
  "version_mismatch",
  /** A message that is not valid JSON, not valid against the schema, too long, or out of order. */
  "protocol_error",
  /** Missing or wrong token. */
  "auth_failed",
  /** The client read too slowly for the server to keep its queue within bounds. */
  "too_slow",
  /** The server has as many clients as it takes. */
  "server_full",
  /** Too many failed handshakes from this address lately. */
  "rate_limited",
] as const;

/** One of {@linkcode BYE_REASONS}. */
export type ByeReason = typeof BYE_REASONS[number];

/** Authentication methods a server may ask for in its banner. */
export type AuthMethod = "token";

/** Server → client, first message. */
export interface Banner {
  type: "banner";
  /** Always {@linkcode PROTOCOL_NAME}. */
  protocol: typeof PROTOCOL_NAME;
  /** Protocol versions the server speaks. */
  versions: number[];
  /** The server's software, e.g. "conntopd 0.1.0". */
  software: string;
  /** What the hello must carry: ["token"] when the server has a token file, else []. */
  auth: AuthMethod[];
}

/** Client → server, answer to the banner. */
export interface Hello {
  type: "hello";
  /** The version the client chose from the banner's list. */
  version: number;
  /** The client's software, e.g. "conntop 0.1.0". */
  software: string;
  /** The client's name (default: its hostname), for the server's log. */
  name: string;
  /** The shared secret, when the banner asks for "token". */
  token?: string;
}

/** What the server's collector found at start-up (the collector's ready message). */
export interface ServerReady {
  /** Things a user should know about the kernel's state, one line each. */
  warnings: string[];
  /** Whether flowtables are in use (counters of offloaded connections may stand still). */
  flowtables: boolean;
}

/** Server → client: the handshake succeeded. */
export interface Welcome {
  type: "welcome";
  /** The version in use from now on. */
  version: number;
  /** The server's name (--name, default its hostname). */
  name: string;
  /** The collector's refresh interval in milliseconds. */
  intervalMs: number;
  /** The network namespace the server monitors, or null for its own. */
  netns: string | null;
  /** Bytes per record (conntrack/record.ts); a client with another layout must disconnect. */
  recordSize: number;
  /** Largest number of records in one part. */
  chunkRecords: number;
  /** The client is dropped after this long without a message from it (ms); ping before. */
  idleTimeoutMs: number;
  ready: ServerReady;
}

/**
 * Server → client: one part of a snapshot or of a delta. A batch is parts 0..n of one `seq`;
 * the part with `last: true` closes it and carries the refresh's time, totals and status.
 */
export interface BatchPart {
  type: "batch";
  /** "snapshot": the whole table, replacing the client's; "delta": changes since `seq - 1`. */
  kind: "snapshot" | "delta";
  /** The collector refresh this batch reflects. */
  seq: number;
  /** 0, 1, 2… within the batch. */
  part: number;
  /** Whether this part closes the batch. */
  last: boolean;
  /** Records in this part (the decoded bytes of `records` divided by the record size). */
  count: number;
  /** At most one base64 chunk of records (none when nothing changed). */
  records: string[];
  /** Rare string attributes of slots in this part. */
  extras: [number, Extra][];
  /** Owning processes of slots (null: no longer known). */
  owners: [number, Owner | null][];
  /** The server host's interface addresses (in the last part, when they changed or in a snapshot). */
  local?: LocalAddressList;
  /** Last part only: wall-clock time of the refresh, ms since the epoch. */
  timeMs?: number;
  /** Last part only: when the refresh began (before its dump), ms since the epoch. */
  startedMs?: number;
  /** Last part only. */
  totals?: Totals;
  /** Last part only. */
  status?: CollectorStatus;
}

/** Server → client: a collector warning. */
export interface WarningMessage {
  type: "warning";
  timeMs: number;
  message: string;
}

/** Either way: are you there? */
export interface Ping {
  type: "ping";
  /** Echoed in the pong. */
  id: number;
}

/** Either way: the answer to a ping. */
export interface Pong {
  type: "pong";
  id: number;
}

/** Either way: the connection ends now. */
export interface Bye {
  type: "bye";
  reason: ByeReason;
  /** One line for people; never contains a token. */
  message: string;
}

/** Everything a server may send. */
export type ServerMessage = Banner | Welcome | BatchPart | WarningMessage | Ping | Pong | Bye;

/** Everything a client may send. */
export type ClientMessage = Hello | Ping | Pong | Bye;
