import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { Netns } from "../../tools/netns.ts";
import { addressClass, LocalAddresses } from "../../src/core/classes.ts";
import type { AddressClass } from "../../src/core/enrichment.ts";
import { parseAddress } from "../../src/conntrack/address.ts";
import type { InterfaceAddress } from "../../ffi/libc.ts";
import { NetnsWorker } from "../_helpers/netns_worker_client.ts";

function bytes(text: string): { family: 4 | 6; bytes: Uint8Array } {
  const a = parseAddress(text);
  if (a === undefined) throw new Error(`Failed to parse test address '${text}'`);
  return a.family === 2
    ? { family: 4, bytes: a.bytes.subarray(0, 4) }
    : { family: 6, bytes: a.bytes };
}

function classOf(text: string, local?: LocalAddresses): AddressClass {
  const a = bytes(text);
  return addressClass(a.family, a.bytes, local);
}

// Each range at its first and last address and one address either side of it.
const IPV4_BOUNDARIES: [string, AddressClass][] = [
  ["0.0.0.0", "unspecified"],
  ["0.0.0.1", "reserved"],
  ["0.255.255.255", "reserved"],
  ["1.0.0.0", "public"],
  ["9.255.255.255", "public"],
  ["10.0.0.0", "private"],
  ["10.255.255.255", "private"],
  ["11.0.0.0", "public"],
  ["100.63.255.255", "public"],
  ["100.64.0.0", "shared"],
  ["100.127.255.255", "shared"],
  ["100.128.0.0", "public"],
  ["126.255.255.255", "public"],
  ["127.0.0.0", "loopback"],
  ["127.0.0.1", "loopback"],
  ["127.255.255.255", "loopback"],
  ["128.0.0.0", "public"],
  ["169.253.255.255", "public"],
  ["169.254.0.0", "link-local"],
  ["169.254.255.255", "link-local"],
  ["169.255.0.0", "public"],
  ["172.15.255.255", "public"],
  ["172.16.0.0", "private"],
  ["172.31.255.255", "private"],
  ["172.32.0.0", "public"],
  ["191.255.255.255", "public"],
  ["192.0.0.0", "reserved"],
  ["192.0.0.8", "reserved"],
  ["192.0.0.9", "public"], // PCP anycast, globally reachable
  ["192.0.0.10", "public"], // TURN anycast, globally reachable
  ["192.0.0.11", "reserved"],
  ["192.0.0.170", "reserved"],
  ["192.0.0.255", "reserved"],
  ["192.0.1.0", "public"],
  ["192.0.1.255", "public"],
  ["192.0.2.0", "documentation"],
  ["192.0.2.255", "documentation"],
  ["192.0.3.0", "public"],
  ["192.31.196.1", "public"], // AS112-v4, globally reachable
  ["192.52.193.1", "public"], // AMT, globally reachable
  ["192.88.98.255", "public"],
  ["192.88.99.0", "reserved"],
  ["192.88.99.255", "reserved"],
  ["192.88.100.0", "public"],
  ["192.167.255.255", "public"],
  ["192.168.0.0", "private"],
  ["192.168.255.255", "private"],
  ["192.169.0.0", "public"],
  ["192.175.48.1", "public"], // AS112 direct delegation, globally reachable
  ["198.17.255.255", "public"],
  ["198.18.0.0", "reserved"],
  ["198.19.255.255", "reserved"],
  ["198.20.0.0", "public"],
  ["198.51.99.255", "public"],
  ["198.51.100.0", "documentation"],
  ["198.51.100.255", "documentation"],
  ["198.51.101.0", "public"],
  ["203.0.112.255", "public"],
  ["203.0.113.0", "documentation"],
  ["203.0.113.255", "documentation"],
  ["203.0.114.0", "public"],
  ["223.255.255.255", "public"],
  ["224.0.0.0", "multicast"],
  ["239.255.255.255", "multicast"],
  ["240.0.0.0", "reserved"],
  ["255.255.255.254", "reserved"],
  ["255.255.255.255", "broadcast"],
];

const IPV6_BOUNDARIES: [string, AddressClass][] = [
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["::2", "reserved"],
  ["::0.0.0.2", "reserved"], // IPv4-compatible, deprecated
  ["::fffe:ffff:ffff", "reserved"],
  ["::ffff:0.0.0.0", "unspecified"],
  ["::ffff:255.255.255.255", "broadcast"],
  ["0:0:0:0:1::", "reserved"],
  ["0:0:0:1::", "reserved"],
  ["64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["64:ff9b::", "reserved"], // NAT64 of 0.0.0.0
  ["64:ff9b::8.8.8.8", "public"],
  ["64:ff9b::10.1.2.3", "reserved"], // RFC 6052 forbids a non-global IPv4 address
  ["64:ff9b::ffff:ffff", "reserved"],
  ["64:ff9b::1:0:0", "reserved"], // just past the /96
  ["64:ff9b:1::", "reserved"], // local-use translation prefix
  ["64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["64:ff9b:2::", "reserved"],
  ["100::", "reserved"], // discard-only
  ["100::ffff:ffff:ffff:ffff", "reserved"],
  ["1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["2000::", "public"],
  ["2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2001::", "reserved"], // Teredo, inside the IETF protocol assignments
  ["2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["2001:1::", "reserved"],
  ["2001:1::1", "public"], // PCP anycast
  ["2001:1::2", "public"], // TURN anycast
  ["2001:1::3", "public"], // DNS-SD SRP anycast
  ["2001:1::4", "reserved"],
  ["2001:1:0:0:1::1", "reserved"],
  ["2001:2::", "reserved"], // benchmarking
  ["2001:2:0:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["2001:2:1::", "reserved"],
  ["2001:2:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["2001:3::", "public"], // AMT
  ["2001:3:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2001:4::", "reserved"],
  ["2001:4:111:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["2001:4:112::", "public"], // AS112-v6
  ["2001:4:112:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2001:4:113::", "reserved"],
  ["2001:f:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["2001:10::", "reserved"], // deprecated ORCHID
  ["2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["2001:20::", "public"], // ORCHIDv2
  ["2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2001:30::", "public"], // drone remote ID
  ["2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2001:40::", "reserved"],
  ["2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["2001:200::", "public"],
  ["2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2001:db8::", "documentation"],
  ["2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"],
  ["2001:db9::", "public"],
  ["2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2002::", "reserved"], // 6to4 of 0.0.0.0
  ["2002:808:808::1", "public"], // 6to4 of 8.8.8.8
  ["2002:a00:1::1", "reserved"], // 6to4 of 10.0.0.1, invalid
  ["2002:c000:201::1", "reserved"], // 6to4 of 192.0.2.1, invalid
  ["2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["2003::", "public"],
  ["2620:4f:8000::1", "public"], // AS112 direct delegation
  ["3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["3fff::", "documentation"],
  ["3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"],
  ["3fff:1000::", "public"],
  ["3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["4000::", "reserved"],
  ["5f00::1", "reserved"], // SRv6 SIDs
  ["fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["fc00::", "unique-local"],
  ["fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local"],
  ["fe00::", "reserved"],
  ["fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["fe80::", "link-local"],
  ["febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"],
  ["fec0::", "reserved"], // deprecated site-local
  ["feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
  ["ff00::", "multicast"],
  ["ff02::1", "multicast"],
  ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast"],
];

Deno.test("addressClass() classes every IPv4 range at its boundaries", () => {
  for (const [text, want] of IPV4_BOUNDARIES) assertEquals([text, classOf(text)], [text, want]);
});

Deno.test("addressClass() classes every IPv6 range at its boundaries", () => {
  for (const [text, want] of IPV6_BOUNDARIES) assertEquals([text, classOf(text)], [text, want]);
});

Deno.test("addressClass() classes an IPv4-mapped IPv6 address as the IPv4 address", () => {
  for (const [text, want] of IPV4_BOUNDARIES) {
    assertEquals([text, classOf(`::ffff:${text}`)], [text, want]);
  }
});

Deno.test("addressClass() reads only the first 4 bytes of a 16-byte IPv4 field", () => {
  const field = new Uint8Array(16);
  field.set([10, 0, 0, 1, 0xff, 0xff]);
  assertEquals(addressClass(4, field), "private");
  const record = new Uint8Array(40);
  record.set([192, 0, 2, 7], 20);
  assertEquals(addressClass(4, record.subarray(20, 36)), "documentation");
});

const INTERFACES: InterfaceAddress[] = [
  { name: "lo", family: 2, address: bytes("127.0.0.1").bytes, prefix: 8, broadcast: null },
  { name: "lo", family: 10, address: bytes("::1").bytes, prefix: 128, broadcast: null },
  {
    name: "eth0",
    family: 2,
    address: bytes("10.0.0.5").bytes,
    prefix: 24,
    broadcast: bytes("10.0.0.255").bytes,
  },
  { name: "eth0", family: 10, address: bytes("fe80::1").bytes, prefix: 64, broadcast: null },
  { name: "eth0", family: 10, address: bytes("2001:db8::5").bytes, prefix: 64, broadcast: null },
  // glibc's getifaddrs reports the address itself as broadcast when there is none.
  {
    name: "eth1",
    family: 2,
    address: bytes("203.0.113.7").bytes,
    prefix: 32,
    broadcast: bytes("203.0.113.7").bytes,
  },
  {
    name: "eth2",
    family: 2,
    address: bytes("100.64.3.1").bytes,
    prefix: 22,
    broadcast: bytes("100.64.3.255").bytes,
  },
  { name: "eth3", family: 10, address: bytes("64:ff9b::a00:1").bytes, prefix: 96, broadcast: null },
];

Deno.test("addressClass() puts local addresses and local broadcast addresses first", () => {
  const local = new LocalAddresses(INTERFACES);
  const cases: [string, AddressClass][] = [
    ["10.0.0.5", "this-host"],
    ["10.0.0.4", "private"],
    ["10.0.0.6", "private"],
    ["10.0.0.255", "broadcast"],
    ["10.0.1.255", "private"],
    ["203.0.113.7", "this-host"],
    ["203.0.113.8", "documentation"],
    ["100.64.3.1", "this-host"],
    ["100.64.3.255", "broadcast"],
    ["255.255.255.255", "broadcast"],
    ["127.0.0.1", "loopback"], // loopback keeps its class although lo has it
    ["::1", "loopback"],
    ["fe80::1", "this-host"],
    ["fe80::2", "link-local"],
    ["2001:db8::5", "this-host"],
    ["2001:db8::6", "documentation"],
    ["64:ff9b::a00:1", "this-host"],
    ["64:ff9b::a00:2", "reserved"],
    ["::ffff:10.0.0.5", "this-host"],
    ["::ffff:10.0.0.255", "broadcast"],
    ["::ffff:10.0.0.6", "private"],
  ];
  for (const [text, want] of cases) assertEquals([text, classOf(text, local)], [text, want]);
});

Deno.test("LocalAddresses answers for addresses inside a larger buffer", () => {
  const local = new LocalAddresses(INTERFACES);
  const buf = new Uint8Array(64);
  buf.set([10, 0, 0, 5], 8);
  buf.set(bytes("2001:db8::5").bytes, 24);
  buf.set([10, 0, 0, 255], 48);
  assert(local.has(4, buf, 8));
  assert(!local.has(4, buf, 9));
  assert(local.has(6, buf, 24));
  assert(!local.has(6, buf, 25));
  assert(local.isBroadcast(buf, 48));
  assert(!local.isBroadcast(buf, 8));
  assertEquals(local.size, 8);
});

Deno.test("LocalAddresses survives a round trip through JSON and postMessage", () => {
  const local = new LocalAddresses(INTERFACES);
  const json = local.toJSON();
  assertEquals(json, {
    v4: ["10.0.0.5", "100.64.3.1", "127.0.0.1", "203.0.113.7"],
    v6: ["::1", "64:ff9b::a00:1", "2001:db8::5", "fe80::1"],
    broadcast: ["10.0.0.255", "100.64.3.255"],
  });
  const back = LocalAddresses.fromJSON(structuredClone(JSON.parse(JSON.stringify(local))));
  assert(back.equals(local));
  assertEquals(back.toJSON(), json);
  for (const [text] of [...IPV4_BOUNDARIES, ["10.0.0.5"], ["10.0.0.255"], ["fe80::1"]]) {
    assertEquals(classOf(text!, back), classOf(text!, local), text);
  }
});

Deno.test("LocalAddresses.equals() ignores order and duplicates but not a changed address", () => {
  const local = new LocalAddresses(INTERFACES);
  assert(local.equals(new LocalAddresses([...INTERFACES].reverse())));
  assert(local.equals(new LocalAddresses([...INTERFACES, ...INTERFACES])));
  assert(!local.equals(new LocalAddresses(INTERFACES.slice(1))));
  const moved = INTERFACES.map((a) =>
    a.name === "eth0" && a.family === 2 ? { ...a, broadcast: bytes("10.0.0.127").bytes } : a
  );
  assert(!local.equals(new LocalAddresses(moved)));
  assert(new LocalAddresses([]).equals(LocalAddresses.fromJSON({ v4: [], v6: [], broadcast: [] })));
});

Deno.test("LocalAddresses.fromJSON() rejects an address of the wrong family", () => {
  assertThrows(
    () => LocalAddresses.fromJSON({ v4: ["fe80::1"], v6: [], broadcast: [] }),
    Error,
    "Failed to read local addresses: expected an IPv4 address in 'v4', got 'fe80::1'",
  );
  assertThrows(
    () => LocalAddresses.fromJSON({ v4: [], v6: ["10.0.0.1"], broadcast: [] }),
    Error,
    "expected an IPv6 address in 'v6', got '10.0.0.1'",
  );
});

interface IpAddrJson {
  ifname: string;
  "addr_info": { family: string; local: string; broadcast?: string }[];
}

/** What `ip -j addr` shows, as LocalAddresses.toJSON() should show it. */
async function ipAddresses(
  ns: Netns,
): Promise<{ v4: Set<string>; v6: Set<string>; b: Set<string> }> {
  const { stdout } = await ns.exec(["ip", "-j", "addr", "show"]);
  const out = { v4: new Set<string>(), v6: new Set<string>(), b: new Set<string>() };
  for (const link of JSON.parse(stdout) as IpAddrJson[]) {
    for (const a of link["addr_info"]) {
      if (a.family === "inet") {
        out.v4.add(a.local);
        if (a.broadcast !== undefined) out.b.add(a.broadcast);
      } else if (a.family === "inet6") {
        out.v6.add(a.local);
      }
    }
  }
  return out;
}

Deno.test("LocalAddresses.current() in a thread inside a namespace matches ip -j addr", async () => {
  await using ns = await Netns.create("cls");
  const setup = [
    // Both ends of a veth pair stay in the namespace (this kernel has no dummy driver).
    ["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"],
    ["ip", "addr", "add", "10.88.0.1/24", "brd", "+", "dev", "d0"],
    ["ip", "addr", "add", "10.88.1.1/24", "dev", "d0"],
    ["ip", "addr", "add", "10.88.2.1/31", "dev", "d0"],
    ["ip", "addr", "add", "192.0.2.9/32", "dev", "d1"],
    ["ip", "addr", "add", "100.64.8.1/22", "brd", "100.64.11.255", "dev", "d1"],
    ["ip", "addr", "add", "fd88::1/64", "dev", "d0", "nodad"],
    ["ip", "addr", "add", "2001:db8:88::1/64", "dev", "d1", "nodad"],
    ["ip", "link", "set", "d0", "up"],
    ["ip", "link", "set", "d1", "up"],
  ];
  for (const cmd of setup) await ns.exec(cmd);
  using worker = new NetnsWorker(ns);
  const want = await ipAddresses(ns);
  const got = await worker.localAddresses();
  // Nothing changed in between, so both saw the same interfaces.
  assertEquals(await ipAddresses(ns), want);
  assertEquals({ v4: new Set(got.v4), v6: new Set(got.v6), b: new Set(got.broadcast) }, want);
  // Sanity: the reference holds what was configured, so the comparison means something.
  for (const a of ["10.88.0.1", "10.88.1.1", "10.88.2.1", "192.0.2.9", "127.0.0.1"]) {
    assert(want.v4.has(a), a);
  }
  for (const a of ["fd88::1", "2001:db8:88::1", "::1"]) assert(want.v6.has(a), a);
  assertEquals(want.b, new Set(["10.88.0.255", "100.64.11.255"]));

  const local = LocalAddresses.fromJSON(got);
  assertEquals(classOf("10.88.0.1", local), "this-host");
  assertEquals(classOf("10.88.0.255", local), "broadcast");
  assertEquals(classOf("10.88.1.255", local), "private");
  assertEquals(classOf("100.64.11.255", local), "broadcast");
  assertEquals(classOf("fd88::1", local), "this-host");
  assertEquals(classOf("fd88::2", local), "unique-local");
  // The thread saw the namespace's interfaces, not those of the process's namespace.
  assert(!LocalAddresses.current().has(4, bytes("10.88.0.1").bytes));
});
