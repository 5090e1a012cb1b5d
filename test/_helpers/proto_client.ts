/**
 * A small client of the conntop protocol for tests of the server: TCP or TLS, lines through the
 * protocol's own LineReader and parseServerMessage (so every message the server sends is checked
 * against the schema), batches through BatchAssembler into a ConnectionModel. Anything the server
 * sends that breaks the protocol throws.
 *
 * Also {@linkcode rawExchange}: one connection from a chosen loopback source address (127.x.y.z)
 * that sends raw bytes and collects whatever comes back until the server closes, for fuzzing.
 *
 * @example
 * ```ts ignore
 * await using c = await ProtoClient.connect({ port: server.port });
 * const { welcome } = await c.handshake();
 * const snapshot = await c.nextBatch();
 * ```
 *
 * @module
 */

import net from "node:net";
import {
  BatchAssembler,
  type Bye,
  encodeMessage,
  LineReader,
  MAX_SERVER_MESSAGE_BYTES,
  parseServerMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
  type Welcome,
} from "../../src/protocol/mod.ts";
import type { Banner } from "../../src/protocol/messages.ts";
import type { BatchMessage } from "../../src/collector/mod.ts";
import { ConnectionModel } from "../../src/model/mod.ts";

/** Where and how to connect. */
export interface ConnectOptions {
  port: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Connect with TLS, trusting these PEM certificates (none: the system's). */
  tls?: { caCerts?: string[]; serverName?: string };
}

/** A connection to conntopd. */
export class ProtoClient implements AsyncDisposable {
  readonly conn: Deno.Conn;
  readonly model = new ConnectionModel();
  readonly assembler = new BatchAssembler();
  /** Warnings received. */
  readonly warnings: string[] = [];
  /** Every batch completed, in order. */
  readonly batches: BatchMessage[] = [];
  #reader = new LineReader(MAX_SERVER_MESSAGE_BYTES);
  #pending: Uint8Array[] = [];
  #closed = false;
  #eof = false;
  #error: Error | undefined;
  #waiters: (() => void)[] = [];

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    void this.#pump();
  }

  /** Connects (and for TLS, completes the TLS handshake). */
  static async connect(opts: ConnectOptions): Promise<ProtoClient> {
    const hostname = opts.hostname ?? "127.0.0.1";
    if (opts.tls === undefined) {
      return new ProtoClient(await Deno.connect({ hostname, port: opts.port }));
    }
    const conn = await Deno.connectTls({
      hostname: opts.tls.serverName ?? hostname,
      port: opts.port,
      caCerts: opts.tls.caCerts,
    });
    try {
      await conn.handshake();
    } catch (err) {
      conn.close();
      throw err;
    }
    return new ProtoClient(conn);
  }

  // Reads all the time, so a timeout in next() never leaves a read behind.
  async #pump(): Promise<void> {
    const buf = new Uint8Array(256 << 10);
    try {
      for (;;) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        this.#pending.push(...this.#reader.push(buf.subarray(0, n)));
        this.#wake();
      }
      if (this.#reader.pending > 0) this.#error = new Error("The server closed mid-line");
    } catch (err) {
      if (!this.#closed && !(err instanceof Deno.errors.ConnectionReset)) {
        this.#error = err instanceof Error ? err : new Error(String(err));
      }
    }
    this.#eof = true;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Whether the server closed the connection (and everything it sent has been read). */
  get eof(): boolean {
    return this.#eof && this.#pending.length === 0;
  }

  /** Sends one message (an object, encoded as a line) or raw bytes. */
  async send(message: unknown): Promise<void> {
    const bytes = message instanceof Uint8Array ? message : encodeMessage(message);
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /**
   * The next message, checked against the schema; undefined when the server closed the
   * connection. Throws on an invalid message or after `timeoutMs`.
   */
  async next(timeoutMs = 30_000): Promise<ServerMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.length === 0) {
      if (this.#eof) {
        if (this.#error !== undefined) throw this.#error;
        return undefined;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No message from the server within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const line = this.#pending.shift()!;
    const m = parseServerMessage(line);
    if (!m.ok) throw new Error(`Invalid message from the server: ${m.reason}`);
    if (m.value.type === "warning") this.warnings.push(m.value.message);
    return m.value;
  }

  /** The next message, which must be of `type`. */
  async expect<T extends ServerMessage["type"]>(
    type: T,
    timeoutMs = 30_000,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const m = await this.next(timeoutMs);
    if (m?.type !== type) {
      throw new Error(`Expected a ${type}, got ${m === undefined ? "the end" : JSON.stringify(m)}`);
    }
    return m as Extract<ServerMessage, { type: T }>;
  }

  /** Reads the banner, sends a hello, and reads the welcome (throws on a bye). */
  async handshake(
    hello: { token?: string; version?: number; name?: string } = {},
  ): Promise<{ banner: Banner; welcome: Welcome }> {
    const banner = await this.expect("banner");
    await this.send({
      type: "hello",
      version: hello.version ?? PROTOCOL_VERSION,
      software: "test-client 1",
      name: hello.name ?? "test",
      ...(hello.token === undefined ? {} : { token: hello.token }),
    });
    const welcome = await this.expect("welcome");
    return { banner, welcome };
  }

  /** Reads until the server's bye and returns it (throws if the connection ends without one). */
  async bye(timeoutMs = 30_000): Promise<Bye> {
    for (;;) {
      const m = await this.next(timeoutMs);
      if (m === undefined) throw new Error("The server closed without a bye");
      if (m.type === "bye") return m;
    }
  }

  /**
   * Reads until a whole batch has arrived, applies it to {@linkcode ProtoClient.model} and
   * returns it (warnings and pongs in between are kept or skipped). Throws on a bye.
   */
  async nextBatch(timeoutMs = 30_000): Promise<BatchMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.next(Math.max(1, deadline - Date.now()));
      if (m === undefined) throw new Error("The server closed the connection");
      if (m.type === "bye") throw new Error(`The server said bye: ${m.reason}: ${m.message}`);
      if (m.type !== "batch") continue;
      const r = this.assembler.push(m);
      if (!r.ok) throw new Error(`Bad batch from the server: ${r.reason}`);
      if (r.value === undefined) continue;
      this.model.apply(r.value);
      this.batches.push(r.value);
      return r.value;
    }
  }

  /** Reads batches until `pred` holds for one; returns it. */
  async batchUntil(
    pred: (b: BatchMessage) => boolean,
    timeoutMs = 30_000,
  ): Promise<BatchMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const b = await this.nextBatch(Math.max(1, deadline - Date.now()));
      if (pred(b)) return b;
    }
  }

  /** Closes the connection; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** What {@linkcode rawExchange} saw. */
export interface RawResult {
  /** The lines the server sent (newline removed), as text. */
  lines: string[];
  /** Whether the server closed the connection (false: the time ran out). */
  closed: boolean;
  /** A socket error, if any (e.g. a reset after the server closed on unread data). */
  error?: string;
}

/**
 * Connects from `localAddress` (any 127.x.y.z: all of 127/8 is loopback), sends `chunks` one
 * after the other (after the banner, when `afterBanner`), optionally half-closes, and collects
 * what the server sends until it closes or `timeoutMs` passes; then destroys the socket.
 */
export function rawExchange(opts: {
  port: number;
  localAddress?: string;
  chunks: Uint8Array[];
  /** Half-close after sending (the server sees the end of the stream). */
  end?: boolean;
  timeoutMs?: number;
}): Promise<RawResult> {
  return new Promise((resolve) => {
    const data: Uint8Array[] = [];
    let error: string | undefined;
    let settled = false;
    const sock = net.connect({
      host: "127.0.0.1",
      port: opts.port,
      ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
    });
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const text = new TextDecoder().decode(concat(data));
      const lines = text.split("\n");
      lines.pop();
      resolve({ lines, closed, ...(error === undefined ? {} : { error }) });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 15_000);
    sock.on("connect", () => {
      for (const c of opts.chunks) sock.write(c);
      if (opts.end) sock.end();
    });
    sock.on("data", (d: Uint8Array) => data.push(new Uint8Array(d)));
    sock.on("error", (e: Error) => {
      error = e.message;
    });
    sock.on("close", () => finish(true));
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
