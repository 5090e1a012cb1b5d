/**
 * The TypeScript decoder against libnetfilter_conntrack's own parser (nfct_nlmsg_parse and
 * its attribute getters), on real messages of a real kernel dump taken in a test namespace.
 */

import { trackedPair } from "../_helpers/tracked_pair.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { CtDecoder } from "../../src/conntrack/decode.ts";
import { Has, Kind, OFF, RECORD_SIZE, RecordView } from "../../src/conntrack/record.ts";
import { ATTR, nfctParser } from "../_helpers/nfct_parser.ts";
import { loadConntrack, type Netns, ping } from "../../tools/netns.ts";
import { decodeBase64 } from "../_helpers/base64.ts";
import { type Attr, be16, be32, be64, be8, ctMessage, ip4, tcp4 } from "../_helpers/nlmsg.ts";

const ENTRIES = [
  "-I -t 500 -u SEEN_REPLY,ASSURED -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1234 --dport 80 --state ESTABLISHED -m 7",
  "-I -t 400 -s 10.0.0.1 -d 10.0.0.2 -p udp --sport 53 --dport 5353 -w 3",
  "-I -t 300 -s 10.0.0.1 -d 10.0.0.2 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 55",
  "-I -t 200 -s 2001:db8::1 -d 2001:db8::2 -p tcp --sport 1 --dport 2 --state SYN_SENT",
  "-I -t 200 -s 10.0.0.1 -d 10.0.0.3 -p sctp --sport 1 --dport 2 --state ESTABLISHED --orig-vtag 5 --reply-vtag 6",
  "-I -t 200 -s 10.0.0.1 -d 10.0.0.3 -p gre --srckey 1 --dstkey 2",
  "-I -t 200 -s ::1 -d ::ffff:1.2.3.4 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 3",
  "-I -t 200 -s 10.0.0.1 -d 10.0.0.3 -p udplite --sport 1 --dport 2",
];

async function captureDump(ns: Netns): Promise<Uint8Array<ArrayBuffer>[]> {
  const script = new URL("../_helpers/capture_dump.ts", import.meta.url).pathname;
  const r = await ns.exec([Deno.execPath(), "run", "-A", script]);
  return r.stdout.trim().split("\n").filter((l) => l !== "").map(decodeBase64);
}

const swap16 = (v: number) => ((v & 0xff) << 8) | (v >> 8);

function libBytes(ct: Deno.PointerValue, attr: number, n: number): Uint8Array {
  const p = nfctParser().nfct_get_attr(ct, attr);
  assert(p !== null, `attribute ${attr} is set`);
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, n)).slice();
}

Deno.test("CtDecoder decodes real dump messages exactly as libnetfilter_conntrack does", async () => {
  await using pair = await trackedPair("dec", 7);
  const { a } = pair;
  await ping(a, "10.7.0.2"); // a tracked connection with real counters and a timestamp
  await loadConntrack(a, ENTRIES);
  const msgs = await captureDump(a);
  assert(msgs.length >= ENTRIES.length + 1, `dump has ${msgs.length} messages`);
  const lib = nfctParser();
  const dec = new CtDecoder();
  const rec = new Uint8Array(RECORD_SIZE);
  const view = new RecordView(rec.buffer);
  let withCounters = 0;
  for (const msg of msgs) {
    rec.fill(0);
    const kind = dec.decode(new DataView(msg.buffer), 0, view.dv, 0);
    assertEquals(kind, Kind.UPDATE, "dump replies carry no create flags");
    const ct = lib.nfct_new();
    try {
      assertEquals(lib.nfct_nlmsg_parse(msg, ct), 0);
      const fam = lib.nfct_get_attr_u8(ct, ATTR.ORIG_L3PROTO);
      const l4 = lib.nfct_get_attr_u8(ct, ATTR.ORIG_L4PROTO);
      assertEquals(view.u8At(0, OFF.FAMILY), fam);
      assertEquals(view.u8At(0, OFF.L4), l4);
      assertEquals(view.u32At(0, OFF.ID), lib.nfct_get_attr_u32(ct, ATTR.ID));
      assertEquals(view.u32At(0, OFF.STATUS), lib.nfct_get_attr_u32(ct, ATTR.STATUS));
      assertEquals(view.u32At(0, OFF.TIMEOUT), lib.nfct_get_attr_u32(ct, ATTR.TIMEOUT));
      assertEquals(view.u32At(0, OFF.MARK), lib.nfct_get_attr_u32(ct, ATTR.MARK));
      const n = fam === 10 ? 16 : 4;
      const addrs = fam === 10
        ? [ATTR.ORIG_IPV6_SRC, ATTR.ORIG_IPV6_DST, ATTR.REPL_IPV6_SRC, ATTR.REPL_IPV6_DST]
        : [ATTR.ORIG_IPV4_SRC, ATTR.ORIG_IPV4_DST, ATTR.REPL_IPV4_SRC, ATTR.REPL_IPV4_DST];
      const offs = [OFF.ORIG_SRC, OFF.ORIG_DST, OFF.REPLY_SRC, OFF.REPLY_DST];
      addrs.forEach((attr, k) => {
        assertEquals(view.addrAt(0, offs[k]!).subarray(0, n), libBytes(ct, attr, n));
      });
      if (l4 === 1 || l4 === 58) {
        assertEquals(view.u8At(0, OFF.ORIG_ICMP_TYPE), lib.nfct_get_attr_u8(ct, ATTR.ICMP_TYPE));
        assertEquals(view.u8At(0, OFF.ORIG_ICMP_CODE), lib.nfct_get_attr_u8(ct, ATTR.ICMP_CODE));
        assertEquals(
          view.u16At(0, OFF.ORIG_SPORT),
          swap16(lib.nfct_get_attr_u16(ct, ATTR.ICMP_ID)),
        );
      } else if (lib.nfct_attr_is_set(ct, ATTR.ORIG_PORT_SRC) > 0) {
        const ports = [
          ATTR.ORIG_PORT_SRC,
          ATTR.ORIG_PORT_DST,
          ATTR.REPL_PORT_SRC,
          ATTR.REPL_PORT_DST,
        ];
        const poffs = [OFF.ORIG_SPORT, OFF.ORIG_DPORT, OFF.REPLY_SPORT, OFF.REPLY_DPORT];
        ports.forEach((attr, k) => {
          assertEquals(view.u16At(0, poffs[k]!), swap16(lib.nfct_get_attr_u16(ct, attr)));
        });
      }
      const stateAttr = l4 === 6 ? ATTR.TCP_STATE : l4 === 132 ? ATTR.SCTP_STATE : -1;
      if (stateAttr >= 0) {
        assertEquals(view.u8At(0, OFF.STATE), lib.nfct_get_attr_u8(ct, stateAttr));
      }
      const zoneSet = lib.nfct_attr_is_set(ct, ATTR.ZONE) > 0;
      assertEquals(view.has(0, Has.ZONE), zoneSet);
      if (zoneSet) assertEquals(view.u16At(0, OFF.ZONE), lib.nfct_get_attr_u16(ct, ATTR.ZONE));
      const countersSet = lib.nfct_attr_is_set(ct, ATTR.ORIG_COUNTER_BYTES) > 0;
      assertEquals(view.has(0, Has.COUNTERS), countersSet);
      if (countersSet) {
        withCounters++;
        const pairs = [
          [OFF.ORIG_PACKETS, ATTR.ORIG_COUNTER_PACKETS],
          [OFF.ORIG_BYTES, ATTR.ORIG_COUNTER_BYTES],
          [OFF.REPLY_PACKETS, ATTR.REPL_COUNTER_PACKETS],
          [OFF.REPLY_BYTES, ATTR.REPL_COUNTER_BYTES],
        ];
        for (const [off, attr] of pairs) {
          assertEquals(BigInt(view.f64At(0, off!)), BigInt(lib.nfct_get_attr_u64(ct, attr!)));
        }
      }
      if (lib.nfct_attr_is_set(ct, ATTR.TIMESTAMP_START) > 0) {
        const ns = BigInt(lib.nfct_get_attr_u64(ct, ATTR.TIMESTAMP_START));
        assert(view.has(0, Has.TIMESTAMP));
        const ms = view.f64At(0, OFF.START_MS);
        assert(Math.abs(ms - Number(ns / 1000n) / 1000) < 0.002, `start ${ms} vs ${ns} ns`);
      }
    } finally {
      lib.nfct_destroy(ct);
    }
  }
  assert(withCounters >= 1, "the pinged connection has counters");
});

Deno.test("CtDecoder tells event kinds apart by message type and flags", () => {
  const dec = new CtDecoder();
  const out = new DataView(new ArrayBuffer(RECORD_SIZE));
  const o = { id: 1, src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2 };
  const kindOf = (m: Uint8Array) => dec.decode(new DataView(m.buffer), 0, out, 0);
  assertEquals(kindOf(tcp4("new", o)), Kind.NEW);
  assertEquals(kindOf(tcp4("update", o)), Kind.UPDATE);
  assertEquals(kindOf(tcp4("destroy", o)), Kind.DESTROY);
  const notCt = tcp4("new", o);
  new DataView(notCt.buffer).setUint16(4, (2 << 8) | 0, true); // another nfnetlink subsystem
  assertEquals(kindOf(notCt), -1);
});

Deno.test("CtDecoder survives truncated and garbage attributes", () => {
  const dec = new CtDecoder();
  const out = new DataView(new ArrayBuffer(RECORD_SIZE));
  const good = tcp4("new", { id: 1, src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2 });
  for (let cut = 20; cut < good.length; cut += 3) {
    const m = good.slice(0, cut);
    new DataView(m.buffer).setUint32(0, cut, true);
    dec.decode(new DataView(m.buffer), 0, out, 0); // must not throw
  }
  const junk = good.slice();
  junk.fill(0xff, 20);
  dec.decode(new DataView(junk.buffer), 0, out, 0);
});

Deno.test("CtDecoder reads the common IPv4 tuple and counters the same by either path", () => {
  // The kernel's order (IP then PROTO; packets then bytes) takes the fast paths; the same
  // attributes in another order (same lengths) take the general walk. Both must give the values
  // the message holds.
  const tuple = (src: string, dst: string, sp: number, dp: number, swap: boolean): Attr[] => {
    const ip: Attr = [1, [[1, ip4(src)], [2, ip4(dst)]]];
    const proto: Attr = [2, [[1, be8(17)], [2, be16(sp)], [3, be16(dp)]]];
    return swap ? [proto, ip] : [ip, proto];
  };
  const counters = (p: bigint, b: bigint, swap: boolean): Attr[] =>
    swap ? [[2, be64(b)], [1, be64(p)]] : [[1, be64(p)], [2, be64(b)]];
  const message = (swap: boolean) =>
    ctMessage("dump", 2, [
      [1, tuple("10.1.2.3", "192.0.2.9", 40000, 53, swap)],
      [2, tuple("192.0.2.9", "100.64.0.7", 53, 1024, swap)],
      [3, be32(0x8)],
      [9, counters(3n, 2n ** 40n + 5n, swap)],
      [10, counters(2n ** 33n, 700n, swap)],
      [12, be32(42)],
    ]);
  const decoded = (swap: boolean) => {
    const out = new Uint8Array(RECORD_SIZE);
    const m = message(swap);
    assertEquals(
      new CtDecoder().decode(new DataView(m.buffer), 0, new DataView(out.buffer), 0),
      Kind.UPDATE,
    );
    return out;
  };
  const fast = decoded(false), walked = decoded(true);
  assertEquals(fast, walked);
  const v = new RecordView(fast.buffer);
  assertEquals(v.u8At(0, OFF.L4), 17);
  assertEquals([v.u16At(0, OFF.ORIG_SPORT), v.u16At(0, OFF.ORIG_DPORT)], [40000, 53]);
  assertEquals([v.u16At(0, OFF.REPLY_SPORT), v.u16At(0, OFF.REPLY_DPORT)], [53, 1024]);
  assertEquals([...fast.subarray(OFF.ORIG_SRC, OFF.ORIG_SRC + 4)], [10, 1, 2, 3]);
  assertEquals([...fast.subarray(OFF.REPLY_DST, OFF.REPLY_DST + 4)], [100, 64, 0, 7]);
  assertEquals([v.f64At(0, OFF.ORIG_PACKETS), v.f64At(0, OFF.ORIG_BYTES)], [3, 2 ** 40 + 5]);
  assertEquals([v.f64At(0, OFF.REPLY_PACKETS), v.f64At(0, OFF.REPLY_BYTES)], [2 ** 33, 700]);
  assert(v.has(0, Has.PORTS) && v.has(0, Has.COUNTERS));
});
