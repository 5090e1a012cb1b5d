/**
 * A minimal client of the ORIGINAL C++ conntop server's protocol (github ccomrade/conntop,
 * protocol version 1), for the server benchmark's comparison; written from the protocol's
 * description, sharing nothing with that code.
 *
 * The protocol, as this client speaks it: newline-delimited JSON over TCP. The server sends a
 * banner `{"conntop_server":1}` at once; the client answers `{"message":"HELLO",…}` and the
 * server its own HELLO. The client then asks for data with `{"message":"REQUEST_DATA",
 * "dataFlags":1,"dataUpdateFlags":0}` (the whole table) and, once it holds it, with
 * `"dataUpdateFlags":1` (the changes). At each of its ticks the server sends `UPDATE_TICK` and,
 * to a client that asked since the last tick, one `DATA` message: `{"message":"DATA","type":1,
 * "isUpdate":…,"data":[…]}`, each item a connection with an `action` (CREATE, UPDATE, REMOVE),
 * its `type` (tcp4, tcp6, udp4, udp6: nothing else is tracked), addresses and ports, and the
 * fields that changed. A request is used up by the tick that answers it, so the client asks
 * again after every DATA, as the original client does. `DISCONNECT` ends the session.
 *
 * Like {@linkcode WireClient} it reads everything, parses every line and keeps the table (a Map
 * keyed by type, addresses and ports), and counts the bytes read from the socket.
 *
 * Requires `--allow-net`.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Options of {@linkcode CppClient.connect}. */
export interface CppClientOptions {
  port: number;
  hostname?: string;
}

type Item = Record<string, unknown>;

function key(it: Item): string {
  return `${it.type} ${it.srcAddress} ${it.srcPort ?? ""} ${it.dstAddress} ${it.dstPort ?? ""}`;
}

/** A client of the C++ server. */
export class CppClient {
  readonly conn: Deno.Conn;
  readonly table = new Map<string, Item>();
  /** Bytes read from the socket. */
  bytes = 0;
  /** DATA messages applied (the first is the whole table), and UPDATE_TICKs seen. */
  updates = 0;
  ticks = 0;
  /** Whole-table DATA messages applied. */
  fulls = 0;
  /** The server's HELLO. */
  hello: Item | undefined;
  error: string | undefined;
  readonly done: Promise<void>;
  #closed = false;
  #waiters: (() => void)[] = [];

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.done = this.#pump();
  }

  static async connect(opts: CppClientOptions): Promise<CppClient> {
    const conn = await Deno.connect({ hostname: opts.hostname ?? "127.0.0.1", port: opts.port });
    return new CppClient(conn);
  }

  /** Connections in the table. */
  get size(): number {
    return this.table.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #pump(): Promise<void> {
    const buf = new Uint8Array(1 << 20);
    const dec = new TextDecoder();
    // Lines are collected as byte chunks, so that a 50 MB line is decoded once.
    let parts: Uint8Array[] = [];
    try {
      for (;;) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        this.bytes += n;
        const chunk = buf.subarray(0, n);
        let start = 0;
        for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
          parts.push(chunk.slice(start, nl));
          const line = parts.length === 1 ? parts[0]! : concat(parts);
          parts = [];
          await this.#line(dec.decode(line));
          start = nl + 1;
        }
        if (start < n) parts.push(chunk.slice(start));
        this.#wake();
      }
      if (this.error === undefined) this.error = "the server closed the connection";
    } catch (err) {
      if (!this.#closed && this.error === undefined) {
        this.error = err instanceof Error ? err.message : String(err);
      }
    } finally {
      this.#closed = true;
      try {
        this.conn.close();
      } catch {
        // closed already
      }
      this.#wake();
    }
  }

  async #line(text: string): Promise<void> {
    const m = JSON.parse(text) as Item;
    if (typeof m !== "object" || m === null) throw new Error("not a JSON object");
    if ("conntop_server" in m) {
      if (m.conntop_server !== 1) throw new Error(`protocol version ${m.conntop_server}`);
      await this.#send({
        message: "HELLO",
        name: "bench",
        version: "1.0.0",
        platform: "Linux",
      });
      return;
    }
    switch (m.message) {
      case "HELLO":
        this.hello = m;
        await this.#request(false);
        return;
      case "UPDATE_TICK":
        this.ticks++;
        return;
      case "DATA_STATUS":
        return;
      case "DATA": {
        const data = m.data;
        if (!Array.isArray(data)) throw new Error("DATA without a data array");
        if (m.isUpdate !== true) this.table.clear();
        for (const it of data as Item[]) {
          const k = key(it);
          if (it.action === "REMOVE") this.table.delete(k);
          else if (it.action === "UPDATE") {
            const old = this.table.get(k);
            this.table.set(k, old === undefined ? it : Object.assign(old, it));
          } else this.table.set(k, it);
        }
        this.updates++;
        if (m.isUpdate !== true) this.fulls++;
        await this.#request(this.fulls > 0);
        return;
      }
      case "DISCONNECT":
        this.error = `the server disconnected: ${m.reason}`;
        throw new Error(this.error);
      default:
        throw new Error(`unexpected message '${String(m.message)}'`);
    }
  }

  #request(updates: boolean): Promise<void> {
    return this.#send({ message: "REQUEST_DATA", dataFlags: 1, dataUpdateFlags: updates ? 1 : 0 });
  }

  async #send(message: unknown): Promise<void> {
    if (this.#closed) return;
    const bytes = encoder.encode(JSON.stringify(message) + "\n");
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /**
   * Waits until the client holds the whole table — a whole-table DATA applied and, when
   * `expect` > 0, at least `expect` connections; throws after `timeoutMs` or when the
   * connection ends.
   */
  async untilSize(expect: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.fulls === 0 || this.table.size < expect) {
      if (this.#closed) throw new Error(`The connection ended: ${this.error ?? "closed"}`);
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `Timed out after ${Math.round(timeoutMs / 1000)} s: ${this.bytes} bytes read, ` +
            `${this.table.size} connections, ${this.fulls} whole-table messages`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Says DISCONNECT and closes; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#send({ message: "DISCONNECT", reason: "USER_DECISION" }).catch(() => {});
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // closed already
    }
    await this.done.catch(() => {});
  }
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
