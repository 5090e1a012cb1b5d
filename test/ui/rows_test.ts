import { assertEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { ConnectionModel } from "../../src/model/mod.ts";
import { RowList, SearchTexts, sortSlots } from "../../src/ui/rows.ts";

function modelOf(conns: TestConn[]): ConnectionModel {
  const m = new ConnectionModel();
  m.apply(batchOf(conns));
  return m;
}

const addrs = (m: ConnectionModel, slots: Iterable<number>) =>
  [...slots].map((s) => m.connection(s, 0).orig_src);

Deno.test("sortSlots() orders IPv6 addresses by all 16 bytes, after IPv4", () => {
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
  const m = modelOf(srcs.map((src, slot) => ({ slot, src, dst: "192.0.2.1" })));
  const asc = sortSlots(m, Uint32Array.from(m.slots()), { column: "src", desc: false }, null);
  assertEquals(
    addrs(m, asc),
    [
      "9.255.255.255",
      "10.0.0.1",
      "::1",
      "2001:db8::1",
      "2001:db8::1",
      "2001:db8::2",
      "2001:db8::1:0:0",
      "2001:db8::1:0:0:1", // 2001:db8:0:0:1::1 as inet_ntop writes it
    ],
  );
  assertEquals([asc[3], asc[4]], [3, 7], "equal addresses keep slot order");
  const desc = sortSlots(m, Uint32Array.from(m.slots()), { column: "src", desc: true }, null);
  assertEquals(addrs(m, desc)[0], addrs(m, asc)[7]);
});

Deno.test("sortSlots() breaks ties with the secondary key, then the slot", () => {
  const m = modelOf([
    { slot: 0, src: "10.0.0.1", dst: "192.0.2.9", sport: 1, dport: 80 },
    { slot: 1, src: "10.0.0.2", dst: "192.0.2.1", sport: 1, dport: 80 },
    { slot: 2, src: "10.0.0.3", dst: "192.0.2.5", sport: 1, dport: 22 },
    { slot: 3, src: "10.0.0.4", dst: "192.0.2.1", sport: 1, dport: 80 },
  ]);
  const out = sortSlots(m, Uint32Array.from(m.slots()), { column: "dport", desc: false }, {
    column: "dst",
    desc: false,
  });
  assertEquals([...out], [2, 1, 3, 0]);
});

Deno.test("RowList.update() applies the text filter and sums the listed rates", () => {
  const m = modelOf([
    { slot: 0, src: "10.0.0.1", dst: "192.0.2.9", sport: 1, dport: 80, txBps: 10, rxBps: 1 },
    { slot: 1, src: "10.0.0.2", dst: "192.0.2.1", sport: 1, dport: 443, txBps: 20, rxBps: 2 },
  ]);
  const rows = new RowList();
  rows.update(
    m,
    { sort: { column: "src", desc: false }, sort2: null, text: ":443", locked: false },
    new SearchTexts(),
  );
  assertEquals(rows.toArray(), [1]);
  assertEquals([rows.txRate, rows.rxRate], [20, 2]);
});
