/**
 * `--once --columns`: the columns print as the monitor's do. Every column id of the monitor
 * has an output column; titles, alignment and cell text are the monitor's own (with hostnames
 * and service names toggled off), checked here against src/ui/columns.ts on connections of
 * every shape; the fields each column stands for exist.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import { fieldsOf, OUTPUT_COLUMNS } from "../../src/output/columns.ts";
import { COLUMN_IDS } from "../../src/engine/mod.ts";
import { COLUMNS } from "../../src/ui/columns.ts";
import { type Connection, CONNECTION_FIELDS } from "../../src/core/connection.ts";

function conn(over: Record<string, unknown>): Connection {
  const c: Record<string, unknown> = Object.fromEntries(CONNECTION_FIELDS.map((f) => [f, null]));
  Object.assign(c, {
    id: 7,
    family: "ipv4",
    protocol: "tcp",
    protonum: 6,
    flags: [],
    status: 0,
    mark: 0,
    "orig_src": "10.0.0.1",
    "orig_dst": "192.0.2.1",
    "reply_src": "192.0.2.1",
    "reply_dst": "10.0.0.1",
  }, over);
  return c as unknown as Connection;
}

const SHAPES: Connection[] = [
  conn({}),
  conn({
    state: "ESTABLISHED",
    flags: ["SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT", "DST_NAT", "OFFLOAD"],
    "orig_sport": 40000,
    "orig_dport": 443,
    "nat_src": "198.51.100.1",
    "nat_sport": 1024,
    "nat_dst": "2001:db8::9",
    "nat_dport": 8443,
    "tx_bytes": 123456789,
    "rx_bytes": 5,
    "tx_packets": 2048,
    "rx_packets": 1,
    "tx_bytes_per_s": 1536.5,
    "rx_bytes_per_s": 0,
    "age_seconds": 90061,
    timeout: 431999,
    mark: 4294967295,
    zone: 3,
    process: "curl",
    pid: 4242,
    "src_host": "a.example",
    "dst_host": "b.example",
    "src_country": "FR",
    "dst_country": "US",
    "src_asn": 3215,
    "dst_asn": 13335,
    "src_org": "Orange",
    "dst_org": "Cloudflare, Inc.",
    "src_city": "Paris",
    "dst_city": "São Paulo",
    "src_class": "private",
    "dst_class": "public",
    "sport_service": "x",
    "dport_service": "https",
  }),
  conn({
    protocol: "icmp",
    protonum: 1,
    "icmp_type": 8,
    "icmp_code": 0,
    "icmp_id": 55,
    "tx_bytes": 0,
  }),
  conn({ protocol: "gre", protonum: 47, "gre_src_key": 1, "gre_dst_key": 2 }),
  conn({ protocol: "unknown", protonum: 253, "tx_bytes": 10, "tx_bytes_per_s": null }),
];

Deno.test("every monitor column prints in --once with the monitor's title, alignment and cell text", () => {
  assertEquals(Object.keys(OUTPUT_COLUMNS), [...COLUMN_IDS]);
  for (const id of COLUMN_IDS) {
    const ours = OUTPUT_COLUMNS[id], ui = COLUMNS[id];
    assertEquals([ours.title, ours.align], [ui.title, ui.align], id);
    for (const c of SHAPES) {
      assertEquals(ours.text(c), ui.text(c, { hostnames: false, services: false }), id);
    }
  }
});

Deno.test("fieldsOf() gives the fields of the columns in their order, each once", () => {
  for (const id of COLUMN_IDS) {
    for (const f of OUTPUT_COLUMNS[id].fields) assertEquals(CONNECTION_FIELDS.includes(f), true, f);
  }
  assertEquals(fieldsOf(["rate", "tx_rate", "id", "nat"]), [
    "tx_bytes_per_s",
    "rx_bytes_per_s",
    "id",
    "nat_src",
    "nat_sport",
    "nat_dst",
    "nat_dport",
  ]);
  assertEquals(fieldsOf(["process", "dst_country"]), ["process", "pid", "dst_country"]);
});
