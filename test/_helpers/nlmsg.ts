/**
 * Builds ctnetlink messages byte by byte, as the kernel lays them out, for tests of the
 * decoder and the collector's table without a kernel. Written from the kernel's headers
 * (nfnetlink_conntrack.h), independently of src/conntrack/decode.ts.
 *
 * @module
 */

/** A netlink attribute: type and payload, or nested attributes. */
export type Attr = [type: number, payload: Uint8Array | Attr[]];

const NLA_F_NESTED = 0x8000;

function encodeAttrs(attrs: Attr[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [type, payload] of attrs) {
    const body = payload instanceof Uint8Array ? payload : encodeAttrs(payload);
    const len = 4 + body.length;
    const padded = (len + 3) & ~3;
    const out = new Uint8Array(padded);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, len, true);
    dv.setUint16(2, payload instanceof Uint8Array ? type : type | NLA_F_NESTED, true);
    out.set(body, 4);
    parts.push(out);
  }
  return concat(parts);
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Big-endian integers, as ctnetlink sends them. */
export const be8 = (v: number): Uint8Array => new Uint8Array([v]);
export const be16 = (v: number): Uint8Array => new Uint8Array([v >> 8, v & 0xff]);
export function be32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v);
  return b;
}
export function be64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
}
/** IPv4 address bytes. */
export const ip4 = (s: string): Uint8Array => new Uint8Array(s.split(".").map(Number));

/** Message kinds: event NEW (create flags), UPDATE, DESTROY, or a dump reply. */
export type MsgKind = "new" | "update" | "destroy" | "dump";

/** A whole nlmsghdr + nfgenmsg + attributes. */
export function ctMessage(kind: MsgKind, family: number, attrs: Attr[]): Uint8Array {
  const body = encodeAttrs(attrs);
  const out = new Uint8Array(16 + 4 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, out.length, true);
  const msg = kind === "destroy" ? 2 : 0;
  dv.setUint16(4, (1 << 8) | msg, true);
  const flags = kind === "new" ? 0x400 | 0x200 : kind === "dump" ? 0x2 : 0;
  dv.setUint16(6, flags, true);
  out[16] = family;
  out.set(body, 20);
  return out;
}

/** Options for {@linkcode tcp4}. */
export interface Tcp4Options {
  id: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** Reply tuple source/destination (NAT), default dst/src. */
  replySrc?: string;
  replyDst?: string;
  replySport?: number;
  replyDport?: number;
  state?: number;
  status?: number;
  timeout?: number;
  mark?: number;
  /** [origPackets, origBytes, replyPackets, replyBytes] */
  counters?: [number, number, number, number];
  startNs?: bigint;
  zone?: number;
}

/** A TCP/IPv4 conntrack message. */
export function tcp4(kind: MsgKind, o: Tcp4Options): Uint8Array {
  const tuple = (src: string, dst: string, sp: number, dp: number): Attr[] => [
    [1, [[1, ip4(src)], [2, ip4(dst)]]],
    [2, [[1, be8(6)], [2, be16(sp)], [3, be16(dp)]]],
  ];
  const attrs: Attr[] = [
    [1, tuple(o.src, o.dst, o.sport, o.dport)],
    [
      2,
      tuple(
        o.replySrc ?? o.dst,
        o.replyDst ?? o.src,
        o.replySport ?? o.dport,
        o.replyDport ?? o.sport,
      ),
    ],
    [3, be32(o.status ?? 0x8)],
    [7, be32(o.timeout ?? 100)],
    [8, be32(o.mark ?? 0)],
    [12, be32(o.id)],
  ];
  if (o.state !== undefined) attrs.push([4, [[1, [[1, be8(o.state)]]]]]);
  if (o.counters !== undefined) {
    const [op, ob, rp, rb] = o.counters;
    attrs.push([9, [[1, be64(BigInt(op))], [2, be64(BigInt(ob))]]]);
    attrs.push([10, [[1, be64(BigInt(rp))], [2, be64(BigInt(rb))]]]);
  }
  if (o.startNs !== undefined) attrs.push([20, [[1, be64(o.startNs)]]]);
  if (o.zone !== undefined) attrs.push([18, be16(o.zone)]);
  return ctMessage(kind, 2, attrs);
}
