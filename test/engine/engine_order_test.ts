import { assertEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { Engine, type ViewQuery } from "../../src/engine/mod.ts";
import { viewQuery } from "../_helpers/view_query.ts";

// The engine's order and sums on small hand-made tables, each checked against the order a
// reader works out from the addresses and ports written in the test.

const T0 = 1_700_000_000_000;

function engineWith(conns: TestConn[]): Engine {
  const e = new Engine({ now: () => T0 });
  e.apply(batchOf(conns, { timeMs: T0 }));
  return e;
}

// Every row, sorted by `sort` then `sort2`.
function all(e: Engine, over: Partial<ViewQuery>): { slots: number[]; srcs: string[] } {
  const w = e.query(viewQuery(over));
  return { slots: w.slots, srcs: w.rows.map((c) => c.orig_src) };
}

Deno.test("Engine orders IPv6 addresses by all 16 bytes, after IPv4", () => {
  const srcs = [
    "2001:db8::2",
    "2001:db8:0:0:1::1",
    "10.0.0.1",
    "2001:db8::1",
    "2001:db8::1:0:0",
    "::1",
    "9.255.255.255",
    "2001:db8::1",
  ];
  const e = engineWith(srcs.map((src, slot) => ({ slot, src, dst: "192.0.2.1" })));
  const asc = all(e, { sort: { column: "src", desc: false } });
  assertEquals(asc.srcs, [
    "9.255.255.255",
    "10.0.0.1",
    "::1",
    "2001:db8::1",
    "2001:db8::1",
    "2001:db8::2",
    "2001:db8::1:0:0",
    "2001:db8::1:0:0:1", // 2001:db8:0:0:1::1 as inet_ntop writes it
  ]);
  assertEquals([asc.slots[3], asc.slots[4]], [3, 7], "equal addresses keep slot order");
  const desc = all(e, { sort: { column: "src", desc: true } });
  assertEquals(desc.srcs, [...asc.srcs].reverse());
});

Deno.test("Engine breaks ties with the secondary key, then the slot", () => {
  const e = engineWith([
    { slot: 0, src: "10.0.0.1", dst: "192.0.2.9", sport: 1, dport: 80 },
    { slot: 1, src: "10.0.0.2", dst: "192.0.2.1", sport: 1, dport: 80 },
    { slot: 2, src: "10.0.0.3", dst: "192.0.2.5", sport: 1, dport: 22 },
    { slot: 3, src: "10.0.0.4", dst: "192.0.2.1", sport: 1, dport: 80 },
  ]);
  const out = all(e, {
    sort: { column: "dport", desc: false },
    sort2: { column: "dst", desc: false },
  });
  assertEquals(out.slots, [2, 1, 3, 0]);
});

Deno.test("Engine applies the text filter and sums the listed rates", () => {
  const e = engineWith([
    { slot: 0, src: "10.0.0.1", dst: "192.0.2.9", sport: 1, dport: 80, txBps: 10, rxBps: 1 },
    { slot: 1, src: "10.0.0.2", dst: "192.0.2.1", sport: 1, dport: 443, txBps: 20, rxBps: 2 },
  ]);
  const w = e.query(viewQuery({ text: ":443", sort: { column: "src", desc: false } }));
  assertEquals(w.slots, [1]);
  assertEquals([w.total, w.txRate, w.rxRate], [1, 20, 2]);
});
