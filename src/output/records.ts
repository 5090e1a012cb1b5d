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
 * Fast because a listing of 200k rows writes 12 million fields: each field is one case of a
 * switch (no call through a closure, no number boxed into a value), integers are written two
 * digits at a time, the texts rows share (protocol, state, class, country, service names) are
 * encoded once and kept, as are the dates of `start` (the time of day is written in digits).
 *
 * Pure: the bytes go to the caller's `out`, which must be done with them when it resolves.
 *
 * @module
 */

import {
  type Extra,
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

/** Lower-case hexadecimal digits, as ASCII. */
const HEX = new TextEncoder().encode("0123456789abcdef");
/** The 16-bit words of the IPv6 address being written. */
const WORDS = new Uint16Array(8);

/** "00" to "99" as ASCII digit pairs. */
const PAIRS = Uint8Array.from(
  { length: 200 },
  (_, k) => 48 + (k % 2 === 0 ? (k >> 1) / 10 | 0 : (k >> 1) % 10),
);

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
    if (n >= 0 && n <= 0x7fffffff && (n | 0) === n) return this.#int(n);
    if (!(n >= 0 && Number.isSafeInteger(n))) return this.ascii(String(n));
    this.#room(16);
    const b = this.#buf;
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.#pos + digits;
    this.#pos = p;
    for (let x = n; x >= 1; x = Math.floor(x / 10)) b[--p] = 48 + (x % 10);
  }

  /**
   * The little-endian unsigned 32-bit integer at `off` of `src` (read here, not passed: a
   * number past 31 bits passed on is boxed).
   */
  u32(src: Uint8Array, off: number): void {
    const n = (src[off]! | (src[off + 1]! << 8) | (src[off + 2]! << 16) | (src[off + 3]! << 24)) >>>
      0;
    if (n <= 0x7fffffff) return this.#int(n);
    this.#room(10);
    const b = this.#buf;
    let p = this.#pos + 10;
    this.#pos = p;
    for (let x = n; x >= 1; x = Math.floor(x / 10)) b[--p] = 48 + (x % 10);
  }

  /** An IPv4 address from its 4 bytes at `off` of `src`, dotted quad. */
  ipv4(src: Uint8Array, off: number): void {
    this.#room(15);
    const b = this.#buf;
    let p = this.#pos;
    for (let k = 0; k < 4; k++) {
      if (k > 0) b[p++] = 46;
      const o = src[off + k]!;
      if (o >= 100) {
        const h = (o / 100) | 0, t = o - 100 * h;
        b[p++] = 48 + h;
        b[p++] = PAIRS[2 * t]!;
        b[p++] = PAIRS[2 * t + 1]!;
      } else if (o >= 10) {
        b[p++] = PAIRS[2 * o]!;
        b[p++] = PAIRS[2 * o + 1]!;
      } else b[p++] = 48 + o;
    }
    this.#pos = p;
  }

  /**
   * An IPv6 address from its 16 bytes at `off` of `src`, as `formatIPv6()` (glibc's inet_ntop)
   * writes it, without making its text.
   */
  ipv6(src: Uint8Array, off: number): void {
    const w = WORDS;
    for (let k = 0; k < 8; k++) w[k] = (src[off + 2 * k]! << 8) | src[off + 2 * k + 1]!;
    // The longest run (of 2 or more) of zero words becomes "::"; the first of equal ones.
    let bestBase = -1, bestLen = 0, curBase = -1, curLen = 0;
    for (let k = 0; k < 8; k++) {
      if (w[k] === 0) {
        if (curBase < 0) {
          curBase = k;
          curLen = 1;
        } else curLen++;
      } else if (curBase >= 0) {
        if (bestBase < 0 || curLen > bestLen) {
          bestBase = curBase;
          bestLen = curLen;
        }
        curBase = -1;
      }
    }
    if (curBase >= 0 && (bestBase < 0 || curLen > bestLen)) {
      bestBase = curBase;
      bestLen = curLen;
    }
    if (bestBase >= 0 && bestLen < 2) bestBase = -1;
    this.#room(46);
    const b = this.#buf;
    let p = this.#pos;
    for (let k = 0; k < 8; k++) {
      if (bestBase >= 0 && k >= bestBase && k < bestBase + bestLen) {
        if (k === bestBase) b[p++] = 58;
        continue;
      }
      if (k !== 0) b[p++] = 58;
      if (k === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
        // IPv4-mapped or IPv4-compatible: the last 4 bytes as a dotted quad.
        this.#pos = p;
        this.ipv4(src, off + 12);
        p = this.#pos;
        break;
      }
      const x = w[k]!;
      if (x >= 0x1000) b[p++] = HEX[x >> 12]!;
      if (x >= 0x100) b[p++] = HEX[(x >> 8) & 15]!;
      if (x >= 0x10) b[p++] = HEX[(x >> 4) & 15]!;
      b[p++] = HEX[x & 15]!;
    }
    if (bestBase >= 0 && bestBase + bestLen === 8) b[p++] = 58;
    this.#pos = p;
  }

  /** A time of day as `HH:MM:SS.mmmZ`, as an ISO 8601 time writes it. */
  clock(h: number, min: number, sec: number, ms: number): void {
    this.#room(13);
    const b = this.#buf;
    let p = this.#pos;
    b[p++] = PAIRS[2 * h]!;
    b[p++] = PAIRS[2 * h + 1]!;
    b[p++] = 58;
    b[p++] = PAIRS[2 * min]!;
    b[p++] = PAIRS[2 * min + 1]!;
    b[p++] = 58;
    b[p++] = PAIRS[2 * sec]!;
    b[p++] = PAIRS[2 * sec + 1]!;
    b[p++] = 46;
    b[p++] = 48 + ((ms / 100) | 0);
    b[p++] = PAIRS[2 * (ms % 100)]!;
    b[p++] = PAIRS[2 * (ms % 100) + 1]!;
    b[p++] = 90;
    this.#pos = p;
  }

  // A 31-bit integer, two digits at a time.
  #int(n: number): void {
    this.#room(10);
    const b = this.#buf;
    const digits = n < 10
      ? 1
      : n < 100
      ? 2
      : n < 1000
      ? 3
      : n < 10000
      ? 4
      : n < 100000
      ? 5
      : n < 1000000
      ? 6
      : n < 10000000
      ? 7
      : n < 100000000
      ? 8
      : n < 1000000000
      ? 9
      : 10;
    let p = this.#pos + digits;
    this.#pos = p;
    let x = n;
    while (x >= 100) {
      const q = (x / 100) | 0, r = 2 * (x - 100 * q);
      b[--p] = PAIRS[r + 1]!;
      b[--p] = PAIRS[r]!;
      x = q;
    }
    if (x >= 10) {
      b[--p] = PAIRS[2 * x + 1]!;
      b[--p] = PAIRS[2 * x]!;
    } else b[--p] = 48 + x;
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

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Texts whose bytes a format keeps (protocol, state, class, country, org, service names). */
const TEXT_CACHE = 4096;
/** Days whose date a format keeps (`start`). */
const DAY_CACHE = 1024;
/** The first millisecond `isoTime()` no longer writes with a four-digit year. */
const YEAR_10000 = 253402300800000;

// How one format writes values: as the object path (`jsonValue()` or `csvCell()`) writes them,
// as bytes. The texts rows share are encoded once and kept (bounded).
class Format {
  readonly json: boolean;
  readonly #inner: string | null;
  /** What a missing value writes ("null" in JSON, an empty cell in CSV). */
  readonly none: Uint8Array;
  /** The quote around an address or a time ('"' in JSON, none in CSV). */
  readonly quote: number;
  readonly #texts = new Map<string, Uint8Array>();
  readonly #flags = new Map<number, Uint8Array>();
  readonly #days = new Map<number, Uint8Array>();

  constructor(json: boolean, inner: string | null) {
    this.json = json;
    this.#inner = inner;
    this.none = encoder.encode(json ? "null" : "");
    this.quote = json ? 34 : -1;
  }

  /** Any value, as the object path writes it. */
  value(sink: ByteSink, v: unknown): void {
    if (v === null || v === undefined) sink.bytes(this.none);
    else if (typeof v === "number") this.num(sink, v);
    else if (typeof v === "string") this.text(sink, v);
    else sink.text(this.json ? jsonValue(v, this.#inner) : csvCell(v));
  }

  /** A number (JSON writes a non-finite one as null). */
  num(sink: ByteSink, n: number): void {
    if (this.json && !Number.isFinite(n)) sink.bytes(this.none);
    else sink.number(n);
  }

  /** A text; `null` writes the missing value. */
  text(sink: ByteSink, t: string | null): void {
    if (t === null) return sink.bytes(this.none);
    const kept = this.#texts.get(t);
    if (kept !== undefined) return sink.bytes(kept);
    const b = encoder.encode(this.json ? jsonString(t) : csvCell(t));
    if (this.#texts.size < TEXT_CACHE) this.#texts.set(t, b);
    sink.bytes(b);
  }

  /** The status word's flags, as the object path writes the array. */
  flags(sink: ByteSink, status: number): void {
    let b = this.#flags.get(status);
    if (b === undefined) {
      const f = statusFlags(status);
      b = encoder.encode(this.json ? jsonValue(f, this.#inner) : csvCell(f));
      this.#flags.set(status, b);
    }
    sink.bytes(b);
  }

  /**
   * Record `i`'s start as `isoTime()` writes it: the date kept per day, the time of day in
   * digits. (Read here, not passed: a number past 31 bits passed on is boxed, 200k times.)
   */
  time(sink: ByteSink, v: RecordView, i: number): void {
    const ms = v.f64At(i, OFF.START_MS);
    const t = Math.trunc(ms);
    if (!(t >= 0 && t < YEAR_10000)) return this.text(sink, isoTime(ms));
    const day = Math.floor(t / 86400000);
    let date = this.#days.get(day);
    if (date === undefined) {
      // "YYYY-MM-DDT", with the JSON quote.
      date = encoder.encode((this.json ? '"' : "") + isoTime(day * 86400000).slice(0, 11));
      if (this.#days.size >= DAY_CACHE) this.#days.clear();
      this.#days.set(day, date);
    }
    sink.bytes(date);
    const rest = t - day * 86400000;
    const sec = Math.floor(rest / 1000);
    sink.clock(Math.floor(sec / 3600), Math.floor(sec / 60) % 60, sec % 60, rest - sec * 1000);
    if (this.json) sink.byte(34);
  }
}

// Field codes, for the writer's switch (a jump table: no call per field, no boxed value).
const ID = 0, FAMILY = 1, PROTOCOL = 2, PROTONUM = 3, STATE = 4, FLAGS = 5, STATUS = 6;
const TIMEOUT = 7, MARK = 8, ZONE = 9, USE = 10, ORIG_SRC = 11, ORIG_DST = 12;
const REPLY_SRC = 13, REPLY_DST = 14, ORIG_SPORT = 15, ORIG_DPORT = 16, REPLY_SPORT = 17;
const REPLY_DPORT = 18, ICMP_TYPE = 19, ICMP_CODE = 20, ICMP_ID = 21, REPLY_ICMP_TYPE = 22;
const REPLY_ICMP_CODE = 23, GRE_SRC_KEY = 24, GRE_DST_KEY = 25, ORIG_ZONE = 26, REPLY_ZONE = 27;
const NAT_SRC = 28, NAT_SPORT = 29, NAT_DST = 30, NAT_DPORT = 31, TX_PACKETS = 32;
const TX_BYTES = 33, RX_PACKETS = 34, RX_BYTES = 35, TX_BPS = 36, RX_BPS = 37, TX_PPS = 38;
const RX_PPS = 39, START = 40, AGE = 41, SECCTX = 42, HELPER = 43, LABELS = 44, PROCESS = 45;
const PID = 46, SRC_HOST = 47, DST_HOST = 48, SRC_CLASS = 49, DST_CLASS = 50;
const SRC_COUNTRY = 51, DST_COUNTRY = 52, SRC_ASN = 53, DST_ASN = 54, SRC_ORG = 55;
const DST_ORG = 56, SRC_CITY = 57, DST_CITY = 58, SPORT_SERVICE = 59, DPORT_SERVICE = 60;

const CODES: Record<Field, number> = {
  id: ID,
  family: FAMILY,
  protocol: PROTOCOL,
  protonum: PROTONUM,
  state: STATE,
  flags: FLAGS,
  status: STATUS,
  timeout: TIMEOUT,
  mark: MARK,
  zone: ZONE,
  use: USE,
  "orig_src": ORIG_SRC,
  "orig_dst": ORIG_DST,
  "reply_src": REPLY_SRC,
  "reply_dst": REPLY_DST,
  "orig_sport": ORIG_SPORT,
  "orig_dport": ORIG_DPORT,
  "reply_sport": REPLY_SPORT,
  "reply_dport": REPLY_DPORT,
  "icmp_type": ICMP_TYPE,
  "icmp_code": ICMP_CODE,
  "icmp_id": ICMP_ID,
  "reply_icmp_type": REPLY_ICMP_TYPE,
  "reply_icmp_code": REPLY_ICMP_CODE,
  "gre_src_key": GRE_SRC_KEY,
  "gre_dst_key": GRE_DST_KEY,
  "orig_zone": ORIG_ZONE,
  "reply_zone": REPLY_ZONE,
  "nat_src": NAT_SRC,
  "nat_sport": NAT_SPORT,
  "nat_dst": NAT_DST,
  "nat_dport": NAT_DPORT,
  "tx_packets": TX_PACKETS,
  "tx_bytes": TX_BYTES,
  "rx_packets": RX_PACKETS,
  "rx_bytes": RX_BYTES,
  "tx_bytes_per_s": TX_BPS,
  "rx_bytes_per_s": RX_BPS,
  "tx_packets_per_s": TX_PPS,
  "rx_packets_per_s": RX_PPS,
  start: START,
  "age_seconds": AGE,
  secctx: SECCTX,
  helper: HELPER,
  labels: LABELS,
  process: PROCESS,
  pid: PID,
  "src_host": SRC_HOST,
  "dst_host": DST_HOST,
  "src_class": SRC_CLASS,
  "dst_class": DST_CLASS,
  "src_country": SRC_COUNTRY,
  "dst_country": DST_COUNTRY,
  "src_asn": SRC_ASN,
  "dst_asn": DST_ASN,
  "src_org": SRC_ORG,
  "dst_org": DST_ORG,
  "src_city": SRC_CITY,
  "dst_city": DST_CITY,
  "sport_service": SPORT_SERVICE,
  "dport_service": DPORT_SERVICE,
};

// An address at byte offset `off` of the row (its family's text), quoted as the format quotes.
function address(sink: ByteSink, r: Row, off: number, f: Format): void {
  if (f.quote >= 0) sink.byte(f.quote);
  if (r.fam === 10) sink.ipv6(r.u8, r.base + off);
  else sink.ipv4(r.u8, r.base + off);
  if (f.quote >= 0) sink.byte(f.quote);
}

// A port-like 16-bit number when `on`, else the missing value.
function u16If(sink: ByteSink, r: Row, on: boolean, off: number, f: Format): void {
  if (on) sink.number(r.u16(off));
  else sink.bytes(f.none);
}

// One field of the row, read as toConnection reads it and written as the object path writes it.
function writeField(sink: ByteSink, r: Row, code: number, f: Format): void {
  const v = r.v, i = r.i;
  switch (code) {
    case ID:
      return sink.u32(r.u8, r.base + OFF.ID);
    case FAMILY:
      return f.text(sink, r.fam === 10 ? "ipv6" : "ipv4");
    case PROTOCOL:
      return f.text(sink, protoName(r.l4));
    case PROTONUM:
      return sink.number(r.l4);
    case STATE:
      return f.text(sink, stateName(r.l4, v.u8At(i, OFF.STATE)) ?? null);
    case FLAGS:
      return f.flags(sink, r.u32(OFF.STATUS));
    case STATUS:
      return sink.u32(r.u8, r.base + OFF.STATUS);
    case TIMEOUT:
      if ((r.has & Has.TIMEOUT) === 0) return sink.bytes(f.none);
      return f.num(
        sink,
        Math.max(
          0,
          r.u32(OFF.TIMEOUT) - Math.floor((r.nowMs - v.f64At(i, OFF.SAMPLED_MS)) / 1000),
        ),
      );
    case MARK:
      return sink.u32(r.u8, r.base + OFF.MARK);
    case ZONE:
      return u16If(sink, r, (r.has & Has.ZONE) !== 0, OFF.ZONE, f);
    case USE:
      if ((r.has & Has.USE) === 0) return sink.bytes(f.none);
      return sink.u32(r.u8, r.base + OFF.USE);
    case ORIG_SRC:
      return address(sink, r, OFF.ORIG_SRC, f);
    case ORIG_DST:
      return address(sink, r, OFF.ORIG_DST, f);
    case REPLY_SRC:
      return address(sink, r, OFF.REPLY_SRC, f);
    case REPLY_DST:
      return address(sink, r, OFF.REPLY_DST, f);
    case ORIG_SPORT:
      return u16If(sink, r, r.ports, OFF.ORIG_SPORT, f);
    case ORIG_DPORT:
      return u16If(sink, r, r.ports, OFF.ORIG_DPORT, f);
    case REPLY_SPORT:
      return u16If(sink, r, r.ports, OFF.REPLY_SPORT, f);
    case REPLY_DPORT:
      return u16If(sink, r, r.ports, OFF.REPLY_DPORT, f);
    case ICMP_TYPE:
      if (!r.icmp) return sink.bytes(f.none);
      return sink.number(v.u8At(i, OFF.ORIG_ICMP_TYPE));
    case ICMP_CODE:
      if (!r.icmp) return sink.bytes(f.none);
      return sink.number(v.u8At(i, OFF.ORIG_ICMP_CODE));
    case ICMP_ID:
      return u16If(sink, r, r.icmp, OFF.ORIG_SPORT, f);
    case REPLY_ICMP_TYPE:
      if (!r.icmp) return sink.bytes(f.none);
      return sink.number(v.u8At(i, OFF.REPLY_ICMP_TYPE));
    case REPLY_ICMP_CODE:
      if (!r.icmp) return sink.bytes(f.none);
      return sink.number(v.u8At(i, OFF.REPLY_ICMP_CODE));
    case GRE_SRC_KEY:
      return u16If(sink, r, r.gre, OFF.ORIG_SPORT, f);
    case GRE_DST_KEY:
      return u16If(sink, r, r.gre, OFF.ORIG_DPORT, f);
    case ORIG_ZONE:
      return f.value(sink, r.extra?.origZone);
    case REPLY_ZONE:
      return f.value(sink, r.extra?.replyZone);
    case NAT_SRC:
      if (!r.snat) return sink.bytes(f.none);
      return address(sink, r, OFF.REPLY_DST, f);
    case NAT_SPORT:
      return u16If(sink, r, r.snat && r.ports, OFF.REPLY_DPORT, f);
    case NAT_DST:
      if (!r.dnat) return sink.bytes(f.none);
      return address(sink, r, OFF.REPLY_SRC, f);
    case NAT_DPORT:
      return u16If(sink, r, r.dnat && r.ports, OFF.REPLY_SPORT, f);
    case TX_PACKETS:
      return counter(sink, r, OFF.ORIG_PACKETS, f);
    case TX_BYTES:
      return counter(sink, r, OFF.ORIG_BYTES, f);
    case RX_PACKETS:
      return counter(sink, r, OFF.REPLY_PACKETS, f);
    case RX_BYTES:
      return counter(sink, r, OFF.REPLY_BYTES, f);
    case TX_BPS:
      return rate(sink, r, OFF.TX_BPS, f);
    case RX_BPS:
      return rate(sink, r, OFF.RX_BPS, f);
    case TX_PPS:
      return rate(sink, r, OFF.TX_PPS, f);
    case RX_PPS:
      return rate(sink, r, OFF.RX_PPS, f);
    case START:
      if ((r.has & Has.TIMESTAMP) === 0) return sink.bytes(f.none);
      return f.time(sink, v, i);
    case AGE:
      if ((r.has & Has.TIMESTAMP) === 0) return sink.bytes(f.none);
      return f.num(sink, Math.max(0, Math.floor((r.nowMs - v.f64At(i, OFF.START_MS)) / 1000)));
    case SECCTX:
      return f.value(sink, r.extra?.secctx);
    case HELPER:
      return f.value(sink, r.extra?.helper);
    case LABELS:
      return f.value(sink, r.extra?.labels);
    case PROCESS:
      return f.value(sink, r.owner?.name);
    case PID:
      return f.value(sink, r.owner?.pid);
  }
  const e = r.enriched;
  if (e === undefined) return sink.bytes(f.none);
  switch (code) {
    case SRC_HOST:
      return f.value(sink, e.src_host);
    case DST_HOST:
      return f.value(sink, e.dst_host);
    case SRC_CLASS:
      return f.value(sink, e.src_class);
    case DST_CLASS:
      return f.value(sink, e.dst_class);
    case SRC_COUNTRY:
      return f.value(sink, e.src_country);
    case DST_COUNTRY:
      return f.value(sink, e.dst_country);
    case SRC_ASN:
      return f.value(sink, e.src_asn);
    case DST_ASN:
      return f.value(sink, e.dst_asn);
    case SRC_ORG:
      return f.value(sink, e.src_org);
    case DST_ORG:
      return f.value(sink, e.dst_org);
    case SRC_CITY:
      return f.value(sink, e.src_city);
    case DST_CITY:
      return f.value(sink, e.dst_city);
    case SPORT_SERVICE:
      return f.value(sink, e.sport_service);
    case DPORT_SERVICE:
      return f.value(sink, e.dport_service);
  }
}

function counter(sink: ByteSink, r: Row, off: number, f: Format): void {
  if ((r.has & Has.COUNTERS) === 0) sink.bytes(f.none);
  else f.num(sink, r.v.f64At(r.i, off));
}

function rate(sink: ByteSink, r: Row, off: number, f: Format): void {
  if ((r.has & Has.RATES) === 0) sink.bytes(f.none);
  else f.num(sink, round2(r.v.f32At(r.i, off)));
}

function encoderOf(
  fields: readonly Field[],
  f: Format,
  prefixes: readonly Uint8Array[],
  open: Uint8Array,
  close: Uint8Array,
  nowMs: number,
): RecordEncoder {
  const codes = Int32Array.from(fields, (x) => CODES[x]);
  const row = new Row();
  row.nowMs = nowMs;
  return (sink, r) => {
    row.load(r);
    sink.bytes(open);
    for (let k = 0; k < codes.length; k++) {
      sink.bytes(prefixes[k]!);
      writeField(sink, row, codes[k]!, f);
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
    new Format(true, inner),
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
    new Format(false, null),
    prefixes,
    new Uint8Array(0),
    encoder.encode("\r\n"),
    nowMs,
  );
}
