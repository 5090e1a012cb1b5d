/**
 * Tests of the AS range table: its builder on hand-made rows (gaps, overlaps, nesting, the
 * ends of the address space, IPv6 boundaries finer than /64), and the embedded table against
 * the source CSV rows it was converted from, searched directly by the test.
 *
 * Requires the embedded data and the cached tarball (`deno task geodata`), and `tar`.
 *
 * @module
 */

import { EMBEDDED_ASN, EMBEDDED_PACKAGES } from "../../../src/enrich/geoip/embedded.ts";
import { type AsRange, buildRangeTable, RangeTable } from "../../../src/enrich/geoip/ranges.ts";
import { cachedTarball } from "../../../scripts/geodata.ts";
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { CsvReference, readAsnCsv, v4Value, v6Value, valueBytes } from "./_asn_reference.ts";
import { prng as random } from "../../../tools/prng.ts";

const OPTIONS = { buildEpoch: 1781722800, source: "test rows" };

/** Every row's ends and their neighbours, and `n` random addresses. */
function probes(rows: readonly AsRange[], bits: 32 | 128, n: number, seed: number): bigint[] {
  const max = (1n << BigInt(bits)) - 1n;
  const out: bigint[] = [0n, max];
  for (const r of rows) {
    out.push(r.start - 1n, r.start, r.start + 1n, r.end - 1n, r.end, r.end + 1n);
  }
  const rnd = random(seed);
  for (let i = 0; i < n; i++) {
    let v = 0n;
    for (let k = 0; k < bits / 16; k++) v = (v << 16n) | BigInt(Math.floor(rnd() * 65536));
    out.push(v);
  }
  return out.filter((v) => v >= 0n && v <= max);
}

function check(table: RangeTable, rows: readonly AsRange[], family: 4 | 6, addrs: bigint[]): void {
  const ref = new CsvReference(rows);
  for (const a of addrs) {
    const want = ref.lookup(a);
    assertEquals(
      table.lookup(family, valueBytes(a, family)),
      want === null ? null : { asn: want.asn, org: want.org },
      `IPv${family} ${a.toString(16)}`,
    );
  }
}

Deno.test("buildRangeTable() resolves gaps, overlaps, nesting and the ends of the space", () => {
  const r = (start: string, end: string, asn: number, org = `AS${asn}`): AsRange => ({
    start: v4Value(start),
    end: v4Value(end),
    asn,
    org,
  });
  const v4 = [
    r("0.0.0.0", "0.0.0.255", 1),
    r("0.0.1.0", "0.0.1.255", 1), // adjacent, same AS: merged
    r("1.0.0.0", "1.255.255.255", 2),
    r("1.2.0.0", "1.2.255.255", 3), // nested: 2 resumes after it
    r("1.2.3.0", "1.2.3.0", 4), // nested twice, one address
    r("5.0.0.0", "6.0.0.255", 5),
    r("6.0.0.0", "6.0.1.255", 6), // overlaps the end of 5
    r("9.0.0.0", "9.0.0.255", 7, "Same number, other name"),
    r("9.0.1.0", "9.0.1.255", 7),
    r("10.0.0.0", "10.0.0.255", 8),
    r("10.0.0.0", "10.0.0.127", 9), // same start: the later row wins where it reaches
    r("200.0.0.0", "255.255.255.255", 10), // up to the last address
  ];
  const s6 = (start: string, end: string, asn: number): AsRange => ({
    start: v6Value(start),
    end: v6Value(end),
    asn,
    org: `AS${asn}`,
  });
  const v6 = [
    s6("::", "::ffff", 11),
    s6("2001:500:30ff::", "2001:500:30ff::2f", 12), // boundaries inside one /64
    s6("2001:500:30ff::30", "2001:500:30ff::30", 13),
    s6("2001:500:30ff::31", "2001:500:30ff:ffff:ffff:ffff:ffff:ffff", 12),
    s6("2001:500:3100::", "2001:500:31ff:ffff:ffff:ffff:ffff:ffff", 14),
    s6("2001:500:3100:5::", "2001:500:3100:5::8", 15), // fine block inside a coarse range
    s6("2a00::", "2a00::ffff:ffff:ffff:ffff", 16),
    s6("2a00:0:0:1::", "2a00:0:0:1::ff", 17), // fine block right after a coarse one
    s6("ffff:ffff:ffff:ffff::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 18),
  ];
  const bytes = buildRangeTable(v4, v6, OPTIONS);
  assertEquals(buildRangeTable(v4, v6, OPTIONS), bytes, "the build is deterministic");
  const table = new RangeTable(bytes, "test");
  assertEquals([table.buildEpoch, table.source], [1781722800, "test rows"]);
  check(table, v4, 4, probes(v4, 32, 2000, 1));
  check(table, v6, 6, probes(v6, 128, 2000, 2));
  assert(table.counts.v6Fine > 0, "the fine IPv6 table is used");
});

Deno.test("buildRangeTable() handles empty input", () => {
  const table = new RangeTable(buildRangeTable([], [], OPTIONS), "empty");
  assertEquals(table.lookup(4, new Uint8Array([1, 2, 3, 4])), null);
  assertEquals(table.lookup(6, new Uint8Array(16).fill(0x20)), null);
});

Deno.test("RangeTable refuses bytes that are not a table", () => {
  const good = buildRangeTable([], [], OPTIONS);
  const cases: [Uint8Array, string][] = [
    [new Uint8Array(10), "10 bytes is too short"],
    [new Uint8Array(100), "expected magic 'CTASNRT1', got '\0\0\0\0\0\0\0\0'"],
    [good.slice(0, good.length - 8), `expected ${good.length} bytes, got ${good.length - 8}`],
    [
      (() => {
        const b = good.slice();
        b[8] = 2;
        return b;
      })(),
      "expected version 1, got 2",
    ],
  ];
  for (const [bytes, why] of cases) {
    let message = "";
    try {
      new RangeTable(bytes, "bad.bin");
    } catch (err) {
      message = (err as Error).message;
    }
    assertEquals(message, `Failed to load AS range table 'bad.bin': ${why}`);
  }
});

Deno.test("the cached ASN tarball is the pinned one", async () => {
  const bytes = await Deno.readFile(cachedTarball(EMBEDDED_PACKAGES.asn));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", bytes));
  assertEquals(`sha512-${btoa(String.fromCharCode(...digest))}`, EMBEDDED_PACKAGES.asn.integrity);
});

for (const [family, name] of [[4, "asn-ipv4.csv"], [6, "asn-ipv6.csv"]] as const) {
  Deno.test(`the embedded AS range table answers as ${name} says`, async () => {
    const rows = await readAsnCsv(name);
    assert(rows.length > (family === 4 ? 300000 : 80000), `${rows.length} rows`);
    const table = new RangeTable(await Deno.readFile(EMBEDDED_ASN), EMBEDDED_ASN.pathname);
    // The ends of every 20th row and of every row whose ends are not on a /64 (IPv6) or that
    // overlaps its predecessor, and random addresses.
    const sorted = new CsvReference(rows).rows;
    const picked = sorted.filter((r, i) =>
      i % 20 === 0 ||
      (family === 6 &&
        ((r.start & 0xffffffffffffffffn) !== 0n || (r.end + 1n) % (1n << 64n) !== 0n)) ||
      (i > 0 && r.start <= sorted[i - 1]!.end)
    );
    const addrs = probes(picked, family === 4 ? 32 : 128, 20000, family);
    if (family === 6) {
      // Random 128-bit addresses are nearly all unallocated: add some in the busy blocks.
      const rnd = random(9);
      for (let i = 0; i < 20000; i++) {
        const r = sorted[Math.floor(rnd() * sorted.length)]!;
        addrs.push(r.start + BigInt(Math.floor(rnd() * 2 ** 40)) % (r.end - r.start + 1n));
      }
    }
    check(table, rows, family, addrs);
  });
}
