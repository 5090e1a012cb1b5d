/**
 * A session over a scripted connection: what the client sends is fed to it line by line, and
 * what it writes is taken or left unread, so its handling of pings can be driven exactly.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { Admission } from "../../src/server/limits.ts";
import { Hub } from "../../src/server/hub.ts";
import { Logger } from "../../src/server/log.ts";
import { Session, type SessionContext } from "../../src/server/session.ts";
import { encodeMessage, PROTOCOL_VERSION } from "../../src/protocol/mod.ts";
import { Kind, RECORD_SIZE } from "../../src/conntrack/mod.ts";

/** A connection whose peer sends what it is fed and reads what is written while `reading`. */
class ScriptedConn {
  readonly remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 40000 };
  reading = true;
  written = 0;
  closed = false;
  #input: Uint8Array[] = [];
  #reader: ((n: number | null) => void) | undefined;
  #buf: Uint8Array | undefined;

  feed(message: unknown): void {
    this.#input.push(encodeMessage(message));
    this.#deliver();
  }
  read(buf: Uint8Array): Promise<number | null> {
    return new Promise((resolve) => {
      this.#reader = resolve;
      this.#buf = buf;
      this.#deliver();
    });
  }
  write(p: Uint8Array): Promise<number> {
    if (!this.reading) return new Promise(() => {}); // the peer's buffers are full
    this.written += p.length;
    return Promise.resolve(p.length);
  }
  close(): void {
    this.closed = true;
    this.#reader?.(null);
    this.#reader = undefined;
  }
  #deliver(): void {
    const chunk = this.#input[0];
    if (chunk === undefined || this.#reader === undefined || this.#buf === undefined) return;
    this.#input.shift();
    this.#buf.set(chunk);
    const r = this.#reader;
    this.#reader = undefined;
    r(chunk.length);
  }
}

class Control {
  calls: string[] = [];
  pause(): void {
    this.calls.push("pause");
  }
  resume(): void {
    this.calls.push("resume");
  }
}

const settle = async () => {
  for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 0));
};

function conn(slot: number): TestConn {
  return {
    slot,
    id: 7000 + slot,
    kind: Kind.NEW,
    src: `10.0.${slot >> 8}.${slot & 255}`,
    dst: "192.0.2.1",
    sport: 1000 + slot,
    dport: 443,
  };
}

function context(hub: Hub, queueBytes: number, log: string[]): SessionContext {
  const dec = new TextDecoder();
  return {
    hub,
    admission: new Admission({ maxClients: 4 }),
    log: new Logger({
      writeSync: (p) => (log.push(dec.decode(p)), p.length),
    }, "debug"),
    token: undefined,
    banner: encodeMessage({
      type: "banner",
      protocol: "conntop",
      versions: [PROTOCOL_VERSION],
      software: "test",
      auth: [],
    }),
    welcome: (version) => ({
      type: "welcome",
      version,
      name: "test",
      intervalMs: 1000,
      netns: null,
      recordSize: RECORD_SIZE,
      chunkRecords: 4096,
      idleTimeoutMs: 60_000,
      ready: { warnings: [], flowtables: false },
    }),
    handshakeTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
    queueBytes,
    stallMs: 60_000,
  };
}

Deno.test("Session drops a client whose pong would pass its queue's bound after a second without reading, and leaves the hub", async () => {
  const hub = new Hub();
  const ctl = new Control();
  hub.onBatch(batchOf([conn(0)], { seq: 0 }));
  hub.attach(ctl);
  const c = new ScriptedConn();
  const log: string[] = [];
  const queueBytes = 4096;
  const s = new Session(c as unknown as Deno.Conn, 1, context(hub, queueBytes, log), false);
  const running = s.run();
  c.feed({ type: "hello", version: PROTOCOL_VERSION, software: "test 1", name: "pinger" });
  await settle();
  assertEquals(hub.size, 1);
  hub.onBatch(batchOf([conn(1)], { seq: 1 })); // the snapshot goes out
  await settle();
  assert(s.queue.idle, "the snapshot was written");

  // The client stops reading: one delta is in flight, then one refresh changes more than
  // twice the queue's bound (taken: nothing counted waits), then the client pings.
  c.reading = false;
  hub.onBatch(batchOf([conn(2)], { seq: 2 }));
  const big = Array.from({ length: 200 }, (_, i) => conn(10 + i));
  hub.onBatch(batchOf(big, { seq: 3 }));
  assert(s.queue.queuedBytes > 2 * queueBytes, `queued ${s.queue.queuedBytes}`);
  // A ping right away finds the write waiting for less than a second: the client may yet be
  // reading (one large refresh on its way), so it gets no pong and stays.
  c.feed({ type: "ping", id: 1 });
  await settle();
  assert(!log.some((l) => / bye too_slow: /.test(l)), log.join(""));
  assertEquals(hub.size, 1);
  // A second later nothing has moved: the next ping gets it dropped.
  await new Promise((r) => setTimeout(r, 1100));
  c.feed({ type: "ping", id: 2 });
  await settle();

  assert(log.some((l) => / bye too_slow: /.test(l)), log.join(""));
  assertEquals(hub.size, 0, "the hub no longer feeds the dropped client");
  assertEquals(ctl.calls.at(-1), "pause", "collection pauses: nobody is left");
  c.reading = true; // lets nothing through any more: the session closed the connection
  await running;
  assert(c.closed);
});
