/**
 * The sort key of each column (the identifiers themselves live in src/core/columns.ts, so the
 * option parser checks them without loading the engine), read straight from the records: the
 * engine orders a quarter-million rows with these without building an object per row. The UI's
 * column table (src/ui/columns.ts) adds titles, widths and cell text on top; `--once --sort`
 * uses the same keys, so every place that orders connections orders them alike.
 *
 * Nothing here may import the UI: the engine runs in the collector worker.
 *
 * @module
 */

import {
  Has,
  IPS_DST_NAT,
  IPS_SRC_NAT,
  OFF,
  RECORD_SIZE,
  type RecordView,
  stateName,
} from "../conntrack/mod.ts";
import {
  ADDRESS_CLASSES,
  type AddressClass,
  type GeoInfo,
  type HostEntry,
  NO_GEO,
  type Owner,
} from "../core/mod.ts";
import { COLUMN_IDS, type ColumnId, isColumnId } from "../core/mod.ts";

export { COLUMN_IDS, type ColumnId, isColumnId };

/** A sort key: a column and a direction. */
export interface SortKey {
  column: ColumnId;
  desc: boolean;
}

/** What enrichment knows about one address, as far as sorting and searching read it. */
export interface AddressFacts {
  cls: AddressClass;
  /** The GeoIP answer; undefined while it is being looked up. */
  geo: GeoInfo | undefined;
  /** The reverse-DNS answer; undefined until asked. */
  host: HostEntry | undefined;
}

/** Where enrichment answers come from (the enrichment store; an interface, not the worker). */
export interface AddressLookup {
  /** The facts of the address at byte offset `off` of record `i` in `v`. */
  addressAt(v: RecordView, i: number, off: number): AddressFacts;
}

/** What a sort key may read besides the record: enrichment answers and owners. */
export interface SortContext {
  /** Enrichment answers (absent: enrichment columns sort as missing). */
  enrich?: AddressLookup;
  /** The owning process of a slot. */
  owner?: (slot: number) => Owner | undefined;
}

/** How a column sorts. */
export interface SortKeyDef {
  /** Direction a first click sorts in: numbers biggest first, names A to Z. */
  defaultDesc: boolean;
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
  /**
   * Further exact keys, compared in order when `key` ties: for values too long for one number
   * (an IPv6 address is 128 bits; a double holds 53 exactly).
   */
  more?: readonly ((v: RecordView, i: number) => number)[];
  /** The key reads enrichment answers or owners, which arrive after the records. */
  enriched?: boolean;
}

const counters = (v: RecordView, i: number) => (v.u16At(i, OFF.HAS) & Has.COUNTERS) !== 0;
const rates = (v: RecordView, i: number) => (v.u16At(i, OFF.HAS) & Has.RATES) !== 0;
const ports = (v: RecordView, i: number) => (v.u16At(i, OFF.HAS) & Has.PORTS) !== 0;

// Addresses: family first, then the first six bytes in one exact number (2^48 < 2^53); IPv4
// addresses fit whole. IPv6 goes on in `more`: bytes 6-11, then 12-15 (zero for IPv4).
function bytesKey(v: RecordView, i: number, off: number, from: number, to: number): number {
  const b = v.u8, at = i * RECORD_SIZE + off;
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

const counterKey = (off: number): SortKeyDef => ({
  defaultDesc: true,
  key: (v, i) => (counters(v, i) ? v.f64At(i, off) : -1),
});

type Side = "src" | "dst";
type EnrichField = "host" | "country" | "asn" | "org" | "city" | "class";

// The two keys (source and destination) of one enrichment field. Text fields sort on their
// text; ASN on its number; class in the order of ADDRESS_CLASSES.
function enrichPair(
  field: EnrichField,
  get: (a: AddressFacts) => string | number | null,
): Record<`${Side}_${EnrichField}`, SortKeyDef> {
  const one = (side: Side): SortKeyDef => {
    const off = side === "src" ? OFF.ORIG_SRC : OFF.ORIG_DST;
    const info = (v: RecordView, i: number, ctx: SortContext) => ctx.enrich?.addressAt(v, i, off);
    const def: SortKeyDef = {
      defaultDesc: false,
      enriched: true,
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
    SortKeyDef
  >;
}

const geoOf = (a: AddressFacts): GeoInfo => a.geo ?? NO_GEO;

/** The sort key of every column. */
export const SORT_KEYS: Readonly<Record<ColumnId, SortKeyDef>> = {
  proto: { defaultDesc: false, key: (v, i) => v.u8At(i, OFF.L4) },
  state: {
    defaultDesc: false,
    key: () => 0,
    // By the name shown (TCP's and SCTP's ESTABLISHED together), not the protocol's number.
    textKey: (v, i) => stateName(v.u8At(i, OFF.L4), v.u8At(i, OFF.STATE)) ?? null,
  },
  src: {
    defaultDesc: false,
    key: (v, i) => addressKey(v, i, OFF.ORIG_SRC),
    more: addressMore(OFF.ORIG_SRC),
  },
  sport: { defaultDesc: false, key: (v, i) => (ports(v, i) ? v.u16At(i, OFF.ORIG_SPORT) : -1) },
  dst: {
    defaultDesc: false,
    key: (v, i) => addressKey(v, i, OFF.ORIG_DST),
    more: addressMore(OFF.ORIG_DST),
  },
  dport: { defaultDesc: false, key: (v, i) => (ports(v, i) ? v.u16At(i, OFF.ORIG_DPORT) : -1) },
  nat: {
    defaultDesc: false,
    key: (v, i) => {
      const s = v.u32At(i, OFF.STATUS);
      return (s & IPS_SRC_NAT ? 2 : 0) + (s & IPS_DST_NAT ? 1 : 0);
    },
  },
  "tx_rate": { defaultDesc: true, key: (v, i) => (rates(v, i) ? v.f32At(i, OFF.TX_BPS) : -1) },
  "rx_rate": { defaultDesc: true, key: (v, i) => (rates(v, i) ? v.f32At(i, OFF.RX_BPS) : -1) },
  rate: {
    defaultDesc: true,
    key: (v, i) => (rates(v, i) ? v.f32At(i, OFF.TX_BPS) + v.f32At(i, OFF.RX_BPS) : -1),
  },
  "tx_bytes": counterKey(OFF.ORIG_BYTES),
  "rx_bytes": counterKey(OFF.REPLY_BYTES),
  "tx_packets": counterKey(OFF.ORIG_PACKETS),
  "rx_packets": counterKey(OFF.REPLY_PACKETS),
  age: {
    defaultDesc: true,
    // The age at any one moment orders like minus the start time, which needs no clock.
    key: (v, i) => (v.u16At(i, OFF.HAS) & Has.TIMESTAMP ? -v.f64At(i, OFF.START_MS) : -Infinity),
  },
  timeout: {
    defaultDesc: true,
    key: (v, i) =>
      v.u16At(i, OFF.HAS) & Has.TIMEOUT
        ? v.f64At(i, OFF.SAMPLED_MS) + v.u32At(i, OFF.TIMEOUT) * 1000 // when it expires
        : -Infinity,
  },
  mark: { defaultDesc: true, key: (v, i) => v.u32At(i, OFF.MARK) },
  zone: {
    defaultDesc: false,
    key: (v, i) => (v.u16At(i, OFF.HAS) & Has.ZONE ? v.u16At(i, OFF.ZONE) : -1),
  },
  flags: { defaultDesc: false, key: (v, i) => v.u32At(i, OFF.STATUS) },
  id: { defaultDesc: false, key: (v, i) => v.u32At(i, OFF.ID) },
  process: {
    defaultDesc: false,
    enriched: true,
    key: () => 0,
    textKey: (v, i, ctx) => {
      const o = ctx.owner?.(v.u32At(i, OFF.SLOT));
      return o === undefined ? null : `${o.name}\0${String(o.pid).padStart(10, "0")}`;
    },
  },
  ...enrichPair("host", (a) => a.host?.status === "resolved" ? a.host.name ?? null : null),
  ...enrichPair("country", (a) => geoOf(a).country),
  ...enrichPair("asn", (a) => geoOf(a).asn),
  ...enrichPair("org", (a) => geoOf(a).org),
  ...enrichPair("city", (a) => geoOf(a).city),
  ...enrichPair("class", (a) => a.cls),
};
