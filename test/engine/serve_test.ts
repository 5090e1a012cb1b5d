import { assertEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { serveEngine } from "../../src/engine/serve.ts";
import { viewQuery } from "../_helpers/view_query.ts";
import type { FromEngine, TableAnswer, TableQuery, ToEngine } from "../../src/engine/mod.ts";

const T0 = 1_700_000_000_000;

function conn(slot: number, rate: number, over: Partial<TestConn> = {}): TestConn {
  return {
    slot,
    src: `10.0.0.${slot + 1}`,
    dst: "192.0.2.1",
    sport: 40000 + slot,
    dport: 443,
    txBps: rate,
    rxBps: 0,
    sampledMs: T0,
    ...over,
  };
}

function query(over: Partial<TableQuery> = {}): TableQuery {
  return { ...viewQuery({ height: 10 }), paused: false, ...over };
}

// The screen's end of the port: sends, and waits for the next window.
class Screen {
  #port: MessagePort;
  #waiting: ((m: { id: number; w: TableAnswer }) => void)[] = [];
  #got: { id: number; w: TableAnswer }[] = [];
  constructor(port: MessagePort) {
    this.#port = port;
    port.onmessage = (e: MessageEvent<FromEngine>) => {
      if (e.data.type !== "window") throw new Error(e.data.message);
      const m = { id: e.data.id, w: e.data.w };
      const f = this.#waiting.shift();
      if (f !== undefined) f(m);
      else this.#got.push(m);
    };
  }
  send(msg: ToEngine): void {
    this.#port.postMessage(msg);
  }
  /** The next window that shows batch `seq` (answers may come again before a batch does). */
  async after(seq: number): Promise<{ id: number; w: TableAnswer }> {
    for (;;) {
      const m = await this.next();
      if (m.w.seq >= seq) return m;
    }
  }
  next(): Promise<{ id: number; w: TableAnswer }> {
    const m = this.#got.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  close(): void {
    this.send({ type: "close" });
    this.#port.close();
  }
}

Deno.test("serveEngine() answers queries, and the last one again after each batch", async () => {
  const { port1, port2 } = new MessageChannel();
  const screen = new Screen(port1);
  const served = serveEngine(port2, () => undefined);
  screen.send({ type: "setup", setup: { forward: false, enrich: false, live: false } });
  const server = await served;
  assertEquals(server.setup.live, false);
  screen.send({ type: "query", id: 1, q: query() });
  assertEquals((await screen.next()).w.total, 0);
  // A recording's batch (sent by the screen) and a collector's (given in the worker) alike.
  screen.send({ type: "batch", batch: batchOf([conn(0, 10), conn(1, 30)], { timeMs: T0 }) });
  const a = await screen.next();
  assertEquals([a.id, a.w.slots], [1, [1, 0]]);
  server.apply(batchOf([conn(2, 20)], { seq: 1, timeMs: T0 }));
  const b = await screen.after(1);
  assertEquals([b.id, b.w.slots], [1, [1, 2, 0]]);
  screen.close();
});

Deno.test("serveEngine() keeps the cursor on a row found by a search in later answers", async () => {
  const { port1, port2 } = new MessageChannel();
  const screen = new Screen(port1);
  const served = serveEngine(port2, () => undefined);
  screen.send({ type: "setup", setup: { forward: false, enrich: false, live: false } });
  const server = await served;
  server.apply(batchOf([conn(0, 30), conn(1, 20, { dport: 22 }), conn(2, 10)], { timeMs: T0 }));
  screen.send({
    type: "query",
    id: 1,
    q: query({ cursorRow: 0, find: { text: ":22", backwards: false, skipCurrent: false } }),
  });
  const found = await screen.next();
  assertEquals([found.w.found, found.w.cursorRow], [true, 1]);
  // Slot 1 becomes the fastest: the cursor goes with it, though the query asked for row 0.
  server.apply(batchOf([conn(1, 99, { kind: 2, dport: 22 })], { seq: 1, timeMs: T0 }));
  const after = await screen.after(1);
  assertEquals([after.w.found, after.w.cursorRow, after.w.slots[0]], [undefined, 0, 1]);
  server.apply(batchOf([conn(0, 999, { kind: 2 })], { seq: 2, timeMs: T0 }));
  const moved = await screen.after(2);
  assertEquals([moved.w.cursorRow, moved.w.slots[moved.w.cursorRow]], [1, 1]);
  screen.close();
});
