/**
 * The monitor's columns as `--once --columns LIST` prints them: for each column id (the names
 * of the monitor's columns dialog and config file), its title, its alignment, the text of a
 * cell in the text table, and the {@linkcode Connection} fields it stands for in JSON, NDJSON
 * and CSV.
 *
 * The cells read as the monitor's with hostnames and service names toggled off (`H`, `P`):
 * addresses and port numbers, which is what a script compares. test/output/columns_test.ts
 * holds the ids to the monitor's and the texts to its cells.
 *
 * Pure data and functions: no I/O, nothing of the UI or the terminal.
 *
 * @module
 */

import { formatEndpoint } from "../conntrack/mod.ts";
import type { Connection } from "../core/mod.ts";
import { ownerText } from "../core/mod.ts";
import type { ColumnId } from "../engine/mod.ts";
import type { Field } from "./encode.ts";
import { humanBytes, humanDuration, humanRate } from "./units.ts";

/** How one column prints. */
export interface OutputColumn {
  /** Header text (the monitor's). */
  title: string;
  align: "left" | "right";
  /** The cell's text in the table, before {@linkcode printable}. */
  text(c: Connection): string;
  /** The fields JSON, NDJSON and CSV print for it, in order. */
  fields: readonly Field[];
}

const num = (n: number | null) => (n === null ? "-" : String(n));

// "-" where the kernel gives no counters; blank while a connection has no rate yet.
function rateText(c: Connection, bps: number | null): string {
  if (bps !== null) return humanRate(bps).slice(0, -2);
  return c.tx_bytes === null ? "-" : "";
}

function portText(c: Connection, which: "sport" | "dport"): string {
  if (c.icmp_type !== null) {
    return which === "sport" ? num(c.icmp_id) : `${c.icmp_type}/${c.icmp_code}`;
  }
  if (c.gre_src_key !== null) return num(which === "sport" ? c.gre_src_key : c.gre_dst_key);
  return num(which === "sport" ? c.orig_sport : c.orig_dport);
}

function natText(c: Connection): string {
  const parts: string[] = [];
  if (c.nat_src !== null) parts.push(`src→${formatEndpoint(c.nat_src, c.nat_sport)}`);
  if (c.nat_dst !== null) parts.push(`dst→${formatEndpoint(c.nat_dst, c.nat_dport)}`);
  return parts.join(" ");
}

const FLAG_SHORT: Record<string, string> = {
  ASSURED: "A",
  SEEN_REPLY: "R",
  SRC_NAT: "S",
  DST_NAT: "D",
  CONFIRMED: "C",
  DYING: "X",
  OFFLOAD: "O",
  HW_OFFLOAD: "H",
  UNTRACKED: "U",
  EXPECTED: "E",
  FIXED_TIMEOUT: "F",
  TEMPLATE: "T",
  HELPER: "h",
};

/** Short letters for status flags (the monitor's FLAGS column). */
export function shortFlags(flags: readonly string[]): string {
  return flags.map((f) => FLAG_SHORT[f] ?? "").join("");
}

const left = (title: string, text: OutputColumn["text"], fields: Field[]): OutputColumn => ({
  title,
  align: "left",
  text,
  fields,
});
const right = (title: string, text: OutputColumn["text"], fields: Field[]): OutputColumn => ({
  title,
  align: "right",
  text,
  fields,
});

type Side = "src" | "dst";

function enrich<F extends "host" | "country" | "asn" | "org" | "city" | "class">(
  field: F,
  title: string,
): Record<`${Side}_${F}`, OutputColumn> {
  const one = (side: Side): OutputColumn => {
    const id = `${side}_${field}` as const;
    const text = (c: Connection) => {
      const t = c[id];
      return t === null ? "" : field === "asn" ? `AS${t}` : String(t);
    };
    const head = `${side === "src" ? "S" : "D"}${title}`;
    return field === "asn" ? right(head, text, [id]) : left(head, text, [id]);
  };
  return { [`src_${field}`]: one("src"), [`dst_${field}`]: one("dst") } as Record<
    `${Side}_${F}`,
    OutputColumn
  >;
}

/** Every column by id, in the monitor's order. */
export const OUTPUT_COLUMNS = {
  proto: left("PROTO", (c) => c.protocol, ["protocol"]),
  state: left("STATE", (c) => c.state ?? "", ["state"]),
  src: left("SOURCE", (c) => c.orig_src, ["orig_src"]),
  sport: right("SPORT", (c) => portText(c, "sport"), ["orig_sport"]),
  dst: left("DESTINATION", (c) => c.orig_dst, ["orig_dst"]),
  dport: right("DPORT", (c) => portText(c, "dport"), ["orig_dport"]),
  nat: left("NAT", natText, ["nat_src", "nat_sport", "nat_dst", "nat_dport"]),
  "tx_rate": right("TX/s", (c) => rateText(c, c.tx_bytes_per_s), ["tx_bytes_per_s"]),
  "rx_rate": right("RX/s", (c) => rateText(c, c.rx_bytes_per_s), ["rx_bytes_per_s"]),
  rate: right(
    "RATE/s",
    (c) =>
      rateText(
        c,
        c.tx_bytes_per_s === null || c.rx_bytes_per_s === null
          ? null
          : c.tx_bytes_per_s + c.rx_bytes_per_s,
      ),
    ["tx_bytes_per_s", "rx_bytes_per_s"],
  ),
  "tx_bytes": right("TX", (c) => humanBytes(c.tx_bytes), ["tx_bytes"]),
  "rx_bytes": right("RX", (c) => humanBytes(c.rx_bytes), ["rx_bytes"]),
  "tx_packets": right("TXPKT", (c) => humanBytes(c.tx_packets), ["tx_packets"]),
  "rx_packets": right("RXPKT", (c) => humanBytes(c.rx_packets), ["rx_packets"]),
  age: right("AGE", (c) => humanDuration(c.age_seconds), ["age_seconds"]),
  timeout: right("TIMEOUT", (c) => humanDuration(c.timeout), ["timeout"]),
  mark: right("MARK", (c) => String(c.mark), ["mark"]),
  zone: right("ZONE", (c) => num(c.zone), ["zone"]),
  flags: left("FLAGS", (c) => shortFlags(c.flags), ["flags"]),
  id: right("ID", (c) => String(c.id), ["id"]),
  process: left(
    "PROCESS",
    (c) => (c.process === null || c.pid === null ? "" : ownerText({ name: c.process, pid: c.pid })),
    ["process", "pid"],
  ),
  ...enrich("host", "HOST"),
  ...enrich("country", "CC"),
  ...enrich("asn", "ASN"),
  ...enrich("org", "ORGANISATION"),
  ...enrich("city", "CITY"),
  ...enrich("class", "CLASS"),
} as const satisfies Record<ColumnId, OutputColumn>;

/** The fields of `columns`, in their order, each once. */
export function fieldsOf(columns: readonly ColumnId[]): Field[] {
  const seen = new Set<Field>();
  for (const id of columns) for (const f of OUTPUT_COLUMNS[id].fields) seen.add(f);
  return [...seen];
}
