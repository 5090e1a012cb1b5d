/**
 * The plain text table of `--once` (the interactive monitor draws its own screen), laid out
 * without holding its rows: each column is as wide as its widest cell, so the caller measures
 * every row first ({@linkcode TableLayout.measure}, which keeps only the widths) and then
 * writes them one by one ({@linkcode TableLayout.line}). Cells are shown through
 * {@linkcode printable}, which keeps a text's length (one `?` per character it replaces), so
 * measuring needs no printable copy.
 *
 * Pure: no I/O.
 *
 * @module
 */

import { formatEndpoint } from "../conntrack/mod.ts";
import type { Connection } from "../core/mod.ts";
import { printable } from "../text/mod.ts";
import type { ColumnId } from "../engine/mod.ts";
import { OUTPUT_COLUMNS } from "./columns.ts";
import { humanBytes, humanDuration, humanRate } from "./units.ts";

/** One column of the table. */
export interface TableColumn {
  title: string;
  align: "left" | "right";
  /** The cell's text, before {@linkcode printable}. */
  text(c: Connection): string;
}

function natCell(c: Connection): string {
  return [
    c.nat_src === null ? "" : `snat ${formatEndpoint(c.nat_src, c.nat_sport)}`,
    c.nat_dst === null ? "" : `dnat ${formatEndpoint(c.nat_dst, c.nat_dport)}`,
  ].filter((x) => x !== "").join(" ");
}

function sourceCell(c: Connection): string {
  const detail = c.icmp_type !== null
    ? ` type=${c.icmp_type} code=${c.icmp_code} id=${c.icmp_id}`
    : c.gre_src_key !== null
    ? ` key=${c.gre_src_key}/${c.gre_dst_key}`
    : "";
  return formatEndpoint(c.orig_src, c.orig_sport) + detail;
}

const l = (title: string, text: TableColumn["text"]): TableColumn => ({
  title,
  align: "left",
  text,
});

/** The table without --columns (its layout predates the monitor's column names). */
export const DEFAULT_TABLE: readonly TableColumn[] = [
  l("PROTO", (c) => (c.protocol === "unknown" ? `proto${c.protonum}` : c.protocol)),
  l("STATE", (c) => c.state ?? ""),
  l("SOURCE", sourceCell),
  l("DESTINATION", (c) => formatEndpoint(c.orig_dst, c.orig_dport)),
  l("NAT", natCell),
  l("TX", (c) => humanBytes(c.tx_bytes)),
  l("RX", (c) => humanBytes(c.rx_bytes)),
  l("TX/s", (c) => (c.tx_bytes_per_s === null ? "-" : humanRate(c.tx_bytes_per_s))),
  l("RX/s", (c) => (c.rx_bytes_per_s === null ? "-" : humanRate(c.rx_bytes_per_s))),
  l("TIMEOUT", (c) => (c.timeout === null ? "-" : String(c.timeout))),
  l("AGE", (c) => humanDuration(c.age_seconds)),
  l("FLAGS", (c) => c.flags.join(",")),
];

/** The table of `--columns LIST`: the monitor's titles, cells and alignment. */
export function columnsTable(ids: readonly ColumnId[]): TableColumn[] {
  return ids.map((id) => OUTPUT_COLUMNS[id]);
}

/** Column widths gathered over the rows, then lines laid out with them. */
export class TableLayout {
  readonly #columns: readonly TableColumn[];
  readonly #widths: number[];

  constructor(columns: readonly TableColumn[]) {
    this.#columns = columns;
    this.#widths = columns.map((c) => c.title.length);
  }

  /** Widens the columns to fit the row of `c`. */
  measure(c: Connection): void {
    const cols = this.#columns, w = this.#widths;
    for (let i = 0; i < cols.length; i++) {
      const n = cols[i]!.text(c).length;
      if (n > w[i]!) w[i] = n;
    }
  }

  /** The header line, with its line end. */
  header(): string {
    return this.#layout(this.#columns.map((c) => c.title));
  }

  /** The line of `c`, with its line end. */
  line(c: Connection): string {
    return this.#layout(this.#columns.map((col) => printable(col.text(c))));
  }

  // Two spaces between columns, none at the end of the line.
  #layout(cells: string[]): string {
    const cols = this.#columns, w = this.#widths;
    let s = "";
    for (let i = 0; i < cells.length; i++) {
      const x = cells[i]!;
      if (i > 0) s += "  ";
      s += cols[i]!.align === "right" ? x.padStart(w[i]!) : x.padEnd(w[i]!);
    }
    return s.trimEnd() + "\n";
  }
}
