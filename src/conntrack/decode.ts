/**
 * Decodes ctnetlink messages (the kernel's conntrack dump and event messages) into the record
 * layout of `record.ts`.
 *
 * Why decode in TypeScript rather than through libnetfilter_conntrack's attribute getters:
 * the getters cost one FFI call per attribute and the library's callback one JS re-entry per
 * connection (about 25 crossings per entry, 6 million per second at 250k entries), and they
 * allocate a `struct nf_conntrack` per message. Reading the netlink attributes from the receive
 * buffer with a DataView touches each byte once and writes the record in place, without
 * allocating. For the same reason each nested reader spells out the attribute walk instead of
 * sharing an iterator or a callback: this is the hottest loop of conntop (25 attributes per
 * connection, millions per second at a quarter-million connections). The binding's getters stay available and a test checks this decoder against
 * `nfct_nlmsg_parse()` on real kernel messages.
 *
 * Pure functions over bytes: no I/O.
 *
 * @module
 */

import {
  CTA,
  CTA_COUNTERS,
  CTA_IP,
  CTA_PROTO,
  CTA_PROTOINFO,
  CTA_TIMESTAMP,
  CTA_TUPLE,
  IPCTNL_MSG_CT_DELETE,
  IPCTNL_MSG_CT_NEW,
  NFGENMSG_LEN,
  NFNL_SUBSYS_CTNETLINK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLMSG_HDRLEN,
  NO_STATE,
} from "./constants.ts";
import { Has, Kind, OFF, RECORD_SIZE } from "./record.ts";

/** Attributes kept beside the record because they are strings or variable-length. */
export interface Extra {
  /** SELinux security context (CTA_SECCTX). */
  secctx?: string;
  /** Connection tracking helper name (CTA_HELP), e.g. "ftp". */
  helper?: string;
  /** Connection label bit numbers set (CTA_LABELS). */
  labels?: number[];
  /** Stop time in ms since the epoch (only in DESTROY events with timestamps on). */
  stopMs?: number;
  /** Zone of the original direction (CTA_TUPLE_ZONE), when the kernel sends one. */
  origZone?: number;
  /** Zone of the reply direction. */
  replyZone?: number;
}

const TYPE_MASK = 0x3fff; // strips NLA_F_NESTED and NLA_F_NET_BYTEORDER
const decoder = new TextDecoder();

/** Decoder state reused across messages so decoding allocates nothing per connection. */
export class CtDecoder {
  /** The extra attributes of the last decoded message, or undefined when it had none. */
  extra: Extra | undefined = undefined;

  /**
   * Decodes the ctnetlink message whose nlmsghdr starts at `msgOff` in `src` into the record at
   * `recOff` of `out` (which must be zeroed by the caller where a fresh record is wanted).
   *
   * Returns the record kind (NEW, UPDATE or DESTROY), or -1 when the message is not a conntrack
   * message.
   */
  decode(src: DataView, msgOff: number, out: DataView, recOff: number): number {
    const len = src.getUint32(msgOff, true);
    const type = src.getUint16(msgOff + 4, true);
    const flags = src.getUint16(msgOff + 6, true);
    if (type >> 8 !== NFNL_SUBSYS_CTNETLINK) return -1;
    const msg = type & 0xff;
    let kind: number;
    if (msg === IPCTNL_MSG_CT_NEW) {
      kind = flags & (NLM_F_CREATE | NLM_F_EXCL) ? Kind.NEW : Kind.UPDATE;
    } else if (msg === IPCTNL_MSG_CT_DELETE) {
      kind = Kind.DESTROY;
    } else {
      return -1;
    }
    this.#resetExtra();
    out.setUint8(recOff + OFF.KIND, kind);
    out.setUint8(recOff + OFF.FAMILY, src.getUint8(msgOff + NLMSG_HDRLEN));
    out.setUint8(recOff + OFF.STATE, NO_STATE);
    let has = 0;
    const end = Math.min(msgOff + len, src.byteLength);
    let p = msgOff + NLMSG_HDRLEN + NFGENMSG_LEN;
    while (p + 4 <= end) {
      const alen = src.getUint16(p, true);
      if (alen < 4 || p + alen > end) break;
      const atype = src.getUint16(p + 2, true) & TYPE_MASK;
      const d = p + 4;
      const dlen = alen - 4;
      switch (atype) {
        case CTA.TUPLE_ORIG:
          has |= (dlen === TUPLE4_LEN ? tuple4(src, d, out, recOff, true) : 0) ||
            this.#tuple(src, d, d + dlen, out, recOff, true);
          break;
        case CTA.TUPLE_REPLY:
          has |= (dlen === TUPLE4_LEN ? tuple4(src, d, out, recOff, false) : 0) ||
            this.#tuple(src, d, d + dlen, out, recOff, false);
          break;
        case CTA.STATUS:
          out.setUint32(recOff + OFF.STATUS, src.getUint32(d), true);
          has |= Has.STATUS;
          break;
        case CTA.PROTOINFO:
          this.#protoinfo(src, d, d + dlen, out, recOff);
          break;
        case CTA.HELP:
          this.#helper(src, d, d + dlen);
          break;
        case CTA.TIMEOUT:
          out.setUint32(recOff + OFF.TIMEOUT, src.getUint32(d), true);
          has |= Has.TIMEOUT;
          break;
        case CTA.MARK:
          out.setUint32(recOff + OFF.MARK, src.getUint32(d), true);
          has |= Has.MARK;
          break;
        case CTA.COUNTERS_ORIG:
          if (dlen !== COUNTERS64_LEN || !counters64(src, d, out, recOff + OFF.ORIG_PACKETS)) {
            this.#counters(src, d, d + dlen, out, recOff + OFF.ORIG_PACKETS);
          }
          has |= Has.COUNTERS;
          break;
        case CTA.COUNTERS_REPLY:
          if (dlen !== COUNTERS64_LEN || !counters64(src, d, out, recOff + OFF.REPLY_PACKETS)) {
            this.#counters(src, d, d + dlen, out, recOff + OFF.REPLY_PACKETS);
          }
          has |= Has.COUNTERS;
          break;
        case CTA.USE:
          out.setUint32(recOff + OFF.USE, src.getUint32(d), true);
          has |= Has.USE;
          break;
        case CTA.ID:
          out.setUint32(recOff + OFF.ID, src.getUint32(d), true);
          has |= Has.ID;
          break;
        case CTA.ZONE:
          out.setUint16(recOff + OFF.ZONE, src.getUint16(d), true);
          has |= Has.ZONE;
          break;
        case CTA.SECCTX:
          this.#secctx(src, d, d + dlen);
          break;
        case CTA.TIMESTAMP:
          if (this.#timestamp(src, d, d + dlen, out, recOff)) has |= Has.TIMESTAMP;
          break;
        case CTA.LABELS:
          this.#labels(src, d, dlen);
          break;
      }
      p += (alen + 3) & ~3;
    }
    if (this.extra !== undefined) has |= Has.EXTRA;
    out.setUint16(recOff + OFF.HAS, has, true);
    return kind;
  }

  #resetExtra(): void {
    this.extra = undefined;
  }

  #tuple(src: DataView, p: number, end: number, out: DataView, rec: number, orig: boolean): number {
    let has = 0;
    while (p + 4 <= end) {
      const alen = src.getUint16(p, true);
      if (alen < 4 || p + alen > end) break;
      const atype = src.getUint16(p + 2, true) & TYPE_MASK;
      const d = p + 4;
      if (atype === CTA_TUPLE.IP) {
        this.#ip(src, d, p + alen, out, rec, orig);
      } else if (atype === CTA_TUPLE.PROTO) {
        has |= this.#proto(src, d, p + alen, out, rec, orig);
      } else if (atype === CTA_TUPLE.ZONE) {
        const zone = src.getUint16(d);
        if (orig) (this.extra ??= {}).origZone = zone;
        else (this.extra ??= {}).replyZone = zone;
      }
      p += (alen + 3) & ~3;
    }
    return has;
  }

  #ip(src: DataView, p: number, end: number, out: DataView, rec: number, orig: boolean): void {
    while (p + 4 <= end) {
      const alen = src.getUint16(p, true);
      if (alen < 4 || p + alen > end) break;
      const atype = src.getUint16(p + 2, true) & TYPE_MASK;
      const d = p + 4;
      const isSrc = atype === CTA_IP.V4_SRC || atype === CTA_IP.V6_SRC;
      const off = orig
        ? (isSrc ? OFF.ORIG_SRC : OFF.ORIG_DST)
        : (isSrc ? OFF.REPLY_SRC : OFF.REPLY_DST);
      if (atype === CTA_IP.V4_SRC || atype === CTA_IP.V4_DST) {
        out.setUint32(rec + off, src.getUint32(d, true), true);
      } else if (atype === CTA_IP.V6_SRC || atype === CTA_IP.V6_DST) {
        // Copy as four 32-bit words; the byte order round-trips unchanged.
        out.setUint32(rec + off, src.getUint32(d, true), true);
        out.setUint32(rec + off + 4, src.getUint32(d + 4, true), true);
        out.setUint32(rec + off + 8, src.getUint32(d + 8, true), true);
        out.setUint32(rec + off + 12, src.getUint32(d + 12, true), true);
      }
      p += (alen + 3) & ~3;
    }
  }

  #proto(src: DataView, p: number, end: number, out: DataView, rec: number, orig: boolean): number {
    let has = 0;
    while (p + 4 <= end) {
      const alen = src.getUint16(p, true);
      if (alen < 4 || p + alen > end) break;
      const atype = src.getUint16(p + 2, true) & TYPE_MASK;
      const d = p + 4;
      switch (atype) {
        case CTA_PROTO.NUM:
          if (orig) out.setUint8(rec + OFF.L4, src.getUint8(d));
          break;
        case CTA_PROTO.SRC_PORT:
          out.setUint16(rec + (orig ? OFF.ORIG_SPORT : OFF.REPLY_SPORT), src.getUint16(d), true);
          has |= Has.PORTS;
          break;
        case CTA_PROTO.DST_PORT:
          out.setUint16(rec + (orig ? OFF.ORIG_DPORT : OFF.REPLY_DPORT), src.getUint16(d), true);
          has |= Has.PORTS;
          break;
        case CTA_PROTO.ICMP_ID:
        case CTA_PROTO.ICMPV6_ID:
          out.setUint16(rec + (orig ? OFF.ORIG_SPORT : OFF.REPLY_SPORT), src.getUint16(d), true);
          has |= Has.ICMP;
          break;
        case CTA_PROTO.ICMP_TYPE:
        case CTA_PROTO.ICMPV6_TYPE:
          out.setUint8(rec + (orig ? OFF.ORIG_ICMP_TYPE : OFF.REPLY_ICMP_TYPE), src.getUint8(d));
          has |= Has.ICMP;
          break;
        case CTA_PROTO.ICMP_CODE:
        case CTA_PROTO.ICMPV6_CODE:
          out.setUint8(rec + (orig ? OFF.ORIG_ICMP_CODE : OFF.REPLY_ICMP_CODE), src.getUint8(d));
          has |= Has.ICMP;
          break;
      }
      p += (alen + 3) & ~3;
    }
    return has;
  }

  #protoinfo(src: DataView, p: number, end: number, out: DataView, rec: number): void {
    // CTA_PROTOINFO_{TCP,DCCP,SCTP} each nest a *_STATE attribute of type 1 (a u8).
    while (p + 4 <= end) {
      const alen = src.getUint16(p, true);
      if (alen < 4 || p + alen > end) break;
      const atype = src.getUint16(p + 2, true) & TYPE_MASK;
      if (
        atype === CTA_PROTOINFO.TCP || atype === CTA_PROTOINFO.DCCP ||
        atype === CTA_PROTOINFO.SCTP
      ) {
        let q = p + 4;
        const qend = p + alen;
        while (q + 4 <= qend) {
          const blen = src.getUint16(q, true);
          if (blen < 4 || q + blen > qend) break;
          if ((src.getUint16(q + 2, true) & TYPE_MASK) === 1) {
            out.setUint8(rec + OFF.STATE, src.getUint8(q + 4));
          }
          q += (blen + 3) & ~3;
        }
      }
      p += (alen + 3) & ~3;
    }
  }

  #counters(src: DataView, p: number, end: number, out: DataView, at: number): void {
    while (p + 4 <= end) {
      const alen = src.getUint16(p, true);
      if (alen < 4 || p + alen > end) break;
      const atype = src.getUint16(p + 2, true) & TYPE_MASK;
      const d = p + 4;
      switch (atype) {
        case CTA_COUNTERS.PACKETS:
          out.setFloat64(at, src.getUint32(d) * 4294967296 + src.getUint32(d + 4), true);
          break;
        case CTA_COUNTERS.BYTES:
          out.setFloat64(at + 8, src.getUint32(d) * 4294967296 + src.getUint32(d + 4), true);
          break;
        case CTA_COUNTERS.PACKETS32:
          out.setFloat64(at, src.getUint32(d), true);
          break;
        case CTA_COUNTERS.BYTES32:
          out.setFloat64(at + 8, src.getUint32(d), true);
          break;
      }
      p += (alen + 3) & ~3;
    }
  }

  #timestamp(src: DataView, p: number, end: number, out: DataView, rec: number): boolean {
    let start = false;
    while (p + 4 <= end) {
      const alen = src.getUint16(p, true);
      if (alen < 4 || p + alen > end) break;
      const atype = src.getUint16(p + 2, true) & TYPE_MASK;
      const d = p + 4;
      const ms = (src.getUint32(d) * 4294967296 + src.getUint32(d + 4)) / 1e6;
      if (atype === CTA_TIMESTAMP.START) {
        out.setFloat64(rec + OFF.START_MS, ms, true);
        start = true;
      } else if (atype === CTA_TIMESTAMP.STOP && ms > 0) {
        (this.extra ??= {}).stopMs = ms;
      }
      p += (alen + 3) & ~3;
    }
    return start;
  }

  #helper(src: DataView, p: number, end: number): void {
    const name = nestedString(src, p, end, 1);
    if (name !== undefined) (this.extra ??= {}).helper = name;
  }

  #secctx(src: DataView, p: number, end: number): void {
    const name = nestedString(src, p, end, 1);
    if (name !== undefined) (this.extra ??= {}).secctx = name;
  }

  #labels(src: DataView, p: number, len: number): void {
    const labels: number[] = [];
    // The kernel sends the label bitmap as host-order u32 words; bit i of word w is label 32w+i.
    for (let w = 0; w * 4 + 4 <= len; w++) {
      const word = src.getUint32(p + w * 4, true);
      if (word === 0) continue;
      for (let b = 0; b < 32; b++) if (word & (1 << b)) labels.push(w * 32 + b);
    }
    if (labels.length > 0) (this.extra ??= {}).labels = labels;
  }
}

// Fast paths for the shapes nearly every message has. Each one checks that the attributes are
// exactly those the kernel writes for the common case, in its order and with its lengths (each
// header as one 32-bit word: length, then type with its flags), and reads the values at their
// fixed places; anything else (IPv6, ICMP, a zone in the tuple, 32-bit counters) returns
// 0/false and takes the general walk, which would have read the same attributes the same way.

/** An IPv4 tuple with ports: CTA_TUPLE_IP { V4_SRC, V4_DST }, CTA_TUPLE_PROTO { NUM, SRC, DST }. */
const TUPLE4_LEN = 48;
const H_TUPLE_IP4 = ((0x8000 | CTA_TUPLE.IP) << 16 | 20) >>> 0;
const H_V4_SRC = (CTA_IP.V4_SRC << 16 | 8) >>> 0;
const H_V4_DST = (CTA_IP.V4_DST << 16 | 8) >>> 0;
const H_TUPLE_PROTO = ((0x8000 | CTA_TUPLE.PROTO) << 16 | 28) >>> 0;
const H_PROTO_NUM = (CTA_PROTO.NUM << 16 | 5) >>> 0;
const H_SRC_PORT = (CTA_PROTO.SRC_PORT << 16 | 6) >>> 0;
const H_DST_PORT = (CTA_PROTO.DST_PORT << 16 | 6) >>> 0;

/** Decodes the IPv4 tuple with ports at `d` (48 bytes); returns Has.PORTS, or 0 when not one. */
function tuple4(src: DataView, d: number, out: DataView, rec: number, orig: boolean): number {
  if (
    src.getUint32(d, true) !== H_TUPLE_IP4 || src.getUint32(d + 4, true) !== H_V4_SRC ||
    src.getUint32(d + 12, true) !== H_V4_DST || src.getUint32(d + 20, true) !== H_TUPLE_PROTO ||
    src.getUint32(d + 24, true) !== H_PROTO_NUM || src.getUint32(d + 32, true) !== H_SRC_PORT ||
    src.getUint32(d + 40, true) !== H_DST_PORT
  ) return 0;
  out.setUint32(rec + (orig ? OFF.ORIG_SRC : OFF.REPLY_SRC), src.getUint32(d + 8, true), true);
  out.setUint32(rec + (orig ? OFF.ORIG_DST : OFF.REPLY_DST), src.getUint32(d + 16, true), true);
  if (orig) out.setUint8(rec + OFF.L4, src.getUint8(d + 28));
  out.setUint16(rec + (orig ? OFF.ORIG_SPORT : OFF.REPLY_SPORT), src.getUint16(d + 36), true);
  out.setUint16(rec + (orig ? OFF.ORIG_DPORT : OFF.REPLY_DPORT), src.getUint16(d + 44), true);
  return Has.PORTS;
}

/** 64-bit counters: CTA_COUNTERS_PACKETS then CTA_COUNTERS_BYTES, each a u64. */
const COUNTERS64_LEN = 24;
const H_PACKETS = (CTA_COUNTERS.PACKETS << 16 | 12) >>> 0;
const H_BYTES = (CTA_COUNTERS.BYTES << 16 | 12) >>> 0;

/** Decodes 64-bit counters at `d` (24 bytes) into `at`; false when they are not that shape. */
function counters64(src: DataView, d: number, out: DataView, at: number): boolean {
  if (src.getUint32(d, true) !== H_PACKETS || src.getUint32(d + 12, true) !== H_BYTES) return false;
  out.setFloat64(at, src.getUint32(d + 4) * 4294967296 + src.getUint32(d + 8), true);
  out.setFloat64(at + 8, src.getUint32(d + 16) * 4294967296 + src.getUint32(d + 20), true);
  return true;
}

function nestedString(src: DataView, p: number, end: number, want: number): string | undefined {
  while (p + 4 <= end) {
    const alen = src.getUint16(p, true);
    if (alen < 4 || p + alen > end) break;
    if ((src.getUint16(p + 2, true) & TYPE_MASK) === want) {
      let n = alen - 4;
      const bytes = new Uint8Array(src.buffer, src.byteOffset + p + 4, n);
      while (n > 0 && bytes[n - 1] === 0) n--;
      return decoder.decode(bytes.subarray(0, n));
    }
    p += (alen + 3) & ~3;
  }
  return undefined;
}

/** A zeroed record buffer of `count` records. */
export function newRecords(count: number): Uint8Array {
  return new Uint8Array(count * RECORD_SIZE);
}
