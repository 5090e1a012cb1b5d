/**
 * Builds connection records and batches by hand, for tests of the model and the UI that need
 * exact, varied connections (IPv6, rates, timestamps, NAT) without a kernel.
 *
 * @module
 */

import type { BatchMessage, CollectorStatus, Totals } from "../../src/collector/mod.ts";
import { parseAddress } from "../../src/conntrack/address.ts";
import { Has, Kind, OFF, RECORD_SIZE, RecordView } from "../../src/conntrack/record.ts";

/** A connection for a test. */
export interface TestConn {
  slot: number;
  id?: number;
  kind?: number;
  proto?: number;
  state?: number;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** Reply tuple; defaults to the mirrored original (no NAT). */
  replySrc?: string;
  replyDst?: string;
  replySport?: number;
  replyDport?: number;
  txBytes?: number;
  rxBytes?: number;
  txPackets?: number;
  rxPackets?: number;
  /** Rates in bytes per second; present only when given. */
  txBps?: number;
  rxBps?: number;
  startMs?: number;
  timeout?: number;
  sampledMs?: number;
  status?: number;
  mark?: number;
  zone?: number;
}

function putAddr(v: RecordView, i: number, off: number, text: string): number {
  const a = parseAddress(text);
  if (a === undefined) throw new Error(`Bad test address '${text}'`);
  v.u8.set(a.bytes, i * RECORD_SIZE + off);
  return a.family;
}

/** Writes `c` as record `i` of `v`. */
export function writeConn(v: RecordView, i: number, c: TestConn): void {
  const at = i * RECORD_SIZE;
  v.u8.fill(0, at, at + RECORD_SIZE);
  const dv = v.dv;
  const fam = putAddr(v, i, OFF.ORIG_SRC, c.src);
  putAddr(v, i, OFF.ORIG_DST, c.dst);
  putAddr(v, i, OFF.REPLY_SRC, c.replySrc ?? c.dst);
  putAddr(v, i, OFF.REPLY_DST, c.replyDst ?? c.src);
  const proto = c.proto ?? 6;
  v.u8[at + OFF.KIND] = c.kind ?? Kind.NEW;
  v.u8[at + OFF.FAMILY] = fam;
  v.u8[at + OFF.L4] = proto;
  v.u8[at + OFF.STATE] = c.state ?? (proto === 6 ? 3 : 0xff);
  dv.setUint32(at + OFF.SLOT, c.slot, true);
  dv.setUint32(at + OFF.ID, c.id ?? 1000 + c.slot, true);
  dv.setUint32(at + OFF.STATUS, c.status ?? 0xe, true);
  dv.setUint32(at + OFF.TIMEOUT, c.timeout ?? 300, true);
  dv.setUint32(at + OFF.MARK, c.mark ?? 0, true);
  let has = Has.TIMEOUT | Has.ID | Has.STATUS | Has.MARK;
  if (c.sport !== undefined) {
    has |= Has.PORTS;
    dv.setUint16(at + OFF.ORIG_SPORT, c.sport, true);
    dv.setUint16(at + OFF.ORIG_DPORT, c.dport ?? 0, true);
    dv.setUint16(at + OFF.REPLY_SPORT, c.replySport ?? c.dport ?? 0, true);
    dv.setUint16(at + OFF.REPLY_DPORT, c.replyDport ?? c.sport, true);
  }
  if (c.zone !== undefined) {
    has |= Has.ZONE;
    dv.setUint16(at + OFF.ZONE, c.zone, true);
  }
  if (c.txBytes !== undefined || c.rxBytes !== undefined) {
    has |= Has.COUNTERS;
    dv.setFloat64(at + OFF.ORIG_BYTES, c.txBytes ?? 0, true);
    dv.setFloat64(at + OFF.REPLY_BYTES, c.rxBytes ?? 0, true);
    dv.setFloat64(at + OFF.ORIG_PACKETS, c.txPackets ?? 0, true);
    dv.setFloat64(at + OFF.REPLY_PACKETS, c.rxPackets ?? 0, true);
  }
  if (c.txBps !== undefined || c.rxBps !== undefined) {
    has |= Has.RATES;
    dv.setFloat32(at + OFF.TX_BPS, c.txBps ?? 0, true);
    dv.setFloat32(at + OFF.RX_BPS, c.rxBps ?? 0, true);
  }
  if (c.startMs !== undefined) {
    has |= Has.TIMESTAMP;
    dv.setFloat64(at + OFF.START_MS, c.startMs, true);
  }
  dv.setFloat64(at + OFF.SAMPLED_MS, c.sampledMs ?? 0, true);
  dv.setUint16(at + OFF.HAS, has, true);
}

/** Totals as the collector would send them for `conns`. */
export function totalsOf(conns: TestConn[], max = 65536): Totals {
  const byProto: Record<string, number> = {};
  for (const c of conns) {
    const name = { 6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6" }[c.proto ?? 6] ?? "other";
    byProto[name] = (byProto[name] ?? 0) + 1;
  }
  return {
    count: conns.length,
    kernelCount: conns.length,
    max,
    byProto,
    ipv4: conns.filter((c) => !c.src.includes(":")).length,
    ipv6: conns.filter((c) => c.src.includes(":")).length,
    accounting: true,
    timestamps: true,
    offloaded: 0,
  };
}

/** A collector status with fixed, readable numbers. */
export function testStatus(over: Partial<CollectorStatus> = {}): CollectorStatus {
  return {
    dumpMs: 12,
    dumps: 7,
    eventOverruns: 0,
    events: 42,
    dumpInterrupted: false,
    eventsEnabled: true,
    ...over,
  };
}

/** A batch carrying `conns` (as NEW unless they say otherwise). */
export function batchOf(
  conns: TestConn[],
  opts: { seq?: number; timeMs?: number; totals?: Totals; live?: TestConn[]; reset?: boolean } = {},
): BatchMessage {
  const buf = new ArrayBuffer(conns.length * RECORD_SIZE);
  const v = new RecordView(buf);
  conns.forEach((c, i) => writeConn(v, i, c));
  const timeMs = opts.timeMs ?? 1_700_000_000_000;
  return {
    type: "batch",
    seq: opts.seq ?? 0,
    timeMs,
    startedMs: timeMs,
    records: conns.length > 0 ? [buf] : [],
    count: conns.length,
    extras: [],
    totals: opts.totals ?? totalsOf(opts.live ?? conns),
    status: testStatus(),
    ...(opts.reset === true ? { reset: true } : {}),
  };
}
