import { assert, assertEquals } from "../_helpers/assert.ts";
import {
  ITEM_COST_BYTES,
  LINE_COST_BYTES,
  OutQueue,
  type QueueWriter,
} from "../../src/server/queue.ts";

/** A writer that takes bytes only when told to, like a socket whose peer reads slowly. */
class FakeSocket implements QueueWriter {
  chunks: Uint8Array[] = [];
  #waiting: { p: Uint8Array; resolve: (n: number) => void; reject: (e: Error) => void }[] = [];
  /** Bytes each write may take at most (0: block until `flow`). */
  constructor(public window = Infinity) {}
  write(p: Uint8Array): Promise<number> {
    if (this.window > 0) {
      const n = Math.min(p.length, this.window);
      this.chunks.push(p.slice(0, n));
      return Promise.resolve(n);
    }
    return new Promise((resolve, reject) => this.#waiting.push({ p, resolve, reject }));
  }
  /** Lets the pending writes through. */
  flow(): void {
    this.window = Infinity;
    for (const w of this.#waiting.splice(0)) {
      this.chunks.push(w.p.slice());
      w.resolve(w.p.length);
    }
  }
  fail(): void {
    for (const w of this.#waiting.splice(0)) w.reject(new Error("connection reset"));
  }
  get text(): string {
    return this.chunks.map((c) => new TextDecoder().decode(c)).join("");
  }
}

const enc = new TextEncoder();
const lines = (...xs: string[]) => xs.map((x) => enc.encode(x + "\n"));
const tick = () => new Promise((r) => setTimeout(r, 0));
/** What a one-line item of `bytes` (newline included) is counted at while it waits. */
const item = (bytes: number) => bytes + LINE_COST_BYTES + ITEM_COST_BYTES;

Deno.test("OutQueue writes items in order, line by line, however short the writes", async () => {
  const sock = new FakeSocket(3);
  let drained = 0;
  const q = new OutQueue(sock, { capBytes: 1000, stallMs: 1000, onDrain: () => drained++ });
  assertEquals(q.push("control", lines("banner")), "queued");
  assertEquals(q.push("snapshot", lines("s0", "s1")), "queued");
  assertEquals(q.push("delta", lines("d0")), "queued");
  for (let i = 0; i < 20 && !q.idle; i++) await tick();
  assertEquals(sock.text, "banner\ns0\ns1\nd0\n");
  assertEquals(q.written, sock.text.length);
  assertEquals(drained, 1);
  assert(q.idle);
});

Deno.test("OutQueue counts deltas and control messages against the cap at their memory cost, not snapshots", () => {
  const sock = new FakeSocket(0);
  const q = new OutQueue(sock, { capBytes: 10_000, stallMs: 1000 });
  q.push("control", lines("x".repeat(9))); // in flight: not counted
  assertEquals(q.queuedBytes, 0);
  q.push("snapshot", lines("s".repeat(500)));
  assertEquals(q.queuedBytes, 0);
  q.push("delta", lines("d".repeat(49), "e".repeat(9)));
  q.push("control", lines("p".repeat(9)));
  assertEquals(q.queuedBytes, item(50) + 10 + LINE_COST_BYTES + item(10));
});

Deno.test("OutQueue drops queued batches past the cap and says overflow, keeping control messages", async () => {
  const sock = new FakeSocket(0);
  const q = new OutQueue(sock, { capBytes: item(60) + item(5) + 10, stallMs: 1000 });
  q.push("delta", lines("first")); // in flight
  q.push("snapshot", lines("snap0", "snap1"));
  q.push("delta", lines("a".repeat(59)));
  q.push("control", lines("pong"));
  assertEquals(q.push("delta", lines("b".repeat(59))), "overflow");
  assertEquals(q.queuedBytes, item(5), "only the pong is left");
  sock.flow();
  for (let i = 0; i < 20 && !q.idle; i++) await tick();
  assertEquals(sock.text, "first\npong\n", "the line in flight goes out whole, then the pong");
});

Deno.test("OutQueue takes a delta larger than the cap when nothing waits", () => {
  const q = new OutQueue(new FakeSocket(0), { capBytes: 2000, stallMs: 1000 });
  q.push("control", lines("banner"));
  assertEquals(q.push("delta", lines("x".repeat(5000))), "queued");
  assertEquals(q.push("delta", lines("y")), "overflow");
});

Deno.test("OutQueue says too_slow after more than maxResyncs overflows within the window", () => {
  let now = 0;
  const q = new OutQueue(new FakeSocket(0), {
    capBytes: 2 * item(9) - 1,
    stallMs: 1000,
    maxResyncs: 3,
    resyncWindowMs: 60_000,
    now: () => now,
  });
  q.push("control", lines("in flight"));
  const overflow = () => {
    q.push("delta", lines("12345678"));
    return q.push("delta", lines("12345678"));
  };
  assertEquals(overflow(), "overflow");
  now += 20_000;
  assertEquals(overflow(), "overflow");
  now += 20_000;
  assertEquals(overflow(), "overflow");
  now += 30_000; // the first one left the window
  assertEquals(overflow(), "overflow");
  now += 1_000;
  assertEquals(overflow(), "too_slow");
});

Deno.test("OutQueue says too_slow when control messages alone pile past twice the cap", () => {
  const q = new OutQueue(new FakeSocket(0), { capBytes: 10_000, stallMs: 1000 });
  q.push("control", lines("in flight"));
  let r = "queued";
  let n = 0;
  while (r === "queued" && n < 1000) {
    r = q.push("control", lines('{"type":"warning","timeMs":1,"message":"m"}'));
    n++;
  }
  assertEquals(r, "too_slow");
  assert(q.queuedBytes <= 20_000);
  assert(n < 30, `${n} warnings of ${item(45)} bytes each were taken`);
});

Deno.test("OutQueue keeps at most one pong waiting however many pings come", async () => {
  const sock = new FakeSocket(0);
  const q = new OutQueue(sock, { capBytes: 1 << 20, stallMs: 1000 });
  q.push("control", lines("in flight"));
  for (let i = 1; i <= 10_000; i++) {
    assertEquals(q.push("pong", lines(`{"type":"pong","id":${i}}`)), "queued");
    assert(q.pongWaiting);
  }
  assertEquals(q.queuedBytes, item('{"type":"pong","id":1}\n'.length), "one pong is counted");
  sock.flow();
  for (let i = 0; i < 20 && !q.idle; i++) await tick();
  assertEquals(sock.text, 'in flight\n{"type":"pong","id":1}\n', "the first ping's pong, once");
  assert(!q.pongWaiting);
  // Once the pong went out, the next ping gets its own.
  assertEquals(q.push("pong", lines('{"type":"pong","id":7}')), "queued");
  for (let i = 0; i < 20 && !q.idle; i++) await tick();
  assert(sock.text.endsWith('{"type":"pong","id":7}\n'));
});

Deno.test("OutQueue keeps the waiting pong when batches are dropped", () => {
  const q = new OutQueue(new FakeSocket(0), { capBytes: item(60) + item(23) + 10, stallMs: 1000 });
  q.push("delta", lines("first")); // in flight
  q.push("pong", lines('{"type":"pong","id":1}'));
  q.push("delta", lines("a".repeat(59)));
  assertEquals(q.push("delta", lines("b".repeat(59))), "overflow");
  assertEquals(q.queuedBytes, item(23));
  assert(q.pongWaiting);
  assertEquals(q.push("pong", lines('{"type":"pong","id":2}')), "queued");
  assertEquals(q.queuedBytes, item(23));
});

// A subprocess with a small young generation: V8 grows it to 48 MiB under any allocation burst,
// which is the runtime's slack (see test/server/ping_flood_test.ts), not the queue's cost.
Deno.test("OutQueue counts a queued pong at no less than the memory it takes", async () => {
  const queue = new URL("../../src/server/queue.ts", import.meta.url).href;
  const protocol = new URL("../../src/protocol/mod.ts", import.meta.url).href;
  const n = 200_000;
  const code = `
    import { OutQueue } from "${queue}";
    import { encodeMessage } from "${protocol}";
    const q = new OutQueue({ write: () => new Promise(() => {}) }, { capBytes: 2 ** 40, stallMs: 1e9 });
    q.push("control", [encodeMessage({ type: "pong", id: 0 })]);
    const rss = Deno.memoryUsage().rss;
    for (let i = 1; i <= ${n}; i++) q.push("control", [encodeMessage({ type: "pong", id: i })]);
    console.log(JSON.stringify({ rss: Deno.memoryUsage().rss - rss, counted: q.queuedBytes }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--max-semi-space-size=1", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(out.success, new TextDecoder().decode(out.stderr));
  const { rss, counted } = JSON.parse(text) as { rss: number; counted: number };
  // The RSS must have grown by the pongs (not measured before they were made) ...
  assert(rss > n * 200, `RSS grew by only ${rss} bytes for ${n} queued pongs`);
  // ... and by no more than they were counted at (measured: 560-590 B each, counted at 795).
  assert(rss <= counted, `${n} queued pongs took ${rss} bytes of RSS, counted ${counted}`);
});

Deno.test("OutQueue is stalled when a write makes no progress for stallMs", () => {
  let now = 1000;
  const q = new OutQueue(new FakeSocket(0), { capBytes: 10_000, stallMs: 30_000, now: () => now });
  assert(!q.stalled());
  q.push("control", lines("x"));
  now += 29_000;
  assert(!q.stalled());
  now += 2_000;
  assert(q.stalled());
});

Deno.test("OutQueue.finish() sends the bye after the line in flight, dropping the rest", async () => {
  const sock = new FakeSocket(0);
  const q = new OutQueue(sock, { capBytes: 1000, stallMs: 1000 });
  q.push("snapshot", lines("p0", "p1", "p2"));
  const done = q.finish(lines("bye"), 5000);
  assertEquals(q.push("control", lines("late")), "closed");
  sock.flow();
  await done;
  for (let i = 0; i < 5; i++) await tick();
  assertEquals(sock.text, "p0\nbye\n");
});

Deno.test("OutQueue.finish() gives up after its timeout when the client reads nothing", async () => {
  const sock = new FakeSocket(0);
  const q = new OutQueue(sock, { capBytes: 1000, stallMs: 1000 });
  q.push("control", lines("stuck"));
  const t0 = Date.now();
  await q.finish(lines("bye"), 50);
  assert(Date.now() - t0 < 2000);
  sock.fail();
  await tick();
});

Deno.test("OutQueue reports a failed write once and closes", async () => {
  const sock = new FakeSocket(0);
  const errors: unknown[] = [];
  const q = new OutQueue(sock, { capBytes: 1000, stallMs: 1000, onError: (e) => errors.push(e) });
  q.push("control", lines("a"));
  q.push("control", lines("b"));
  sock.fail();
  for (let i = 0; i < 5; i++) await tick();
  assertEquals(errors.length, 1);
  assert(q.closed);
  assertEquals(q.push("delta", lines("c")), "closed");
});

Deno.test("OutQueue lets a shared snapshot's lines go as it writes them, leaving the hub's array whole", async () => {
  const shared = lines("s0", "s1", "s2");
  const fast = new FakeSocket();
  const slow = new FakeSocket(0);
  const a = new OutQueue(fast, { capBytes: 1000, stallMs: 1000 });
  const b = new OutQueue(slow, { capBytes: 1000, stallMs: 1000 });
  assertEquals(a.push("snapshot", shared), "queued");
  assertEquals(b.push("snapshot", shared), "queued");
  for (let i = 0; i < 20 && !a.idle; i++) await tick();
  assertEquals(fast.text, "s0\ns1\ns2\n");
  // The array the hub shares is untouched by either queue: the slow client still gets it all.
  assertEquals(shared.length, 3);
  assert(shared.every((l) => l instanceof Uint8Array));
  slow.flow();
  for (let i = 0; i < 20 && !b.idle; i++) {
    slow.flow();
    await tick();
  }
  assertEquals(slow.text, "s0\ns1\ns2\n");
});
