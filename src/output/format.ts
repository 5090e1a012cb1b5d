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

import { type Connection, CONNECTION_FIELDS } from "../core/mod.ts";
import type { CollectorStatus, Totals } from "../core/mod.ts";
import { printableJson } from "../text/mod.ts";
import { csvHeaderOf, csvRowEncoder, jsonObjectEncoder } from "./encode.ts";
import { DEFAULT_TABLE, TableLayout } from "./table.ts";

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

const ndjsonAll = jsonObjectEncoder(CONNECTION_FIELDS, null);
const csvAll = csvRowEncoder(CONNECTION_FIELDS);

/** One JSON object per line, optionally with extra leading fields (e.g. `event`). */
export function formatNdjsonLine(c: Connection, lead?: Record<string, unknown>): string {
  return ndjsonAll(c, lead) + "\n";
}

/** CSV per RFC 4180: a header line, then one line per connection; null is an empty cell. */
export function csvHeader(lead: string[] = []): string {
  return csvHeaderOf(CONNECTION_FIELDS, lead);
}

/** One CSV line. Arrays are joined with `|`; text is shown {@linkcode printable}. */
export function csvLine(c: Connection, lead: unknown[] = []): string {
  return csvAll(c, lead);
}

/** A plain text table for people (`--once`; the interactive monitor draws its own screen). */
export function formatTable(conns: readonly Connection[]): string {
  const t = new TableLayout(DEFAULT_TABLE);
  for (const c of conns) t.measure(c);
  let s = t.header();
  for (const c of conns) s += t.line(c);
  return s;
}
