/**
 * What the screenshot shows: two network namespaces joined by a veth pair, real traffic between
 * them, a few table entries with public addresses, and a DNS server of their own.
 *
 * ```
 *  ctshot-host (monitored)                           ctshot-peer
 *  eth0 10.77.0.1/24 fd77::1/64  <──── veth ────>  eth0 10.77.0.2/24 fd77::2/64
 *  lo: dnsmasq 127.0.0.1:53 (PTR records only)
 *  clients: bulk download, short web fetches,        servers: 443/tcp, 80/tcp, 443/udp
 *           UDP stream, pings v4 and v6               client: an ssh-like session
 *  server: 22/tcp on fd77::1
 * ```
 *
 * The monitored namespace counts bytes and stamps start times (its own sysctls), and tracks
 * its connections because an nft rule there uses `ct state`; loopback is not tracked, so the
 * monitor's own DNS queries stay out of the picture. Every traffic loop stops by itself after
 * `duration` seconds.
 *
 * The public addresses (Google, Cloudflare, Quad9, RIPE NCC, GitHub, DENIC, Canonical, Fastly,
 * Hetzner) are `conntrack -I` entries only: no packet is ever sent to them. Their PTR names
 * are the ones those networks publish, served by the namespace's own dnsmasq; nothing is
 * asked of any DNS server outside the namespace.
 *
 * Everything made is registered with the {@linkcode Cleanup} as soon as it exists.
 *
 * Requires root, `--allow-run --allow-read --allow-write`, and iproute2, conntrack, nft,
 * python3 and (for the names) dnsmasq.
 *
 * @module
 */

import type { Cleanup } from "./cleanup.ts";
import { Background } from "./process.ts";
import { Netns, waitForOperUp } from "../../tools/netns.ts";
import { runCommand } from "../../tools/run.ts";
import { startDnsmasq } from "../../tools/dns.ts";

/** The monitored namespace. */
export const HOST_NS = "ctshot-host";
/** Its peer. */
export const PEER_NS = "ctshot-peer";

const HOST4 = "10.77.0.1", PEER4 = "10.77.0.2";
const HOST6 = "fd77::1", PEER6 = "fd77::2";

/** Reverse names served by the namespace's dnsmasq. */
export const PTR_RECORDS: readonly (readonly [string, string])[] = [
  [HOST4, "demo.home.arpa"],
  [HOST6, "demo.home.arpa"],
  [PEER4, "peer.home.arpa"],
  [PEER6, "peer.home.arpa"],
  ["8.8.8.8", "dns.google"],
  ["2001:4860:4860::8888", "dns.google"],
  ["2606:4700:4700::1111", "one.one.one.one"],
  ["162.159.200.1", "time.cloudflare.com"],
  ["9.9.9.9", "dns9.quad9.net"],
  ["193.0.6.139", "www.ripe.net"],
  ["194.0.0.53", "a.nic.de"],
  ["140.82.121.4", "lb-140-82-121-4-fra.github.com"],
];

/**
 * The table entries with public addresses, as `conntrack` arguments. Long timeouts, so none
 * expires before the picture is taken.
 */
export const PUBLIC_ENTRIES: readonly string[] = [
  `-I -t 600 -p tcp -s ${HOST4} -d 140.82.121.4 --sport 51432 --dport 443 --state ESTABLISHED`,
  `-I -t 600 -p udp -s ${HOST4} -d 8.8.8.8 --sport 40211 --dport 53`,
  `-I -t 600 -p tcp -s ${HOST6} -d 2606:4700:4700::1111 --sport 43120 --dport 443 --state ESTABLISHED`,
  `-I -t 600 -p udp -s ${HOST6} -d 2001:4860:4860::8888 --sport 51000 --dport 53`,
  `-I -t 600 -p tcp -s ${HOST4} -d 193.0.6.139 --sport 38644 --dport 443 --state ESTABLISHED`,
  `-I -t 600 -p tcp -s ${HOST6} -d 2a01:4f8:fff0:4f::2 --sport 45866 --dport 22 --state ESTABLISHED`,
  `-I -t 600 -p udp -s ${HOST4} -d 162.159.200.1 --sport 123 --dport 123`,
  `-I -t 600 -p tcp -s ${HOST4} -d 151.101.2.132 --sport 52210 --dport 80 --state TIME_WAIT`,
  `-I -t 600 -p icmp -s ${HOST4} -d 9.9.9.9 --icmp-type 8 --icmp-code 0 --icmp-id 4242`,
  `-I -t 600 -p udp -s ${HOST4} -d 194.0.0.53 --sport 35071 --dport 53`,
  `-I -t 600 -p tcp -s ${HOST4} -d 91.189.91.49 --sport 52211 --dport 80 --state ESTABLISHED`,
];

/** How many short web fetches the client makes, one every {@linkcode WEB_INTERVAL_S}. */
const WEB_FETCHES = 8;
const WEB_INTERVAL_S = 0.75;
/** How many DNS-like queries, each from a port of its own, one every second. */
const QUERIES = 5;

/** Options of {@linkcode buildScene}. */
export interface SceneOptions {
  /** Seconds each traffic loop runs before it stops by itself. */
  duration: number;
  /** Start dnsmasq and point the monitored namespace's resolver at it. */
  dns: boolean;
}

/** What {@linkcode buildScene} made, for the caller's checks of the screen. */
export interface Scene {
  /** The monitored namespace. */
  ns: string;
  /** Connections in its table once all traffic has started (at least). */
  minConnections: number;
  /** Names that appear on screen once resolving has worked. */
  names: string[];
  /**
   * Resolves once the loops that make a fixed number of connections (web fetches, queries)
   * have made them all, so every run shows the same rows.
   */
  settled: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exec(ns: string, cmd: readonly string[], stdin?: string) {
  return runCommand(["ip", "netns", "exec", ns, ...cmd], { stdin });
}

/**
 * Makes the namespaces, the veth pair, the entries, the DNS server and the traffic.
 *
 * @throws {Error} When a namespace of that name exists already, or any step fails (what was
 * made is in `cleanup`).
 */
export async function buildScene(cleanup: Cleanup, options: SceneOptions): Promise<Scene> {
  const existing = (await runCommand(["ip", "netns", "list"])).stdout;
  for (const ns of [HOST_NS, PEER_NS]) {
    if (new RegExp(`^${ns}( |$)`, "m").test(existing)) {
      throw new Error(
        `Failed to create network namespace '${ns}': it exists already (another screenshot ` +
          `running, or one killed with SIGKILL: 'ip netns del ${ns}' removes it)`,
      );
    }
  }
  const made: Netns[] = [];
  for (const name of [HOST_NS, PEER_NS]) {
    // Fixed names: /etc/netns/NAME points the host namespace's resolver at the DNS server.
    const ns = await Netns.named(name);
    cleanup.add(`network namespace '${name}'`, () => ns.close());
    made.push(ns);
  }

  // Counters and start times for every connection made from now on; ping sockets for root.
  await exec(HOST_NS, ["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_acct=1"]);
  await exec(HOST_NS, ["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_timestamp=1"]);
  await exec(HOST_NS, ["sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 0"]);
  await exec(PEER_NS, ["sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 0"]);
  await exec(HOST_NS, ["nft", "-f", "-"], NFT_RULES);

  // The pair is made inside the namespaces: nothing appears in the root namespace.
  await runCommand([
    "ip",
    "link",
    "add",
    "ctshot-h0",
    "netns",
    HOST_NS,
    "type",
    "veth",
    "peer",
    "name",
    "ctshot-p0",
    "netns",
    PEER_NS,
  ]);
  for (
    const [ns, link, v4, v6] of [[HOST_NS, "ctshot-h0", HOST4, HOST6], [
      PEER_NS,
      "ctshot-p0",
      PEER4,
      PEER6,
    ]] as const
  ) {
    await exec(ns, ["ip", "link", "set", link, "name", "eth0"]);
    await exec(ns, ["ip", "addr", "add", `${v4}/24`, "dev", "eth0"]);
    await exec(ns, ["ip", "addr", "add", `${v6}/64`, "dev", "eth0", "nodad"]);
    await exec(ns, ["ip", "link", "set", "eth0", "up"]);
  }
  for (const ns of made) await waitForOperUp(ns, "eth0");

  for (const line of PUBLIC_ENTRIES) await exec(HOST_NS, ["conntrack", ...line.split(" ")]);

  const names: string[] = [];
  if (options.dns) {
    await startDns(cleanup, made[0]!);
    names.push("peer.home.arpa", "dns.google", "one.one.one.one", "www.ripe.net");
  }

  const bounded = await startTraffic(cleanup, options.duration);
  return {
    ns: HOST_NS,
    // Bulk, UDP stream, two pings, the ssh-like session, the fetches and the queries.
    minConnections: PUBLIC_ENTRIES.length + 5 + WEB_FETCHES + QUERIES,
    names,
    settled: async () => {
      for (const p of bounded) await p.waitExit(30_000);
    },
  };
}

// Loopback is not tracked (the monitor's DNS queries to dnsmasq); everything else is, because
// a rule uses ct state.
const NFT_RULES = `
table inet ctshot {
  chain raw_prerouting {
    type filter hook prerouting priority raw; policy accept;
    iif "lo" notrack
  }
  chain raw_output {
    type filter hook output priority raw; policy accept;
    oif "lo" notrack
  }
  chain output {
    type filter hook output priority filter; policy accept;
    ct state new counter
  }
}
`;

/**
 * dnsmasq on the monitored namespace's loopback, answering the PTR records and NXDOMAIN for
 * every other reverse name, with the namespace's resolver pointed at it (tools/dns.ts), then
 * waits until the whole path the monitor's resolver takes works: nsswitch, resolv.conf, dnsmasq.
 */
async function startDns(cleanup: Cleanup, host: Netns): Promise<void> {
  const dns = await startDnsmasq(host, {
    records: PTR_RECORDS.map(([address, name]) => ({ address, name })),
    resolvOptions: ["timeout:1"],
    hosts: "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
  });
  cleanup.add("dnsmasq", () => dns.close());
  const deadline = Date.now() + 5000;
  while (true) {
    const r = await host.exec(["getent", "hosts", PEER4], { check: false });
    if (r.stdout.includes("peer.home.arpa")) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Failed to start dnsmasq in '${HOST_NS}': 'getent hosts ${PEER4}' gave ` +
          `'${r.stdout.trim()}'; dnsmasq said: ${dns.output.trim()}`,
      );
    }
    await sleep(100);
  }
}

/**
 * Starts every traffic loop, servers first; each stops after `duration` seconds. Returns the
 * clients that make a fixed number of connections and then exit.
 */
async function startTraffic(cleanup: Cleanup, duration: number): Promise<Background[]> {
  const d = String(duration);
  const start = (what: string, ns: string, ...args: string[]) => {
    const p = Background.start(what, [
      "ip",
      "netns",
      "exec",
      ns,
      "python3",
      "-c",
      TRAFFIC,
      ...args,
    ]);
    cleanup.add(what, () => p.stop());
    return p;
  };
  const servers = [
    start("bulk transfer server", PEER_NS, "bulk-server", d, PEER4, "443", String(2_500_000)),
    start("web server", PEER_NS, "web-server", d, PEER4, PEER6, "80", "48000"),
    start("UDP server", PEER_NS, "udp-server", d, PEER4, "443", "1200"),
    start("ssh-like server", HOST_NS, "shell-server", d, HOST6, "22", "160"),
    start("DNS-like server", PEER_NS, "udp-server", d, PEER4, "53", "180"),
  ];
  for (const s of servers) await s.waitForLine("ready", 5000);
  start("bulk transfer client", HOST_NS, "bulk-client", d, PEER4, "443");
  start("UDP client", HOST_NS, "udp-client", d, PEER4, "443", "40", "90");
  start("ssh-like client", PEER_NS, "shell-client", d, HOST6, "22", "0.25", "48");
  start("ping (IPv4)", HOST_NS, "ping", d, PEER4, "1");
  start("ping (IPv6)", HOST_NS, "ping", d, PEER6, "1");
  return [
    start(
      "web client",
      HOST_NS,
      "web-client",
      d,
      String(WEB_INTERVAL_S),
      String(WEB_FETCHES),
      PEER4,
      PEER6,
      "80",
    ),
    start("DNS-like client", HOST_NS, "queries", d, PEER4, "53", String(QUERIES), "1", "40"),
  ];
}

/**
 * The traffic loops, one program with a mode per role. Arguments: MODE SECONDS then the mode's
 * own; every loop ends after SECONDS, and every wait is bounded by what is left of them.
 */
const TRAFFIC = `
import select, socket, sys, time
mode, end, args = sys.argv[1], time.monotonic() + float(sys.argv[2]), sys.argv[3:]
def left():
    return max(0.0, end - time.monotonic())
def fam(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET
def listen(addr, port, kind=socket.SOCK_STREAM):
    s = socket.socket(fam(addr), kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    return s
def ready():
    print("ready", flush=True)

if mode == "bulk-server":  # ADDR PORT BYTES_PER_S: one client, paced download
    srv = listen(args[0], args[1]); ready()
    srv.settimeout(left() + 0.1)
    conn, _ = srv.accept()
    conn.recv(4096)
    rate, chunk, sent, t0 = int(args[2]), b"\\0" * 16384, 0, time.monotonic()
    while left() > 0:
        if sent < (time.monotonic() - t0) * rate:
            conn.sendall(chunk); sent += len(chunk)
        else:
            time.sleep(0.005)
    conn.close()
elif mode == "bulk-client":  # ADDR PORT
    c = socket.create_connection((args[0], int(args[1])), timeout=5)
    c.sendall(b"GET /debian-12.iso HTTP/1.1\\r\\nHost: peer\\r\\n\\r\\n")
    c.settimeout(1)
    while left() > 0:
        try:
            if not c.recv(65536):
                break
        except socket.timeout:
            pass
    c.close()
elif mode == "web-server":  # ADDR... PORT SIZE: a page per connection, then close
    port, size = args[-2], int(args[-1])
    socks = [listen(a, port) for a in args[:-2]]; ready()
    page = b"HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n" % size + b"x" * size
    while left() > 0:
        for s in select.select(socks, [], [], min(1.0, left()))[0]:
            conn, _ = s.accept()
            conn.settimeout(2)
            try:
                conn.recv(4096); conn.sendall(page)
            except OSError:
                pass
            conn.close()
elif mode == "web-client":  # INTERVAL COUNT ADDR... PORT: short fetches, addresses in turn
    gap, count, addrs, port = float(args[0]), int(args[1]), args[2:-1], int(args[-1])
    for i in range(count):
        if left() <= 0:
            break
        try:
            c = socket.create_connection((addrs[i % len(addrs)], port), timeout=2)
            c.sendall(b"GET / HTTP/1.1\\r\\nHost: peer\\r\\n\\r\\n")
            while c.recv(65536):
                pass
            c.close()
        except OSError:
            pass
        time.sleep(min(gap, left()))
elif mode == "udp-server":  # ADDR PORT REPLY_SIZE: answers every datagram
    s = listen(args[0], args[1], socket.SOCK_DGRAM); ready()
    reply = b"\\0" * int(args[2])
    while left() > 0:
        if select.select([s], [], [], min(1.0, left()))[0]:
            _, peer = s.recvfrom(65535)
            s.sendto(reply, peer)
elif mode == "udp-client":  # ADDR PORT PER_S SIZE
    s = socket.socket(fam(args[0]), socket.SOCK_DGRAM)
    s.connect((args[0], int(args[1])))
    gap, msg = 1.0 / float(args[2]), b"\\0" * int(args[3])
    while left() > 0:
        try:
            s.send(msg)
        except OSError:
            pass
        until = time.monotonic() + gap
        while time.monotonic() < until:
            if select.select([s], [], [], max(0.0, until - time.monotonic()))[0]:
                try:
                    s.recv(65535)
                except OSError:
                    pass
elif mode == "queries":  # ADDR PORT COUNT INTERVAL SIZE: one socket (source port) per query
    for i in range(int(args[2])):
        if left() <= 0:
            break
        s = socket.socket(fam(args[0]), socket.SOCK_DGRAM)
        s.settimeout(1)
        s.sendto(b"\\0" * int(args[4]), (args[0], int(args[1])))
        try:
            s.recv(65535)
        except OSError:
            pass
        s.close()
        time.sleep(min(float(args[3]), left()))
elif mode == "shell-server":  # ADDR PORT REPLY_SIZE: echoes a larger answer to each message
    srv = listen(args[0], args[1]); ready()
    srv.settimeout(left() + 0.1)
    conn, _ = srv.accept()
    conn.settimeout(1)
    while left() > 0:
        try:
            if not conn.recv(4096):
                break
            conn.sendall(b"\\0" * int(args[2]))
        except socket.timeout:
            pass
elif mode == "shell-client":  # ADDR PORT INTERVAL SIZE
    c = socket.create_connection((args[0], int(args[1])), timeout=5)
    c.settimeout(1)
    while left() > 0:
        c.sendall(b"\\0" * int(args[3]))
        try:
            c.recv(65536)
        except socket.timeout:
            pass
        time.sleep(min(float(args[2]), left()))
elif mode == "ping":  # ADDR INTERVAL: echo requests from a ping socket
    v6 = ":" in args[0]
    s = socket.socket(fam(args[0]), socket.SOCK_DGRAM,
                      socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    s.settimeout(1)
    seq = 0
    while left() > 0:
        seq += 1
        s.sendto(bytes([128 if v6 else 8, 0, 0, 0, 0, 0, seq >> 8 & 255, seq & 255]) + b"\\0" * 48,
                 (args[0], 0))
        try:
            s.recv(1024)
        except OSError:
            pass
        time.sleep(min(float(args[1]), left()))
else:
    sys.exit("unknown mode " + mode)
`;
