// A bounded table (CtTable.limit, as `--once --top N` bounds it) against a whole one fed the
// same dump: it holds exactly the first N connections of the order, computed here from the
// generated connections (not through the code under test), and counts the table it did not
// keep exactly as the whole table counts it.

import { assert, assertEquals } from "../_helpers/assert.ts";
import { CtTable } from "../../src/collector/table.ts";
import { keepTop } from "../../src/app/once_rows.ts";
import type { SortLevel } from "../../src/app/once_rows.ts";
import type { Filter } from "../../src/core/mod.ts";
import { OFF, RECORD_SIZE, RecordView } from "../../src/conntrack/record.ts";
import { IPS_OFFLOAD } from "../../src/conntrack/constants.ts";
import { type Attr, be16, be32, be8, ctMessage, tcp4 } from "../_helpers/nlmsg.ts";
import { prng as rng } from "../../tools/prng.ts";

const PROTO_NAMES: Record<number, string> = { 6: "tcp", 17: "udp" };
const protoName = (n: number) => PROTO_NAMES[n] ?? String(n);

interface Conn {
  id: number;
  udp6: boolean;
  mark: number;
  dport: number;
  status: number;
}

function ip6(last: number): Uint8Array {
  const b = new Uint8Array(16);
  b.set([0x20, 0x01, 0x0d, 0xb8]);
  b[14] = last >> 8;
  b[15] = last & 255;
  return b;
}

/** The dump message of `c`: TCP over IPv4, or UDP over IPv6. */
function message(c: Conn): Uint8Array {
  if (!c.udp6) {
    return tcp4("dump", {
      id: c.id,
      src: `10.0.${c.id >> 8 & 255}.${c.id & 255}`,
      dst: "10.9.0.1",
      sport: 1024 + (c.id & 0x3fff),
      dport: c.dport,
      mark: c.mark,
      status: c.status,
    });
  }
  const tuple = (src: Uint8Array, dst: Uint8Array, sp: number, dp: number): Attr[] => [
    [1, [[3, src], [4, dst]]],
    [2, [[1, be8(17)], [2, be16(sp)], [3, be16(dp)]]],
  ];
  const sport = 1024 + (c.id & 0x3fff);
  return ctMessage("dump", 10, [
    [1, tuple(ip6(c.id & 0xffff), ip6(1), sport, c.dport)],
    [2, tuple(ip6(1), ip6(c.id & 0xffff), c.dport, sport)],
    [3, be32(c.status)],
    [7, be32(100)],
    [8, be32(c.mark)],
    [12, be32(c.id)],
  ]);
}

function conns(seed: number, count: number): Conn[] {
  const r = rng(seed);
  const ids = new Set<number>();
  while (ids.size < count) ids.add(1 + Math.floor(r() * 0xfffffff0));
  return [...ids].map((id) => ({
    id,
    udp6: r() < 0.3,
    // Few values: ties on purpose, broken by protocol number, then id.
    mark: Math.floor(r() * 4),
    dport: [22, 53, 80, 443][Math.floor(r() * 4)]!,
    status: 0x8 | (r() < 0.1 ? IPS_OFFLOAD : 0),
  }));
}

function dumpInto(t: CtTable, cs: Conn[]): void {
  t.beginDump();
  for (const c of cs) t.applyDump(new DataView(message(c).buffer), 0, 1000);
  t.endDump(true);
  t.takeBatch(false);
}

/** The ids the table holds, sorted numerically. */
function heldIds(t: CtTable): number[] {
  const v = new RecordView(t.records.buffer);
  const ids: number[] = [];
  for (let s = 0; s < t.capacity; s++) {
    if (t.records[s * RECORD_SIZE] !== 0) ids.push(v.u32At(s, OFF.ID));
  }
  return ids.sort((a, b) => a - b);
}

interface Case {
  name: string;
  levels: SortLevel[];
  filter: Filter;
  /** The order over the generated connections, as the levels and the default order mean it. */
  order: (a: Conn, b: Conn) => number;
  keep: (c: Conn) => boolean;
}

const l4 = (c: Conn) => (c.udp6 ? 17 : 6);
const byDefault = (a: Conn, b: Conn) => l4(a) - l4(b) || a.id - b.id;
const CASES: Case[] = [
  { name: "the default order", levels: [], filter: {}, order: byDefault, keep: () => true },
  {
    name: "mark, biggest first",
    levels: [{ num: (v, i) => v.u32At(i, OFF.MARK), desc: true }],
    filter: {},
    order: (a, b) => b.mark - a.mark || byDefault(a, b),
    keep: () => true,
  },
  {
    name: "dport, then mark, UDP only",
    levels: [
      { num: (v, i) => v.u16At(i, OFF.ORIG_DPORT), desc: false },
      { num: (v, i) => v.u32At(i, OFF.MARK), desc: false },
    ],
    filter: { proto: 17 },
    order: (a, b) => a.dport - b.dport || a.mark - b.mark || byDefault(a, b),
    keep: (c) => c.udp6,
  },
];

Deno.test("A bounded table keeps the first N of the order and counts the whole table", async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const all = conns(seed, 1 + Math.floor(rng(seed * 31)() * 500));
    const whole = new CtTable();
    dumpInto(whole, all);
    const counts = whole.counts(protoName);
    for (const c of CASES) {
      for (const n of [1, 5, 50, 1000]) {
        await t.step(`seed ${seed}, ${all.length} connections, ${c.name}, top ${n}`, () => {
          const bounded = new CtTable();
          bounded.limit(keepTop({ filter: c.filter, levels: c.levels, top: n }), n);
          dumpInto(bounded, all);
          const want = all.filter(c.keep).sort(c.order).slice(0, n).map((x) => x.id);
          assertEquals(heldIds(bounded), want.sort((a, b) => a - b));
          assertEquals(bounded.size, want.length);
          assert(bounded.capacity <= Math.max(16, n + 1), `capacity ${bounded.capacity}`);
          const got = bounded.counts(protoName);
          assertEquals(got, counts);
          // byProto's keys in the same order (JSON output keeps it).
          assertEquals(Object.keys(got.byProto), Object.keys(counts.byProto));
        });
      }
    }
  }
});

Deno.test("A bounded table places a connection seen twice in one dump by its last record", () => {
  const levels: SortLevel[] = [{ num: (v, i) => v.u32At(i, OFF.MARK), desc: true }];
  const bounded = new CtTable();
  bounded.limit(keepTop({ filter: {}, levels, top: 5 }), 5);
  const c = (id: number, mark: number): Conn => ({ id, udp6: false, mark, dport: 80, status: 8 });
  // Five kept; then the best of them again, now the worst (mark 0); then one that beats it
  // (mark 1, after id 5's mark 1 by id): it takes the place of the one that fell behind.
  bounded.beginDump();
  for (const x of [c(1, 3), c(2, 3), c(3, 2), c(4, 2), c(5, 1), c(1, 0), c(6, 1)]) {
    bounded.applyDump(new DataView(message(x).buffer), 0, 1000);
  }
  bounded.endDump(true);
  bounded.takeBatch(false);
  assertEquals(heldIds(bounded), [2, 3, 4, 5, 6]);
  assertEquals(bounded.counts(protoName).total, 6);
});

Deno.test("A table is bounded only before its first dump", () => {
  const t = new CtTable();
  dumpInto(t, conns(3, 3));
  let err: unknown;
  try {
    t.limit(keepTop({ filter: {}, levels: [], top: 1 }), 1);
  } catch (e) {
    err = e;
  }
  assert(err instanceof Error && /before the first dump/.test(err.message), String(err));
});
