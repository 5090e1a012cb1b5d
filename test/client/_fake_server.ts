/**
 * A scripted stand-in for conntopd, for unit tests of the client's connection handling
 * (handshake, validation, pings, reconnection): it listens on 127.0.0.1, and runs `script` for
 * each connection it accepts. The script sends raw lines or messages (batches encoded with the
 * protocol's own encodeBatch) and reads what the client sends, checked with the protocol's
 * parseClientMessage. It is not a server: end-to-end tests use the real conntopd.
 *
 * @module
 */

import type { BatchMessage } from "../../src/collector/mod.ts";
import { RECORD_SIZE } from "../../src/conntrack/mod.ts";
import {
  type Banner,
  type BatchPart,
  type ClientMessage,
  encodeBatch,
  encodeMessage,
  LineReader,
  MAX_CLIENT_MESSAGE_BYTES,
  parseClientMessage,
  type Welcome,
} from "../../src/protocol/mod.ts";
import type { ConnectOptions } from "../../src/client/mod.ts";

/** The banner a conntop v1 server without a token sends. */
export const BANNER: Banner = {
  type: "banner",
  protocol: "conntop",
  versions: [1],
  software: "conntopd 0.1.0",
  auth: [],
};

/** A welcome with the fields a test does not care about filled in. */
export function welcome(over: Partial<Welcome> = {}): Welcome {
  return {
    type: "welcome",
    version: 1,
    name: "fake",
    intervalMs: 1000,
    netns: null,
    recordSize: RECORD_SIZE,
    chunkRecords: 8192,
    idleTimeoutMs: 60_000,
    ready: { warnings: [], flowtables: false },
    ...over,
  };
}

/** One accepted connection, as the script sees it. */
export class FakeConn {
  readonly conn: Deno.Conn;
  /** Every message the client sent on this connection, in order. */
  readonly received: ClientMessage[] = [];
  #reader = new LineReader(MAX_CLIENT_MESSAGE_BYTES);
  #lines: Uint8Array[] = [];
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Writes `text` as it is (a test of bad input writes anything). */
  async raw(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
    for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
  }

  /** Sends one message. */
  async send(message: object): Promise<void> {
    await this.raw(encodeMessage(message));
  }

  /** Sends `batch` as its parts of `kind`. */
  async sendBatch(batch: BatchMessage, kind: BatchPart["kind"]): Promise<void> {
    for (const line of encodeBatch(batch, kind)) await this.raw(line);
  }

  /** The next message from the client, or null when it closed. Fails on an invalid one. */
  async read(): Promise<ClientMessage | null> {
    const buf = new Uint8Array(64 << 10);
    while (this.#lines.length === 0) {
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch {
        return null;
      }
      if (n === null) return null;
      this.#lines.push(...this.#reader.push(buf.subarray(0, n)));
    }
    const m = parseClientMessage(this.#lines.shift()!);
    if (!m.ok) throw new Error(`Fake server got an invalid message: ${m.reason}`);
    this.received.push(m.value);
    return m.value;
  }

  /** Reads until a message of `type` comes (or null: the client closed first). */
  async readUntil<T extends ClientMessage["type"]>(
    type: T,
  ): Promise<Extract<ClientMessage, { type: T }> | null> {
    for (;;) {
      const m = await this.read();
      if (m === null) return null;
      if (m.type === type) return m as Extract<ClientMessage, { type: T }>;
    }
  }

  /** Banner, hello, welcome; returns the hello. */
  async handshake(
    over: { banner?: Partial<Banner>; welcome?: Partial<Welcome> } = {},
  ): Promise<ClientMessage | null> {
    await this.send({ ...BANNER, ...over.banner });
    const hello = await this.read();
    if (hello?.type !== "hello") return hello;
    await this.send(welcome(over.welcome));
    return hello;
  }

  /** Waits until the client closes its side (reading and dropping what it sends). */
  async drain(): Promise<void> {
    while ((await this.read()) !== null) { /* keep reading */ }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** A listening fake server. Close it with `await using`. */
export class FakeServer implements AsyncDisposable {
  readonly port: number;
  /** Every connection accepted so far. */
  readonly conns: FakeConn[] = [];
  #listener: Deno.Listener;
  #scripts: Promise<void>[] = [];
  #accepting: Promise<void>;
  /** Errors the scripts threw (a test checks it is empty). */
  readonly errors: unknown[] = [];

  private constructor(listener: Deno.Listener, script: (c: FakeConn, n: number) => Promise<void>) {
    this.#listener = listener;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#accepting = (async () => {
      for (;;) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
        } catch {
          return;
        }
        const c = new FakeConn(conn);
        const n = this.conns.length;
        this.conns.push(c);
        this.#scripts.push(
          script(c, n).catch((err) => void this.errors.push(err)).finally(() => c.close()),
        );
      }
    })();
  }

  /** Listens on 127.0.0.1 (`port` 0: any free port) and runs `script` per connection. */
  static start(
    script: (c: FakeConn, n: number) => Promise<void>,
    port = 0,
  ): FakeServer {
    return new FakeServer(Deno.listen({ hostname: "127.0.0.1", port }), script);
  }

  /** Client options for this server. */
  options(over: Partial<ConnectOptions> = {}): ConnectOptions {
    return {
      server: { host: "127.0.0.1", port: this.port },
      display: `127.0.0.1:${this.port}`,
      tls: false,
      name: "tester",
      ...over,
    };
  }

  /** Stops listening, closes every connection and waits for the scripts. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#accepting;
    for (const c of this.conns) c.close();
    await Promise.all(this.#scripts);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Waits until `pred` holds, checking every 10 ms, or fails after `ms`. */
export async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
