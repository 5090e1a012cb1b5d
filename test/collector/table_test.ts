import { assert, assertAlmostEquals, assertEquals } from "../_helpers/assert.ts";
import { CtTable } from "../../src/collector/table.ts";
import { CHUNK_RECORDS } from "../../src/collector/messages.ts";
import { Has, Kind, OFF, RECORD_SIZE, RecordView } from "../../src/conntrack/record.ts";
import {
  be16,
  be32,
  be8,
  ctMessage,
  type MsgKind,
  tcp4,
  type Tcp4Options,
} from "../_helpers/nlmsg.ts";

function joined(b: { chunks: Uint8Array[] }): Uint8Array {
  const out = new Uint8Array(b.chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of b.chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

const BASE = { id: 7, src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 80 };

function feed(t: CtTable, kind: MsgKind, o: Tcp4Options, atMs: number): void {
  const msg = tcp4(kind, o);
  const dv = new DataView(msg.buffer);
  if (kind === "dump") t.applyDump(dv, 0, atMs);
  else t.applyEvent(dv, 0, atMs);
}

function dump(t: CtTable, conns: Tcp4Options[], atMs: number) {
  t.beginDump();
  for (const c of conns) feed(t, "dump", c, atMs);
  t.endDump(true);
  const b = t.takeBatch();
  return { view: new RecordView(joined(b).buffer), count: b.count };
}

Deno.test("CtTable reports every connection of the first dump as new, without rates", () => {
  const t = new CtTable();
  const { view, count } = dump(t, [{ ...BASE, counters: [1, 60, 1, 60] }], 1000);
  assertEquals(count, 1);
  assertEquals(view.u8At(0, OFF.KIND), Kind.NEW);
  assertEquals(view.u32At(0, OFF.ID), 7);
  assertEquals(view.f64At(0, OFF.ORIG_BYTES), 60);
  assertEquals(view.has(0, Has.RATES), false);
});

Deno.test("CtTable computes rates from counter deltas over the sampling interval", () => {
  const t = new CtTable();
  dump(t, [{ ...BASE, counters: [10, 1000, 5, 500] }], 1000);
  const { view, count } = dump(t, [{ ...BASE, counters: [30, 4000, 15, 2500] }], 3000);
  assertEquals(count, 1);
  assertEquals(view.u8At(0, OFF.KIND), Kind.UPDATE);
  assert(view.has(0, Has.RATES));
  assertAlmostEquals(view.f32At(0, OFF.TX_BPS), 1500); // 3000 B over 2 s
  assertAlmostEquals(view.f32At(0, OFF.RX_BPS), 1000);
  assertAlmostEquals(view.f32At(0, OFF.TX_PPS), 10);
  assertAlmostEquals(view.f32At(0, OFF.RX_PPS), 5);
});

Deno.test("CtTable sends an idle connection once with zero rates, then nothing", () => {
  const t = new CtTable();
  dump(t, [{ ...BASE, counters: [1, 100, 0, 0], timeout: 100 }], 1000);
  let r = dump(t, [{ ...BASE, counters: [2, 200, 0, 0], timeout: 99 }], 2000);
  assertEquals(r.count, 1);
  r = dump(t, [{ ...BASE, counters: [2, 200, 0, 0], timeout: 98 }], 3000);
  assertEquals(r.count, 1, "the rate fell to zero: one update");
  assertEquals(r.view.f32At(0, OFF.TX_BPS), 0);
  r = dump(t, [{ ...BASE, counters: [2, 200, 0, 0], timeout: 97 }], 4000);
  assertEquals(r.count, 0, "a timeout ticking down is not a change");
});

Deno.test("CtTable reports a refreshed timeout as a change", () => {
  const t = new CtTable();
  dump(t, [{ ...BASE, timeout: 100 }], 1000);
  const r = dump(t, [{ ...BASE, timeout: 120 }], 2000);
  assertEquals(r.count, 1);
  assertEquals(r.view.u32At(0, OFF.TIMEOUT), 120);
});

Deno.test("CtTable treats counters going backwards as a reset, not a negative rate", () => {
  const t = new CtTable();
  dump(t, [{ ...BASE, counters: [100, 100000, 0, 0] }], 1000);
  let r = dump(t, [{ ...BASE, counters: [2, 120, 0, 0] }], 2000);
  assertEquals(r.count, 1);
  assertEquals(r.view.has(0, Has.RATES), false, "no rate across a reset");
  assertEquals(r.view.f64At(0, OFF.ORIG_BYTES), 120);
  r = dump(t, [{ ...BASE, counters: [4, 320, 0, 0] }], 3000);
  assertAlmostEquals(r.view.f32At(0, OFF.TX_BPS), 200, 1e-6, "rates resume from the reset");
});

Deno.test("CtTable keeps connections apart whose ids collide", () => {
  const t = new CtTable();
  const other = { ...BASE, src: "10.0.0.9" }; // same id, other tuple
  let r = dump(t, [BASE, other], 1000);
  assertEquals(r.count, 2);
  assertEquals(t.size, 2);
  r = dump(t, [other], 2000);
  assertEquals(r.count, 1);
  assertEquals(r.view.u8At(0, OFF.KIND), Kind.DESTROY);
  assertEquals(r.view.addrAt(0, OFF.ORIG_SRC).subarray(0, 4), new Uint8Array([10, 0, 0, 1]));
  assertEquals(t.size, 1);
});

Deno.test("CtTable reports an id reused by a new connection as destroy then new", () => {
  const t = new CtTable();
  dump(t, [{ ...BASE, counters: [10, 1000, 10, 1000] }], 1000);
  feed(t, "destroy", { ...BASE, counters: [12, 1200, 11, 1100] }, 1500);
  feed(t, "new", { ...BASE }, 1600);
  t.beginDump();
  feed(t, "dump", { ...BASE, counters: [1, 60, 0, 0] }, 2000);
  t.endDump(true);
  const b = t.takeBatch();
  const v = new RecordView(joined(b).buffer);
  const kinds = Array.from({ length: b.count }, (_, i) => v.u8At(i, OFF.KIND)).sort();
  assertEquals(kinds, [Kind.NEW, Kind.DESTROY]);
  for (let i = 0; i < b.count; i++) {
    if (v.u8At(i, OFF.KIND) === Kind.DESTROY) assertEquals(v.f64At(i, OFF.ORIG_BYTES), 1200);
    else assertEquals(v.f64At(i, OFF.ORIG_BYTES), 60);
  }
  assertEquals(t.size, 1);
});

Deno.test("CtTable reports a connection born and gone between refreshes with final counters", () => {
  const t = new CtTable();
  dump(t, [], 1000);
  feed(t, "new", { ...BASE, id: 99 }, 1100);
  feed(t, "update", { ...BASE, id: 99, state: 3 }, 1150);
  feed(t, "destroy", { ...BASE, id: 99, counters: [6, 400, 4, 300] }, 1200);
  const r = dump(t, [], 2000);
  assertEquals(r.count, 2);
  assertEquals(r.view.u8At(0, OFF.KIND), Kind.NEW);
  assertEquals(r.view.u8At(1, OFF.KIND), Kind.DESTROY);
  assertEquals(r.view.f64At(1, OFF.ORIG_BYTES), 400);
  assertEquals(r.view.f64At(1, OFF.REPLY_BYTES), 300);
  assertEquals(r.view.u8At(1, OFF.STATE), 3);
  assertEquals(t.size, 0);
});

Deno.test("CtTable does not let an older event move counters backwards", () => {
  const t = new CtTable();
  dump(t, [{ ...BASE, counters: [10, 1000, 10, 1000] }], 1000);
  feed(t, "destroy", { ...BASE, counters: [9, 900, 9, 900] }, 1100);
  const r = dump(t, [], 2000);
  assertEquals(r.view.u8At(0, OFF.KIND), Kind.DESTROY);
  assertEquals(r.view.f64At(0, OFF.ORIG_BYTES), 1000);
});

Deno.test("CtTable keeps connections an interrupted dump did not show", () => {
  const t = new CtTable();
  dump(t, [BASE], 1000);
  t.beginDump();
  t.endDump(false);
  assertEquals(t.takeBatch().count, 0);
  assertEquals(t.size, 1);
});

Deno.test("CtTable hands a large batch over in bounded chunks", () => {
  const t = new CtTable(16);
  const n = CHUNK_RECORDS * 2 + 5;
  t.beginDump();
  for (let i = 0; i < n; i++) {
    feed(t, "dump", {
      ...BASE,
      id: i + 1,
      sport: i & 0xffff,
      src: `10.1.${i >> 16}.${(i >> 8) & 255}`,
    }, 1000);
  }
  t.endDump(true);
  const b = t.takeBatch();
  assertEquals(b.count, n);
  assertEquals(b.chunks.map((c) => c.length / RECORD_SIZE), [CHUNK_RECORDS, CHUNK_RECORDS, 5]);
  assertEquals(t.size, n);
});

Deno.test("CtTable reuses slots and grows past its initial capacity", () => {
  const t = new CtTable(16);
  const many = Array.from({ length: 100 }, (_, i) => ({ ...BASE, id: i + 1, sport: 1000 + i }));
  assertEquals(dump(t, many, 1000).count, 100);
  assertEquals(dump(t, many.slice(50), 2000).count, 50);
  const r = dump(t, many, 3000);
  assertEquals(r.count, 50);
  const slots = new Set(Array.from({ length: r.count }, (_, i) => r.view.u32At(i, OFF.SLOT)));
  assert([...slots].every((s) => s < 100), "freed slots are reused");
});

Deno.test("CtTable keeps rates right when an event refreshes a connection between dumps", () => {
  const t = new CtTable();
  dump(t, [{ ...BASE, counters: [10, 1000, 0, 0], timeout: 100 }], 1000);
  // A state change 900 ms later carries a fresh timeout but no counters.
  feed(t, "update", { ...BASE, state: 4, timeout: 120 }, 1900);
  const r = dump(t, [{ ...BASE, counters: [20, 2000, 0, 0], timeout: 119 }], 2000);
  assertEquals(r.count, 1);
  assertAlmostEquals(r.view.f32At(0, OFF.TX_BPS), 1000, 1e-3, "1000 B over the 1 s between dumps");
  assertEquals(r.view.u32At(0, OFF.TIMEOUT), 119);
});

Deno.test("CtTable keeps the rates of a resync dump right after a refresh", () => {
  const t = new CtTable();
  dump(t, [{ ...BASE, counters: [10, 1000, 0, 0] }], 1000);
  t.beginDump();
  feed(t, "dump", { ...BASE, counters: [20, 3000, 0, 0] }, 2000);
  t.endDump(true);
  t.beginDump(); // an overrun's resync, 10 ms later
  feed(t, "dump", { ...BASE, counters: [20, 3000, 0, 0] }, 2010);
  t.endDump(true);
  const b = t.takeBatch();
  const v = new RecordView(joined(b).buffer);
  assert(v.has(0, Has.RATES));
  assertAlmostEquals(v.f32At(0, OFF.TX_BPS), 2000, 1e-3);
});

Deno.test("CtTable rates a connection first seen by an event from its start time", () => {
  const t = new CtTable();
  dump(t, [], 1000);
  feed(t, "new", { ...BASE, startNs: 1_500_000_000n }, 1500);
  const r = dump(t, [{ ...BASE, counters: [5, 500, 5, 1000], startNs: 1_500_000_000n }], 2000);
  assertEquals(r.view.u8At(0, OFF.KIND), Kind.NEW);
  assertAlmostEquals(r.view.f32At(0, OFF.TX_BPS), 1000, 1e-3, "500 B in the 0.5 s since start");
  assertAlmostEquals(r.view.f32At(0, OFF.RX_BPS), 2000, 1e-3);
});

Deno.test("CtTable rates a connection two dumps saw before its first batch between the two samples", () => {
  // A server's fresh table is sampled twice before its first batch (collector/loop.ts): the
  // batch then holds each connection once, new and with its rate, not an average since its start.
  const t = new CtTable();
  const start = { startNs: 1_000_000_000n };
  for (const [atMs, bytes] of [[1000, 500], [1250, 1000]] as const) {
    t.beginDump();
    feed(t, "dump", { ...BASE, ...start, counters: [1, bytes, 1, 0] }, atMs);
    t.endDump(true);
  }
  const b = t.takeBatch();
  const v = new RecordView(joined(b).buffer);
  assertEquals(b.count, 1);
  assertEquals(v.u8At(0, OFF.KIND), Kind.NEW);
  assert(v.has(0, Has.RATES));
  assertAlmostEquals(v.f32At(0, OFF.TX_BPS), 2000, 1e-3, "500 B in the 0.25 s between the dumps");
  assertEquals(v.f32At(0, OFF.RX_BPS), 0);
});

Deno.test("CtTable sends an idle connection's first rate, 0, though nothing else changed", () => {
  const t = new CtTable();
  const idle = { ...BASE, counters: [0, 0, 0, 0] as [number, number, number, number] };
  dump(t, [{ ...idle, timeout: 100 }], 1000); // first dump: found, no rate yet
  const r = dump(t, [{ ...idle, timeout: 99 }], 2000);
  assertEquals(r.count, 1, "the record goes out with its rate");
  assert(r.view.has(0, Has.RATES));
  assertEquals(r.view.f32At(0, OFF.TX_BPS), 0);
  assertEquals(r.view.f32At(0, OFF.RX_BPS), 0);
  assertEquals(dump(t, [{ ...idle, timeout: 98 }], 3000).count, 0, "then nothing");
});

Deno.test("CtTable.takeBatch(false) lists the slots and kinds the copies would hold, no records", () => {
  const copied = new CtTable(), listed = new CtTable();
  const rounds: [MsgKind, Tcp4Options][][] = [
    [["dump", { ...BASE, counters: [1, 60, 1, 60] }], ["dump", { ...BASE, id: 8, sport: 2 }]],
    [["new", { ...BASE, id: 9, sport: 3 }], ["destroy", { ...BASE, id: 9, sport: 3 }]],
    [["dump", { ...BASE, counters: [5, 900, 1, 60] }]], // id 8 is gone, id 7 moved
  ];
  for (const [k, round] of rounds.entries()) {
    const pairs: number[][] = [];
    for (const t of [copied, listed]) {
      const dumped = round.some(([kind]) => kind === "dump");
      if (dumped) t.beginDump();
      for (const [kind, o] of round) feed(t, kind, o, 1000 * (k + 1));
      if (dumped) t.endDump(true);
    }
    const a = copied.takeBatch(), b = listed.takeBatch(false);
    const v = new RecordView(joined(a).buffer);
    for (let i = 0; i < a.count; i++) pairs.push([v.u32At(i, OFF.SLOT), v.u8At(i, OFF.KIND)]);
    assertEquals(b.chunks.length, 0);
    assertEquals(b.count, a.count);
    const got: number[][] = [];
    for (let j = 0; j < b.changes!.length; j += 2) got.push([b.changes![j]!, b.changes![j + 1]!]);
    assertEquals(got, pairs, `round ${k}`);
    assert(pairs.length > 0, `round ${k} changed something`);
  }
  // The tables themselves stay alike: the records read in place are the ones copied.
  assertEquals(listed.records, copied.records);
});

Deno.test("CtTable.counts() counts live connections by protocol (first met first), family and offload", () => {
  const t = new CtTable();
  const v6 = (last: number) =>
    new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), last]);
  const udp6 = (id: number) =>
    ctMessage("dump", 10, [
      [1, [[1, [[3, v6(1)], [4, v6(2)]]], [2, [[1, be8(17)], [2, be16(id)], [3, be16(53)]]]]],
      [2, [[1, [[3, v6(2)], [4, v6(1)]]], [2, [[1, be8(17)], [2, be16(53)], [3, be16(id)]]]]],
      [3, be32(0x8)],
      [12, be32(id)],
    ]);
  t.beginDump();
  t.applyDump(new DataView(udp6(100).buffer), 0, 1000);
  feed(t, "dump", { ...BASE, id: 1, sport: 1 }, 1000);
  feed(t, "dump", { ...BASE, id: 2, sport: 2, status: 0x8 | (1 << 14) }, 1000); // offloaded
  t.applyDump(new DataView(udp6(101).buffer), 0, 1000);
  feed(t, "dump", { ...BASE, id: 3, sport: 3 }, 1000);
  t.endDump(true);
  feed(t, "destroy", { ...BASE, id: 3, sport: 3 }, 1100); // destroyed: no longer counted
  const c = t.counts((n) => ({ 6: "tcp", 17: "udp" } as Record<number, string>)[n] ?? "unknown");
  assertEquals(c, { total: 4, byProto: { udp: 2, tcp: 2 }, ipv4: 2, ipv6: 2, offloaded: 1 });
  assertEquals(Object.keys(c.byProto), ["udp", "tcp"]);
  t.takeBatch();
  assertEquals(t.counts(() => "any").byProto, { any: 4 }, "numbers of one name add up");
  const names = (n: number) => (n === 6 ? "tcp" : "udp");
  const again = (conns: Tcp4Options[], ms: number) => {
    t.beginDump();
    t.applyDump(new DataView(udp6(100).buffer), 0, ms);
    t.applyDump(new DataView(udp6(101).buffer), 0, ms);
    for (const o of conns) feed(t, "dump", o, ms);
    t.endDump(true);
    t.takeBatch();
    return t.counts(names);
  };
  const still = [{ ...BASE, id: 1, sport: 1 }, {
    ...BASE,
    id: 2,
    sport: 2,
    status: 0x8 | (1 << 14),
  }];
  const expected = { total: 4, byProto: { udp: 2, tcp: 2 }, ipv4: 2, ipv6: 2, offloaded: 1 };
  assertEquals(again(still, 2000), expected);
  assertEquals(again(still, 3000), expected, "a still table counts the same");
  // Connection 1 offloaded now, by a dump: the status word changed.
  const moved = [{ ...still[0]!, status: 0x8 | (1 << 14) }, still[1]!];
  assertEquals(again(moved, 4000), { ...expected, offloaded: 2 });
  // Connection 2 gone from the dump; a new one came by an event.
  t.beginDump();
  t.applyDump(new DataView(udp6(100).buffer), 0, 5000);
  t.applyDump(new DataView(udp6(101).buffer), 0, 5000);
  feed(t, "dump", moved[0]!, 5000);
  t.endDump(true);
  assertEquals(t.counts(names), { ...expected, total: 3, byProto: { udp: 2, tcp: 1 }, ipv4: 1 });
  feed(t, "new", { ...BASE, id: 9, sport: 9 }, 5100);
  assertEquals(t.counts(names), { ...expected, total: 4, offloaded: 1 });
  t.takeBatch();
  assertEquals(t.counts(names), { ...expected, total: 4, offloaded: 1 });
  // An event destroys connection 9, and one offloads connection 1 no more.
  feed(t, "destroy", { ...BASE, id: 9, sport: 9 }, 5200);
  assertEquals(t.counts(names), { ...expected, total: 3, byProto: { udp: 2, tcp: 1 }, ipv4: 1 });
  feed(t, "update", { ...BASE, id: 1, sport: 1, status: 0x8 }, 5300);
  assertEquals(t.counts(names).offloaded, 0);
});
