/**
 * Row encoders straight from records to bytes, for `--once` at a quarter-million rows: no
 * `Connection` object per row, no row string. Each field is read from the record as
 * `toConnection()` (src/core/connection.ts) reads it and written as the object path
 * ({@linkcode jsonObjectEncoder}, {@linkcode csvRowEncoder}) writes it, byte for byte:
 * numbers and IPv4 addresses as digits, plain ASCII text as it is, and everything else (text
 * from outside, arrays) through the same `jsonValue()`/`csvCell()` as the object path, so the
 * escaping of hostile text is the one `printableJson()` and {@linkcode printable} do.
 * test/output/records_test.ts holds the two paths equal on random records.
 *
 * Pure: the bytes go to the caller's `out`, which must be done with them when it resolves.
 *
 * @module
 */

import {
  type Extra,
  formatIPv6,
  Has,
  IPPROTO,
  OFF,
  protoName,
  RECORD_SIZE,
  type RecordView,
  stateName,
  statusFlags,
} from "../conntrack/mod.ts";
import type { EnrichedFields, Owner } from "../core/mod.ts";
import { csvCell, type Field, jsonString, jsonValue } from "./encode.ts";

const encoder = new TextEncoder();

/** Bytes gathered and handed to `out` in pieces of about 128 KiB. */
export class ByteSink {
  #buf = new Uint8Array(1 << 18);
  #pos = 0;
  readonly #out: (bytes: Uint8Array) => Promise<void>;

  constructor(out: (bytes: Uint8Array) => Promise<void>) {
    this.#out = out;
  }

  /** Whether a piece is full and should be flushed. */
  get full(): boolean {
    return this.#pos >= 1 << 17;
  }

  /** Text known to be ASCII, a byte per character. */
  ascii(s: string): void {
    this.#room(s.length);
    const b = this.#buf;
    let p = this.#pos;
    for (let k = 0; k < s.length; k++) b[p++] = s.charCodeAt(k);
    this.#pos = p;
  }

  /** Any text, as UTF-8. */
  text(s: string): void {
    this.#room(3 * s.length);
    this.#pos += encoder.encodeInto(s, this.#buf.subarray(this.#pos)).written;
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    if (b.length > 16) this.#buf.set(b, this.#pos);
    else {
      // A separator or a field's prefix: a loop beats set() on a few bytes.
      const buf = this.#buf, p = this.#pos;
      for (let k = 0; k < b.length; k++) buf[p + k] = b[k]!;
    }
    this.#pos += b.length;
  }

  /** One byte. */
  byte(c: number): void {
    this.#room(1);
    this.#buf[this.#pos++] = c;
  }

  /** A non-negative safe integer as decimal digits; any other number as `String()` writes it. */
  number(n: number): void {
    if (!(n >= 0 && Number.isSafeInteger(n))) return this.ascii(String(n));
    this.#room(16);
    const b = this.#buf;
    if (n < 10) {
      b[this.#pos++] = 48 + n;
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.#pos + digits;
    this.#pos = p;
    if (n <= 0x7fffffff) {
      // 32-bit integer steps: the common case (ids, ports, timeouts, small counters).
      for (let x = n | 0; x > 0; x = (x / 10) | 0) b[--p] = 48 + (x % 10);
      return;
    }
    for (let x = n; x >= 1; x = Math.floor(x / 10)) b[--p] = 48 + (x % 10);
  }

  /** An IPv4 address from its 4 bytes at `off` of `src`, dotted quad. */
  ipv4(src: Uint8Array, off: number): void {
    for (let k = 0; k < 4; k++) {
      if (k > 0) this.byte(46);
      this.number(src[off + k]!);
    }
  }

  /** Hands what is gathered to `out`. */
  async flush(): Promise<void> {
    if (this.#pos === 0) return;
    const n = this.#pos;
    this.#pos = 0;
    await this.#out(this.#buf.subarray(0, n));
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const b = new Uint8Array(Math.max(2 * this.#buf.length, this.#pos + n));
    b.set(this.#buf.subarray(0, this.#pos));
    this.#buf = b;
  }
}

/** One record to encode, and what is known of it besides its bytes. */
export interface RecordRow {
  v: RecordView;
  i: number;
  extra: Extra | undefined;
  owner: Owner | undefined;
  /** The enrichment fields (null ones when undefined). */
  enriched: EnrichedFields | undefined;
}

/** Writes one row of a record. */
export type RecordEncoder = (sink: ByteSink, row: RecordRow) => void;

// What a row's fields share, read once per row.
class Row {
  v!: RecordView;
  u8!: Uint8Array;
  i = 0;
  base = 0;
  fam = 0;
  l4 = 0;
  has = 0;
  ports = false;
  icmp = false;
  gre = false;
  snat = false;
  dnat = false;
  extra: Extra | undefined;
  owner: Owner | undefined;
  enriched: EnrichedFields | undefined;
  nowMs = 0;

  load(r: RecordRow): void {
    const v = r.v, i = r.i;
    this.v = v;
    this.u8 = v.u8;
    this.i = i;
    this.base = i * RECORD_SIZE;
    this.fam = v.u8At(i, OFF.FAMILY);
    this.l4 = v.u8At(i, OFF.L4);
    this.has = v.u16At(i, OFF.HAS);
    this.icmp = this.l4 === IPPROTO.ICMP || this.l4 === IPPROTO.ICMPV6;
    this.gre = this.l4 === IPPROTO.GRE;
    this.ports = (this.has & Has.PORTS) !== 0 && !this.gre;
    this.extra = r.extra;
    this.owner = r.owner;
    this.enriched = r.enriched;
    // As toConnection: NATed when the reply tuple's addresses (or ports) differ.
    this.snat = !this.sameAddr(OFF.REPLY_DST, OFF.ORIG_SRC) ||
      (this.ports && this.u16(OFF.REPLY_DPORT) !== this.u16(OFF.ORIG_SPORT));
    this.dnat = !this.sameAddr(OFF.REPLY_SRC, OFF.ORIG_DST) ||
      (this.ports && this.u16(OFF.REPLY_SPORT) !== this.u16(OFF.ORIG_DPORT));
  }

  u16(off: number): number {
    return this.v.u16At(this.i, off);
  }
  u32(off: number): number {
    return this.v.u32At(this.i, off);
  }

  // Address texts are equal exactly when the bytes the family formats are (inet_ntop is
  // one to one).
  sameAddr(a: number, b: number): boolean {
    const u8 = this.u8, n = this.fam === 10 ? 16 : 4;
    for (let k = 0; k < n; k++) if (u8[this.base + a + k] !== u8[this.base + b + k]) return false;
    return true;
  }
}

/** A field's value: a number, null, or a value for the generic path. */
type Read = (r: Row) => unknown;

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The fields that are addresses, by the offset they are read at (NAT ones when NATed). */
const ADDRESS: Partial<Record<Field, (r: Row) => number>> = {
  "orig_src": () => OFF.ORIG_SRC,
  "orig_dst": () => OFF.ORIG_DST,
  "reply_src": () => OFF.REPLY_SRC,
  "reply_dst": () => OFF.REPLY_DST,
  "nat_src": (r) => (r.snat ? OFF.REPLY_DST : -1),
  "nat_dst": (r) => (r.dnat ? OFF.REPLY_SRC : -1),
};

const port = (off: number): Read => (r) => (r.ports ? r.u16(off) : null);
const icmp = (read: Read): Read => (r) => (r.icmp ? read(r) : null);
const counter = (off: number): Read => (r) => r.has & Has.COUNTERS ? r.v.f64At(r.i, off) : null;
const rate = (off: number): Read => (r) => r.has & Has.RATES ? round2(r.v.f32At(r.i, off)) : null;
const startMs = (r: Row): number | null =>
  r.has & Has.TIMESTAMP ? r.v.f64At(r.i, OFF.START_MS) : null;

const pad2 = (n: number) => (n < 10 ? "0" : "") + n;
const pad3 = (n: number) => (n < 10 ? "00" : n < 100 ? "0" : "") + n;

/**
 * `new Date(ms).toISOString()`, without the Date, for years 1970 to 9999 (others through the
 * Date): days to a civil date as in Howard Hinnant's `civil_from_days`.
 */
export function isoTime(ms: number): string {
  const t = Math.trunc(ms);
  if (!(t >= 0 && t < 253402300800000)) return new Date(ms).toISOString();
  const days = Math.floor(t / 86400000);
  let rest = t - days * 86400000;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const h = Math.floor(rest / 3600000);
  rest -= h * 3600000;
  const min = Math.floor(rest / 60000);
  rest -= min * 60000;
  const sec = Math.floor(rest / 1000);
  return `${y}-${pad2(m)}-${pad2(d)}T${pad2(h)}:${pad2(min)}:${pad2(sec)}.${
    pad3(rest - sec * 1000)
  }Z`;
}

/** Every field but the addresses and flags, read as toConnection reads it. */
const READ: Record<Exclude<Field, "flags">, Read> = {
  id: (r) => r.u32(OFF.ID),
  family: (r) => (r.fam === 10 ? "ipv6" : "ipv4"),
  protocol: (r) => protoName(r.l4),
  protonum: (r) => r.l4,
  state: (r) => stateName(r.l4, r.v.u8At(r.i, OFF.STATE)) ?? null,
  status: (r) => r.u32(OFF.STATUS),
  timeout: (r) =>
    r.has & Has.TIMEOUT
      ? Math.max(
        0,
        r.u32(OFF.TIMEOUT) - Math.floor((r.nowMs - r.v.f64At(r.i, OFF.SAMPLED_MS)) / 1000),
      )
      : null,
  mark: (r) => r.u32(OFF.MARK),
  zone: (r) => (r.has & Has.ZONE ? r.u16(OFF.ZONE) : null),
  use: (r) => (r.has & Has.USE ? r.u32(OFF.USE) : null),
  "orig_src": () => null,
  "orig_dst": () => null,
  "reply_src": () => null,
  "reply_dst": () => null,
  "orig_sport": port(OFF.ORIG_SPORT),
  "orig_dport": port(OFF.ORIG_DPORT),
  "reply_sport": port(OFF.REPLY_SPORT),
  "reply_dport": port(OFF.REPLY_DPORT),
  "icmp_type": icmp((r) => r.v.u8At(r.i, OFF.ORIG_ICMP_TYPE)),
  "icmp_code": icmp((r) => r.v.u8At(r.i, OFF.ORIG_ICMP_CODE)),
  "icmp_id": icmp((r) => r.u16(OFF.ORIG_SPORT)),
  "reply_icmp_type": icmp((r) => r.v.u8At(r.i, OFF.REPLY_ICMP_TYPE)),
  "reply_icmp_code": icmp((r) => r.v.u8At(r.i, OFF.REPLY_ICMP_CODE)),
  "gre_src_key": (r) => (r.gre ? r.u16(OFF.ORIG_SPORT) : null),
  "gre_dst_key": (r) => (r.gre ? r.u16(OFF.ORIG_DPORT) : null),
  "orig_zone": (r) => r.extra?.origZone ?? null,
  "reply_zone": (r) => r.extra?.replyZone ?? null,
  "nat_src": () => null,
  "nat_sport": (r) => (r.snat ? (r.ports ? r.u16(OFF.REPLY_DPORT) : null) : null),
  "nat_dst": () => null,
  "nat_dport": (r) => (r.dnat ? (r.ports ? r.u16(OFF.REPLY_SPORT) : null) : null),
  "tx_packets": counter(OFF.ORIG_PACKETS),
  "tx_bytes": counter(OFF.ORIG_BYTES),
  "rx_packets": counter(OFF.REPLY_PACKETS),
  "rx_bytes": counter(OFF.REPLY_BYTES),
  "tx_bytes_per_s": rate(OFF.TX_BPS),
  "rx_bytes_per_s": rate(OFF.RX_BPS),
  "tx_packets_per_s": rate(OFF.TX_PPS),
  "rx_packets_per_s": rate(OFF.RX_PPS),
  start: (r) => {
    const s = startMs(r);
    return s === null ? null : isoTime(s);
  },
  "age_seconds": (r) => {
    const s = startMs(r);
    return s === null ? null : Math.max(0, Math.floor((r.nowMs - s) / 1000));
  },
  secctx: (r) => r.extra?.secctx ?? null,
  helper: (r) => r.extra?.helper ?? null,
  labels: (r) => r.extra?.labels ?? null,
  process: (r) => r.owner?.name ?? null,
  pid: (r) => r.owner?.pid ?? null,
  "src_host": (r) => r.enriched?.src_host ?? null,
  "dst_host": (r) => r.enriched?.dst_host ?? null,
  "src_class": (r) => r.enriched?.src_class ?? null,
  "dst_class": (r) => r.enriched?.dst_class ?? null,
  "src_country": (r) => r.enriched?.src_country ?? null,
  "dst_country": (r) => r.enriched?.dst_country ?? null,
  "src_asn": (r) => r.enriched?.src_asn ?? null,
  "dst_asn": (r) => r.enriched?.dst_asn ?? null,
  "src_org": (r) => r.enriched?.src_org ?? null,
  "dst_org": (r) => r.enriched?.dst_org ?? null,
  "src_city": (r) => r.enriched?.src_city ?? null,
  "dst_city": (r) => r.enriched?.dst_city ?? null,
  "sport_service": (r) => r.enriched?.sport_service ?? null,
  "dport_service": (r) => r.enriched?.dport_service ?? null,
};

/** Text JSON writes as it is, between quotes: printable ASCII but `"` and `\\`. */
const JSON_PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** Text a CSV cell holds as it is: printable ASCII but `"` and `,`. */
const CSV_PLAIN = /^[\x20\x21\x23-\x2b\x2d-\x7e]*$/;

// A field's writer for one format: how its value, or its absence, becomes bytes.
type Put = (sink: ByteSink, r: Row) => void;

interface Format {
  /** A value as the object path writes it (`jsonValue()` or `csvCell()`), as bytes. */
  value(sink: ByteSink, v: unknown): void;
  /** The status word's flags, as the object path writes the array. */
  flags(status: number): Uint8Array;
  /** What a missing address writes ("null" in JSON, an empty cell in CSV). */
  none: string;
  /** The quote around an address ('"' in JSON, none in CSV). */
  quote: string;
}

function jsonFormat(inner: string | null): Format {
  const flags = new Map<number, Uint8Array>();
  return {
    value(sink, v) {
      if (v === null || v === undefined) sink.ascii("null");
      else if (typeof v === "number") {
        if (Number.isFinite(v)) sink.number(v);
        else sink.ascii("null");
      } else if (typeof v === "string") {
        if (JSON_PLAIN.test(v)) {
          sink.byte(34);
          sink.ascii(v);
          sink.byte(34);
        } else sink.text(jsonString(v));
      } else sink.text(jsonValue(v, inner));
    },
    flags(status) {
      let b = flags.get(status);
      if (b === undefined) {
        b = encoder.encode(jsonValue(statusFlags(status), inner));
        flags.set(status, b);
      }
      return b;
    },
    none: "null",
    quote: '"',
  };
}

function csvFormat(): Format {
  const flags = new Map<number, Uint8Array>();
  return {
    value(sink, v) {
      if (v === null || v === undefined) return;
      if (typeof v === "number") sink.number(v);
      else if (typeof v === "string" && CSV_PLAIN.test(v)) sink.ascii(v);
      else sink.text(csvCell(v));
    },
    flags(status) {
      let b = flags.get(status);
      if (b === undefined) {
        b = encoder.encode(csvCell(statusFlags(status)));
        flags.set(status, b);
      }
      return b;
    },
    none: "",
    quote: "",
  };
}

function putOf(field: Field, f: Format): Put {
  if (field === "flags") return (sink, r) => sink.bytes(f.flags(r.u32(OFF.STATUS)));
  const addr = ADDRESS[field];
  if (addr !== undefined) {
    return (sink, r) => {
      const off = addr(r);
      if (off < 0) return sink.ascii(f.none);
      sink.ascii(f.quote);
      if (r.fam === 10) sink.ascii(formatIPv6(r.u8, r.base + off));
      else sink.ipv4(r.u8, r.base + off);
      sink.ascii(f.quote);
    };
  }
  const read = READ[field];
  return (sink, r) => f.value(sink, read(r));
}

function encoderOf(
  fields: readonly Field[],
  f: Format,
  prefixes: readonly Uint8Array[],
  open: Uint8Array,
  close: Uint8Array,
  nowMs: number,
): RecordEncoder {
  const puts = fields.map((x) => putOf(x, f));
  const row = new Row();
  row.nowMs = nowMs;
  return (sink, r) => {
    row.load(r);
    sink.bytes(open);
    for (let k = 0; k < puts.length; k++) {
      sink.bytes(prefixes[k]!);
      puts[k]!(sink, row);
    }
    sink.bytes(close);
  };
}

/**
 * One record as a JSON object with `fields` in that order, the bytes of
 * `jsonObjectEncoder(fields, indent)` of its connection as of `nowMs`. No line end.
 */
export function recordJsonEncoder(
  fields: readonly Field[],
  indent: string | null,
  nowMs: number,
): RecordEncoder {
  const inner = indent === null ? null : indent + "  ";
  const sep = indent === null ? ":" : ": ";
  const prefixes = fields.map((name, k) =>
    encoder.encode(
      (k === 0 ? "" : ",") + (inner === null ? "" : "\n" + inner) +
        JSON.stringify(name) + sep,
    )
  );
  const close = fields.length === 0 ? "}" : indent === null ? "}" : "\n" + indent + "}";
  return encoderOf(
    fields,
    jsonFormat(inner),
    prefixes,
    encoder.encode("{"),
    encoder.encode(close),
    nowMs,
  );
}

/** One record as a CSV line of `fields`, with its CRLF: the bytes of `csvRowEncoder(fields)`. */
export function recordCsvEncoder(fields: readonly Field[], nowMs: number): RecordEncoder {
  const prefixes = fields.map((_, k) => encoder.encode(k === 0 ? "" : ","));
  return encoderOf(
    fields,
    csvFormat(),
    prefixes,
    new Uint8Array(0),
    encoder.encode("\r\n"),
    nowMs,
  );
}
