import { assertEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn, writeConn } from "../_helpers/records.ts";
import { Engine, EngineHost, TableRecords, type ViewQuery } from "../../src/engine/mod.ts";
import { RECORD_SIZE, RecordView } from "../../src/conntrack/mod.ts";
import { viewQuery } from "../_helpers/view_query.ts";

const T0 = 1_700_000_000_000;

// Connection `slot` with `rate` bytes per second (sent), id 1000 + slot unless given.
function conn(slot: number, rate: number, over: Partial<TestConn> = {}): TestConn {
  return {
    slot,
    src: `10.0.${slot >> 8}.${slot & 255}`,
    dst: "192.0.2.1",
    sport: 40000 + slot,
    dport: 443,
    txBps: rate,
    rxBps: 0,
    sampledMs: T0,
    ...over,
  };
}

function query(over: Partial<ViewQuery> = {}): ViewQuery {
  return viewQuery({ height: 3, ...over });
}

function engineWith(conns: TestConn[]): Engine {
  const e = new Engine({ now: () => T0 });
  e.apply(batchOf(conns, { timeMs: T0 }));
  return e;
}

Deno.test("Engine.query() in locked mode keeps rows in place and adds new ones at the end", () => {
  const e = engineWith([conn(0, 10), conn(1, 30), conn(2, 20)]);
  assertEquals(e.query(query({ height: 10 })).slots, [1, 2, 0]);
  assertEquals(e.query(query({ height: 10, locked: true })).slots, [1, 2, 0]);
  // Rates change, one connection goes, two come: the old rows stay put, the new ones are
  // sorted among themselves after them.
  e.apply(batchOf([
    conn(0, 99, { kind: 2 }),
    conn(2, 0, { kind: 3 }),
    conn(3, 5),
    conn(4, 50),
  ], { seq: 1, timeMs: T0 }));
  assertEquals(e.query(query({ height: 10, locked: true })).slots, [1, 0, 4, 3]);
  // Unlocked, the sort takes over again.
  assertEquals(e.query(query({ height: 10 })).slots, [0, 4, 1, 3]);
});

Deno.test("Engine.query() in locked mode drops a row whose slot now holds another connection", () => {
  const e = engineWith([conn(0, 10), conn(1, 30)]);
  assertEquals(e.query(query({ locked: true })).slots, [1, 0]);
  e.apply(batchOf([conn(1, 30, { kind: 3 })], { seq: 1, timeMs: T0 }));
  e.apply(batchOf([conn(1, 1, { id: 7777 })], { seq: 2, timeMs: T0 }));
  const w = e.query(query({ locked: true }));
  assertEquals(w.slots, [0, 1]);
  assertEquals(w.rows.map((c) => c.id), [1000, 7777]);
});

Deno.test("Engine.query() follows the anchor to its new row and keeps its place on the page", () => {
  const conns = Array.from({ length: 10 }, (_, s) => conn(s, 100 - s)); // row = slot
  const e = engineWith(conns);
  const before = e.query(query({ cursorRow: 4, top: 3, height: 4 }));
  assertEquals([before.cursorRow, before.top, before.slots], [4, 3, [3, 4, 5, 6]]);
  // Slot 4 becomes the slowest: last row. The cursor goes with it, one row below the top.
  e.apply(batchOf([conn(4, 1, { kind: 2 })], { seq: 1, timeMs: T0 }));
  const w = e.query(query({ anchor: { slot: 4, id: 1004 }, cursorRow: 4, top: 3, height: 4 }));
  assertEquals([w.cursorRow, w.top], [9, 6]); // would be top 8, clamped to a full last page
  assertEquals(w.slots, [7, 8, 9, 4]);
  // With the cursor hidden, the page stays where it was.
  const hidden = e.query(
    query({ anchor: { slot: 4, id: 1004 }, cursorRow: 4, top: 3, height: 4, cursor: false }),
  );
  assertEquals([hidden.cursorRow, hidden.top], [9, 3]);
});

Deno.test("Engine.query() falls back to the cursor row when the anchor's connection is gone", () => {
  const e = engineWith(Array.from({ length: 6 }, (_, s) => conn(s, 100 - s)));
  // A stale id: the slot holds another connection now.
  const stale = e.query(query({ anchor: { slot: 5, id: 42 }, cursorRow: 2, top: 1 }));
  assertEquals([stale.cursorRow, stale.top], [2, 1]);
  // The list shrinks below the cursor: it lands on the last row, the page ends there.
  e.apply(batchOf([3, 4, 5].map((s) => conn(s, 0, { kind: 3 })), { seq: 1, timeMs: T0 }));
  const w = e.query(query({ anchor: { slot: 5, id: 1005 }, cursorRow: 5, top: 3 }));
  assertEquals([w.cursorRow, w.top, w.total], [2, 0, 3]);
  // An empty list: row 0, top 0, no rows.
  const none = e.query(query({ text: "nothing matches this", cursorRow: 2, top: 1 }));
  assertEquals([none.cursorRow, none.top, none.total, none.slots], [0, 0, 0, []]);
});

Deno.test("Engine.query() sends the page and its margins, clipped to the list", () => {
  const e = engineWith(Array.from({ length: 20 }, (_, s) => conn(s, 100 - s)));
  const w = e.query(query({ cursorRow: 10, top: 8, height: 5, margin: 3 }));
  assertEquals([w.first, w.slots], [5, [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]]);
  const atTop = e.query(query({ cursorRow: 0, top: 0, height: 5, margin: 3 }));
  assertEquals([atTop.first, atTop.slots.length], [0, 8]);
});

Deno.test("Engine.settle() in steps ends in the order a single sort gives", () => {
  const conns = Array.from({ length: 500 }, (_, s) => conn(s, (s * 7919) % 101));
  const stepped = new Engine({ now: () => T0, tuning: { sortRun: 7, heapRows: 0 } });
  stepped.apply(batchOf(conns, { timeMs: T0 }));
  const whole = engineWith(conns);
  const q = query({ cursorRow: 250, top: 240, height: 30, margin: 5 });
  const partial = stepped.query(q);
  let steps = 0;
  while (stepped.settle(0)) steps++;
  whole.query(q);
  whole.settle();
  assertEquals(steps > 10, true, `settled in ${steps} steps`);
  assertEquals(stepped.query(q).slots, whole.query(q).slots);
  assertEquals(partial.slots, whole.query(q).slots);
});

Deno.test("Engine.find() searches the listed rows from a row on, both ways, wrapping", () => {
  const e = engineWith([
    conn(0, 30, { dport: 22 }),
    conn(1, 20, { dport: 443 }),
    conn(2, 10, { dport: 22 }),
  ]);
  e.query(query());
  assertEquals(e.find(":22", 1, false), 2);
  assertEquals(e.find(":22", 1, true), 0);
  assertEquals(e.find(":22", 3 - 1 + 1, false), 0); // wraps past the end
  assertEquals(e.find("nowhere", 0, false), -1);
});

Deno.test("EngineHost holds the rows still while paused, even when the records change in place", () => {
  // A collector's table read in place: slot 1 is released and taken by another connection,
  // and slot 0's rate changes, while the screen is paused.
  const cap = 8;
  const source = { records: new Uint8Array(cap * RECORD_SIZE), capacity: cap, size: 0 };
  const put = (c: TestConn) => {
    writeConn(new RecordView(source.records.buffer), c.slot, c);
    source.records[c.slot * RECORD_SIZE] = 1;
  };
  const records = new TableRecords();
  records.bind(source);
  const host = new EngineHost(new Engine({ now: () => T0, records }));
  const first = [conn(0, 10), conn(1, 30), conn(2, 20)];
  first.forEach(put);
  source.size = 3;
  host.apply(batchOf(first, { timeMs: T0 }));
  const q = { ...query({ height: 10 }), paused: false };
  assertEquals(host.answer(q).slots, [1, 2, 0]);
  const paused = host.answer({ ...q, paused: true });
  const changed = [conn(0, 99, { kind: 2 }), conn(1, 5, { id: 4242, src: "10.9.9.9" })];
  changed.forEach(put);
  host.apply(batchOf(changed, { seq: 1, timeMs: T0 }));
  const still = host.answer({ ...q, paused: true });
  assertEquals(still.slots, paused.slots);
  assertEquals(still.rows, paused.rows);
  assertEquals(still.liveTotals?.count, 2); // the header still counts what comes
  const resumed = host.answer(q);
  assertEquals(resumed.slots, [0, 2, 1]);
  assertEquals(resumed.rows.map((c) => c.orig_src), ["10.0.0.0", "10.0.0.2", "10.9.9.9"]);
});
