/**
 * Row encoders for the streaming outputs: one connection to one JSON object or CSV line, fast
 * enough for a quarter-million rows, and byte for byte what `printableJson()` (src/text/json.ts)
 * and RFC 4180 quoting of {@linkcode printable} text give — the tests hold both to that.
 *
 * `JSON.stringify(snapshot, null, 2)` of a whole table is what made `--once -o json` build its
 * whole output (and every connection object) in memory. Here each connection is written on its
 * own, so the caller can write as it goes: the pretty form is indented as the elements of
 * the snapshot's `connections` array are (see {@linkcode snapshotParts}).
 *
 * Pure functions: no I/O. Text from outside goes through `printableJson()`'s escaping (JSON) or
 * {@linkcode printable} (CSV), never raw.
 *
 * @module
 */

import type { Connection } from "../core/mod.ts";
import { printable } from "../text/mod.ts";
import { printableJson } from "../text/mod.ts";

/** A field of {@linkcode Connection}. */
export type Field = keyof Connection;

/** Encodes rows with one fixed list of fields. */
export interface RowEncoder {
  /** The row's text, with its line end. */
  (c: Connection): string;
}

/** What `printableJson()` escapes beyond `JSON.stringify` (DEL, C1, bidi controls and marks). */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Text JSON writes as it is, between quotes: printable ASCII but `"` and `\\`. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A string as JSON, escaped as `printableJson()` escapes it. */
export function jsonString(s: string): string {
  if (PLAIN.test(s)) return '"' + s + '"';
  const t = JSON.stringify(s);
  return RAW_IN_JSON.test(t) ? printableJson(s) : t;
}

/**
 * One value as JSON.stringify writes it at `indent` (the indent of the field holding it; the
 * array's items go one level deeper). Connection values are null, numbers, strings, and arrays
 * of strings or numbers.
 */
export function jsonValue(v: unknown, indent: string | null): string {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "string":
      return jsonString(v);
    case "boolean":
      return v ? "true" : "false";
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    if (indent === null) return "[" + v.map((x) => jsonValue(x, null)).join(",") + "]";
    const inner = indent + "  ";
    return "[\n" + inner + v.map((x) => jsonValue(x, inner)).join(",\n" + inner) + "\n" +
      indent + "]";
  }
  return printableJson(v);
}

/**
 * One connection as a JSON object with `fields` in that order. `indent` null: compact, one line
 * (NDJSON); a string: pretty, as `JSON.stringify(snapshot, null, 2)` writes an element of the
 * snapshot's `connections` array (`indent` is the object's own indent, "    "). No line end.
 */
export function jsonObjectEncoder(
  fields: readonly Field[],
  indent: string | null,
): (c: Connection, lead?: Readonly<Record<string, unknown>>) => string {
  const inner = indent === null ? null : indent + "  ";
  const sep = indent === null ? ":" : ": ";
  const prefix = (name: string) =>
    (inner === null ? "" : "\n" + inner) + JSON.stringify(name) + sep;
  // The fields' prefixes with the comma before all but the first baked in.
  const prefixes = fields.map((f, i) => (i === 0 ? "" : ",") + prefix(f));
  const close = indent === null ? "}" : "\n" + indent + "}";
  return (c, lead) => {
    let s = "{";
    let n = 0;
    if (lead !== undefined) {
      for (const k in lead) s += (n++ === 0 ? "" : ",") + prefix(k) + jsonValue(lead[k], inner);
      if (n > 0 && fields.length > 0) s += ",";
    }
    for (let f = 0; f < fields.length; f++) s += prefixes[f]! + jsonValue(c[fields[f]!], inner);
    return n + fields.length === 0 ? "{}" : s + close;
  };
}

/** CSV per RFC 4180: the header line of `lead` columns then `fields`. */
export function csvHeaderOf(fields: readonly string[], lead: readonly string[] = []): string {
  return [...lead, ...fields].join(",") + "\r\n";
}

/** Text a CSV cell holds as it is: printable ASCII but `"` and `,`. */
const CSV_PLAIN = /^[\x20\x21\x23-\x2b\x2d-\x7e]*$/;

/** One CSV cell: null is empty, arrays are joined with `|`, text is {@linkcode printable}. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return String(v);
  if (typeof v === "string" && CSV_PLAIN.test(v)) return v;
  const s = printable(Array.isArray(v) ? v.join("|") : String(v));
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One CSV line of `fields` (after the `lead` cells), with its CRLF. */
export function csvRowEncoder(
  fields: readonly Field[],
): (c: Connection, lead?: readonly unknown[]) => string {
  return (c, lead) => {
    let s = "";
    let first = true;
    if (lead !== undefined) {
      for (const x of lead) {
        s += (first ? "" : ",") + csvCell(x);
        first = false;
      }
    }
    for (let f = 0; f < fields.length; f++) {
      s += (first ? "" : ",") + csvCell(c[fields[f]!]);
      first = false;
    }
    return s + "\r\n";
  };
}

/** The `--once -o json` document cut around its connections (see {@linkcode snapshotParts}). */
export interface SnapshotParts {
  /** Everything before the first connection (ends with the array's `[`). */
  head: string;
  /** Written before the first connection. */
  first: string;
  /** Written before each further connection. */
  next: string;
  /** Everything after the last connection. */
  tail: string;
  /** Everything after the head when there is no connection. */
  emptyTail: string;
}

/**
 * The text of the `--once -o json` document around its connections, so that they can be
 * written one by one in between (each encoded by {@linkcode jsonObjectEncoder} with indent
 * "    "). Joined, it equals `printableJson(snapshot, 2) + "\n"`. `connections` must be the
 * snapshot's last key.
 */
export function snapshotParts(snapshot: Readonly<Record<string, unknown>>): SnapshotParts {
  const keys = Object.keys(snapshot);
  if (keys[keys.length - 1] !== "connections") {
    throw new Error("Cannot stream a snapshot: 'connections' must be its last field");
  }
  const text = printableJson({ ...snapshot, connections: [] }, 2);
  const end = "[]\n}";
  if (!text.endsWith(end)) throw new Error("Cannot stream a snapshot: unexpected layout");
  return {
    head: text.slice(0, text.length - end.length) + "[",
    first: "\n    ",
    next: ",\n    ",
    tail: "\n  ]\n}\n",
    emptyTail: "]\n}\n",
  };
}
