/**
 * The streaming row encoders against the whole-document encoders they replace: the pretty
 * JSON document written piece by piece equals `printableJson(snapshot, 2)` of the same
 * snapshot, each NDJSON line `printableJson(object)`, each CSV line RFC 4180 quoting of the
 * printable text — with text from outside, nulls, empty and full arrays, fractions, and with
 * any subset of the fields.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import {
  csvHeaderOf,
  csvRowEncoder,
  type Field,
  jsonObjectEncoder,
  snapshotParts,
} from "../../src/output/encode.ts";
import { fieldsOf } from "../../src/output/columns.ts";
import { type Connection, CONNECTION_FIELDS } from "../../src/core/connection.ts";
import { printableJson } from "../../src/text/json.ts";
import { printable } from "../../src/text/printable.ts";
import { COLUMN_IDS } from "../../src/engine/mod.ts";

const EVIL = 'e\t\r\n\x1b]0;PWNED\x07\x7f\u009b\u202e\u2066\ud800,"z\\';

/** Connections with every kind of value a field can hold. */
function connections(): Connection[] {
  const base = (i: number): Record<string, unknown> =>
    Object.fromEntries(
      CONNECTION_FIELDS.map((f, j) => [f, (i + j) % 3 === 0 ? null : i * 1000 + j]),
    );
  const a = base(1);
  Object.assign(a, {
    family: "ipv4",
    protocol: "tcp",
    state: "ESTABLISHED",
    flags: ["SEEN_REPLY", "ASSURED", "CONFIRMED"],
    "orig_src": "10.0.0.1",
    "orig_dst": "192.0.2.7",
    "tx_bytes_per_s": 1234.56,
    "rx_bytes_per_s": 0.01,
    labels: [1, 5, 127],
    process: EVIL,
    "src_host": "host.example",
    "dst_org": 'Org "quoted", Inc.',
    start: "2026-01-01T00:00:00.000Z",
  });
  const b = base(2);
  Object.assign(b, {
    family: "ipv6",
    protocol: "unknown",
    state: null,
    flags: [],
    "orig_src": "2001:db8::1",
    labels: [],
    helper: EVIL,
    secctx: "system_u:object_r:unlabeled_t:s0",
    "dst_city": "São Paulo",
    "src_org": "\u00e9\u4e2d\ud83d\ude00",
  });
  const c = base(3);
  Object.assign(c, { flags: ["UNREPLIED"], labels: null, "tx_bytes": 2 ** 53 - 1, mark: 0 });
  return [a, b, c] as unknown as Connection[];
}

/** A connection with only `fields`, in that order (what the output holds with --columns). */
function pick(c: Connection, fields: readonly Field[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f, c[f]]));
}

/** RFC 4180 as the CSV output promised before it streamed, written out independently. */
function csvReference(values: unknown[]): string {
  return values.map((v) => {
    if (v === null || v === undefined) return "";
    const s = printable(Array.isArray(v) ? v.join("|") : String(v));
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  }).join(",") + "\r\n";
}

function snapshot(conns: Connection[]): Record<string, unknown> {
  return {
    "format_version": 1,
    time: "2026-01-01T00:00:00.000Z",
    netns: EVIL,
    accounting: true,
    timestamps: null,
    totals: { count: conns.length, byProto: { tcp: 1 } },
    status: { dumpMs: 12.5, lastError: null },
    warnings: [EVIL, "second"],
    connections: conns,
  };
}

/** The document as --once writes it: head, each element, tail. */
function streamed(conns: readonly Record<string, unknown>[], fields: readonly Field[]): string {
  const parts = snapshotParts({ ...snapshot(conns as unknown as Connection[]), connections: [] });
  const encode = jsonObjectEncoder(fields, "    ");
  let s = parts.head;
  conns.forEach((
    c,
    i,
  ) => (s += (i === 0 ? parts.first : parts.next) + encode(c as unknown as Connection)));
  return s + (conns.length === 0 ? parts.emptyTail : parts.tail);
}

const SUBSETS: readonly (readonly Field[])[] = [
  CONNECTION_FIELDS,
  ["id"],
  ["flags", "labels", "process", "id"],
  fieldsOf(["rate", "nat", "process", "src_country"]),
  fieldsOf([...COLUMN_IDS]),
];

Deno.test("the streamed JSON document equals printableJson(snapshot, 2), for 0 to 3 connections and any fields", () => {
  const all = connections();
  for (const fields of SUBSETS) {
    for (let n = 0; n <= all.length; n++) {
      const conns = all.slice(0, n).map((c) => pick(c, fields));
      const want = printableJson(snapshot(conns as unknown as Connection[]), 2) + "\n";
      assertEquals(streamed(conns, fields), want, `${n} connections, ${fields.length} fields`);
    }
  }
});

Deno.test("jsonObjectEncoder() writes each NDJSON line as printableJson(), leading fields first", () => {
  for (const fields of SUBSETS) {
    const encode = jsonObjectEncoder(fields, null);
    for (const c of connections()) {
      assertEquals(encode(c), printableJson(pick(c, fields)));
      const lead = { event: "new", time: EVIL };
      assertEquals(encode(c, lead), printableJson({ ...lead, ...pick(c, fields) }));
    }
  }
});

Deno.test("csvRowEncoder() writes RFC 4180 lines of printable text, any fields, leading cells first", () => {
  for (const fields of SUBSETS) {
    const encode = csvRowEncoder(fields);
    for (const c of connections()) {
      assertEquals(encode(c), csvReference(fields.map((f) => c[f])));
      assertEquals(
        encode(c, ["destroy", EVIL]),
        csvReference(["destroy", EVIL, ...fields.map((f) => c[f])]),
      );
    }
  }
  assertEquals(csvHeaderOf(["id", "src_host"], ["event"]), "event,id,src_host\r\n");
});
