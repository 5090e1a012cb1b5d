import { assertEquals, assertNotEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { connectionKey, diffTables } from "../../src/client/mod.ts";
import { RecordView } from "../../src/conntrack/mod.ts";
import { ConnectionModel } from "../../src/model/mod.ts";

const T = 1_700_000_000_000;

function conn(n: number, over: Partial<TestConn> = {}): TestConn {
  return {
    slot: n,
    id: 5000 + n,
    src: `10.0.0.${n}`,
    dst: "192.0.2.1",
    sport: 40000 + n,
    dport: 443,
    txBytes: 100,
    rxBytes: 200,
    timeout: 300,
    sampledMs: T,
    ...over,
  };
}

function model(conns: TestConn[]): ConnectionModel {
  const m = new ConnectionModel();
  m.apply({ ...batchOf(conns), reset: true });
  return m;
}

Deno.test("diffTables() matches connections by id and tuple, not by slot", () => {
  // A restarted server numbers its slots afresh: the same connections, other slots.
  const before = model([conn(1), conn(2), conn(3), conn(4)]);
  const after = model([
    conn(2, { slot: 0 }), // unchanged
    conn(3, { slot: 1, txBytes: 150 }), // counters moved
    conn(4, { slot: 2, timeout: 290, sampledMs: T + 10_000 }), // expiry the same: ticked
    conn(5, { slot: 3 }), // new
    conn(1, { slot: 4, id: 9999 }), // same tuple, another id: another connection
  ]);
  assertEquals(diffTables(before, after), { gone: [1], added: [3, 4], changed: [1] });
});

Deno.test("diffTables() sees changes of state, mark and expiry, not of rates or timeout ticks", () => {
  const base = conn(1);
  const same = (over: Partial<TestConn>) => diffTables(model([base]), model([conn(1, over)]));
  assertEquals(same({ txBps: 1234, rxBps: 5 }).changed, []);
  assertEquals(same({ timeout: 299, sampledMs: T + 1000 }).changed, []);
  assertEquals(same({ state: 7 }).changed, [1]);
  assertEquals(same({ mark: 9 }).changed, [1]);
  assertEquals(same({ timeout: 600, sampledMs: T + 1000 }).changed, [1]);
  assertEquals(diffTables(new ConnectionModel(), model([base])), {
    gone: [],
    added: [1],
    changed: [],
  });
});

Deno.test("connectionKey() differs by zone, protocol and ports", () => {
  const key = (c: TestConn) => {
    const b = batchOf([c]);
    return connectionKey(new RecordView(b.records[0]!), 0);
  };
  const k = key(conn(1));
  assertEquals(key(conn(1, { slot: 77, txBytes: 5 })), k);
  assertNotEquals(key(conn(1, { zone: 3 })), k);
  assertNotEquals(key(conn(1, { proto: 17 })), k);
  assertNotEquals(key(conn(1, { dport: 80 })), k);
});
