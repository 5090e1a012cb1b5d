/**
 * Tests of the test MaxMind DB writer against the reference reader, mmdblookup: every data
 * type, every size encoding, pointers of 1, 2 and 3 bytes, 24-, 28- and 32-bit records, IPv4
 * and IPv6 trees, nested networks and the IPv4 aliases of an IPv6 tree.
 *
 * Requires mmdblookup (scripts/setup.sh installs it).
 *
 * @module
 */

import { parsePrefix, prefixContains } from "../../src/conntrack/address.ts";
import { assertEquals } from "./assert.ts";
import {
  double,
  float,
  int32,
  MmdbWriter,
  Typed,
  uint128,
  uint16,
  uint64,
  type WriterValue,
} from "./mmdb_writer.ts";
import { assertRecordMatches, mmdblookupMany, mmdblookupMetadata } from "./mmdblookup.ts";

/** The value as mmdblookup's parser returns it. */
function reference(v: WriterValue): unknown {
  if (v instanceof Typed) {
    return v.type === "uint64" || v.type === "uint128" ? BigInt(v.value) : Number(v.value);
  }
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(reference);
  if (typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reference(x)]));
  }
  return v;
}

const ALL_TYPES: WriterValue = {
  string: "héllo wörld ✓",
  empty: "",
  len28: "a".repeat(28),
  len29: "b".repeat(29),
  len284: "c".repeat(284),
  len285: "d".repeat(285),
  len65820: "e".repeat(65820),
  len65821: "f".repeat(65821),
  len70000: "g".repeat(70000),
  u16: uint16(65535),
  u16zero: uint16(0),
  u32: 4294967295,
  u32small: 7,
  i32neg: int32(-2147483648),
  i32pos: int32(12345),
  u64: uint64(18446744073709551615n),
  u64small: uint64(300n),
  u128: uint128((1n << 128n) - 1n),
  u128small: uint128(65536n),
  double: 52.520008,
  doubleWhole: double(13),
  float: float(0.5),
  yes: true,
  no: false,
  bytes: new Uint8Array([0, 1, 0x7f, 0x80, 0xff]),
  noBytes: new Uint8Array(0),
  array: [1, "two", [3], { four: 4 }],
  emptyArray: [],
  emptyMap: {},
  bigMap: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])),
};

interface Case {
  networks: [string, WriterValue][];
  ips: string[];
}

/** Networks and addresses exercising the tree and pointers; the value is looked for last. */
function scenario(ipVersion: 4 | 6): Case {
  const networks: [string, WriterValue][] = [
    ["1.2.0.0/16", { name: "outer", n: 1 }],
    ["1.2.3.0/24", ALL_TYPES],
    ["1.2.3.128/25", { name: "inner", shared: { names: { en: "Shared", de: "Geteilt" } } }],
    ["1.2.3.200/32", { name: "host" }],
    ["128.0.0.0/1", { name: "upper half" }],
    ["255.255.255.255/32", { name: "last" }],
  ];
  // Enough distinct data to push later offsets past 2048 and 526336 bytes, then values that
  // repeat early and late ones, so that 1-, 2- and 3-byte pointers are written.
  for (let i = 0; i < 600; i++) {
    networks.push([`10.${i >> 8}.${i & 255}.0/24`, {
      name: `filler ${i}`,
      blob: `${i}:${"x".repeat(1000)}`,
      shared: { names: { en: "Shared", de: "Geteilt" } },
    }]);
  }
  networks.push(["11.0.0.0/8", {
    again: `599:${"x".repeat(1000)}`,
    early: `0:${"x".repeat(1000)}`,
  }]);
  if (ipVersion === 6) {
    networks.push(
      ["2001:db8::/32", { name: "doc" }],
      ["2001:db8:1::/48", { name: "doc nested", all: ALL_TYPES }],
      ["2001:db8:1::1/128", { name: "one host" }],
      ["2600::/12", { name: "wide" }],
      ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", { name: "v6 last" }],
    );
  }
  const ips = [
    "1.2.0.0",
    "1.2.3.0",
    "1.2.3.4",
    "1.2.3.127",
    "1.2.3.128",
    "1.2.3.200",
    "1.2.3.201",
    "1.2.255.255",
    "1.3.0.0",
    "1.1.255.255",
    "0.0.0.0",
    "127.255.255.255",
    "128.0.0.0",
    "200.1.2.3",
    "255.255.255.254",
    "255.255.255.255",
    "10.0.0.1",
    "10.2.87.255",
    "10.2.88.0",
    "11.1.1.1",
    "12.0.0.0",
  ];
  if (ipVersion === 6) {
    ips.push(
      "2001:db8::",
      "2001:db8::1",
      "2001:db8:1::",
      "2001:db8:1::1",
      "2001:db8:1::2",
      "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
      "2001:db9::",
      "2600::",
      "260f:ffff::",
      "2610::",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "::",
      "::1",
      // IPv4 inside an IPv6 tree: ::a.b.c.d, and its two aliases.
      "::1.2.3.4",
      "::ffff:1.2.3.4",
      "::ffff:1.2.3.200",
      "2002:102:304::",
      "2002:102:3c8::1",
    );
  }
  return { networks, ips };
}

/** What the last inserted network holding `ip` says (mapping ::ffff:/96 and 2002::/16). */
function expected(networks: [string, WriterValue][], ip: string, ipVersion: 4 | 6): unknown {
  let p = parsePrefix(ip)!;
  if (p.family === 10) {
    const b = p.bytes;
    const zero = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
    let v4: Uint8Array | undefined;
    if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) v4 = b.subarray(12, 16);
    else if (b[0] === 0x20 && b[1] === 0x02) v4 = b.subarray(2, 6);
    else if (zero(0, 12)) v4 = b.subarray(12, 16);
    if (v4 !== undefined && ipVersion === 6) {
      const bytes = new Uint8Array(16);
      bytes.set(v4);
      p = { family: 2, bytes, length: 32 };
    }
  }
  for (let i = networks.length - 1; i >= 0; i--) {
    const [net, value] = networks[i]!;
    if (prefixContains(parsePrefix(net)!, p.family, p.bytes, 0)) return reference(value);
  }
  return null;
}

for (const ipVersion of [4, 6] as const) {
  for (const recordSize of [24, 28, 32] as const) {
    Deno.test(`MmdbWriter writes an IPv${ipVersion} tree with ${recordSize}-bit records that mmdblookup reads back`, async () => {
      const { networks, ips } = scenario(ipVersion);
      const w = new MmdbWriter({
        databaseType: "Conntop-Writer-Test",
        ipVersion,
        recordSize,
        languages: ["en", "de"],
        buildEpoch: 1781722800,
      });
      for (const [net, value] of networks) w.insert(net, value);
      const file = await Deno.makeTempFile({ suffix: ".mmdb" });
      try {
        await Deno.writeFile(file, w.toBytes());
        const md = await mmdblookupMetadata(file);
        assertEquals(
          { ...md, nodeCount: md.nodeCount > 0 },
          {
            nodeCount: true,
            recordSize,
            ipVersion,
            binaryFormat: "2.0",
            buildEpoch: 1781722800,
            databaseType: "Conntop-Writer-Test",
            languages: ["en", "de"],
          },
        );
        const got = await mmdblookupMany(file, ips);
        for (const ip of ips) {
          assertRecordMatches(got.get(ip), expected(networks, ip, ipVersion), ip);
        }
      } finally {
        await Deno.remove(file);
      }
    });
  }
}

Deno.test("MmdbWriter refuses an IPv6 network in an IPv4 tree", () => {
  const w = new MmdbWriter({ databaseType: "X", ipVersion: 4, recordSize: 24 });
  let message = "";
  try {
    w.insert("2001:db8::/32", "x");
  } catch (err) {
    message = (err as Error).message;
  }
  assertEquals(message, "Failed to insert network '2001:db8::/32': the tree is IPv4");
});
