/**
 * The rows of `--once` over random tables, against a brute-force sort of the connections as
 * objects: the default order (protocol number, then id; sorted natively in packed numbers),
 * every `--sort` level kind (numbers, IPv6 addresses over three keys, texts with missing
 * values), both directions, and `--top N` (a heap of N) equal to the first N of the full sort.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { ConnectionModel } from "../../src/model/mod.ts";
import type { Connection } from "../../src/core/connection.ts";
import { selectRows, type SortLevel } from "../../src/app/once_rows.ts";
import { sortLevels } from "../../src/app/once_sort.ts";
import { parseAddress } from "../../src/conntrack/address.ts";

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// TCP states NONE, ESTABLISHED (twice as likely), TIME_WAIT, CLOSE; other protocols have none.
const STATES = [0, 3, 3, 7, 8];

function table(seed: number, n: number): TestConn[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const ids = new Set<number>();
  return Array.from({ length: n }, (_, slot) => {
    let id = Math.floor(rand() * 2 ** 32);
    while (ids.has(id)) id = (id + 1) >>> 0;
    ids.add(id);
    const v6 = rand() < 0.3;
    return {
      slot: slot * 3 + (slot % 2), // gaps, as a table that lost connections has
      id,
      proto: pick([6, 6, 17, 1, 132]),
      state: pick(STATES),
      src: v6 ? pick(["2001:db8::1", "2001:db8::1:0:0", "::1"]) : pick(["10.0.0.1", "10.0.0.2"]),
      dst: v6 ? "2001:db8::9" : "192.0.2.1",
      sport: pick([1, 2, 3]),
      dport: pick([22, 443]),
      txBytes: pick([0, 10, 10, 5000]),
      mark: pick([0, 1, 2]),
    };
  });
}

type Cmp = (a: Connection, b: Connection) => number;
const byDefault: Cmp = (a, b) => a.protonum - b.protonum || a.id - b.id;
const addr = (t: string) => {
  const p = parseAddress(t)!;
  return [p.family, ...p.bytes];
};
const cmpArrays = (x: number[], y: number[]) => {
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
};
const text = (f: (c: Connection) => string | null): Cmp => (a, b) => {
  const x = f(a), y = f(b);
  return x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
};
const flip = (c: Cmp): Cmp => (a, b) => c(b, a);
const then = (...cs: Cmp[]): Cmp => (a, b) => {
  for (const c of cs) {
    const r = c(a, b);
    if (r !== 0) return r;
  }
  return 0;
};

Deno.test("selectRows() orders and cuts as a brute-force sort of the connections does", () => {
  for (const seed of [1, 2, 3]) {
    const m = new ConnectionModel();
    m.apply(batchOf(table(seed, 400)));
    const all = [...m.slots()].map((s) => m.connection(s, 0));
    const cases: [string, SortLevel[], Cmp][] = [
      ["default", [], byDefault],
      [
        "mark (down)",
        sortLevels(["mark"], false, {}),
        then(flip((a, b) => a.mark - b.mark), byDefault),
      ],
      [
        "tx_bytes reversed",
        sortLevels(["tx_bytes"], true, {}),
        then((a, b) => a.tx_bytes! - b.tx_bytes!, byDefault),
      ],
      [
        "src, dport",
        sortLevels(["src", "dport"], false, {}),
        then(
          (a, b) => cmpArrays(addr(a.orig_src), addr(b.orig_src)),
          (a, b) => a.orig_dport! - b.orig_dport!,
          byDefault,
        ),
      ],
      [
        "state reversed",
        sortLevels(["state"], true, {}),
        then(flip(text((c) => c.state)), byDefault),
      ],
    ];
    for (const [what, levels, cmp] of cases) {
      const want = [...all].sort(cmp).map((c) => c.id);
      const ids = (slots: Uint32Array) => [...slots].map((s) => m.connection(s, 0).id);
      assertEquals(ids(selectRows(m, { filter: {}, levels })), want, `${what}, seed ${seed}`);
      for (const top of [1, 7, 400, 1000]) {
        assertEquals(
          ids(selectRows(m, { filter: {}, levels, top })),
          want.slice(0, top),
          `${what} --top ${top}, seed ${seed}`,
        );
      }
      const udp = all.filter((c) => c.protonum === 17).sort(cmp).map((c) => c.id);
      assertEquals(ids(selectRows(m, { filter: { proto: 17 }, levels })), udp, `${what} -p udp`);
      assertEquals(ids(selectRows(m, { filter: { proto: 17 }, levels, top: 5 })), udp.slice(0, 5));
    }
  }
});
