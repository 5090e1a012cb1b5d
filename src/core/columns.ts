/**
 * The column identifiers: the names `--sort`, `--columns`, the config file and the UI share.
 * Only the names live here, at the bottom of the graph, so that the option parser (loaded by
 * conntopd too) can check a name without loading the engine; each column's sort key is the
 * engine's (src/engine/keys.ts), its title and cells the UI's (src/ui/columns.ts).
 *
 * Must never import anything: it is a list of names.
 *
 * @module
 */

/** The column identifiers (stable: they are stored in the config file). */
export const COLUMN_IDS = [
  "proto",
  "state",
  "src",
  "sport",
  "dst",
  "dport",
  "nat",
  "tx_rate",
  "rx_rate",
  "rate",
  "tx_bytes",
  "rx_bytes",
  "tx_packets",
  "rx_packets",
  "age",
  "timeout",
  "mark",
  "zone",
  "flags",
  "id",
  "process",
  "src_host",
  "dst_host",
  "src_country",
  "dst_country",
  "src_asn",
  "dst_asn",
  "src_org",
  "dst_org",
  "src_city",
  "dst_city",
  "src_class",
  "dst_class",
] as const;

/** One of {@linkcode COLUMN_IDS}. */
export type ColumnId = typeof COLUMN_IDS[number];

/** Whether `s` names a column. */
export function isColumnId(s: unknown): s is ColumnId {
  return typeof s === "string" && (COLUMN_IDS as readonly string[]).includes(s);
}
