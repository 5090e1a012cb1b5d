/**
 * conntop on real traffic between two test namespaces joined by a veth pair: NAT made
 * visible, rates against the bytes actually sent, and connections shorter than one refresh.
 */

import { trackedPair } from "../_helpers/tracked_pair.ts";
import { assert, assertAlmostEquals, assertEquals } from "../_helpers/assert.ts";
import { Netns, tcpRoundTrip, vethPair } from "../../tools/netns.ts";
import { parseConntrackXml } from "../_helpers/conntrack_cli.ts";
import { ConntopProcess, runConntop } from "./_conntop.ts";
import type { Connection } from "../../src/core/connection.ts";

/** Starts a python3 program in `ns`; resolves once it printed "ready". */
function startPython(ns: Netns, script: string, args: string[]): Promise<Deno.ChildProcess> {
  return ns.spawnReady(["python3", "-c", script, ...args]);
}

async function finish(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
  await child.output().catch(() => {});
}

const UDP_SINK = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(30)
print("ready", flush=True)
end = time.time() + 30
while time.time() < end:
    try:
        data, peer = s.recvfrom(65535)
    except socket.timeout:
        break
    if data.startswith(b"echo"):
        s.sendto(data, peer)
`;

const UDP_PACED_SENDER = `
import socket, sys, time
dst, port, rate, size, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 41000))
payload = b"x" * size
start = time.monotonic()
n = int(rate * seconds)
for i in range(n):
    due = start + i / rate
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    s.sendto(payload, (dst, port))
print(n, flush=True)
`;

Deno.test("conntop reports rates within 10% of the bytes actually sent per second", async () => {
  await using pair = await trackedPair("rate", 8);
  const { a, b } = pair;
  const sink = await startPython(b, UDP_SINK, ["10.8.0.2", "9999"]);
  try {
    await using mon = new ConntopProcess(
      ["--stream", "--interval", "1", "-p", "udp", "--dport", "9999", "--netns", a.name],
    );
    await new Promise((r) => setTimeout(r, 1500)); // let the monitor take its first sample
    const rate = 100, size = 1000, seconds = 7;
    const sent = await a.exec([
      "python3",
      "-c",
      UDP_PACED_SENDER,
      "10.8.0.2",
      "9999",
      String(rate),
      String(size),
      String(seconds),
    ]);
    assertEquals(Number(sent.stdout.trim()), rate * seconds);
    await new Promise((r) => setTimeout(r, 1200));
    const updates = mon.json<Connection & { event: string; time: string }>()
      .filter((u) => u.event === "update" && u.tx_bytes_per_s !== null);
    // Refreshes fully inside the sending window (not the first and last, which straddle it).
    const inner = updates.filter((u) => (u.tx_bytes_per_s ?? 0) > 0).slice(1, -1);
    assert(inner.length >= 3, `got ${inner.length} refreshes with traffic`);
    const wireBytes = rate * (size + 8 + 20); // payload + UDP header + IPv4 header
    for (const u of inner) {
      assertAlmostEquals(u.tx_bytes_per_s!, wireBytes, wireBytes * 0.1, `tx rate at ${u.time}`);
      assertAlmostEquals(u.tx_packets_per_s!, rate, rate * 0.1, `packet rate at ${u.time}`);
      assertEquals(u.rx_bytes_per_s, 0);
    }
    const last = updates.at(-1)!;
    assertEquals(last.tx_packets, rate * seconds, "every datagram was counted");
  } finally {
    await finish(sink);
  }
});

const UDP_ECHO_CLIENT = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 42000))
s.settimeout(3)
for i in range(3):
    s.sendto(b"echo" + b"y" * 96, (sys.argv[1], int(sys.argv[2])))
    s.recvfrom(65535)
print("done", flush=True)
`;

Deno.test("conntop reports a connection that lives shorter than one refresh", async () => {
  await using pair = await trackedPair("evt", 9);
  const { a, b } = pair;
  await a.conntrack([
    "-I",
    "-p",
    "tcp",
    "-s",
    "10.0.0.1",
    "-d",
    "10.0.0.2",
    "--sport",
    "1",
    "--dport",
    "2",
    "--state",
    "ESTABLISHED",
    "-t",
    "100",
  ]);
  const sink = await startPython(b, UDP_SINK, ["10.9.0.2", "9998"]);
  try {
    await using mon = new ConntopProcess(["--stream", "--interval", "4", "--netns", a.name]);
    await mon.waitFor(() => mon.json().length >= 1, 10000, "the first refresh");
    const t0 = Date.now();
    await a.exec(["python3", "-c", UDP_ECHO_CLIENT, "10.9.0.2", "9998"]);
    await a.conntrack(["-D", "-p", "udp", "--dport", "9998"]);
    assert(Date.now() - t0 < 3000, "the connection lived well under one refresh");
    const isOurs = (c: Connection) => c.protocol === "udp" && c.orig_dport === 9998;
    await mon.waitFor(
      () =>
        mon.json<Connection & { event: string }>().some((c) => isOurs(c) && c.event === "destroy"),
      10000,
      "the destroy event",
    );
    const seen = mon.json<Connection & { event: string }>().filter(isOurs);
    assertEquals(seen.map((c) => c.event), ["new", "destroy"]);
    const gone = seen[1]!;
    assertEquals(gone.tx_packets, 3);
    assertEquals(gone.rx_packets, 3);
    assertEquals(gone.tx_bytes, 3 * (100 + 8 + 20));
    assertEquals(gone.orig_sport, 42000);
  } finally {
    await finish(sink);
  }
});

Deno.test("conntop shows the translated endpoints of SNAT and DNAT", async () => {
  await using a = await Netns.create("nat");
  await using b = await Netns.create("nat");
  const veth = await vethPair(a, b, { aAddr: "10.6.0.1", bAddr: "10.6.0.2", prefixLen: 24 });
  await a.exec(["ip", "addr", "add", "10.6.0.5/24", "dev", veth.a]);
  await a.nft([
    "table ip nat {",
    " chain out {",
    "  type nat hook output priority -100;",
    "  ip daddr 10.6.0.99 tcp dport 80 dnat to 10.6.0.2:8080",
    " }",
    " chain post {",
    "  type nat hook postrouting priority 100;",
    "  ip daddr 10.6.0.2 snat to 10.6.0.5",
    " }",
    "}",
    "",
  ].join("\n"));
  await tcpRoundTrip(a, b, {
    address: "10.6.0.2",
    port: 8080,
    size: 200,
    connect: { address: "10.6.0.99", port: 80 },
  });
  const ours = await runConntop(["--once", "-o", "json", "--netns", a.name, "-p", "tcp"]);
  assertEquals(ours.code, 0, ours.stderr);
  const conns = (JSON.parse(ours.stdout) as { connections: Connection[] }).connections;
  assertEquals(conns.length, 1);
  const c = conns[0]!;
  const ref = parseConntrackXml((await a.conntrack(["-L", "-p", "tcp", "-o", "xml"])).stdout)[0]!;
  assertEquals([c.orig_dst, c.orig_dport], ["10.6.0.99", 80]);
  assertEquals([c.nat_dst, c.nat_dport], ["10.6.0.2", 8080], "DNAT destination");
  assertEquals(c.nat_src, "10.6.0.5", "SNAT source");
  assertEquals([c.reply_src, c.reply_dst], [ref.reply.src, ref.reply.dst]);
  assertEquals([c.reply_sport, c.reply_dport], [ref.reply.sport, ref.reply.dport]);
  assert(c.flags.includes("SRC_NAT") && c.flags.includes("DST_NAT"), c.flags.join(","));
  const table = await runConntop(["--once", "--netns", a.name, "-p", "tcp"]);
  assert(table.stdout.includes("snat 10.6.0.5") && table.stdout.includes("dnat 10.6.0.2:8080"));
});

Deno.test("conntop --once --interval samples twice so rates are filled", async () => {
  await using pair = await trackedPair("twice", 3);
  const { a, b } = pair;
  const sink = await startPython(b, UDP_SINK, ["10.3.0.2", "9997"]);
  const sender = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      a.name,
      "python3",
      "-c",
      UDP_PACED_SENDER,
      "10.3.0.2",
      "9997",
      "50",
      "500",
      "4",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, 500)); // the flow exists before the first sample
    const once = await runConntop(["--once", "-o", "json", "--netns", a.name, "--dport", "9997"]);
    const twice = await runConntop(
      ["--once", "-o", "json", "--interval", "1.5", "--netns", a.name, "--dport", "9997"],
    );
    assertEquals(twice.code, 0, twice.stderr);
    const one = (JSON.parse(once.stdout) as { connections: Connection[] }).connections[0]!;
    const two = (JSON.parse(twice.stdout) as { connections: Connection[] }).connections[0]!;
    assertEquals(one.tx_bytes_per_s, null, "a single sample has no rate");
    const wire = 50 * (500 + 8 + 20);
    assertAlmostEquals(two.tx_bytes_per_s!, wire, wire * 0.1);
    assertAlmostEquals(two.tx_packets_per_s!, 50, 5);
  } finally {
    await sender.status;
    await finish(sink);
  }
});
