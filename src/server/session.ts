/**
 * One client connection, from accept to close: the banner, the handshake (hello within the
 * handshake timeout, version, token), the welcome, then the hub's snapshot and deltas through
 * the client's {@linkcode OutQueue}; pings answered (one pong waiting at most); the idle
 * timeout; and the end, with a `bye` whenever the server ends it.
 *
 * Every received line is checked (size, UTF-8, JSON, schema, order) before anything acts on it;
 * any breach ends this connection with `bye protocol_error`, logged once. Nothing a client does
 * reaches another client or the server beyond this object: errors are caught here.
 *
 * @module
 */

import {
  type Bye,
  type ByeReason,
  type ClientMessage,
  encodeMessage,
  FrameTooLongError,
  LineReader,
  MAX_CLIENT_MESSAGE_BYTES,
  parseClientMessage,
  SUPPORTED_VERSIONS,
  type Welcome,
} from "../protocol/mod.ts";
import type { Token } from "./auth.ts";
import type { Hub, Subscriber } from "./hub.ts";
import { addressKey, type Admission } from "./limits.ts";
import type { Logger } from "./log.ts";
import { OutQueue, type PushResult } from "./queue.ts";

/** Bytes read from a client at a time. */
const READ_BYTES = 4096;

/** How long a `bye` may take to go out before the connection is closed anyway, ms. */
const BYE_TIMEOUT_MS = 2000;

/** Handshake failures that count against the client's address. */
const FAILURES: ReadonlySet<ByeReason> = new Set([
  "timeout",
  "protocol_error",
  "auth_failed",
  "version_mismatch",
]);

/** What every session shares. */
/**
 * How long a client past its queue's bound may go without reading anything before a ping of
 * its gets it dropped, ms. A client that reads, however far behind one large refresh left it,
 * is not dropped for pinging.
 */
const PONG_PATIENCE_MS = 1000;

export interface SessionContext {
  hub: Hub;
  admission: Admission;
  log: Logger;
  /** The token hellos must carry, if any. */
  token: Token | undefined;
  /** The banner's line. */
  banner: Uint8Array;
  /** The welcome for `version`. */
  welcome(version: number): Welcome;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  /** Bytes of deltas a client may have queued. */
  queueBytes: number;
  /** A write without progress for this long drops the client, ms. */
  stallMs: number;
}

type State = "tls" | "hello" | "live" | "closing" | "closed";

/** One client. */
export class Session implements Subscriber {
  readonly id: number;
  /** The client's address, as failures are counted. */
  readonly address: string;
  /** `address:port` for the log. */
  readonly peer: string;
  readonly queue: OutQueue;
  #conn: Deno.Conn;
  #ctx: SessionContext;
  #state: State;
  #startedMs = Date.now();
  #lastMessageMs = Date.now();
  #name = "";
  #subscribed = false;
  #closed: Promise<void>;
  #resolveClosed!: () => void;

  /** A session for an accepted connection (not yet admitted: see {@linkcode Session.run}). */
  constructor(conn: Deno.Conn, id: number, ctx: SessionContext, tls: boolean) {
    this.#conn = conn;
    this.id = id;
    this.#ctx = ctx;
    this.#state = tls ? "tls" : "hello";
    const remote = conn.remoteAddr as Deno.NetAddr;
    this.address = addressKey(remote.hostname);
    this.peer = this.address.includes(":")
      ? `[${this.address}]:${remote.port}`
      : `${this.address}:${remote.port}`;
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.queue = new OutQueue(conn, {
      capBytes: ctx.queueBytes,
      stallMs: ctx.stallMs,
      onDrain: () => {
        if (this.#subscribed) ctx.hub.drained(this);
      },
      onError: (err) => {
        this.#log("debug", `write failed: ${(err as Error).message}`);
        void this.#end(undefined, "", "connection lost");
      },
    });
  }

  /** Whether the handshake is done and the client is being served. */
  get live(): boolean {
    return this.#state === "live";
  }

  /** Resolves once the connection is closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Serves the client until the connection ends; never rejects. A connection the admission
   * refuses gets the banner and a `bye` (server_full or rate_limited) and is closed.
   */
  async run(): Promise<void> {
    const refusal = this.#ctx.admission.admit(this.address);
    if (refusal !== undefined) {
      // Not counted by the admission, not ticked: the bye goes out (with the TLS handshake the
      // first write brings) within BYE_TIMEOUT_MS, or the connection is closed anyway.
      this.#state = "closing";
      this.#log("info", `refused: ${refusal}`);
      this.queue.push("control", [this.#ctx.banner]);
      await this.#finish(
        refusal,
        refusal === "server_full"
          ? "the server has as many clients as it takes; try again later"
          : "too many failed handshakes from this address; try again in a minute",
      );
      return;
    }
    try {
      this.#log("debug", "connected");
      if (this.#state === "tls") {
        try {
          await this.#handshake();
        } catch (err) {
          // Closed by tick() at the handshake timeout: counted there.
          if (this.#state !== "tls") return;
          this.#log("info", `TLS handshake failed: ${(err as Error).message}`);
          this.#failed();
          return this.#close();
        }
        this.#state = "hello";
      }
      this.queue.push("control", [this.#ctx.banner]);
      await this.#read();
    } catch (err) {
      this.#log("error", `unexpected error: ${(err as Error).message}`);
      await this.#end(undefined, "", "unexpected error");
    } finally {
      this.#ctx.admission.release();
    }
    await this.#closed;
  }

  /** Checks the timeouts and the write progress; called a few times a second. */
  tick(now: number): void {
    switch (this.#state) {
      case "tls":
        if (now - this.#startedMs > this.#ctx.handshakeTimeoutMs) {
          this.#log("info", "no TLS handshake within the handshake timeout");
          this.#failed();
          this.#close();
        }
        return;
      case "hello":
        if (now - this.#startedMs > this.#ctx.handshakeTimeoutMs) {
          void this.#end("timeout", `no hello within ${seconds(this.#ctx.handshakeTimeoutMs)}`);
        }
        return;
      case "live":
        if (this.queue.stalled(now)) {
          this.#log(
            "warning",
            `dropped (too_slow): no write progress for ${seconds(this.#ctx.stallMs)}`,
          );
          this.#unsubscribe();
          this.#close();
        } else if (now - this.#lastMessageMs > this.#ctx.idleTimeoutMs) {
          void this.#end(
            "timeout",
            `nothing from the client for ${seconds(this.#ctx.idleTimeoutMs)}`,
          );
        }
        return;
    }
  }

  /** The hub gave up on this client. */
  tooSlow(): void {
    this.#subscribed = false;
    void this.#end("too_slow", "the client read too slowly to keep up with the table");
  }

  /** For the debug log. */
  onQueued(kind: "snapshot" | "delta", seq: number, result: PushResult): void {
    if (kind === "snapshot" || result !== "queued") {
      this.#log("debug", `${kind} ${seq}: ${result}`);
    }
  }

  /** Ends the connection with `bye` `reason` (e.g. server_quit); resolves once closed. */
  async quit(reason: ByeReason, message: string): Promise<void> {
    await this.#end(reason, message);
  }

  async #handshake(): Promise<void> {
    const tls = this.#conn as Deno.TlsConn;
    await tls.handshake();
  }

  async #read(): Promise<void> {
    // Small: clients send little (a hello, pings), and a scan opens thousands of connections.
    const buf = new Uint8Array(READ_BYTES);
    const reader = new LineReader(MAX_CLIENT_MESSAGE_BYTES);
    for (;;) {
      let n: number | null;
      try {
        n = await this.#conn.read(buf);
      } catch (err) {
        if (this.#ending()) return;
        this.#log("debug", `read failed: ${(err as Error).message}`);
        return this.#end(undefined, "", "connection lost");
      }
      if (this.#ending()) return;
      if (n === null) {
        const tail = reader.pending > 0 ? " in the middle of a message" : "";
        return this.#end(undefined, "", `the client closed the connection${tail}`);
      }
      let lines: Uint8Array[];
      try {
        lines = reader.push(buf.subarray(0, n));
      } catch (err) {
        if (!(err instanceof FrameTooLongError)) throw err;
        return this.#protocolError(`message longer than ${MAX_CLIENT_MESSAGE_BYTES} bytes`);
      }
      for (const line of lines) {
        this.#handle(line);
        if (this.#ending()) return;
      }
    }
  }

  #handle(line: Uint8Array): void {
    const parsed = parseClientMessage(line);
    if (!parsed.ok) return void this.#protocolError(parsed.reason);
    const m: ClientMessage = parsed.value;
    this.#lastMessageMs = Date.now();
    if (m.type === "bye") {
      return void this.#end(undefined, "", `the client said bye (${m.reason})`);
    }
    if (this.#state === "hello") {
      if (m.type !== "hello") {
        return void this.#protocolError(`expected a hello, got a ${m.type}`);
      }
      if (!SUPPORTED_VERSIONS.includes(m.version)) {
        return void this.#end(
          "version_mismatch",
          `this server speaks protocol version ${SUPPORTED_VERSIONS.join(", ")}, not ${m.version}`,
        );
      }
      const token = this.#ctx.token;
      if (token === undefined && m.token !== undefined) {
        return void this.#protocolError("the hello carries a token the server did not ask for");
      }
      if (token !== undefined && !token.matches(m.token)) {
        return void this.#end(
          "auth_failed",
          m.token === undefined ? "the server requires a token" : "wrong token",
        );
      }
      this.#name = m.name;
      this.#state = "live";
      this.queue.push("control", [encodeMessage(this.#ctx.welcome(m.version))]);
      this.#log("info", `welcome '${m.name}' (${m.software})`);
      this.#subscribed = true;
      this.#ctx.hub.subscribe(this);
      return;
    }
    switch (m.type) {
      case "ping": {
        // Not one pong per ping: at most one waits (the queue's "pong" kind says why). The
        // waiting one answers this ping too; not encoding another saves a flood's garbage.
        if (this.queue.pongWaiting) return;
        const r = this.queue.push("pong", [encodeMessage({ type: "pong", id: m.id })]);
        // Past its bound, a client still reading (one refresh larger than twice the bound is
        // on its way to it) gets no pong for this ping, and a later one; a client whose writes
        // have stood still for a second is the one to drop. Not tooSlow(): that one is the
        // hub's call, made after the hub has let the client go; here the hub still feeds it,
        // and #end unsubscribes it.
        if (r === "too_slow" && this.queue.waitingMs() >= PONG_PATIENCE_MS) {
          void this.#end("too_slow", "the client read too slowly to keep up with its pongs");
        }
        return;
      }
      case "pong":
        return;
      case "hello":
        return void this.#protocolError("a second hello");
    }
  }

  #protocolError(reason: string): Promise<void> {
    return this.#end("protocol_error", reason);
  }

  /**
   * Ends the connection: with a `bye` when `reason` is given (logged, and counted against the
   * address during the handshake), else just closes it.
   */
  async #end(reason: ByeReason | undefined, message: string, why?: string): Promise<void> {
    if (this.#ending()) return this.#closed;
    const handshaking = this.#state === "hello" || this.#state === "tls";
    this.#state = "closing";
    this.#unsubscribe();
    if (reason === undefined) {
      this.#log(handshaking ? "debug" : "info", `left: ${why ?? "closed"}`);
      this.#close();
      return this.#closed;
    }
    const level = reason === "protocol_error" || reason === "auth_failed" || reason === "too_slow"
      ? "warning"
      : "info";
    this.#log(level, `bye ${reason}: ${message}`);
    if (handshaking && FAILURES.has(reason)) this.#failed();
    await this.#finish(reason, message);
    return this.#closed;
  }

  async #finish(reason: ByeReason, message: string): Promise<void> {
    const bye: Bye = { type: "bye", reason, message: message.slice(0, 1024) };
    try {
      await this.queue.finish([encodeMessage(bye)], BYE_TIMEOUT_MS);
    } finally {
      this.#close();
    }
  }

  #failed(): void {
    if (this.#ctx.admission.fail(this.address)) {
      this.#ctx.log.warning(
        `refusing ${this.address} for a while: too many failed handshakes`,
      );
    }
  }

  #unsubscribe(): void {
    if (this.#subscribed) {
      this.#subscribed = false;
      this.#ctx.hub.unsubscribe(this);
    }
  }

  #close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#unsubscribe();
    this.queue.close();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#resolveClosed();
  }

  // A method, not an inline test: TypeScript keeps a field's narrowing across the calls that
  // change it.
  #ending(): boolean {
    return this.#state === "closing" || this.#state === "closed";
  }

  #log(level: "error" | "warning" | "info" | "debug", text: string): void {
    const who = this.#name === "" ? "" : ` '${this.#name}'`;
    this.#ctx.log[level](`client #${this.id} ${this.peer}${who}: ${text}`);
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
