/**
 * The `--once` text table: column widths over every row, at the sizes conntop is made for.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import { formatTable } from "../../src/output/format.ts";
import type { Connection } from "../../src/core/connection.ts";

/** A UDP connection with only what the table reads (the rest is not looked at). */
function udp(i: number): Connection {
  return {
    protocol: "udp",
    protonum: 17,
    state: null,
    flags: ["CONFIRMED"],
    timeout: 30,
    "orig_src": `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    "orig_dst": "192.0.2.1",
    "orig_sport": 1024 + (i % 60000),
    "orig_dport": 53,
    "icmp_type": null,
    "gre_src_key": null,
    "nat_src": null,
    "nat_dst": null,
    "tx_bytes": null,
    "rx_bytes": null,
    "tx_bytes_per_s": null,
    "rx_bytes_per_s": null,
    "age_seconds": null,
  } as unknown as Connection;
}

Deno.test("formatTable lays out 250,000 rows (column widths without a 250,000-argument spread)", () => {
  const conns = Array.from({ length: 250_000 }, (_, i) => udp(i));
  const lines = formatTable(conns).trimEnd().split("\n");
  assertEquals(lines.length, 250_001);
  // The widest source sets the column's width: every DESTINATION starts at the same offset.
  const at = lines[0]!.indexOf("DESTINATION");
  for (const l of [lines[1]!, lines[125_000]!, lines[250_000]!]) {
    assertEquals(l.slice(at, at + "192.0.2.1".length), "192.0.2.1", l);
  }
});
