import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { loadConntrack, Netns, vethPair } from "../../tools/netns.ts";
import { parseConntrackExtended } from "../_helpers/conntrack_cli.ts";
import {
  type ConntrackTuples,
  localSocketOf,
  SocketOwners,
  type SocketQuery,
} from "../../src/collector/owners.ts";
import { LocalAddresses } from "../../src/core/classes.ts";
import { parseAddress } from "../../src/conntrack/address.ts";
import type { Owner } from "../../src/core/enrichment.ts";
import { NetnsWorker } from "../_helpers/netns_worker_client.ts";
import { type SocketProcess, startSocketProcess } from "./_socket_processes.ts";
import type { ProbeQuery } from "./_owners_probe.ts";

const TCP = 6, UDP = 17, UDPLITE = 136, ICMP = 1, ICMPV6 = 58, SCTP = 132, DCCP = 33;

function addr(text: string): { family: 4 | 6; bytes: Uint8Array } {
  // Python reports IPv4 peers of dual-stack sockets as ::ffff:a.b.c.d; conntrack says a.b.c.d.
  const plain = text.startsWith("::ffff:") && text.includes(".") ? text.slice(7) : text;
  const a = parseAddress(plain);
  if (a === undefined) throw new Error(`Failed to parse test address '${text}'`);
  return a.family === 2
    ? { family: 4, bytes: a.bytes.subarray(0, 4) }
    : { family: 6, bytes: a.bytes };
}

function query(
  protocol: number,
  local: string,
  localPort: number,
  remote: string,
  remotePort: number,
): SocketQuery {
  const l = addr(local), r = addr(remote);
  return { protocol, family: l.family, local: l.bytes, localPort, remote: r.bytes, remotePort };
}

/** A socket as python reports it: [local address, local port, peer address, peer port]. */
type Pair = [string, number, string, number];

/** The query for the socket at `pair`. */
function ofPair(protocol: number, [l, lp, r, rp]: Pair): SocketQuery {
  return query(protocol, l, lp, r, rp);
}

function ownerOf(p: SocketProcess): Owner {
  return { pid: p.pid, name: p.name };
}

// ---------------------------------------------------------------------------------------------
// localSocketOf(): which side of a conntrack entry is a local socket.

const LOCAL = new LocalAddresses(
  [
    ["10.0.0.5", "10.0.0.255"],
    ["192.0.2.1", null],
    ["127.0.0.1", null],
    ["2001:db8::5", null],
    ["::1", null],
  ].map(([a, b]) => {
    const x = addr(a!);
    return {
      name: "eth0",
      family: x.family === 4 ? 2 : 10,
      address: x.bytes,
      prefix: x.family === 4 ? 24 : 64,
      broadcast: b === null ? null : addr(b!).bytes,
    } as const;
  }),
);

/** A conntrack entry from its original tuple and, where NAT changed it, its reply tuple. */
function entry(
  protocol: number,
  orig: [string, number, string, number],
  reply?: [string, number, string, number],
): ConntrackTuples {
  const [os, osp, od, odp] = orig;
  const [rs, rsp, rd, rdp] = reply ?? [od, odp, os, osp];
  return {
    family: addr(os).family,
    protocol,
    origSrc: addr(os).bytes,
    origDst: addr(od).bytes,
    origSport: osp,
    origDport: odp,
    replySrc: addr(rs).bytes,
    replyDst: addr(rd).bytes,
    replySport: rsp,
    replyDport: rdp,
  };
}

Deno.test("localSocketOf() picks the local side of an entry, or null when forwarded", () => {
  const cases: [string, ConntrackTuples, SocketQuery | null][] = [
    [
      "outgoing TCP",
      entry(TCP, ["10.0.0.5", 40000, "93.184.216.34", 443]),
      query(TCP, "10.0.0.5", 40000, "93.184.216.34", 443),
    ],
    [
      "incoming TCP",
      entry(TCP, ["198.51.100.7", 50000, "10.0.0.5", 22]),
      query(TCP, "10.0.0.5", 22, "198.51.100.7", 50000),
    ],
    [
      "incoming TCP redirected to a local port (DNAT)",
      entry(TCP, ["198.51.100.7", 50000, "10.0.0.5", 8080], [
        "10.0.0.5",
        3128,
        "198.51.100.7",
        50000,
      ]),
      query(TCP, "10.0.0.5", 3128, "198.51.100.7", 50000),
    ],
    [
      "incoming TCP to another local address after DNAT",
      entry(TCP, ["198.51.100.7", 50000, "10.0.0.5", 80], [
        "192.0.2.1",
        8080,
        "198.51.100.7",
        50000,
      ]),
      query(TCP, "192.0.2.1", 8080, "198.51.100.7", 50000),
    ],
    [
      "outgoing TCP, source NATed on the way out",
      entry(TCP, ["10.0.0.5", 40000, "93.184.216.34", 443], [
        "93.184.216.34",
        443,
        "203.0.113.9",
        61000,
      ]),
      query(TCP, "10.0.0.5", 40000, "93.184.216.34", 443),
    ],
    [
      "forwarded TCP, DNAT to another host",
      entry(TCP, ["198.51.100.7", 50000, "10.0.0.5", 80], [
        "10.0.0.9",
        80,
        "198.51.100.7",
        50000,
      ]),
      null,
    ],
    [
      "forwarded TCP, masqueraded by this router",
      entry(TCP, ["10.0.0.9", 40000, "93.184.216.34", 443], [
        "93.184.216.34",
        443,
        "10.0.0.5",
        61000,
      ]),
      null,
    ],
    ["forwarded UDP", entry(UDP, ["10.1.0.2", 5000, "10.2.0.3", 53]), null],
    [
      "loopback between two local sockets: the connecting side",
      entry(TCP, ["127.0.0.1", 40000, "127.0.0.1", 5432]),
      query(TCP, "127.0.0.1", 40000, "127.0.0.1", 5432),
    ],
    [
      "loopback on another 127/8 address",
      entry(UDP, ["127.0.0.53", 53, "127.0.0.1", 40000]),
      query(UDP, "127.0.0.53", 53, "127.0.0.1", 40000),
    ],
    [
      "incoming IPv6 UDP",
      entry(UDP, ["2001:db8::9", 5000, "2001:db8::5", 53]),
      query(UDP, "2001:db8::5", 53, "2001:db8::9", 5000),
    ],
    [
      "incoming UDP-Lite",
      entry(UDPLITE, ["10.0.0.9", 5000, "10.0.0.5", 6000]),
      query(UDPLITE, "10.0.0.5", 6000, "10.0.0.9", 5000),
    ],
    [
      "incoming UDP to a multicast group",
      entry(UDP, ["10.0.0.9", 5353, "224.0.0.251", 5353]),
      query(UDP, "224.0.0.251", 5353, "10.0.0.9", 5353),
    ],
    [
      "incoming UDP to the local network's broadcast address",
      entry(UDP, ["10.0.0.9", 68, "10.0.0.255", 67]),
      query(UDP, "10.0.0.255", 67, "10.0.0.9", 68),
    ],
    [
      "incoming UDP to the limited broadcast address",
      entry(UDP, ["10.0.0.9", 68, "255.255.255.255", 67]),
      query(UDP, "255.255.255.255", 67, "10.0.0.9", 68),
    ],
    ["TCP to a multicast address is not local", entry(TCP, ["10.0.0.9", 1, "224.0.0.1", 2]), null],
    [
      "outgoing ping: the echo id is the local port",
      entry(ICMP, ["10.0.0.5", 4242, "8.8.8.8", 0x0800]),
      query(ICMP, "10.0.0.5", 4242, "8.8.8.8", 0),
    ],
    [
      "outgoing IPv6 ping",
      entry(ICMPV6, ["2001:db8::5", 77, "2001:db8::1", 0x8000]),
      query(ICMPV6, "2001:db8::5", 77, "2001:db8::1", 0),
    ],
    ["incoming ping: the kernel answers", entry(ICMP, ["8.8.8.8", 9, "10.0.0.5", 0x0800]), null],
    [
      "outgoing GRE: no ports",
      entry(47, ["10.0.0.5", 1, "198.51.100.7", 2]),
      query(47, "10.0.0.5", 0, "198.51.100.7", 0),
    ],
    ["incoming GRE", entry(47, ["198.51.100.7", 1, "10.0.0.5", 2]), null],
    ["outgoing SCTP", entry(SCTP, ["10.0.0.5", 1, "198.51.100.7", 2]), null],
    ["outgoing DCCP", entry(DCCP, ["10.0.0.5", 1, "198.51.100.7", 2]), null],
  ];
  for (const [what, e, want] of cases) assertEquals([what, localSocketOf(e, LOCAL)], [what, want]);
});

Deno.test("SocketOwners rejects a budget below 1", () => {
  assertThrows(
    () => new SocketOwners({ budget: 0 }),
    Error,
    "Failed to create socket owners: expected a budget >= 1, got 0",
  );
});

// ---------------------------------------------------------------------------------------------
// Real sockets of real processes in a namespace, resolved from a worker thread inside it.

const TCP_SERVER = `
v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
v4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
v4.bind(("0.0.0.0", 0))
v4.listen(16)
v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
v6.bind(("::", 0))
v6.listen(16)
out(port4=v4.getsockname()[1], port6=v6.getsockname()[1])
want, conns = int(sys.argv[2]), []
while len(conns) < want:
    ready, _, _ = select.select([v4, v6], [], [], 10)
    if not ready:
        sys.exit("no connection within 10 s")
    for s in ready:
        conns.append(s.accept()[0])
out(accepted=[[*c.getsockname()[:2], *c.getpeername()[:2]] for c in conns])
hold()
`;

/** Connects to each "host,port" argument (TCP, or UDP with argv "udp" first) and holds. */
const CLIENT = `
kind = socket.SOCK_DGRAM if sys.argv[2] == "udp" else socket.SOCK_STREAM
conns = []
for spec in sys.argv[3:]:
    host, port = spec.rsplit(",", 1)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    c = socket.socket(family, kind)
    c.settimeout(5)
    c.connect((host, int(port)))
    if kind == socket.SOCK_DGRAM:
        c.send(b"conntop")
    conns.append(c)
out(conns=[[*c.getsockname()[:2], *c.getpeername()[:2]] for c in conns])
hold()
`;

/** Unconnected UDP sockets: on 0.0.0.0, dual-stack on ::, and on the IPv6 address argv[2]. */
const UDP_SERVER = `
any4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
any4.bind(("0.0.0.0", 0))
dual = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
dual.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
dual.bind(("::", 0))
only6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
only6.bind((sys.argv[2], 0))
out(any4=any4.getsockname()[1], dual=dual.getsockname()[1], only6=only6.getsockname()[1])
hold()
`;

/** One UDP (or UDP-Lite, argv "lite") socket bound to argv address and port, reusable. */
const UDP_BIND = `
proto = 136 if sys.argv[2] == "lite" else 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, proto)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[3], int(sys.argv[4])))
out(port=s.getsockname()[1])
hold()
`;

/** Ping sockets (IPv4 and IPv6) that sent one echo request each. */
const PING = `
p4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
p4.sendto(bytes([8, 0, 0, 0, 0, 0, 0, 1]) + b"conntop", (sys.argv[2], 0))
p6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
p6.sendto(bytes([128, 0, 0, 0, 0, 0, 0, 1]) + b"conntop", (sys.argv[3], 0))
out(id4=p4.getsockname()[1], id6=p6.getsockname()[1])
hold()
`;

/** Raw sockets of protocol 253 (experimental), IPv4 and IPv6. */
const RAW = `
r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 253)
out()
hold()
`;

async function localNamespace(): Promise<Netns> {
  const ns = await Netns.create("own");
  try {
    for (
      const cmd of [
        ["ip", "link", "add", "o0", "type", "veth", "peer", "name", "o1"],
        ["ip", "addr", "add", "10.77.0.1/24", "dev", "o0"],
        ["ip", "addr", "add", "10.77.0.2/24", "dev", "o0"],
        ["ip", "addr", "add", "fd77::1/64", "dev", "o0", "nodad"],
        ["ip", "link", "set", "o0", "up"],
        ["ip", "link", "set", "o1", "up"],
      ]
    ) await ns.exec(cmd);
    await ns.sysctl("net.ipv4.ping_group_range", "0 2147483647");
  } catch (err) {
    await ns.close();
    throw err;
  }
  return ns;
}

const pairs = (p: SocketProcess, key: string): Pair[] => p.info[key] as Pair[];
const num = (p: SocketProcess, key: string): number => p.info[key] as number;

Deno.test("SocketOwners finds the process of each local socket from a thread in the namespace", async (t) => {
  await using ns = await localNamespace();
  await using server = await startSocketProcess(ns, "ct-tcp-srv", TCP_SERVER, { args: ["3"] });
  const [p4, p6] = [num(server, "port4"), num(server, "port6")];
  await using client = await startSocketProcess(ns, "ct-tcp-cli", CLIENT, {
    args: ["tcp", `10.77.0.1,${p4}`, `10.77.0.1,${p6}`, `fd77::1,${p6}`],
  });
  const accepted = (await server.next()).accepted as Pair[];
  await using udpServer = await startSocketProcess(ns, "ct-udp-srv", UDP_SERVER, {
    args: ["fd77::1"],
  });
  await using udpClient = await startSocketProcess(ns, "ct-udp-cli", CLIENT, {
    args: [
      "udp",
      `10.77.0.1,${num(udpServer, "any4")}`,
      `10.77.0.1,${num(udpServer, "dual")}`,
      `fd77::1,${num(udpServer, "dual")}`,
      `fd77::1,${num(udpServer, "only6")}`,
    ],
  });
  await using specific = await startSocketProcess(ns, "ct-udp-spec", UDP_BIND, {
    args: ["udp", "10.77.0.1", "0"],
  });
  const shared = num(specific, "port");
  await using wildcard = await startSocketProcess(ns, "ct-udp-wild", UDP_BIND, {
    args: ["udp", "0.0.0.0", String(shared)],
  });
  await using lite = await startSocketProcess(ns, "ct-udplite", UDP_BIND, {
    args: ["lite", "0.0.0.0", "0"],
  });
  await using pinger = await startSocketProcess(ns, "ct-ping", PING, {
    args: ["10.77.0.1", "fd77::1"],
  });
  await using raw = await startSocketProcess(ns, "ct-raw", RAW);

  const byClientPort = (port: number): Pair => accepted.find((a) => a[3] === port)!;
  const [c4, c46, c6] = pairs(client, "conns") as [Pair, Pair, Pair];
  const [u4, u46, u6, u6only] = pairs(udpClient, "conns") as [Pair, Pair, Pair, Pair];
  const cases: [string, SocketQuery, SocketProcess | null][] = [
    ["TCP client, IPv4", ofPair(TCP, c4), client],
    ["TCP server's accepted socket, IPv4", ofPair(TCP, byClientPort(c4[1])), server],
    ["TCP client, IPv4 to a dual-stack server", ofPair(TCP, c46), client],
    ["TCP accepted socket of a dual-stack server, IPv4", ofPair(TCP, byClientPort(c46[1])), server],
    ["TCP client, IPv6", ofPair(TCP, c6), client],
    ["TCP server's accepted socket, IPv6", ofPair(TCP, byClientPort(c6[1])), server],
    [
      "TCP without a socket of its own: the listener",
      query(TCP, "10.77.0.1", p4, "10.77.0.9", 4444),
      server,
    ],
    [
      "TCP without a socket: the dual-stack listener, IPv6",
      query(TCP, "fd77::1", p6, "fd77::9", 4444),
      server,
    ],
    ["UDP connected client, IPv4", ofPair(UDP, u4), udpClient],
    [
      "UDP unconnected server on 0.0.0.0",
      query(UDP, "10.77.0.1", u4[3], "10.77.0.1", u4[1]),
      udpServer,
    ],
    ["UDP connected client to a dual-stack server", ofPair(UDP, u46), udpClient],
    [
      "UDP dual-stack server on ::, IPv4 traffic",
      query(UDP, "10.77.0.1", u46[3], "10.77.0.1", u46[1]),
      udpServer,
    ],
    ["UDP connected client, IPv6", ofPair(UDP, u6), udpClient],
    [
      "UDP dual-stack server on ::, IPv6 traffic",
      query(UDP, "fd77::1", u6[3], "fd77::1", u6[1]),
      udpServer,
    ],
    [
      "UDP server bound to an IPv6 address",
      query(UDP, "fd77::1", u6only[3], "fd77::9", 1),
      udpServer,
    ],
    [
      "UDP bound to the address beats the wildcard",
      query(UDP, "10.77.0.1", shared, "10.77.0.9", 1),
      specific,
    ],
    [
      "UDP wildcard for another local address",
      query(UDP, "10.77.0.2", shared, "10.77.0.9", 1),
      wildcard,
    ],
    ["UDP-Lite", query(UDPLITE, "10.77.0.1", num(lite, "port"), "10.77.0.9", 1), lite],
    ["UDP-Lite is not UDP", query(UDP, "10.77.0.1", num(lite, "port"), "10.77.0.9", 1), null],
    [
      "ICMP echo from a ping socket",
      query(ICMP, "10.77.0.1", num(pinger, "id4"), "10.77.0.1", 0),
      pinger,
    ],
    [
      "ICMPv6 echo from a ping socket",
      query(ICMPV6, "fd77::1", num(pinger, "id6"), "fd77::1", 0),
      pinger,
    ],
    ["a raw socket's protocol, IPv4", query(253, "10.77.0.1", 0, "10.77.0.9", 0), raw],
    ["a raw socket's protocol, IPv6", query(253, "fd77::1", 0, "fd77::9", 0), raw],
    ["forwarded TCP", query(TCP, "10.99.0.1", 40000, "10.99.0.2", 80), null],
    ["a UDP port nobody has", query(UDP, "10.77.0.1", 9, "10.77.0.9", 1), null],
    ["a protocol nobody has a raw socket for", query(47, "10.77.0.1", 0, "10.77.0.9", 0), null],
    ["SCTP", query(SCTP, "10.77.0.1", p4, "10.77.0.9", 1), null],
  ];
  const queries = cases.map(([, q]) => q);
  const want = cases.map(([what, , p]) => [what, p === null ? null : ownerOf(p)]);
  const found = cases.filter(([, , p]) => p !== null).length;

  using worker = new NetnsWorker(ns);
  await worker.newOwners();
  const first = await worker.resolve(queries);

  await t.step("each query gets its process's pid and name", () => {
    assertEquals(cases.map(([what], i) => [what, first.owners[i]]), want);
    assertEquals(first.stats.last.found, found);
  });

  await t.step("each socket table is read once per call", () => {
    // tcp, tcp6, udp, udp6, udplite, udplite6, icmp, icmp6, raw, raw6
    assertEquals(first.stats.last.tables, 10);
  });

  await t.step("a second call checks remembered owners instead of scanning", async () => {
    const second = await worker.resolve(queries);
    assertEquals(cases.map(([what], i) => [what, second.owners[i]]), want);
    assertEquals(second.stats.last.scanReadlinks, 0);
    assertEquals(second.stats.last.listings, 0);
    assert(second.stats.last.verifyReadlinks <= found, JSON.stringify(second.stats.last));
    assert(
      first.stats.last.scanReadlinks > 2 * second.stats.last.verifyReadlinks,
      `first ${JSON.stringify(first.stats.last)}, second ${JSON.stringify(second.stats.last)}`,
    );
  });

  await t.step("the process's own thread, outside the namespace, sees none of it", () => {
    const owners = new SocketOwners();
    const outside = owners.resolve(queries);
    assertEquals(outside.filter((o) => o !== null), []);
    assertEquals(owners.stats().last.noSocket, queries.length);
  });

  await t.step("a smaller budget spreads the search over calls and finds the same", async () => {
    const budget = 25;
    await worker.newOwners({ budget });
    let calls = 0;
    let last: (Owner | null)[] = [];
    for (; calls < 5000; calls++) {
      const r = await worker.resolve(queries);
      assert(r.stats.last.scanReadlinks + r.stats.last.listings <= budget, JSON.stringify(r.stats));
      last = r.owners;
      if (r.stats.last.found < found) assert(r.stats.pending > 0, JSON.stringify(r.stats));
      else assertEquals(r.stats.pending, 0);
      // Done when all are found, or nothing is left to scan (then the comparison below fails).
      // A call that only goes on reading the fds of a process listed in an earlier call lists
      // nothing but still scans: only a call that read nothing at all means the end.
      const idle = r.stats.last.listings === 0 && r.stats.last.scanReadlinks === 0;
      if (r.stats.last.found === found || idle) break;
    }
    assertEquals(cases.map(([what], i) => [what, last[i]]), want);
    assert(calls > 0, "the budget never ran out: the test proves nothing");
  });
});

Deno.test("SocketOwners forgets a process that exited", async () => {
  await using ns = await localNamespace();
  using worker = new NetnsWorker(ns);
  await worker.newOwners();
  let port: number;
  let oldPid: number;
  {
    await using old = await startSocketProcess(ns, "ct-old", UDP_BIND, {
      args: ["udp", "0.0.0.0", "0"],
    });
    port = num(old, "port");
    oldPid = old.pid;
    const q = query(UDP, "10.77.0.1", port, "10.77.0.9", 1);
    assertEquals((await worker.resolve([q])).owners, [ownerOf(old)]);
    assert(await worker.tracks(old.pid));
  }
  // Gone with its socket: nothing to find.
  const q = query(UDP, "10.77.0.1", port, "10.77.0.9", 1);
  const gone = await worker.resolve([q]);
  assertEquals(gone.owners, [null]);
  assertEquals(gone.stats.last.noSocket, 1);
  // Another process takes the port: found, and the dead one is forgotten with its sockets.
  await using next = await startSocketProcess(ns, "ct-new", UDP_BIND, {
    args: ["udp", "0.0.0.0", String(port)],
  });
  assertEquals((await worker.resolve([q])).owners, [ownerOf(next)]);
  assert(!(await worker.tracks(oldPid)), `pid ${oldPid} is still tracked`);
});

/** A bound UDP socket whose only reference is in flight: sent over a unix socket, then closed. */
const ORPHAN = `
a, b = socket.socketpair()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))
port = s.getsockname()[1]
socket.send_fds(a, [b"x"], [s.fileno()])
s.close()
out(port=port)
hold()
`;

Deno.test("SocketOwners gives up on a socket no process holds and stops scanning for it", async () => {
  await using ns = await localNamespace();
  await using orphan = await startSocketProcess(ns, "ct-orphan", ORPHAN);
  using worker = new NetnsWorker(ns);
  await worker.newOwners();
  const q = query(UDP, "10.77.0.1", num(orphan, "port"), "10.77.0.9", 1);
  const first = await worker.resolve([q]);
  assertEquals(first.owners, [null]);
  assertEquals(first.stats.last.noSocket, 0); // the socket is in the table
  assertEquals(first.stats.missing, 1);
  assertEquals(first.stats.pending, 0);
  assert(first.stats.last.processesScanned >= first.stats.processes - first.stats.denied);
  // Known processes are not scanned again for it; only processes started since would be.
  const second = await worker.resolve([q]);
  assertEquals(second.owners, [null]);
  assertEquals(second.stats.missing, 1);
  assert(
    second.stats.last.processesScanned * 4 < first.stats.last.processesScanned,
    `first ${JSON.stringify(first.stats.last)}, second ${JSON.stringify(second.stats.last)}`,
  );
});

Deno.test("SocketOwners ignores processes of other users it may not look into", async () => {
  await using ns = await localNamespace();
  // The resolver runs as root without capabilities, so it may look into processes of its own
  // user that have no more capabilities than it has (cap_ptrace_access_check), not others.
  const noCaps = ["--inh-caps=-all", "--bounding-set=-all"];
  await using mine = await startSocketProcess(ns, "ct-root-udp", UDP_BIND, {
    args: ["udp", "0.0.0.0", "0"],
    setpriv: noCaps,
  });
  await using theirs = await startSocketProcess(ns, "ct-nobody-udp", UDP_BIND, {
    args: ["udp", "0.0.0.0", "0"],
    setpriv: ["--reuid=65534", "--regid=65534", "--clear-groups"],
  });
  const queries: ProbeQuery[] = [mine, theirs].map((p) => ({
    protocol: UDP,
    local: "10.77.0.1",
    localPort: num(p, "port"),
    remote: "10.77.0.9",
    remotePort: 1,
  }));
  const probe = new URL("./_owners_probe.ts", import.meta.url).pathname;
  const { stdout } = await ns.exec([
    "setpriv",
    ...noCaps,
    "--",
    Deno.execPath(),
    "run",
    "--allow-ffi",
    "--no-config",
    "--quiet",
    probe,
  ], { stdin: JSON.stringify({ queries }) });
  const { owners, stats } = JSON.parse(stdout);
  assertEquals(owners, [ownerOf(mine), null]);
  assertEquals(stats.last.noSocket, 0); // the other user's socket is there, its owner hidden
  assert(stats.denied >= 1, JSON.stringify(stats));
  assertEquals(stats.missing, 1);
});

// ---------------------------------------------------------------------------------------------
// Real conntrack entries: localSocketOf() + SocketOwners from the server's namespace.

const NFT = (port: number) => `
table ip owners {
  chain pre { type nat hook prerouting priority -100; tcp dport 8080 redirect to :${port}; }
  chain in { type filter hook input priority 0; ct state new accept; }
  chain out { type filter hook output priority 0; ct state new accept; }
}
table ip6 owners6 {
  chain in { type filter hook input priority 0; ct state new accept; }
}
`;

Deno.test("conntrack entries of a namespace lead to the processes on its side", async () => {
  await using cli = await Netns.create("ocli");
  await using srv = await Netns.create("osrv");
  await vethPair(cli, srv, {
    aAddr: "10.9.0.1",
    bAddr: "10.9.0.2",
    prefixLen: 24,
    aAddr6: "fd09::1",
    bAddr6: "fd09::2",
  });
  await srv.sysctl("net.ipv4.ping_group_range", "0 2147483647");
  await using server = await startSocketProcess(srv, "ct-srv", TCP_SERVER, { args: ["3"] });
  const [p4, p6] = [num(server, "port4"), num(server, "port6")];
  await srv.nft(NFT(p4));
  await using udp = await startSocketProcess(srv, "ct-srv-udp", UDP_SERVER, {
    args: ["fd09::2"],
  });
  await using remoteListener = await startSocketProcess(cli, "ct-far-srv", TCP_SERVER, {
    args: ["1"],
  });
  await using outgoing = await startSocketProcess(srv, "ct-srv-cli", CLIENT, {
    args: ["tcp", `10.9.0.1,${num(remoteListener, "port4")}`],
  });
  await using pinger = await startSocketProcess(srv, "ct-srv-ping", PING, {
    args: ["10.9.0.1", "fd09::1"],
  });
  await using far = await startSocketProcess(cli, "ct-far-cli", CLIENT, {
    args: ["tcp", "10.9.0.2,8080", `10.9.0.2,${p4}`, `fd09::2,${p6}`],
  });
  await server.next(); // accepted all three
  await using farUdp = await startSocketProcess(cli, "ct-far-udp", CLIENT, {
    args: ["udp", `10.9.0.2,${num(udp, "any4")}`],
  });
  await cli.exec(["python3", "-c", PING_ONCE, "10.9.0.2"]);
  await loadConntrack(srv, [
    "-I -t 100 -s 10.50.0.1 -d 10.50.0.2 -p tcp --sport 1 --dport 2 --state ESTABLISHED",
  ]);

  using worker = new NetnsWorker(srv);
  await worker.newOwners();
  const local = LocalAddresses.fromJSON(await worker.localAddresses());
  const { stdout } = await srv.conntrack(["-L", "-o", "extended"]);
  const flows = parseConntrackExtended(stdout);
  const tuples = flows.map((f): ConntrackTuples => {
    const b = (text: string) => addr(text).bytes;
    const icmp = f.l4proto === ICMP || f.l4proto === ICMPV6;
    return {
      family: f.l3 === "ipv4" ? 4 : 6,
      protocol: f.l4proto,
      origSrc: b(f.orig.src),
      origDst: b(f.orig.dst),
      origSport: (icmp ? f.orig.id : f.orig.sport) ?? 0,
      origDport: f.orig.dport ?? 0,
      replySrc: b(f.reply.src),
      replyDst: b(f.reply.dst),
      replySport: (icmp ? f.reply.id : f.reply.sport) ?? 0,
      replyDport: f.reply.dport ?? 0,
    };
  });
  const queries = tuples.map((e) => localSocketOf(e, local));
  const owners = (await worker.resolve(queries.filter((q) => q !== null))).owners;
  const got = new Map<string, Owner | null>();
  let k = 0;
  flows.forEach((f, i) => {
    const key = `${f.l4name} ${f.orig.src} ${f.orig.sport ?? f.orig.id ?? ""} > ` +
      `${f.orig.dst} ${f.orig.dport ?? f.orig.type ?? ""}`;
    got.set(key, queries[i] === null ? null : owners[k++]!);
  });
  const [farTcp, farDirect, far6] = pairs(far, "conns");
  const want = new Map<string, Owner | null>([
    [`tcp ${farTcp![0]} ${farTcp![1]} > 10.9.0.2 8080`, ownerOf(server)], // redirected
    [`tcp ${farDirect![0]} ${farDirect![1]} > 10.9.0.2 ${p4}`, ownerOf(server)],
    [`tcp ${far6![0]} ${far6![1]} > fd09::2 ${p6}`, ownerOf(server)],
    [
      `udp ${pairs(farUdp, "conns")[0]![0]} ${pairs(farUdp, "conns")[0]![1]} > 10.9.0.2 ${
        num(udp, "any4")
      }`,
      ownerOf(udp),
    ],
    [
      `tcp 10.9.0.2 ${pairs(outgoing, "conns")[0]![1]} > 10.9.0.1 ${num(remoteListener, "port4")}`,
      ownerOf(outgoing),
    ],
    [`icmp 10.9.0.2 ${num(pinger, "id4")} > 10.9.0.1 8`, ownerOf(pinger)],
    [`icmpv6 fd09::2 ${num(pinger, "id6")} > fd09::1 128`, ownerOf(pinger)],
    [`icmp 10.9.0.1 ${PING_ONCE_ID} > 10.9.0.2 8`, null], // the kernel answered
    ["tcp 10.50.0.1 1 > 10.50.0.2 2", null], // forwarded
  ]);
  for (const [key, owner] of want) assertEquals([key, got.get(key)], [key, owner]);
});

const PING_ONCE_ID = 4321;

/** One echo request from a raw socket with a fixed id, waiting for the reply. */
const PING_ONCE = `
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
body = struct.pack("!BBHHH", 8, 0, 0, ${PING_ONCE_ID}, 1) + b"conntop!"
csum = sum(struct.unpack("!8H", body))
csum = (csum >> 16) + (csum & 0xffff)
csum = ~(csum + (csum >> 16)) & 0xffff
s.sendto(body[:2] + struct.pack("!H", csum) + body[4:], (sys.argv[1], 0))
s.recvfrom(1024)
`;
