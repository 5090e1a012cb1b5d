/**
 * The scripting outputs with text from outside in them: JSON and NDJSON keep the exact value
 * but escape every control, C1 and bidi character; CSV and the table show it printable and
 * keep their fields and columns.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import {
  csvHeader,
  csvLine,
  formatJson,
  formatNdjsonLine,
  formatTable,
  type Snapshot,
} from "../../src/output/format.ts";
import { type Connection, CONNECTION_FIELDS } from "../../src/core/connection.ts";

/** Every class: C0 (TAB, CR, LF, ESC, BEL), DEL, C1 (CSI), bidi (RLO, LRI), a lone surrogate. */
const EVIL = 'e\t\r\n\x1b]0;PWNED\x07\x7f\u009b\u202e\u2066\ud800,"z';
const EVIL_SHOWN = 'e????]0;PWNED??????,"z';

const RAW =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/;

function conn(): Connection {
  const c: Record<string, unknown> = Object.fromEntries(CONNECTION_FIELDS.map((f) => [f, null]));
  Object.assign(c, {
    id: 1,
    family: "ipv4",
    protocol: "tcp",
    protonum: 6,
    state: "ESTABLISHED",
    flags: ["ASSURED"],
    status: 0,
    "orig_src": "10.0.0.1",
    "orig_dst": "10.0.0.2",
    "orig_sport": 1,
    "orig_dport": 2,
    "reply_src": "10.0.0.2",
    "reply_dst": "10.0.0.1",
    process: EVIL,
    pid: 42,
    "src_host": EVIL,
    "dst_org": EVIL,
    helper: EVIL,
    secctx: EVIL,
  });
  return c as unknown as Connection;
}

Deno.test("formatNdjsonLine() and formatJson() escape every unprintable character, keeping the value", () => {
  const c = conn();
  const line = formatNdjsonLine(c, { event: "new" });
  assertEquals(RAW.test(line.slice(0, -1)), false, line);
  assertEquals(line.endsWith("}\n"), true);
  const back = JSON.parse(line);
  assertEquals([back.event, back.process, back.src_host, back.dst_org], ["new", EVIL, EVIL, EVIL]);
  const snapshot = {
    "format_version": 1,
    time: "2026-01-01T00:00:00.000Z",
    netns: EVIL,
    accounting: true,
    timestamps: true,
    totals: {},
    status: {},
    warnings: [EVIL],
    connections: [c],
  } as unknown as Snapshot;
  const json = formatJson(snapshot);
  assertEquals(RAW.test(json.replaceAll("\n", "")), false, json);
  const parsed = JSON.parse(json);
  assertEquals([parsed.netns, parsed.warnings[0], parsed.connections[0].process], [
    EVIL,
    EVIL,
    EVIL,
  ]);
});

/** The fields of one CSV line, quotes kept: commas inside quotes do not split. */
function splitCsv(line: string): string[] {
  const fields: string[] = [];
  let field = "", quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      fields.push(field);
      field = "";
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

Deno.test("csvLine() shows outside text printable, one field per column", () => {
  const line = csvLine(conn(), ["new"]);
  assertEquals(line.endsWith("\r\n"), true);
  const body = line.slice(0, -2);
  assertEquals(RAW.test(body), false, body);
  // The field with a comma and a quote is quoted (RFC 4180), the rest as is.
  const quoted = `"${EVIL_SHOWN.replaceAll('"', '""')}"`;
  const head = csvHeader(["event"]).slice(0, -2).split(",");
  const at = head.indexOf("process");
  const fields = splitCsv(body);
  assertEquals(fields.length, head.length);
  assertEquals(fields[at], quoted);
});

Deno.test("formatTable() shows nothing raw", () => {
  const c = conn();
  (c as unknown as Record<string, unknown>).state = "EST\x1b[2J\u202e";
  const out = formatTable([c]);
  assertEquals(RAW.test(out.replaceAll("\n", "")), false, out);
  assertEquals(out.includes("EST?[2J?"), true, out);
});
