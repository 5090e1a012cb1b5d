/**
 * One connection to a conntop server (docs/protocol.md): TCP or TLS, the handshake (banner →
 * hello → welcome), then batches put together by the protocol's assembler and handed over
 * whole, pings both ways, and the end (`bye`). Every line received is checked against the
 * schema before anything acts on it; anything out of order ends the connection with
 * `bye protocol_error`.
 *
 * It never reconnects (source.ts does) and never prints: what goes wrong becomes a
 * {@linkcode RemoteError} whose message names the server and never contains the token.
 *
 * Requires `--allow-net`.
 *
 * @example
 * ```ts ignore
 * import { ServerConnection } from "./connection.ts";
 *
 * await using conn = await ServerConnection.open({
 *   server: { host: "127.0.0.1", port: 55555 },
 *   display: "127.0.0.1",
 *   tls: false,
 *   name: "laptop",
 * });
 * console.log(conn.welcome.name);
 * await conn.run({ onBatch: (b) => console.log(b.seq, b.count, b.reset === true) });
 * ```
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import { RECORD_SIZE } from "../conntrack/mod.ts";
import type { Endpoint } from "../core/mod.ts";
import { errorReason } from "../errors.ts";
import {
  type Banner,
  BatchAssembler,
  type ByeReason,
  type ClientMessage,
  encodeMessage,
  FrameTooLongError,
  LineReader,
  MAX_SERVER_MESSAGE_BYTES,
  parseServerMessage,
  PROTOCOL_NAME,
  type ServerMessage,
  SUPPORTED_VERSIONS,
  type Welcome,
} from "../protocol/mod.ts";
import { VERSION } from "../version.ts";
import { printable, RemoteError } from "./errors.ts";

/** How to reach a server and what to tell it. */
export interface ConnectOptions {
  server: Endpoint;
  /** The server as the user named it (--connect's value), for messages. */
  display: string;
  /** Speak TLS. */
  tls: boolean;
  /** PEM certificates to trust besides the system's (--tls-ca: a CA or the server's own). */
  caCerts?: string[];
  /** The client's name in the hello (1 to 255 characters, no control characters). */
  name: string;
  /** The shared secret, sent only when the banner asks for it. Never logged. */
  token?: string;
  /** Give up connecting (TCP, and TLS's handshake) after this long, ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Give up when banner and welcome have not come within this long, ms (default 10 000). */
  handshakeTimeoutMs?: number;
  /**
   * Count the connection as lost after this long without a byte from the server, ms. Default:
   * see {@linkcode silenceLimitMs}.
   */
  silenceMs?: number;
}

/** What {@linkcode ServerConnection.run} does with what arrives. */
export interface ConnectionHandlers {
  /** A whole batch (a snapshot has `reset: true`); return true to end the connection. */
  onBatch(batch: BatchMessage): boolean | void;
  /** A collector warning from the server (text made printable). */
  onWarning?(message: string, timeMs: number): void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** What a plain-TCP client is told when a server says nothing (it may be waiting for TLS). */
const TLS_HINT = " (if it uses TLS, connect with --tls or --tls-ca)";
/**
 * A plain-TCP client that has heard nothing this long (a conntop server sends its banner at
 * once) checks whether the server speaks TLS, which waits silently for a ClientHello, ms.
 */
const TLS_PROBE_AFTER_MS = 700;
/** How long that check may take, ms. */
const TLS_PROBE_TIMEOUT_MS = 3000;
/** How long closing waits for the `bye` to leave before it closes anyway, ms. */
const BYE_GRACE_MS = 1000;
/** Pings never come closer than this, ms (the schema allows an idle timeout of 1 s). */
const MIN_PING_MS = 300;

/**
 * How long a server may stay silent before the connection counts as lost: three refresh
 * intervals (a delta comes every interval, even an empty one), at least 15 s; but no longer
 * than the server's idle timeout, since a live server answers the pings sent every third of it.
 */
export function silenceLimitMs(welcome: Welcome): number {
  return Math.max(15_000, Math.min(3 * welcome.intervalMs, welcome.idleTimeoutMs));
}

/** An open connection to a conntop server, past its handshake. */
export class ServerConnection implements AsyncDisposable {
  /** The server's banner. */
  readonly banner: Banner;
  /** The server's welcome. */
  readonly welcome: Welcome;
  #io: LineIo;

  private constructor(io: LineIo, banner: Banner, welcome: Welcome) {
    this.#io = io;
    this.banner = banner;
    this.welcome = welcome;
  }

  /**
   * Connects and shakes hands. Rejects with a {@linkcode RemoteError}: `network` when the
   * server cannot be reached or does not answer, `tls` when its certificate is not trusted,
   * `version` when it is not a conntop server or speaks no version in common, `auth` when it
   * refuses the token, `server` when it says no for now (full, rate-limited).
   */
  static async open(opts: ConnectOptions, signal?: AbortSignal): Promise<ServerConnection> {
    const conn = await dial(opts, signal);
    const io = new LineIo(conn, opts.display, !opts.tls);
    const onAbort = () => io.fail(new RemoteError("network", "Connecting was cancelled"));
    signal?.addEventListener("abort", onAbort, { once: true });
    const timeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const timer = setTimeout(() => {
      io.fail(
        new RemoteError(
          "network",
          `Server ${opts.display} did not complete the handshake within ${seconds(timeoutMs)}` +
            (opts.tls ? "" : TLS_HINT),
          { brief: "no handshake" },
        ),
      );
    }, timeoutMs);
    // A TLS server waits for the client to speak first: ask it, on a connection of its own.
    const probe = opts.tls ? undefined : setTimeout(() => {
      if (io.received > 0) return;
      void speaksTls(opts.server).then((tls) => {
        if (tls && io.received === 0) io.fail(speaksTlsError(opts.display));
      });
    }, TLS_PROBE_AFTER_MS);
    try {
      const [banner, welcome] = await handshake(io, opts);
      return new ServerConnection(io, banner, welcome);
    } catch (err) {
      io.close();
      throw err;
    } finally {
      clearTimeout(timer);
      clearTimeout(probe);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Reads batches and warnings until the connection ends. Resolves when it was ended from this
   * side ({@linkcode close}, or `onBatch` returning true, after which `bye user` is sent);
   * rejects with a {@linkcode RemoteError} when it was lost or ended by the server, or with
   * whatever a handler threw. The connection is closed either way.
   */
  async run(handlers: ConnectionHandlers, silenceMs?: number): Promise<void> {
    const io = this.#io;
    const w = this.welcome;
    const pingMs = Math.max(MIN_PING_MS, Math.floor(w.idleTimeoutMs / 3));
    let pingId = 0;
    const pinger = setInterval(() => io.send({ type: "ping", id: ++pingId }), pingMs);
    io.watchSilence(silenceMs ?? silenceLimitMs(w));
    const asm = new BatchAssembler();
    try {
      for (;;) {
        const line = await io.readLine();
        if (line === undefined) return; // closed from this side
        const m = await checked(io, line);
        switch (m.type) {
          case "batch": {
            const r = asm.push(m, line.length + 1);
            if (!r.ok) throw await io.protocolError(r.reason);
            if (r.value !== undefined && handlers.onBatch(r.value) === true) {
              await io.bye("user", "the user quit");
              return;
            }
            break;
          }
          case "warning":
            handlers.onWarning?.(printable(m.message), m.timeMs);
            break;
          case "ping":
            io.send({ type: "pong", id: m.id });
            break;
          case "pong":
            break;
          case "bye":
            throw byeError(m.reason, m.message, io.display);
          default:
            throw await io.protocolError(`unexpected '${m.type}' after the welcome`);
        }
      }
    } finally {
      clearInterval(pinger);
      io.close();
    }
  }

  /** Says `bye user` (waiting at most a second for it to leave) and closes. Safe twice. */
  async close(): Promise<void> {
    await this.#io.bye("user", "the user quit");
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Banner, hello, welcome. */
async function handshake(io: LineIo, opts: ConnectOptions): Promise<[Banner, Welcome]> {
  const who = opts.display;
  const first = await io.readLine();
  if (first === undefined) throw new RemoteError("network", "Connecting was cancelled");
  const parsed = parseServerMessage(first);
  if (parsed.ok && parsed.value.type === "bye") {
    throw byeError(parsed.value.reason, parsed.value.message, who);
  }
  if (!parsed.ok || parsed.value.type !== "banner" || parsed.value.protocol !== PROTOCOL_NAME) {
    const why = parsed.ok ? `'${parsed.value.type}'` : parsed.reason;
    throw new RemoteError(
      "version",
      `Server ${who} is not a conntop server: its first message is not a conntop banner (${why})`,
      { brief: "not a conntop server" },
    );
  }
  const banner = parsed.value;
  const version = SUPPORTED_VERSIONS.find((v) => banner.versions.includes(v));
  if (version === undefined) {
    await io.bye("version_mismatch", `this client speaks version ${SUPPORTED_VERSIONS.join(", ")}`);
    throw new RemoteError(
      "version",
      `Server ${who} speaks protocol version ${banner.versions.join(", ")}, ` +
        `this conntop speaks ${SUPPORTED_VERSIONS.join(", ")}: upgrade the older of the two`,
      { brief: "protocol version mismatch" },
    );
  }
  const wantsToken = banner.auth.includes("token");
  if (wantsToken && opts.token === undefined) {
    await io.bye("user", "no token to give");
    throw new RemoteError(
      "auth",
      `Authentication failed: server ${who} requires a token (--token-file)`,
      { brief: "authentication failed" },
    );
  }
  io.send({
    type: "hello",
    version,
    software: `conntop ${VERSION}`,
    name: opts.name,
    ...(wantsToken ? { token: opts.token } : {}),
  });
  const second = await io.readLine();
  if (second === undefined) throw new RemoteError("network", "Connecting was cancelled");
  const m = await checked(io, second, "the welcome");
  if (m.type === "bye") throw byeError(m.reason, m.message, who);
  if (m.type !== "welcome") {
    throw await io.protocolError(`expected 'welcome', got '${m.type}'`);
  }
  if (m.version !== version) {
    throw await io.protocolError(`welcome for version ${m.version}, not ${version}`);
  }
  if (m.recordSize !== RECORD_SIZE) {
    await io.bye("version_mismatch", `records of ${RECORD_SIZE} bytes expected`);
    throw new RemoteError(
      "version",
      `Server ${who} sends records of ${m.recordSize} bytes, this conntop reads ${RECORD_SIZE}: ` +
        "upgrade the older of the two",
      { brief: "record layout mismatch" },
    );
  }
  return [banner, { ...m, name: printable(m.name) }];
}

// A line through the schema; a line that fails it ends the connection.
async function checked(io: LineIo, line: Uint8Array, where?: string): Promise<ServerMessage> {
  const m = parseServerMessage(line);
  if (m.ok) return m.value;
  throw await io.protocolError(where === undefined ? m.reason : `${where}: ${m.reason}`);
}

/** The error a server's `bye` stands for. */
export function byeError(reason: ByeReason, message: string, who: string): RemoteError {
  const said = printable(message);
  const tail = said === "" ? "" : ` (${said})`;
  switch (reason) {
    case "auth_failed":
      return new RemoteError(
        "auth",
        "Authentication failed: wrong or missing token (--token-file)",
        { brief: "authentication failed" },
      );
    case "version_mismatch":
      return new RemoteError(
        "version",
        `Server ${who} speaks no protocol version this conntop speaks${tail}`,
        { brief: "protocol version mismatch" },
      );
    case "server_full":
      return new RemoteError("server", `Server ${who} has as many clients as it takes${tail}`, {
        brief: "server full",
      });
    case "rate_limited":
      return new RemoteError(
        "server",
        `Server ${who} refuses connections from this address for now, after too many failed ` +
          `handshakes${tail}`,
        { minDelayMs: 10_000, brief: "rate-limited by the server" },
      );
    case "server_quit":
      return new RemoteError("server", `Server ${who} stopped${tail}`, { brief: "server stopped" });
    case "timeout":
      return new RemoteError("server", `Server ${who} timed this client out${tail}`, {
        brief: "timed out by the server",
      });
    case "too_slow":
      return new RemoteError(
        "server",
        `Server ${who} dropped this client for reading too slowly${tail}`,
        { brief: "too slow for the server" },
      );
    case "protocol_error":
      return new RemoteError(
        "protocol",
        `Server ${who} ended the connection for a protocol error${tail}`,
        { brief: "protocol error" },
      );
    case "user":
      return new RemoteError("server", `Server ${who} dropped this client${tail}`, {
        brief: "dropped by the server",
      });
  }
}

/** Connects over TCP or TLS within the connect timeout. */
async function dial(opts: ConnectOptions, signal?: AbortSignal): Promise<Deno.Conn> {
  const { host, port } = opts.server;
  const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const both = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  const who = opts.display;
  let conn: Deno.Conn | undefined;
  try {
    if (!opts.tls) {
      conn = await Deno.connect({ hostname: host, port, signal: both });
      return conn;
    }
    // connectTls takes no signal: race it, and close a connection that comes too late.
    const tls = Deno.connectTls({ hostname: host, port, caCerts: opts.caCerts }).then(
      async (c) => {
        if (both.aborted) {
          c.close();
          throw both.reason;
        }
        conn = c;
        await c.handshake();
        return c;
      },
    );
    return await abortable(tls, both);
  } catch (err) {
    try {
      conn?.close();
    } catch {
      // already closed
    }
    if (timeout.aborted && !(signal?.aborted ?? false)) {
      throw new RemoteError(
        "network",
        `Cannot connect to ${who}: no answer within ${seconds(timeoutMs)}`,
        { cause: err, brief: "no answer" },
      );
    }
    if (signal?.aborted) throw new RemoteError("network", "Connecting was cancelled");
    const reason = errorReason(err);
    const dated = opts.tls ? certificateDates(reason) : undefined;
    if (dated !== undefined) {
      throw new RemoteError(
        "tls",
        `Cannot connect to ${who}: TLS: the server's certificate ${dated}`,
        {
          cause: err,
          brief: "certificate out of date",
        },
      );
    }
    if (opts.tls && /certificate|UnknownIssuer|NotValidForName|BadSignature/i.test(reason)) {
      const fix = /CaUsedAsEndEntity/.test(reason)
        ? "it is marked as a CA (basicConstraints CA:TRUE), which TLS refuses as a server's " +
          "own: make it with CA:FALSE"
        : /NotValidForName|not valid for name/i.test(reason)
        ? "it does not name the address connected to: connect by a name or address it lists"
        : "give its CA, or the certificate itself, with --tls-ca";
      throw new RemoteError(
        "tls",
        `Cannot connect to ${who}: TLS: the server's certificate is not trusted (${reason}); ${fix}`,
        { cause: err, brief: "certificate not trusted" },
      );
    }
    if (err instanceof Deno.errors.NotCapable) throw err;
    throw new RemoteError("network", `Cannot connect to ${who}: ${reason}`, {
      cause: err,
      brief: reason,
    });
  }
}

/**
 * What an expired or not yet valid certificate's error says, with the date: rustls gives
 * "certificate expired: verification time T (UNIX), but certificate is not valid after A"
 * and "… is not valid before B". Undefined for any other error.
 */
function certificateDates(reason: string): string | undefined {
  const after = /expired.*not valid after (\d+)/i.exec(reason);
  if (after !== null) {
    return `expired on ${utcText(Number(after[1]))}: renew it on the server ` +
      "(or check this host's clock)";
  }
  const before = /not valid yet.*not valid before (\d+)/i.exec(reason);
  if (before !== null) {
    return `is not valid before ${utcText(Number(before[1]))}: check the clocks of both hosts`;
  }
  return undefined;
}

/** Seconds since the epoch as "2020-01-02 00:00:00 UTC". */
function utcText(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** The error of a plain-TCP client talking to a TLS server. */
function speaksTlsError(who: string): RemoteError {
  return new RemoteError("tls", `Server ${who} speaks TLS: connect with --tls or --tls-ca`, {
    brief: "the server speaks TLS",
  });
}

/**
 * Whether the server at `server` answers a TLS handshake: it completes, or fails on the
 * certificate (which only a TLS server can present). Anything else (a reset, a plain banner
 * read as a broken record, no answer in time) says no.
 */
async function speaksTls(server: Endpoint): Promise<boolean> {
  let conn: Deno.TlsConn | undefined;
  const timeout = AbortSignal.timeout(TLS_PROBE_TIMEOUT_MS);
  try {
    const attempt = Deno.connectTls({ hostname: server.host, port: server.port }).then(
      async (c) => {
        conn = c;
        if (timeout.aborted) {
          c.close(); // came too late: the finally below has run
          throw timeout.reason;
        }
        await c.handshake();
      },
    );
    await abortable(attempt, timeout);
    return true;
  } catch (err) {
    return /certificate|UnknownIssuer|NotValidForName|BadSignature|CaUsedAsEndEntity/i.test(
      errorReason(err),
    );
  } finally {
    try {
      conn?.close();
    } catch {
      // already closed
    }
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * The socket as lines in and messages out: reads into a {@linkcode LineReader}, keeps the
 * lines a read brought beyond the one asked for, serialises writes, and ends everything on the
 * first failure, which every later read reports.
 */
class LineIo {
  readonly display: string;
  #conn: Deno.Conn;
  #reader = new LineReader(MAX_SERVER_MESSAGE_BYTES);
  #lines: Uint8Array[] = [];
  #buf = new Uint8Array(256 << 10);
  #writing: Promise<void> = Promise.resolve();
  #failure: RemoteError | undefined;
  /** Closed from this side on purpose (reads end quietly). */
  #ended = false;
  #closed = false;
  #bye: Promise<void> | undefined;
  #heardMs = Date.now();
  #silenceTimer: ReturnType<typeof setInterval> | undefined;
  /** Bytes received so far (none: maybe a TLS server spoken to in plain TCP). */
  received = 0;

  /** Plain TCP: a TLS record where the banner belongs means the server wants TLS. */
  #plain: boolean;
  /** Added to "closed without a word" (a TLS hint for a plain-TCP client). */
  #silentHint: string;

  constructor(conn: Deno.Conn, display: string, plain = false) {
    this.#conn = conn;
    this.display = display;
    this.#plain = plain;
    this.#silentHint = plain ? TLS_HINT : "";
  }

  /** The next line, or undefined once closed from this side; throws the failure otherwise. */
  async readLine(): Promise<Uint8Array | undefined> {
    for (;;) {
      // Lines that arrived before a write failed are still the server's word (often a bye
      // that says why); after any other failure, nothing more is read.
      const failure = this.#failure;
      if (failure !== undefined && (failure.kind !== "network" || this.#lines.length === 0)) {
        throw failure;
      }
      if (this.#ended && failure === undefined) return undefined;
      const line = this.#lines.shift();
      if (line !== undefined) return line;
      let n: number | null;
      try {
        n = await this.#conn.read(this.#buf);
      } catch (err) {
        if (this.#failure !== undefined) throw this.#failure;
        if (this.#ended) return undefined;
        throw this.fail(
          new RemoteError("network", `Connection to ${this.display} lost: ${errorReason(err)}`, {
            cause: err,
            brief: errorReason(err),
          }),
        );
      }
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended) return undefined;
      if (n === null) {
        throw this.fail(
          new RemoteError(
            "network",
            this.received === 0
              ? `Server ${this.display} closed the connection without a word${this.#silentHint}`
              : `Connection to ${this.display} lost: the server closed it`,
            { brief: "closed by the server" },
          ),
        );
      }
      // A TLS record header (handshake 0x16 or alert 0x15, version 3.x) instead of a banner.
      const b = this.#buf;
      if (
        this.#plain && this.received === 0 && n >= 2 && (b[0] === 0x16 || b[0] === 0x15) &&
        b[1] === 0x03
      ) {
        throw this.fail(speaksTlsError(this.display));
      }
      this.received += n;
      this.#heardMs = Date.now();
      try {
        // One by one: a read of 256 KiB may hold 256 Ki lines, too many arguments for a spread.
        for (const l of this.#reader.push(this.#buf.subarray(0, n))) this.#lines.push(l);
      } catch (err) {
        if (!(err instanceof FrameTooLongError)) throw err;
        throw await this.protocolError(err.message);
      }
    }
  }

  /** Counts the connection as lost after `ms` without a byte. */
  watchSilence(ms: number): void {
    this.#heardMs = Date.now();
    clearInterval(this.#silenceTimer);
    this.#silenceTimer = setInterval(() => {
      if (Date.now() - this.#heardMs <= ms) return;
      this.fail(
        new RemoteError(
          "network",
          `Connection to ${this.display} lost: nothing received for ${seconds(ms)}`,
          { brief: `silent for ${seconds(ms)}` },
        ),
      );
    }, Math.max(50, Math.min(1000, ms / 4)));
  }

  /** Queues `message`; a failed write fails the connection. */
  send(message: ClientMessage): void {
    if (this.#closed) return;
    const bytes = encodeMessage(message);
    this.#writing = this.#writing.then(async () => {
      if (this.#closed) return;
      try {
        for (let at = 0; at < bytes.length;) at += await this.#conn.write(bytes.subarray(at));
      } catch (err) {
        if (this.#closed) return;
        this.fail(
          new RemoteError("network", `Connection to ${this.display} lost: ${errorReason(err)}`, {
            cause: err,
            brief: errorReason(err),
          }),
        );
      }
    });
  }

  /**
   * Sends `bye` (waiting at most {@linkcode BYE_GRACE_MS} for it to leave), then closes. Only
   * the first call says anything; every call returns the same promise.
   */
  bye(reason: ByeReason, message: string): Promise<void> {
    if (this.#bye !== undefined) return this.#bye;
    if (this.#closed) return (this.#bye = Promise.resolve());
    this.#ended = true;
    this.send({ type: "bye", reason, message });
    let timer: ReturnType<typeof setTimeout> | undefined;
    this.#bye = Promise.race([
      this.#writing,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, BYE_GRACE_MS))),
    ]).then(() => {
      clearTimeout(timer);
      this.close();
    });
    return this.#bye;
  }

  /** Says `bye protocol_error` and returns the error to throw, once the bye has left. */
  async protocolError(reason: string): Promise<RemoteError> {
    const said = printable(reason);
    this.#failure ??= new RemoteError(
      "protocol",
      `Server ${this.display} broke the protocol: ${said}`,
      { brief: "protocol error" },
    );
    await this.bye("protocol_error", said.slice(0, 200));
    return this.#failure;
  }

  /** Records the first failure and closes (a pending read then throws it). */
  fail(err: RemoteError): RemoteError {
    this.#failure ??= err;
    this.close();
    return this.#failure;
  }

  /** Closes the socket now. Safe twice. */
  close(): void {
    this.#ended = true;
    clearInterval(this.#silenceTimer);
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}
