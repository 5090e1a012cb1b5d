/**
 * A minimal client of the conntop protocol for the server benchmark, built on src/protocol
 * (LineReader, parseServerMessage, BatchAssembler) and a ConnectionModel, that counts every
 * byte it reads from the socket and every line by what it carried.
 *
 * It does what a real client does with what it receives — every line checked against the
 * schema, batches assembled and applied to a model — and nothing more: no UI, no reconnects.
 * It pings every third of the server's idle timeout, as conntop does.
 *
 * Requires `--allow-net`.
 *
 * @module
 */

import {
  BatchAssembler,
  encodeMessage,
  LineReader,
  MAX_SERVER_MESSAGE_BYTES,
  parseServerMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
  type Welcome,
} from "../../src/protocol/mod.ts";
import type { BatchMessage } from "../../src/collector/mod.ts";
import { ConnectionModel } from "../../src/model/mod.ts";

/** One batch as it arrived. */
export interface WireBatch {
  kind: "snapshot" | "delta";
  seq: number;
  /** Parts it came in. */
  parts: number;
  /** Records it held. */
  records: number;
  /** Bytes of its lines on the wire, newlines included. */
  bytes: number;
  /** When its first and last part arrived (performance.now()). */
  firstMs: number;
  lastMs: number;
  /** When it had been applied to the model. */
  appliedMs: number;
}

/** The batch being received. */
interface Pending {
  kind: "snapshot" | "delta";
  seq: number;
  parts: number;
  bytes: number;
  first: number;
}

/** Options of {@linkcode WireClient.connect}. */
export interface WireClientOptions {
  port: number;
  hostname?: string;
  /** The hello's name (default "bench"). */
  name?: string;
  /** Keep every batch's figures (default true); false keeps only the counters. */
  keepBatches?: boolean;
  /** Called for each batch applied. */
  onBatch?(b: WireBatch, client: WireClient): void;
}

/** A connection to conntopd, reading all the time. */
export class WireClient {
  readonly conn: Deno.Conn;
  readonly model = new ConnectionModel();
  readonly assembler = new BatchAssembler();
  /** performance.now() when the connection was asked for, and when it was up. */
  readonly connectStartMs: number;
  readonly connectedMs: number;
  welcome: Welcome | undefined;
  welcomeMs = NaN;
  /** Bytes read from the socket, in all. */
  bytes = 0;
  /** Lines read, and their bytes by message type (newlines included). */
  lines = 0;
  readonly bytesByType: Record<string, number> = {};
  /** Batches applied, in order (when kept), and how many in all. */
  readonly batches: WireBatch[] = [];
  batchCount = 0;
  snapshots = 0;
  /** The last batch applied. */
  last: WireBatch | undefined;
  /** Warnings and the bye received. */
  readonly warnings: string[] = [];
  bye: { reason: string; message: string } | undefined;
  /** Why the connection failed, when it did (a protocol breach, a socket error). */
  error: string | undefined;
  readonly done: Promise<void>;
  #reader = new LineReader(MAX_SERVER_MESSAGE_BYTES);
  #opts: WireClientOptions;
  #closed = false;
  #cur: Pending | undefined;
  #pinger: ReturnType<typeof setInterval> | undefined;
  #pings = 0;
  #waiters: (() => void)[] = [];

  private constructor(conn: Deno.Conn, opts: WireClientOptions, t0: number) {
    this.conn = conn;
    this.#opts = opts;
    this.connectStartMs = t0;
    this.connectedMs = performance.now();
    this.done = this.#pump();
  }

  /** Connects and starts reading; the handshake is answered as the banner arrives. */
  static async connect(opts: WireClientOptions): Promise<WireClient> {
    const t0 = performance.now();
    const conn = await Deno.connect({ hostname: opts.hostname ?? "127.0.0.1", port: opts.port });
    return new WireClient(conn, opts, t0);
  }

  async #pump(): Promise<void> {
    const buf = new Uint8Array(1 << 20);
    try {
      for (;;) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        this.bytes += n;
        for (const line of this.#reader.push(buf.subarray(0, n))) await this.#line(line);
        this.#wake();
      }
      if (this.#reader.pending > 0 && this.error === undefined) {
        this.error = "the server closed the connection mid-line";
      }
    } catch (err) {
      if (!this.#closed && this.error === undefined) {
        this.error = err instanceof Error ? err.message : String(err);
      }
    } finally {
      this.#closed = true;
      clearInterval(this.#pinger);
      try {
        this.conn.close();
      } catch {
        // closed already
      }
      this.#wake();
    }
  }

  async #line(line: Uint8Array): Promise<void> {
    this.lines++;
    const m = parseServerMessage(line);
    if (!m.ok) throw new Error(`invalid message from the server: ${m.reason}`);
    const msg: ServerMessage = m.value;
    this.bytesByType[msg.type] = (this.bytesByType[msg.type] ?? 0) + line.length + 1;
    switch (msg.type) {
      case "banner":
        if (!msg.versions.includes(PROTOCOL_VERSION)) throw new Error("no common version");
        await this.#send({
          type: "hello",
          version: PROTOCOL_VERSION,
          software: "conntop-bench 1",
          name: this.#opts.name ?? "bench",
        });
        return;
      case "welcome": {
        this.welcome = msg;
        this.welcomeMs = performance.now();
        const every = Math.max(1000, Math.floor(msg.idleTimeoutMs / 3));
        this.#pinger = setInterval(() => {
          void this.#send({ type: "ping", id: ++this.#pings }).catch(() => {});
        }, every);
        return;
      }
      case "ping":
        await this.#send({ type: "pong", id: msg.id });
        return;
      case "warning":
        this.warnings.push(msg.message);
        return;
      case "bye":
        this.bye = { reason: msg.reason, message: msg.message };
        return;
      case "pong":
        return;
      case "batch": {
        const now = performance.now();
        if (msg.part === 0) {
          this.#cur = { kind: msg.kind, seq: msg.seq, parts: 0, bytes: 0, first: now };
        }
        const cur = this.#cur!;
        cur.parts++;
        cur.bytes += line.length + 1;
        const r = this.assembler.push(msg);
        if (!r.ok) throw new Error(`bad batch from the server: ${r.reason}`);
        if (r.value !== undefined) this.#applied(r.value, cur, now);
        return;
      }
    }
  }

  #applied(batch: BatchMessage, cur: Pending, lastMs: number): void {
    this.model.apply(batch);
    const b: WireBatch = {
      kind: cur.kind,
      seq: cur.seq,
      parts: cur.parts,
      records: batch.count,
      bytes: cur.bytes,
      firstMs: cur.first,
      lastMs,
      appliedMs: performance.now(),
    };
    this.#cur = undefined;
    this.batchCount++;
    if (b.kind === "snapshot") this.snapshots++;
    if (this.#opts.keepBatches !== false) this.batches.push(b);
    this.last = b;
    this.#opts.onBatch?.(b, this);
  }

  async #send(message: unknown): Promise<void> {
    if (this.#closed) return;
    const bytes = encodeMessage(message);
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Whether the connection has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Waits until `pred` holds (checked after every chunk read); throws after `timeoutMs`, or
   * when the connection ends first.
   */
  async until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!pred()) {
      if (this.#closed) {
        throw new Error(
          `The connection ended while waiting for ${what}` +
            (this.bye ? ` (bye ${this.bye.reason}: ${this.bye.message})` : "") +
            (this.error ? ` (${this.error})` : ""),
        );
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the first snapshot to be applied; returns it. */
  async firstSnapshot(timeoutMs = 120_000): Promise<WireBatch> {
    await this.until(() => this.snapshots > 0, timeoutMs, "the first snapshot");
    return this.batches.find((b) => b.kind === "snapshot") ?? this.last!;
  }

  /** Waits for the next batch applied after now; returns it. */
  async nextBatch(timeoutMs = 10_000): Promise<WireBatch> {
    const n = this.batchCount;
    await this.until(() => this.batchCount > n, timeoutMs, "the next batch");
    return this.last!;
  }

  /** Says bye (reason "user") and closes; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#send({ type: "bye", reason: "user", message: "benchmark done" }).catch(() => {});
    this.#closed = true;
    clearInterval(this.#pinger);
    try {
      this.conn.close();
    } catch {
      // closed already
    }
    await this.done.catch(() => {});
  }
}
