import {
  BatchAssembler,
  type BatchPart,
  encodeBatch,
  MAX_SERVER_MESSAGE_BYTES,
  parseServerMessage,
} from "../../src/protocol/mod.ts";
import type { BatchMessage } from "../../src/collector/mod.ts";
import { Kind, RECORD_SIZE } from "../../src/conntrack/mod.ts";
import { ConnectionModel } from "../../src/model/mod.ts";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";

function conns(n: number, kind: number = Kind.NEW, from = 0): TestConn[] {
  return Array.from({ length: n }, (_, i) => ({
    slot: from + i,
    id: 1000 + from + i,
    kind,
    src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    dst: i % 2 === 0 ? "192.0.2.1" : "2001:db8::1",
    sport: 1024 + (i % 60000),
    dport: 443,
    txBytes: i * 7,
    rxBytes: i * 11,
  })).map((
    c,
  ) => (c.dst.includes(":") ? { ...c, src: `2001:db8::${(c.slot % 65535).toString(16)}` } : c));
}

// Encodes, then decodes each line as a client would: through the schema, then the assembler.
function roundTrip(asm: BatchAssembler, lines: Uint8Array[]): BatchMessage[] {
  const out: BatchMessage[] = [];
  for (const l of lines) {
    assert(l.length <= MAX_SERVER_MESSAGE_BYTES, `line of ${l.length} bytes`);
    assertEquals(l[l.length - 1], 0x0a);
    const m = parseServerMessage(l.subarray(0, l.length - 1));
    assert(m.ok, m.ok ? "" : m.reason);
    assert(m.value.type === "batch");
    const r = asm.push(m.value);
    assert(r.ok, r.ok ? "" : r.reason);
    if (r.value !== undefined) out.push(r.value);
  }
  return out;
}

function bytesOf(b: BatchMessage): Uint8Array {
  const all = new Uint8Array(b.count * RECORD_SIZE);
  let at = 0;
  for (const r of b.records) {
    all.set(new Uint8Array(r), at);
    at += r.byteLength;
  }
  return all;
}

Deno.test("a snapshot of 20,000 records crosses in 3 parts and arrives byte for byte, with reset", () => {
  const batch = batchOf(conns(20_000), { seq: 9 });
  batch.extras = [[3, { helper: "ftp" }], [19_999, { labels: [1, 5], secctx: "system_u" }]];
  batch.owners = [[4, { pid: 42, name: "sshd" }], [5, null]];
  batch.local = { v4: ["10.0.0.1"], v6: ["2001:db8::1"], broadcast: [] };
  const sent = bytesOf(batch);
  const lines = encodeBatch(batch, "snapshot");
  assertEquals(lines.length, 3);
  const got = roundTrip(new BatchAssembler(), lines);
  assertEquals(got.length, 1);
  const b = got[0]!;
  assertEquals(b.reset, true);
  assertEquals(b.seq, 9);
  assertEquals(b.count, 20_000);
  assertEquals(bytesOf(b), sent);
  assertEquals(b.extras, batch.extras);
  assertEquals(b.owners, batch.owners);
  assertEquals(b.local, batch.local);
  assertEquals(b.totals, batch.totals);
  assertEquals(b.status, batch.status);
  assertEquals([b.timeMs, b.startedMs], [batch.timeMs, batch.startedMs]);
});

Deno.test("an empty delta is one part carrying the tick's time, totals and status", () => {
  const asm = new BatchAssembler();
  roundTrip(asm, encodeBatch(batchOf(conns(2), { seq: 1 }), "snapshot"));
  const empty = batchOf([], { seq: 2, timeMs: 1_700_000_001_000 });
  const lines = encodeBatch(empty, "delta");
  assertEquals(lines.length, 1);
  const [b] = roundTrip(asm, lines);
  assertEquals(b!.count, 0);
  assertEquals(b!.reset, undefined);
  assertEquals(b!.timeMs, 1_700_000_001_000);
});

Deno.test("many large extras spill into further parts, each line within the limit", () => {
  const batch = batchOf(conns(10), { seq: 0 });
  const big = "s".repeat(4000);
  batch.extras = Array.from({ length: 3000 }, (_, i) => [i, { secctx: big }]);
  const lines = encodeBatch(batch, "snapshot");
  assert(lines.length >= 3, `${lines.length} lines`);
  const [b] = roundTrip(new BatchAssembler(), lines);
  assertEquals(b!.extras.length, 3000);
  assertEquals(b!.count, 10);
});

Deno.test("the model of a client equals the server's after a snapshot and deltas", () => {
  const server = new ConnectionModel();
  const client = new ConnectionModel();
  const asm = new BatchAssembler();
  const first = batchOf(conns(9000), { seq: 0 });
  const lines0 = encodeBatch(first, "snapshot");
  server.apply(first);
  for (const b of roundTrip(asm, lines0)) client.apply(b);
  // Updates, destroys and new ones.
  const delta = batchOf([
    ...conns(5, Kind.UPDATE, 100).map((c) => ({ ...c, txBytes: 999_999 })),
    ...conns(3, Kind.DESTROY, 200),
    ...conns(4, Kind.NEW, 9000),
  ], { seq: 1, live: conns(9001) });
  const lines1 = encodeBatch(delta, "delta");
  server.apply(delta);
  for (const b of roundTrip(asm, lines1)) client.apply(b);
  assertEquals(client.size, server.size);
  assertEquals(client.size, 9000 - 3 + 4);
  const now = 1_700_000_005_000;
  for (const s of server.slots()) {
    assertEquals(client.connection(s, now), server.connection(s, now));
  }
  // A snapshot replaces what the client had, whatever it was.
  const again = batchOf(conns(2, Kind.NEW, 50), { seq: 7 });
  for (const b of roundTrip(asm, encodeBatch(again, "snapshot"))) client.apply(b);
  assertEquals([...client.slots()], [50, 51]);
});

function parts(lines: Uint8Array[]): BatchPart[] {
  return lines.map((l) => {
    const m = parseServerMessage(l.subarray(0, l.length - 1));
    assert(m.ok && m.value.type === "batch");
    return m.value;
  });
}

function refusal(asm: BatchAssembler, p: BatchPart): string {
  const r = asm.push(p);
  assert(!r.ok, "expected a refusal");
  return r.reason;
}

Deno.test("the assembler refuses deltas out of sequence and parts out of order", () => {
  const snap = parts(encodeBatch(batchOf(conns(10_000), { seq: 5 }), "snapshot"));
  const delta = (seq: number) =>
    parts(encodeBatch(batchOf(conns(1, Kind.UPDATE), { seq }), "delta"))[0]!;
  assertMatch(refusal(new BatchAssembler(), delta(1)), /before the first snapshot/);
  let asm = new BatchAssembler();
  assertMatch(refusal(asm, snap[1]!), /out of order/);
  asm = new BatchAssembler();
  assert(asm.push(snap[0]!).ok);
  assertMatch(refusal(asm, delta(6)), /began before batch 5 ended/);
  asm = new BatchAssembler();
  roundTrip(asm, encodeBatch(batchOf(conns(3), { seq: 5 }), "snapshot"));
  assertMatch(refusal(asm, delta(7)), /delta 7 does not follow batch 5/);
  assert(asm.push(delta(6)).ok);
  // A snapshot may interrupt an unfinished snapshot (the server resynchronises).
  asm = new BatchAssembler();
  assert(asm.push(snap[0]!).ok);
  const fresh = roundTrip(asm, encodeBatch(batchOf(conns(2), { seq: 8 }), "snapshot"));
  assertEquals(fresh[0]!.count, 2);
  // A part that claims records it does not carry, and a last part without its totals.
  const lying = { ...delta(9), count: 3, records: [] };
  asm = new BatchAssembler();
  roundTrip(asm, encodeBatch(batchOf(conns(1), { seq: 8 }), "snapshot"));
  assertMatch(refusal(asm, lying), /counts records/);
  const bare: BatchPart = { ...delta(9) };
  delete bare.totals;
  assertMatch(refusal(asm, bare), /lacks/);
});

Deno.test("the assembler bounds the records of one batch", () => {
  const asm = new BatchAssembler(100);
  assertMatch(
    refusal(asm, parts(encodeBatch(batchOf(conns(101)), "snapshot"))[0]!),
    /too many records/,
  );
});
