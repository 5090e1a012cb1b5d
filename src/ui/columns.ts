/**
 * The columns of the connection list: title, width, alignment, how a cell reads, and the key the
 * list sorts on. Text comes from a {@linkcode Connection} (built only for the rows on screen);
 * sort keys come straight from the records, so sorting a quarter-million rows builds no objects.
 *
 * @module
 */

import { formatEndpoint } from "../conntrack/mod.ts";
import type { Connection } from "../core/mod.ts";
import { type ColumnId, SORT_KEYS, type SortKeyDef } from "../engine/mod.ts";
import { ownerText } from "../core/mod.ts";
import { humanBytes, humanDuration, humanRate } from "../output/units.ts";

// The ids and sort keys live below the UI, in the engine; re-exported for the UI's modules.
export {
  COLUMN_IDS,
  type ColumnId,
  isColumnId,
  type SortContext,
  type SortKey,
} from "../engine/mod.ts";

/** What a cell's text may depend on besides the connection. */
export interface CellContext {
  /** Show hostnames instead of addresses in SOURCE and DESTINATION (H). */
  hostnames: boolean;
  /** Show service names instead of port numbers in SPORT and DPORT (P). */
  services: boolean;
}

/** How a column reads, sorts (its key from the engine) and lays out. */
export interface ColumnDef extends SortKeyDef {
  id: ColumnId;
  /** Header text. */
  title: string;
  /** One line for the columns dialog and the help screen. */
  description: string;
  /** Default width in cells. */
  width: number;
  align: "left" | "right";
  /** The cell's text (enrichment fields are filled before it is called). */
  text(c: Connection, ctx: CellContext): string;
  /** For address columns: the class whose colour the cell takes. */
  addressClass?: (c: Connection) => string | null;
}

/** How a column reads and lays out; its sort key comes from the engine. */
type Display = Omit<ColumnDef, keyof SortKeyDef>;

const num = (n: number | null) => (n === null ? "-" : String(n));

// A rate cell: "-" only where the kernel gives no counters (accounting off); blank while a
// connection with counters has been sampled once and has no rate yet; else the rate.
function rateText(c: Connection, bps: number | null): string {
  if (bps !== null) return humanRate(bps).slice(0, -2);
  return c.tx_bytes === null ? "-" : "";
}
function natText(c: Connection): string {
  const parts: string[] = [];
  if (c.nat_src !== null) parts.push(`src→${formatEndpoint(c.nat_src, c.nat_sport)}`);
  if (c.nat_dst !== null) parts.push(`dst→${formatEndpoint(c.nat_dst, c.nat_dport)}`);
  return parts.join(" ");
}

function portText(c: Connection, which: "sport" | "dport"): string {
  if (c.icmp_type !== null) {
    return which === "sport" ? num(c.icmp_id) : `${c.icmp_type}/${c.icmp_code}`;
  }
  if (c.gre_src_key !== null) return num(which === "sport" ? c.gre_src_key : c.gre_dst_key);
  return num(which === "sport" ? c.orig_sport : c.orig_dport);
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

/** Short letters for status flags in the FLAGS column (the details dialog spells them out). */
export function shortFlags(flags: string[]): string {
  return flags.map((f) => FLAG_SHORT[f] ?? "").join("");
}

const COUNTER_FIELD = {
  "tx_bytes": "tx_bytes",
  "rx_bytes": "rx_bytes",
  "tx_packets": "tx_packets",
  "rx_packets": "rx_packets",
} as const;

// A byte or packet counter: human units, missing when accounting is off.
function counterColumn(
  id: keyof typeof COUNTER_FIELD,
  title: string,
  description: string,
): Display {
  const field = COUNTER_FIELD[id];
  return { id, title, description, width: 7, align: "right", text: (c) => humanBytes(c[field]) };
}

/** Every column, in default order. */
const DISPLAY: Readonly<Record<ColumnId, Display>> = {
  proto: {
    id: "proto",
    title: "PROTO",
    description: "Protocol (tcp, udp, icmp, …)",
    width: 6,
    align: "left",
    text: (c) => c.protocol,
  },
  state: {
    id: "state",
    title: "STATE",
    description: "Protocol state (TCP, SCTP, DCCP)",
    width: 11,
    align: "left",
    text: (c) => c.state ?? "",
  },
  src: {
    id: "src",
    title: "SOURCE",
    description: "Source address (original direction); its hostname with H",
    width: 16,
    align: "left",
    text: (c, ctx) => (ctx.hostnames ? c.src_host ?? c.orig_src : c.orig_src),
    addressClass: (c) => c.src_class,
  },
  sport: {
    id: "sport",
    title: "SPORT",
    description: "Source port (ICMP: id; GRE: key); its service name with P",
    width: 6,
    align: "right",
    text: (c, ctx) => (ctx.services ? c.sport_service : null) ?? portText(c, "sport"),
  },
  dst: {
    id: "dst",
    title: "DESTINATION",
    description: "Destination address (original direction); its hostname with H",
    width: 16,
    align: "left",
    text: (c, ctx) => (ctx.hostnames ? c.dst_host ?? c.orig_dst : c.orig_dst),
    addressClass: (c) => c.dst_class,
  },
  dport: {
    id: "dport",
    title: "DPORT",
    description: "Destination port (ICMP: type/code); its service name with P",
    width: 6,
    align: "right",
    text: (c, ctx) => (ctx.services ? c.dport_service : null) ?? portText(c, "dport"),
  },
  nat: {
    id: "nat",
    title: "NAT",
    description: "Address translation: src→ after SNAT, dst→ after DNAT",
    width: 24,
    align: "left",
    text: natText,
  },
  "tx_rate": {
    id: "tx_rate",
    title: "TX/s",
    description: "Bytes per second sent by the initiator (original direction)",
    width: 7,
    align: "right",
    text: (c) => rateText(c, c.tx_bytes_per_s),
  },
  "rx_rate": {
    id: "rx_rate",
    title: "RX/s",
    description: "Bytes per second of replies (reply direction)",
    width: 7,
    align: "right",
    text: (c) => rateText(c, c.rx_bytes_per_s),
  },
  rate: {
    id: "rate",
    title: "RATE/s",
    description: "Bytes per second, both directions",
    width: 7,
    align: "right",
    text: (c) =>
      rateText(
        c,
        c.tx_bytes_per_s === null || c.rx_bytes_per_s === null
          ? null
          : c.tx_bytes_per_s + c.rx_bytes_per_s,
      ),
  },
  "tx_bytes": counterColumn("tx_bytes", "TX", "Bytes sent by the initiator"),
  "rx_bytes": counterColumn("rx_bytes", "RX", "Bytes of replies"),
  "tx_packets": counterColumn("tx_packets", "TXPKT", "Packets sent by the initiator"),
  "rx_packets": counterColumn("rx_packets", "RXPKT", "Packets of replies"),
  age: {
    id: "age",
    title: "AGE",
    description: "Time since the connection started (needs timestamps)",
    width: 7,
    align: "right",
    text: (c) => humanDuration(c.age_seconds),
  },
  timeout: {
    id: "timeout",
    title: "TIMEOUT",
    description: "Seconds until the kernel forgets the connection",
    width: 7,
    align: "right",
    text: (c) => humanDuration(c.timeout),
  },
  mark: {
    id: "mark",
    title: "MARK",
    description: "Connection mark (ct mark)",
    width: 10,
    align: "right",
    // Decimal, as conntrack -L and the JSON output write it (the details add the hex).
    text: (c) => String(c.mark),
  },
  zone: {
    id: "zone",
    title: "ZONE",
    description: "Conntrack zone",
    width: 5,
    align: "right",
    text: (c) => num(c.zone),
  },
  flags: {
    id: "flags",
    title: "FLAGS",
    description: "Status: A assured, R seen reply, S/D src/dst NAT, O offloaded, X dying, …",
    width: 6,
    align: "left",
    text: (c) => shortFlags(c.flags),
  },
  id: {
    id: "id",
    title: "ID",
    description: "The kernel's conntrack id",
    width: 10,
    align: "right",
    text: (c) => String(c.id),
  },
  process: {
    id: "process",
    title: "PROCESS",
    description: "Process owning the local socket, name[pid] (connections of this host)",
    width: 16,
    align: "left",
    text: (
      c,
    ) => (c.process === null || c.pid === null ? "" : ownerText({ name: c.process, pid: c.pid })),
  },
  ...enrichPair("host", "HOST", "Hostname (reverse DNS)", 24),
  ...enrichPair("country", "CC", "Country (GeoIP, ISO code)", 3),
  ...enrichPair("asn", "ASN", "Autonomous system number (GeoIP)", 8),
  ...enrichPair("org", "ORGANISATION", "Autonomous system organisation (GeoIP)", 20),
  ...enrichPair("city", "CITY", "City (GeoIP City database)", 14),
  ...enrichPair("class", "CLASS", "Address class: public, private, loopback, this-host, …", 10),
};

/** Every column, in default order: how it reads and lays out, and its sort key. */
export const COLUMNS: Readonly<Record<ColumnId, ColumnDef>> = Object.fromEntries(
  Object.entries(DISPLAY).map(([id, d]) => [id, { ...d, ...SORT_KEYS[id as ColumnId] }]),
) as Record<ColumnId, ColumnDef>;

type Side = "src" | "dst";
type EnrichField = "host" | "country" | "asn" | "org" | "city" | "class";

// The two columns (source and destination) of one enrichment field.
function enrichPair(
  field: EnrichField,
  title: string,
  description: string,
  width: number,
): Record<`${Side}_${EnrichField}`, Display> {
  const one = (side: Side): Display => {
    const id = `${side}_${field}` as const;
    return {
      id,
      addressClass: field === "host" || field === "class" ? (c) => c[`${side}_class`] : undefined,
      title: `${side === "src" ? "S" : "D"}${title}`,
      description: `${description}, ${side === "src" ? "source" : "destination"}`,
      width,
      align: field === "asn" ? "right" : "left",
      text: (c) => {
        const t = c[id];
        return t === null ? "" : field === "asn" ? `AS${t}` : String(t);
      },
    };
  };
  return { [`src_${field}`]: one("src"), [`dst_${field}`]: one("dst") } as Record<
    `${Side}_${EnrichField}`,
    Display
  >;
}

/**
 * The columns shown by default, in order. Those up to RATE/s fit an 80-column terminal (78
 * cells: an IPv4 address, 15 cells, fits its 16; a service name like "domain" its 6); the rest are a scroll away.
 */
export const DEFAULT_COLUMNS: readonly ColumnId[] = [
  "proto",
  "state",
  "src",
  "sport",
  "dst",
  "dport",
  "dst_country",
  "rate",
  "tx_rate",
  "rx_rate",
  "tx_bytes",
  "rx_bytes",
  "age",
  "timeout",
  "flags",
  "process",
];
