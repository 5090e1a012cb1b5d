/**
 * The fixed binary layout of one connection, shared by the collector (worker) and the model
 * (main thread).
 *
 * Why a byte layout and not objects: at a quarter-million connections, cloning objects between
 * threads every second costs more than the kernel's dump itself. The worker decodes netlink
 * straight into records of this layout, keeps its table as one large buffer of them, and hands
 * a batch of changed records to the main thread as one transferred ArrayBuffer; the model
 * copies each record into its own table, again without allocating. All integers are
 * little-endian; addresses are raw network-order bytes (IPv4 in the first 4 of 16).
 *
 * This module only describes and reads bytes: no I/O, no FFI.
 *
 * @module
 */

/** Size of one record in bytes (a multiple of 8, so float fields stay aligned). */
export const RECORD_SIZE = 168;

/** Byte offsets of the fields inside a record. */
export const OFF = {
  /** u8: what this record says in a batch (see {@linkcode Kind}); in a table, 0 = free slot. */
  KIND: 0,
  /** u8: address family, 2 (IPv4) or 10 (IPv6). */
  FAMILY: 1,
  /** u8: L4 protocol number. */
  L4: 2,
  /** u8: protocol state (TCP, SCTP, DCCP) or 0xff for none. */
  STATE: 3,
  /** u32: slot number, the record's place in both tables. */
  SLOT: 4,
  /** u32: the kernel's conntrack id. */
  ID: 8,
  /** u32: status bits (enum ip_conntrack_status). */
  STATUS: 12,
  /** u32: seconds until the entry expires, when sampled. */
  TIMEOUT: 16,
  /** u32: connection mark. */
  MARK: 20,
  /** u32: reference count ("use=" in conntrack's output). */
  USE: 24,
  /** u16: conntrack zone (CTA_ZONE). */
  ZONE: 28,
  /** u16: which optional fields are present (see {@linkcode Has}). */
  HAS: 30,
  /** u16: original-direction source port, ICMP id, or GRE source key. */
  ORIG_SPORT: 32,
  /** u16: original-direction destination port or GRE key; for ICMP, type and code (below). */
  ORIG_DPORT: 34,
  REPLY_SPORT: 36,
  REPLY_DPORT: 38,
  /**
   * u8 ×2 each: ICMP(v6) type and code. ICMP has no ports, so they share the destination
   * port's two bytes; the tuple stays in one place for matching.
   */
  ORIG_ICMP_TYPE: 34,
  ORIG_ICMP_CODE: 35,
  REPLY_ICMP_TYPE: 38,
  REPLY_ICMP_CODE: 39,
  /** 16 bytes each: addresses in network order. */
  ORIG_SRC: 40,
  ORIG_DST: 56,
  REPLY_SRC: 72,
  REPLY_DST: 88,
  /** f64: counters (exact integers up to 2^53). */
  ORIG_PACKETS: 104,
  ORIG_BYTES: 112,
  REPLY_PACKETS: 120,
  REPLY_BYTES: 128,
  /** f64: start time in milliseconds since the epoch (nf_conntrack_timestamp). */
  START_MS: 136,
  /** f32: rates over the last refresh, per second; tx = original direction, rx = reply. */
  TX_BPS: 144,
  RX_BPS: 148,
  TX_PPS: 152,
  RX_PPS: 156,
  /** f64: when the collector sampled this record (ms since the epoch). */
  SAMPLED_MS: 160,
} as const;

/** Values of the KIND byte in a batch. */
export const Kind = {
  FREE: 0,
  NEW: 1,
  UPDATE: 2,
  DESTROY: 3,
} as const;
/** One of the {@linkcode Kind} values. */
export type Kind = typeof Kind[keyof typeof Kind];

/** Bits of the HAS field: which optional attributes the kernel sent. */
export const Has = {
  COUNTERS: 1 << 0,
  TIMESTAMP: 1 << 1,
  ZONE: 1 << 2,
  MARK: 1 << 5,
  ICMP: 1 << 6,
  PORTS: 1 << 7,
  /** Rates were computed from two samples (false on the first sample of a connection). */
  RATES: 1 << 8,
  /**
   * Secctx, helper, labels or per-direction zones: rare, so kept beside the record (see Extra
   * in the decode module) rather than in every record.
   */
  EXTRA: 1 << 9,
  TIMEOUT: 1 << 10,
  USE: 1 << 11,
  ID: 1 << 12,
  STATUS: 1 << 13,
} as const;

/** A view over a buffer of records: the accessors every reader of records shares. */
export class RecordView {
  /** The bytes. */
  readonly u8: Uint8Array;
  /** The same bytes, for multi-byte fields. */
  readonly dv: DataView;

  /** Views `buffer` (or the part of it `byteOffset`/`byteLength` name). */
  constructor(buffer: ArrayBufferLike, byteOffset = 0, byteLength?: number) {
    this.u8 = new Uint8Array(buffer, byteOffset, byteLength);
    this.dv = new DataView(buffer, byteOffset, this.u8.byteLength);
  }

  /** How many whole records the view holds. */
  get count(): number {
    return Math.floor(this.u8.byteLength / RECORD_SIZE);
  }

  u8At(i: number, off: number): number {
    return this.u8[i * RECORD_SIZE + off]!;
  }
  u16At(i: number, off: number): number {
    return this.dv.getUint16(i * RECORD_SIZE + off, true);
  }
  u32At(i: number, off: number): number {
    return this.dv.getUint32(i * RECORD_SIZE + off, true);
  }
  f64At(i: number, off: number): number {
    return this.dv.getFloat64(i * RECORD_SIZE + off, true);
  }
  f32At(i: number, off: number): number {
    return this.dv.getFloat32(i * RECORD_SIZE + off, true);
  }
  /** A copy of the 16 address bytes at `off` (4 meaningful for IPv4). */
  addrAt(i: number, off: number): Uint8Array {
    const start = i * RECORD_SIZE + off;
    return this.u8.slice(start, start + 16);
  }
  /** Whether the record has the optional field `bit` (see {@linkcode Has}). */
  has(i: number, bit: number): boolean {
    return (this.u16At(i, OFF.HAS) & bit) !== 0;
  }
}
