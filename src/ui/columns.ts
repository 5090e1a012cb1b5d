/**
 * The columns of the connection list: title, width, alignment, how a cell reads, and the key the
 * list sorts on. Text comes from a {@linkcode Connection} (built only for the rows on screen);
 * sort keys come straight from the records, so sorting a quarter-million rows builds no objects.
 *
 * @module
 */

import {
  formatEndpoint,
  Has,
  IPS_DST_NAT,
  IPS_SRC_NAT,
  OFF,
  RECORD_SIZE as RECORD_BYTES,
  type RecordView,
  stateName,
} from "../conntrack/mod.ts";
import type { Connection } from "../core/mod.ts";
import type { AddrInfo, EnrichStore } from "../enrich/mod.ts";
import { ADDRESS_CLASSES, type GeoInfo, type Owner, ownerText } from "../core/mod.ts";
import { humanBytes, humanDuration, humanRate } from "../output/mod.ts";

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

/** What a cell's text may depend on besides the connection. */
export interface CellContext {
  /** Show hostnames instead of addresses in SOURCE and DESTINATION (H). */
  hostnames: boolean;
  /** Show service names instead of port numbers in SPORT and DPORT (P). */
  services: boolean;
}

/** What a sort key may read besides the record: enrichment answers and owners. */
export interface SortContext {
  /** Enrichment answers (absent: enrichment columns sort as missing). */
  enrich?: EnrichStore;
  /** The owning process of a slot. */
  owner?: (slot: number) => Owner | undefined;
}

/** How a column reads, sorts and lays out. */
export interface ColumnDef {
  id: ColumnId;
  /** Header text. */
  title: string;
  /** One line for the columns dialog and the help screen. */
  description: string;
  /** Default width in cells. */
  width: number;
  align: "left" | "right";
  /** Direction a first click sorts in: numbers biggest first, names A to Z. */
  defaultDesc: boolean;
  /** The cell's text (enrichment fields are filled before it is called). */
  text(c: Connection, ctx: CellContext): string;
  /**
   * The sort key of record `i` (bigger = later in ascending order). Missing values sort below
   * every real one so they gather at one end.
   */
  key(v: RecordView, i: number, ctx: SortContext): number;
  /**
   * For columns of text: the text to sort on (null = missing). When present, it is used instead
   * of `key`; distinct texts are ranked once per sort.
   */
  textKey?: (v: RecordView, i: number, ctx: SortContext) => string | null;
  /** For address columns: the class whose colour the cell takes. */
  addressClass?: (c: Connection) => string | null;
  /**
   * Further exact keys, compared in order when `key` ties: for values too long for one number
   * (an IPv6 address is 128 bits; a double holds 53 exactly).
   */
  more?: readonly ((v: RecordView, i: number) => number)[];
}

const num = (n: number | null) => (n === null ? "-" : String(n));

// A rate cell: "-" only where the kernel gives no counters (accounting off); blank while a
// connection with counters has been sampled once and has no rate yet; else the rate.
function rateText(c: Connection, bps: number | null): string {
  if (bps !== null) return humanRate(bps).slice(0, -2);
  return c.tx_bytes === null ? "-" : "";
}
const counters = (v: RecordView, i: number) => (v.u16At(i, OFF.HAS) & Has.COUNTERS) !== 0;
const rates = (v: RecordView, i: number) => (v.u16At(i, OFF.HAS) & Has.RATES) !== 0;
const ports = (v: RecordView, i: number) => (v.u16At(i, OFF.HAS) & Has.PORTS) !== 0;

// Addresses: family first, then the first six bytes in one exact number (2^48 < 2^53); IPv4
// addresses fit whole. IPv6 goes on in `more`: bytes 6-11, then 12-15 (zero for IPv4).
function bytesKey(v: RecordView, i: number, off: number, from: number, to: number): number {
  const b = v.u8, at = i * RECORD_BYTES + off;
  let k = 0;
  for (let j = from; j < to; j++) k = k * 256 + b[at + j]!;
  return k;
}

function addressKey(v: RecordView, i: number, off: number): number {
  return (v.u8At(i, OFF.FAMILY) === 10 ? 2 ** 48 : 0) + bytesKey(v, i, off, 0, 6);
}

function addressMore(off: number): readonly ((v: RecordView, i: number) => number)[] {
  return [
    (v, i) => bytesKey(v, i, off, 6, 12),
    (v, i) => bytesKey(v, i, off, 12, 16),
  ];
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
  off: number,
): ColumnDef {
  const field = COUNTER_FIELD[id];
  return {
    id,
    title,
    description,
    width: 7,
    align: "right",
    defaultDesc: true,
    text: (c) => humanBytes(c[field]),
    key: (v, i) => (counters(v, i) ? v.f64At(i, off) : -1),
  };
}

/** Every column, in default order. */
export const COLUMNS: Readonly<Record<ColumnId, ColumnDef>> = {
  proto: {
    id: "proto",
    title: "PROTO",
    description: "Protocol (tcp, udp, icmp, …)",
    width: 6,
    align: "left",
    defaultDesc: false,
    text: (c) => c.protocol,
    key: (v, i) => v.u8At(i, OFF.L4),
  },
  state: {
    id: "state",
    title: "STATE",
    description: "Protocol state (TCP, SCTP, DCCP)",
    width: 11,
    align: "left",
    defaultDesc: false,
    text: (c) => c.state ?? "",
    key: () => 0,
    // By the name shown (TCP's and SCTP's ESTABLISHED together), not the protocol's number.
    textKey: (v, i) => stateName(v.u8At(i, OFF.L4), v.u8At(i, OFF.STATE)) ?? null,
  },
  src: {
    id: "src",
    title: "SOURCE",
    description: "Source address (original direction); its hostname with H",
    width: 16,
    align: "left",
    defaultDesc: false,
    text: (c, ctx) => (ctx.hostnames ? c.src_host ?? c.orig_src : c.orig_src),
    key: (v, i) => addressKey(v, i, OFF.ORIG_SRC),
    addressClass: (c) => c.src_class,
    more: addressMore(OFF.ORIG_SRC),
  },
  sport: {
    id: "sport",
    title: "SPORT",
    description: "Source port (ICMP: id; GRE: key); its service name with P",
    width: 6,
    align: "right",
    defaultDesc: false,
    text: (c, ctx) => (ctx.services ? c.sport_service : null) ?? portText(c, "sport"),
    key: (v, i) => (ports(v, i) ? v.u16At(i, OFF.ORIG_SPORT) : -1),
  },
  dst: {
    id: "dst",
    title: "DESTINATION",
    description: "Destination address (original direction); its hostname with H",
    width: 16,
    align: "left",
    defaultDesc: false,
    text: (c, ctx) => (ctx.hostnames ? c.dst_host ?? c.orig_dst : c.orig_dst),
    key: (v, i) => addressKey(v, i, OFF.ORIG_DST),
    addressClass: (c) => c.dst_class,
    more: addressMore(OFF.ORIG_DST),
  },
  dport: {
    id: "dport",
    title: "DPORT",
    description: "Destination port (ICMP: type/code); its service name with P",
    width: 6,
    align: "right",
    defaultDesc: false,
    text: (c, ctx) => (ctx.services ? c.dport_service : null) ?? portText(c, "dport"),
    key: (v, i) => (ports(v, i) ? v.u16At(i, OFF.ORIG_DPORT) : -1),
  },
  nat: {
    id: "nat",
    title: "NAT",
    description: "Address translation: src→ after SNAT, dst→ after DNAT",
    width: 24,
    align: "left",
    defaultDesc: false,
    text: natText,
    key: (v, i) => {
      const s = v.u32At(i, OFF.STATUS);
      return (s & IPS_SRC_NAT ? 2 : 0) + (s & IPS_DST_NAT ? 1 : 0);
    },
  },
  "tx_rate": {
    id: "tx_rate",
    title: "TX/s",
    description: "Bytes per second sent by the initiator (original direction)",
    width: 7,
    align: "right",
    defaultDesc: true,
    text: (c) => rateText(c, c.tx_bytes_per_s),
    key: (v, i) => (rates(v, i) ? v.f32At(i, OFF.TX_BPS) : -1),
  },
  "rx_rate": {
    id: "rx_rate",
    title: "RX/s",
    description: "Bytes per second of replies (reply direction)",
    width: 7,
    align: "right",
    defaultDesc: true,
    text: (c) => rateText(c, c.rx_bytes_per_s),
    key: (v, i) => (rates(v, i) ? v.f32At(i, OFF.RX_BPS) : -1),
  },
  rate: {
    id: "rate",
    title: "RATE/s",
    description: "Bytes per second, both directions",
    width: 7,
    align: "right",
    defaultDesc: true,
    text: (c) =>
      rateText(
        c,
        c.tx_bytes_per_s === null || c.rx_bytes_per_s === null
          ? null
          : c.tx_bytes_per_s + c.rx_bytes_per_s,
      ),
    key: (v, i) => (rates(v, i) ? v.f32At(i, OFF.TX_BPS) + v.f32At(i, OFF.RX_BPS) : -1),
  },
  "tx_bytes": counterColumn("tx_bytes", "TX", "Bytes sent by the initiator", OFF.ORIG_BYTES),
  "rx_bytes": counterColumn("rx_bytes", "RX", "Bytes of replies", OFF.REPLY_BYTES),
  "tx_packets": counterColumn(
    "tx_packets",
    "TXPKT",
    "Packets sent by the initiator",
    OFF.ORIG_PACKETS,
  ),
  "rx_packets": counterColumn("rx_packets", "RXPKT", "Packets of replies", OFF.REPLY_PACKETS),
  age: {
    id: "age",
    title: "AGE",
    description: "Time since the connection started (needs timestamps)",
    width: 7,
    align: "right",
    defaultDesc: true,
    text: (c) => humanDuration(c.age_seconds),
    // The age at any one moment orders like minus the start time, which needs no clock.
    key: (v, i) => (v.u16At(i, OFF.HAS) & Has.TIMESTAMP ? -v.f64At(i, OFF.START_MS) : -Infinity),
  },
  timeout: {
    id: "timeout",
    title: "TIMEOUT",
    description: "Seconds until the kernel forgets the connection",
    width: 7,
    align: "right",
    defaultDesc: true,
    text: (c) => humanDuration(c.timeout),
    key: (v, i) =>
      v.u16At(i, OFF.HAS) & Has.TIMEOUT
        ? v.f64At(i, OFF.SAMPLED_MS) + v.u32At(i, OFF.TIMEOUT) * 1000 // when it expires
        : -Infinity,
  },
  mark: {
    id: "mark",
    title: "MARK",
    description: "Connection mark (ct mark)",
    width: 10,
    align: "right",
    defaultDesc: true,
    // Decimal, as conntrack -L and the JSON output write it (the details add the hex).
    text: (c) => String(c.mark),
    key: (v, i) => v.u32At(i, OFF.MARK),
  },
  zone: {
    id: "zone",
    title: "ZONE",
    description: "Conntrack zone",
    width: 5,
    align: "right",
    defaultDesc: false,
    text: (c) => num(c.zone),
    key: (v, i) => (v.u16At(i, OFF.HAS) & Has.ZONE ? v.u16At(i, OFF.ZONE) : -1),
  },
  flags: {
    id: "flags",
    title: "FLAGS",
    description: "Status: A assured, R seen reply, S/D src/dst NAT, O offloaded, X dying, …",
    width: 6,
    align: "left",
    defaultDesc: false,
    text: (c) => shortFlags(c.flags),
    key: (v, i) => v.u32At(i, OFF.STATUS),
  },
  id: {
    id: "id",
    title: "ID",
    description: "The kernel's conntrack id",
    width: 10,
    align: "right",
    defaultDesc: false,
    text: (c) => String(c.id),
    key: (v, i) => v.u32At(i, OFF.ID),
  },
  process: {
    id: "process",
    title: "PROCESS",
    description: "Process owning the local socket, name[pid] (connections of this host)",
    width: 16,
    align: "left",
    defaultDesc: false,
    text: (
      c,
    ) => (c.process === null || c.pid === null ? "" : ownerText({ name: c.process, pid: c.pid })),
    key: () => 0,
    textKey: (v, i, ctx) => {
      const o = ctx.owner?.(v.u32At(i, OFF.SLOT));
      return o === undefined ? null : `${o.name}\0${String(o.pid).padStart(10, "0")}`;
    },
  },
  ...enrichPair(
    "host",
    "HOST",
    "Hostname (reverse DNS)",
    24,
    (a) => a.host?.status === "resolved" ? a.host.name ?? null : null,
  ),
  ...enrichPair("country", "CC", "Country (GeoIP, ISO code)", 3, (a) => geoOf(a).country),
  ...enrichPair("asn", "ASN", "Autonomous system number (GeoIP)", 8, (a) => geoOf(a).asn),
  ...enrichPair(
    "org",
    "ORGANISATION",
    "Autonomous system organisation (GeoIP)",
    20,
    (a) => geoOf(a).org,
  ),
  ...enrichPair("city", "CITY", "City (GeoIP City database)", 14, (a) => geoOf(a).city),
  ...enrichPair("class", "CLASS", "Address class: public, private, loopback, this-host, …", 10, (
    a,
  ) => a.cls),
};

function geoOf(a: AddrInfo): GeoInfo {
  return a.geo ?? { country: null, countryName: null, asn: null, org: null, city: null };
}

type Side = "src" | "dst";
type EnrichField = "host" | "country" | "asn" | "org" | "city" | "class";

// The two columns (source and destination) of one enrichment field. Text columns sort on
// their text; ASN on its number; class in the order of ADDRESS_CLASSES.
function enrichPair(
  field: EnrichField,
  title: string,
  description: string,
  width: number,
  get: (a: AddrInfo) => string | number | null,
): Record<`${Side}_${EnrichField}`, ColumnDef> {
  const one = (side: Side): ColumnDef => {
    const off = side === "src" ? OFF.ORIG_SRC : OFF.ORIG_DST;
    const id = `${side}_${field}` as const;
    const info = (v: RecordView, i: number, ctx: SortContext) => ctx.enrich?.addressAt(v, i, off);
    const def: ColumnDef = {
      id,
      addressClass: field === "host" || field === "class" ? (c) => c[`${side}_class`] : undefined,
      title: `${side === "src" ? "S" : "D"}${title}`,
      description: `${description}, ${side === "src" ? "source" : "destination"}`,
      width,
      align: field === "asn" ? "right" : "left",
      defaultDesc: false,
      text: (c) => {
        const t = c[id];
        return t === null ? "" : field === "asn" ? `AS${t}` : String(t);
      },
      key: (v, i, ctx) => {
        const a = info(v, i, ctx);
        if (a === undefined) return -1;
        if (field === "class") return ADDRESS_CLASSES.indexOf(a.cls);
        const x = get(a);
        return typeof x === "number" ? x : -1;
      },
    };
    if (field !== "asn" && field !== "class") {
      def.textKey = (v, i, ctx) => {
        const a = info(v, i, ctx);
        const x = a === undefined ? null : get(a);
        return x === null ? null : String(x);
      };
    }
    return def;
  };
  return { [`src_${field}`]: one("src"), [`dst_${field}`]: one("dst") } as Record<
    `${Side}_${EnrichField}`,
    ColumnDef
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

/** Whether `s` names a column. */
export function isColumnId(s: unknown): s is ColumnId {
  return typeof s === "string" && (COLUMN_IDS as readonly string[]).includes(s);
}
