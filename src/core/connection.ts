/**
 * One connection as a plain object: what the outputs print and scripts read. Built on demand
 * from a record (the model keeps records, not objects). Field names are the stable scripting
 * interface documented in docs/fields.md and schema/connection.schema.json.
 *
 * @module
 */

import {
  formatAddress,
  Has,
  IPPROTO,
  OFF,
  protoName,
  RECORD_SIZE,
  type RecordView,
  stateName,
  statusFlags,
} from "../conntrack/mod.ts";
import type { Extra } from "../conntrack/mod.ts";
import type { Owner } from "./enrichment.ts";

/** A connection, flat, with snake_case fields (JSON, NDJSON and CSV use the same names). */
export interface Connection {
  id: number;
  family: "ipv4" | "ipv6";
  protocol: string;
  protonum: number;
  state: string | null;
  flags: string[];
  status: number;
  timeout: number | null;
  mark: number;
  zone: number | null;
  use: number | null;
  "orig_src": string;
  "orig_dst": string;
  "orig_sport": number | null;
  "orig_dport": number | null;
  "reply_src": string;
  "reply_dst": string;
  "reply_sport": number | null;
  "reply_dport": number | null;
  "icmp_type": number | null;
  "icmp_code": number | null;
  "icmp_id": number | null;
  "reply_icmp_type": number | null;
  "reply_icmp_code": number | null;
  "gre_src_key": number | null;
  "gre_dst_key": number | null;
  "orig_zone": number | null;
  "reply_zone": number | null;
  /** Source address after SNAT, when the reply tuple shows one (reply destination). */
  "nat_src": string | null;
  "nat_sport": number | null;
  /** Destination address after DNAT, when the reply tuple shows one (reply source). */
  "nat_dst": string | null;
  "nat_dport": number | null;
  /** Original direction (from the initiator): "tx"; reply direction: "rx". */
  "tx_packets": number | null;
  "tx_bytes": number | null;
  "rx_packets": number | null;
  "rx_bytes": number | null;
  "tx_bytes_per_s": number | null;
  "rx_bytes_per_s": number | null;
  "tx_packets_per_s": number | null;
  "rx_packets_per_s": number | null;
  start: string | null;
  "age_seconds": number | null;
  secctx: string | null;
  helper: string | null;
  labels: number[] | null;
  // Enrichment (null when off, unknown or not applicable; see docs/fields.md).
  /** Owning process of the local socket, for connections that end on this host. */
  process: string | null;
  pid: number | null;
  /** Reverse-DNS names of the original source and destination. */
  "src_host": string | null;
  "dst_host": string | null;
  /** Address classes (loopback, private, public, this-host, …). */
  "src_class": string | null;
  "dst_class": string | null;
  /** GeoIP: ISO country code, AS number and organisation, city. */
  "src_country": string | null;
  "dst_country": string | null;
  "src_asn": number | null;
  "dst_asn": number | null;
  "src_org": string | null;
  "dst_org": string | null;
  "src_city": string | null;
  "dst_city": string | null;
  /** Service names of the original ports (/etc/services). */
  "sport_service": string | null;
  "dport_service": string | null;
}

/** The enrichment fields of a {@linkcode Connection}, filled after it is built. */
export type EnrichedFields = Pick<
  Connection,
  | "process"
  | "pid"
  | "src_host"
  | "dst_host"
  | "src_class"
  | "dst_class"
  | "src_country"
  | "dst_country"
  | "src_asn"
  | "dst_asn"
  | "src_org"
  | "dst_org"
  | "src_city"
  | "dst_city"
  | "sport_service"
  | "dport_service"
>;

/** Field names in output order (CSV columns). */
export const CONNECTION_FIELDS: readonly (keyof Connection)[] = [
  "id",
  "family",
  "protocol",
  "protonum",
  "state",
  "flags",
  "status",
  "timeout",
  "mark",
  "zone",
  "use",
  "orig_src",
  "orig_dst",
  "orig_sport",
  "orig_dport",
  "reply_src",
  "reply_dst",
  "reply_sport",
  "reply_dport",
  "icmp_type",
  "icmp_code",
  "icmp_id",
  "reply_icmp_type",
  "reply_icmp_code",
  "gre_src_key",
  "gre_dst_key",
  "orig_zone",
  "reply_zone",
  "nat_src",
  "nat_sport",
  "nat_dst",
  "nat_dport",
  "tx_packets",
  "tx_bytes",
  "rx_packets",
  "rx_bytes",
  "tx_bytes_per_s",
  "rx_bytes_per_s",
  "tx_packets_per_s",
  "rx_packets_per_s",
  "start",
  "age_seconds",
  "secctx",
  "helper",
  "labels",
  "process",
  "pid",
  "src_host",
  "dst_host",
  "src_class",
  "dst_class",
  "src_country",
  "dst_country",
  "src_asn",
  "dst_asn",
  "src_org",
  "dst_org",
  "src_city",
  "dst_city",
  "sport_service",
  "dport_service",
];

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Builds the connection of record `i` in `v`. `nowMs` is the time against which the timeout and
 * age are reported (the time the output is made); `owner` is the owning process, when known.
 * Enrichment fields other than the owner start as null (see enrich/fill.ts).
 */
export function toConnection(
  v: RecordView,
  i: number,
  extra: Extra | undefined,
  nowMs: number,
  owner?: Owner,
): Connection {
  const fam = v.u8At(i, OFF.FAMILY);
  const l4 = v.u8At(i, OFF.L4);
  const has = v.u16At(i, OFF.HAS);
  const base = i * RECORD_SIZE;
  const addr = (off: number) => formatAddress(fam, v.u8, base + off);
  const isIcmp = l4 === IPPROTO.ICMP || l4 === IPPROTO.ICMPV6;
  const isGre = l4 === IPPROTO.GRE;
  const ports = (has & Has.PORTS) !== 0 && !isGre;
  const port = (off: number) => (ports ? v.u16At(i, off) : null);
  const origSrc = addr(OFF.ORIG_SRC), origDst = addr(OFF.ORIG_DST);
  const replySrc = addr(OFF.REPLY_SRC), replyDst = addr(OFF.REPLY_DST);
  const origSport = port(OFF.ORIG_SPORT), origDport = port(OFF.ORIG_DPORT);
  const replySport = port(OFF.REPLY_SPORT), replyDport = port(OFF.REPLY_DPORT);
  const snat = replyDst !== origSrc || (ports && replyDport !== origSport);
  const dnat = replySrc !== origDst || (ports && replySport !== origDport);
  const counters = (has & Has.COUNTERS) !== 0;
  const rates = (has & Has.RATES) !== 0;
  const status = v.u32At(i, OFF.STATUS);
  const sampled = v.f64At(i, OFF.SAMPLED_MS);
  const startMs = has & Has.TIMESTAMP ? v.f64At(i, OFF.START_MS) : null;
  const timeout = has & Has.TIMEOUT
    ? Math.max(0, v.u32At(i, OFF.TIMEOUT) - Math.floor((nowMs - sampled) / 1000))
    : null;
  const state = stateName(l4, v.u8At(i, OFF.STATE));
  return {
    id: v.u32At(i, OFF.ID),
    family: fam === 10 ? "ipv6" : "ipv4",
    protocol: protoName(l4),
    protonum: l4,
    state: state ?? null,
    flags: statusFlags(status),
    status,
    timeout,
    mark: v.u32At(i, OFF.MARK),
    zone: has & Has.ZONE ? v.u16At(i, OFF.ZONE) : null,
    use: has & Has.USE ? v.u32At(i, OFF.USE) : null,
    "orig_src": origSrc,
    "orig_dst": origDst,
    "orig_sport": origSport,
    "orig_dport": origDport,
    "reply_src": replySrc,
    "reply_dst": replyDst,
    "reply_sport": replySport,
    "reply_dport": replyDport,
    "icmp_type": isIcmp ? v.u8At(i, OFF.ORIG_ICMP_TYPE) : null,
    "icmp_code": isIcmp ? v.u8At(i, OFF.ORIG_ICMP_CODE) : null,
    "icmp_id": isIcmp ? v.u16At(i, OFF.ORIG_SPORT) : null,
    "reply_icmp_type": isIcmp ? v.u8At(i, OFF.REPLY_ICMP_TYPE) : null,
    "reply_icmp_code": isIcmp ? v.u8At(i, OFF.REPLY_ICMP_CODE) : null,
    "gre_src_key": isGre ? v.u16At(i, OFF.ORIG_SPORT) : null,
    "gre_dst_key": isGre ? v.u16At(i, OFF.ORIG_DPORT) : null,
    "orig_zone": extra?.origZone ?? null,
    "reply_zone": extra?.replyZone ?? null,
    "nat_src": snat ? replyDst : null,
    "nat_sport": snat ? replyDport : null,
    "nat_dst": dnat ? replySrc : null,
    "nat_dport": dnat ? replySport : null,
    "tx_packets": counters ? v.f64At(i, OFF.ORIG_PACKETS) : null,
    "tx_bytes": counters ? v.f64At(i, OFF.ORIG_BYTES) : null,
    "rx_packets": counters ? v.f64At(i, OFF.REPLY_PACKETS) : null,
    "rx_bytes": counters ? v.f64At(i, OFF.REPLY_BYTES) : null,
    "tx_bytes_per_s": rates ? round2(v.f32At(i, OFF.TX_BPS)) : null,
    "rx_bytes_per_s": rates ? round2(v.f32At(i, OFF.RX_BPS)) : null,
    "tx_packets_per_s": rates ? round2(v.f32At(i, OFF.TX_PPS)) : null,
    "rx_packets_per_s": rates ? round2(v.f32At(i, OFF.RX_PPS)) : null,
    start: startMs === null ? null : new Date(startMs).toISOString(),
    "age_seconds": startMs === null ? null : Math.max(0, Math.floor((nowMs - startMs) / 1000)),
    secctx: extra?.secctx ?? null,
    helper: extra?.helper ?? null,
    labels: extra?.labels ?? null,
    process: owner?.name ?? null,
    pid: owner?.pid ?? null,
    "src_host": null,
    "dst_host": null,
    "src_class": null,
    "dst_class": null,
    "src_country": null,
    "dst_country": null,
    "src_asn": null,
    "dst_asn": null,
    "src_org": null,
    "dst_org": null,
    "src_city": null,
    "dst_city": null,
    "sport_service": null,
    "dport_service": null,
  };
}
