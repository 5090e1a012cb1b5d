/**
 * The scripting outputs of `--once` and `--stream`: JSON, NDJSON, CSV and a plain text table.
 * Field names are those of {@linkcode Connection} (documented in docs/fields.md and
 * schema/connection.schema.json); they are stable.
 *
 * Connections carry text from outside (process names, host names, GeoIP strings, kernel
 * text) exactly as it came. JSON and NDJSON keep it exact, escaped so that no control, C1 or
 * bidi character reaches a terminal raw ({@linkcode printableJson}); CSV and the table are for
 * people and spreadsheets and show it through {@linkcode printable}. Never print a field
 * without one of the two.
 *
 * Pure functions from connections to text: no I/O.
 *
 * @module
 */

import { formatEndpoint } from "../conntrack/mod.ts";
import { type Connection, CONNECTION_FIELDS } from "../core/mod.ts";
import type { CollectorStatus, Totals } from "../core/mod.ts";
import { humanBytes, humanDuration, humanRate } from "./units.ts";
import { printable } from "../text/mod.ts";
import { printableJson } from "../text/mod.ts";

/** What `--once --format json` prints besides the connections. */
export interface Snapshot {
  /** Version of this JSON layout. */
  "format_version": 1;
  /** When the table was read (ISO 8601). */
  time: string;
  /** Network namespace monitored, or null for the current one. */
  netns: string | null;
  /** Whether byte/packet accounting is on (null when unknown). */
  accounting: boolean | null;
  /** Whether start timestamps are on (null when unknown). */
  timestamps: boolean | null;
  totals: Totals;
  status: CollectorStatus;
  /** The same lines printed to stderr (accounting off, flowtables, …). */
  warnings: string[];
  connections: Connection[];
}

/** The whole snapshot as one JSON document. */
export function formatJson(s: Snapshot): string {
  return printableJson(s, 2) + "\n";
}

/** One JSON object per line, optionally with extra leading fields (e.g. `event`). */
export function formatNdjsonLine(c: Connection, lead?: Record<string, unknown>): string {
  return printableJson(lead === undefined ? c : { ...lead, ...c }) + "\n";
}

/** CSV per RFC 4180: a header line, then one line per connection; null is an empty cell. */
export function csvHeader(lead: string[] = []): string {
  return [...lead, ...CONNECTION_FIELDS].join(",") + "\r\n";
}

/** One CSV line. Arrays are joined with `|`; text is shown {@linkcode printable}. */
export function csvLine(c: Connection, lead: unknown[] = []): string {
  const cells = [...lead, ...CONNECTION_FIELDS.map((f) => c[f])].map(csvCell);
  return cells.join(",") + "\r\n";
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = printable(Array.isArray(v) ? v.join("|") : String(v));
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A plain text table for people (`--once`; the interactive monitor draws its own screen). */
export function formatTable(conns: Connection[]): string {
  const head = [
    "PROTO",
    "STATE",
    "SOURCE",
    "DESTINATION",
    "NAT",
    "TX",
    "RX",
    "TX/s",
    "RX/s",
    "TIMEOUT",
    "AGE",
    "FLAGS",
  ];
  const rows = conns.map((c) => {
    const nat = [
      c.nat_src === null ? "" : `snat ${formatEndpoint(c.nat_src, c.nat_sport)}`,
      c.nat_dst === null ? "" : `dnat ${formatEndpoint(c.nat_dst, c.nat_dport)}`,
    ].filter((x) => x !== "").join(" ");
    const detail = c.icmp_type !== null
      ? ` type=${c.icmp_type} code=${c.icmp_code} id=${c.icmp_id}`
      : c.gre_src_key !== null
      ? ` key=${c.gre_src_key}/${c.gre_dst_key}`
      : "";
    return [
      c.protocol === "unknown" ? `proto${c.protonum}` : c.protocol,
      c.state ?? "",
      formatEndpoint(c.orig_src, c.orig_sport) + detail,
      formatEndpoint(c.orig_dst, c.orig_dport),
      nat,
      humanBytes(c.tx_bytes),
      humanBytes(c.rx_bytes),
      c.tx_bytes_per_s === null ? "-" : humanRate(c.tx_bytes_per_s),
      c.rx_bytes_per_s === null ? "-" : humanRate(c.rx_bytes_per_s),
      c.timeout === null ? "-" : String(c.timeout),
      humanDuration(c.age_seconds),
      c.flags.join(","),
    ].map(printable);
  });
  // A loop, not Math.max(...spread): a spread of 250,000 arguments overflows the stack.
  const widths = head.map((h) => h.length);
  for (const r of rows) {
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, r[i]!.length);
  }
  const line = (r: string[]) => r.map((x, i) => x.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}
