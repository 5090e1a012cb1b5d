import { assertEquals } from "../_helpers/assert.ts";
import {
  formatIPv4,
  formatIPv6,
  parseAddress,
  parsePrefix,
  prefixContains,
} from "../../src/conntrack/address.ts";

function bytes6(...words: number[]): Uint8Array {
  const b = new Uint8Array(16);
  words.forEach((w, i) => {
    b[2 * i] = w >> 8;
    b[2 * i + 1] = w & 0xff;
  });
  return b;
}

Deno.test("formatIPv4() prints dotted quads", () => {
  assertEquals(formatIPv4(new Uint8Array([192, 0, 2, 255])), "192.0.2.255");
  assertEquals(formatIPv4(new Uint8Array([9, 9, 0, 0, 0, 1]), 2), "0.0.0.1");
});

Deno.test("formatIPv6() follows glibc inet_ntop", async (t) => {
  // Expected strings are those of glibc's inet_ntop (as printed by conntrack and ip(8)).
  const cases: [number[], string][] = [
    [[0, 0, 0, 0, 0, 0, 0, 0], "::"],
    [[0, 0, 0, 0, 0, 0, 0, 1], "::1"],
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], "2001:db8::1"],
    [[0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], "2001:db8:0:1::1"],
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"],
    [[0x2001, 0xdb8, 1, 1, 1, 1, 1, 1], "2001:db8:1:1:1:1:1:1"],
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], "2001:db8:0:1:1:1:1:1"],
    [[0xfe80, 0, 0, 0, 0, 0, 0, 0], "fe80::"],
    [[0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304], "::ffff:1.2.3.4"],
    [[0, 0, 0, 0, 0, 0, 0x0102, 0x0304], "::1.2.3.4"],
    [[0xABCD, 0, 0, 0xef, 0, 0, 0, 0], "abcd:0:0:ef::"],
  ];
  for (const [words, want] of cases) {
    await t.step(want, () => assertEquals(formatIPv6(bytes6(...words)), want));
  }
});

Deno.test("parseAddress() reads both families and rejects junk", () => {
  assertEquals(parseAddress("10.0.0.1")?.family, 2);
  assertEquals(parseAddress("2001:db8::1")?.bytes, bytes6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
  assertEquals(parseAddress("::ffff:1.2.3.4")?.bytes, bytes6(0, 0, 0, 0, 0, 0xffff, 0x102, 0x304));
  for (const bad of ["", "1.2.3", "1.2.3.256", "1::2::3", "12345::", "host", "1.2.3.4/8"]) {
    assertEquals(parseAddress(bad), undefined, bad);
  }
});

Deno.test("prefixContains() matches on prefix boundaries", () => {
  const p = parsePrefix("10.1.2.0/23")!;
  const at = (s: string) => parseAddress(s)!.bytes;
  assertEquals(prefixContains(p, 2, at("10.1.2.0"), 0), true);
  assertEquals(prefixContains(p, 2, at("10.1.3.255"), 0), true);
  assertEquals(prefixContains(p, 2, at("10.1.4.0"), 0), false);
  assertEquals(prefixContains(p, 2, at("10.1.1.255"), 0), false);
  assertEquals(prefixContains(p, 10, at("::1"), 0), false);
  const six = parsePrefix("2001:db8::/32")!;
  assertEquals(prefixContains(six, 10, at("2001:db8:ffff::1"), 0), true);
  assertEquals(prefixContains(six, 10, at("2001:db9::1"), 0), false);
  assertEquals(prefixContains(parsePrefix("0.0.0.0/0")!, 2, at("1.2.3.4"), 0), true);
  assertEquals(parsePrefix("10.0.0.0/33"), undefined);
  assertEquals(parsePrefix("10.0.0.0/"), undefined);
});
