/**
 * The `--once` text table: column widths over every row, at the sizes conntop is made for.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import { formatTable } from "../../src/output/format.ts";
import { columnsTable, TableLayout } from "../../src/output/table.ts";
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

/** Only what the table reads; the rest of a connection is not looked at. */
function row(over: Record<string, unknown>): Connection {
  return {
    state: null,
    "orig_sport": null,
    "orig_dport": null,
    "icmp_type": null,
    "gre_src_key": null,
    "nat_src": null,
    "nat_dst": null,
    "tx_bytes": null,
    "rx_bytes": null,
    "tx_bytes_per_s": null,
    "rx_bytes_per_s": null,
    timeout: null,
    "age_seconds": null,
    ...over,
  } as unknown as Connection;
}

const ROWS = [
  row({
    protocol: "tcp",
    protonum: 6,
    state: "ESTABLISHED",
    flags: ["SEEN_REPLY", "ASSURED"],
    "orig_src": "10.0.0.1",
    "orig_sport": 40000,
    "orig_dst": "192.0.2.1",
    "orig_dport": 443,
    "nat_src": "198.51.100.1",
    "nat_sport": 1024,
    "tx_bytes": 123456789,
    "rx_bytes": 5,
    "tx_bytes_per_s": 1536.5,
    "rx_bytes_per_s": 0,
    timeout: 431999,
    "age_seconds": 90061,
    id: 3000000000,
  }),
  row({
    protocol: "icmp",
    protonum: 1,
    flags: ["CONFIRMED"],
    "orig_src": "10.0.0.2",
    "orig_dst": "10.0.0.3",
    "icmp_type": 8,
    "icmp_code": 0,
    "icmp_id": 55,
    timeout: 30,
    id: 7,
  }),
  row({
    protocol: "unknown",
    protonum: 253,
    flags: [],
    "orig_src": "2001:db8::1",
    "orig_dst": "2001:db8::2",
    "nat_dst": "2001:db8::9",
    "nat_dport": null,
    "tx_bytes": 0,
    "rx_bytes": 2048,
    id: 12,
  }),
  row({
    protocol: "gre",
    protonum: 47,
    flags: ["CONFIRMED", "UNREPLIED"],
    "orig_src": "10.0.0.4",
    "orig_dst": "10.0.0.5",
    "gre_src_key": 1,
    "gre_dst_key": 2,
    timeout: 5,
    id: 99,
  }),
];

Deno.test("formatTable() keeps the --once table's layout: every column as wide as its widest cell, two spaces apart", () => {
  // Written by hand from the layout the table has always had (not produced by the code).
  assertEquals(
    formatTable(ROWS),
    [
      "PROTO     STATE        SOURCE                        DESTINATION    NAT                     TX    RX    TX/s    RX/s  TIMEOUT  AGE    FLAGS",
      "tcp       ESTABLISHED  10.0.0.1:40000                192.0.2.1:443  snat 198.51.100.1:1024  118M  5     1.5K/s  0/s   431999   1d01h  SEEN_REPLY,ASSURED",
      "icmp                   10.0.0.2 type=8 code=0 id=55  10.0.0.3                               -     -     -       -     30       -      CONFIRMED",
      "proto253               2001:db8::1                   2001:db8::2    dnat 2001:db8::9        0     2.0K  -       -     -        -",
      "gre                    10.0.0.4 key=1/2              10.0.0.5                               -     -     -       -     5        -      CONFIRMED,UNREPLIED",
      "",
    ].join("\n"),
  );
});

Deno.test("a --columns table right-aligns numbers as the monitor does and measures only the rows it prints", () => {
  const t = new TableLayout(columnsTable(["id", "proto", "dport", "flags"]));
  for (const c of ROWS.slice(1)) t.measure(c);
  assertEquals(t.header(), "ID  PROTO    DPORT  FLAGS\n");
  assertEquals(
    ROWS.slice(1).map((c) => t.line(c)).join(""),
    [" 7  icmp       8/0  C", "12  unknown      -", "99  gre          2  C", ""].join("\n"),
  );
});
