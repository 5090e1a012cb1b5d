import { assertEquals } from "../_helpers/assert.ts";
import { type TestConn, writeConn } from "../_helpers/records.ts";
import { OwnerTracker } from "../../src/collector/attribution.ts";
import type { SocketOwners, SocketQuery } from "../../src/collector/owners.ts";
import { LocalAddresses } from "../../src/core/classes.ts";
import { Kind, RECORD_SIZE, RecordView } from "../../src/conntrack/record.ts";

// Every socket asked about belongs to "p<port>" (the local port of the query).
function fakeOwners(asked: SocketQuery[][]): SocketOwners {
  return {
    resolve(queries: SocketQuery[]) {
      asked.push(queries);
      return queries.map((q) => ({ name: `p${JSON.stringify(q).length}`, pid: 1 }));
    },
  } as unknown as SocketOwners;
}

const local = () => LocalAddresses.fromJSON({ v4: ["10.0.0.1"], v6: [], broadcast: [] });

Deno.test("OwnerTracker.updateChanges() finds the owners update() finds from copied records", () => {
  const conns: TestConn[] = [
    { slot: 3, src: "10.0.0.1", dst: "192.0.2.9", sport: 40000, dport: 443 }, // ours
    { slot: 5, src: "192.0.2.7", dst: "198.51.100.1", sport: 1, dport: 2 }, // forwarded
    { slot: 9, src: "192.0.2.8", dst: "10.0.0.1", sport: 50000, dport: 22 }, // ours
  ];
  // The copies a batch would carry, and the table the records stay in (one per slot).
  const chunk = new Uint8Array(conns.length * RECORD_SIZE);
  conns.forEach((c, i) => writeConn(new RecordView(chunk.buffer), i, c));
  const table = new RecordView(new ArrayBuffer(16 * RECORD_SIZE));
  for (const c of conns) writeConn(table, c.slot, c);
  const pairs = Uint32Array.from(conns.flatMap((c) => [c.slot, Kind.NEW]));

  const askedA: SocketQuery[][] = [], askedB: SocketQuery[][] = [];
  const a = new OwnerTracker(fakeOwners(askedA), local).update([chunk]);
  const b = new OwnerTracker(fakeOwners(askedB), local).updateChanges(pairs, table);
  assertEquals(b, a);
  assertEquals(a.map(([slot]) => slot), [3, 9]);
  assertEquals(askedB, askedA);
});
