/**
 * Tests of tools/reverse_name.ts against names written out by hand.
 *
 * @module
 */

import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import { reverseName } from "../../tools/reverse_name.ts";

Deno.test("reverseName() spells IPv4 and IPv6 reverse names", () => {
  assertEquals(reverseName("10.77.0.2"), "2.0.77.10.in-addr.arpa");
  assertEquals(
    reverseName("fd77::1"),
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.7.7.d.f.ip6.arpa",
  );
  assertEquals(
    reverseName("2001:4860:4860::8888"),
    "8.8.8.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.8.4.0.6.8.4.1.0.0.2.ip6.arpa",
  );
});

Deno.test("reverseName() refuses what is no address", () => {
  assertThrows(
    () => reverseName("example.com"),
    Error,
    "expected an IP address, got 'example.com'",
  );
});
