/**
 * Synthetic but realistic conntrack tables for the benchmark: lines for `conntrack -R -`, one
 * `-I …` insertion each, with the protocol and state mix of a busy NAT router.
 *
 * The mix (fractions of the table): TCP over IPv4 55 % (ESTABLISHED, TIME_WAIT, SYN_SENT,
 * CLOSE_WAIT and a little FIN_WAIT/LAST_ACK/SYN_RECV), UDP over IPv4 30 % (DNS, QUIC, NTP and
 * others, some unreplied), ICMP 5 %, TCP and UDP over IPv6 5 %, and a little ICMPv6, SCTP,
 * UDP-Lite and GRE. A quarter of the IPv4 TCP and UDP flows are source-NATed, a few are
 * destination-NATed, one in ten carries a mark. Flags follow the state: replied flows are
 * `SEEN_REPLY`, established ones also `ASSURED`, SYN_SENT and unreplied UDP have neither.
 *
 * Every original and reply tuple is unique, so a whole table always loads: entry `i` gets a
 * client host `i mod HOSTS` and a client port (or ICMP id, GRE key) derived from `i / HOSTS`,
 * and each client host has its own NAT address. Timeouts are realistic in spread but never
 * shorter than {@linkcode MIN_TIMEOUT_S}, so nothing expires while it is being measured.
 *
 * Pure functions: no I/O.
 *
 * @module
 */

import { prng } from "../../tools/prng.ts";

/** Client hosts; entry `i` uses host `i % HOSTS` and client port index `floor(i / HOSTS)`. */
const HOSTS = 4096;
/** Client port indexes available per host (the ephemeral range 32768-60767). */
const PORTS = 28000;
/** The largest table {@linkcode tableEntries} can make with unique tuples. */
export const MAX_ENTRIES: number = HOSTS * PORTS;
/** No entry expires sooner than this many seconds after it is loaded. */
export const MIN_TIMEOUT_S = 1800;

type Kind =
  | "tcp-established"
  | "tcp-time-wait"
  | "tcp-syn-sent"
  | "tcp-close-wait"
  | "tcp-fin-wait"
  | "tcp-last-ack"
  | "tcp-syn-recv"
  | "udp"
  | "icmp"
  | "tcp6"
  | "udp6"
  | "icmpv6"
  | "sctp"
  | "udplite"
  | "gre";

/** Percent of the table for each kind; sums to 100. */
const MIX: readonly [Kind, number][] = [
  ["tcp-established", 33],
  ["tcp-time-wait", 11],
  ["tcp-syn-sent", 5],
  ["tcp-close-wait", 3],
  ["tcp-fin-wait", 1.5],
  ["tcp-last-ack", 1],
  ["tcp-syn-recv", 0.5],
  ["udp", 30],
  ["icmp", 5],
  ["tcp6", 3],
  ["udp6", 2],
  ["icmpv6", 1.5],
  ["sctp", 1.5],
  ["udplite", 1],
  ["gre", 1],
];

const TCP_PORTS = [443, 443, 443, 443, 80, 80, 22, 993, 5223, 8080, 3478, 25];
const UDP_PORTS = [53, 53, 53, 53, 443, 443, 123, 3478, 51820, 1900, 5353, 67];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function between(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** A server address from three documentation ranges and a few public-looking /16s. */
function server4(rand: () => number): string {
  const nets = ["192.0.2", "198.51.100", "203.0.113", "93.184.216", "151.101.1", "140.82.121"];
  return `${pick(rand, nets)}.${between(rand, 1, 254)}`;
}

function server6(rand: () => number): string {
  return `2001:db8:${between(rand, 1, 0xfff).toString(16)}::${
    between(rand, 1, 0xffff).toString(16)
  }`;
}

/** Percent-weighted kind of entry `r` in [0, 100). */
function kindOf(r: number): Kind {
  let acc = 0;
  for (const [kind, pct] of MIX) {
    acc += pct;
    if (r < acc) return kind;
  }
  return "tcp-established";
}

/** Options of {@linkcode tableEntries}. */
export interface TableOptions {
  /** Seed of the mix (default 1). */
  seed?: number;
}

/**
 * `count` lines for `conntrack -R -` making a table with the mix described in the module doc.
 * Throws a RangeError beyond {@linkcode MAX_ENTRIES}.
 */
export function tableEntries(count: number, options: TableOptions = {}): string[] {
  if (!Number.isInteger(count) || count < 0 || count > MAX_ENTRIES) {
    throw new RangeError(
      `Cannot make a table of ${count} entries: expected an integer from 0 to ${MAX_ENTRIES}`,
    );
  }
  const rand = prng(options.seed ?? 1);
  const lines: string[] = new Array(count);
  for (let i = 0; i < count; i++) lines[i] = entry(i, rand);
  return lines;
}

function entry(i: number, rand: () => number): string {
  const host = i % HOSTS;
  const portIndex = Math.floor(i / HOSTS);
  // A bijection of [0, PORTS) (7919 is prime and does not divide PORTS): ports look random.
  const sport = 32768 + ((portIndex * 7919) % PORTS);
  const client4 = `10.${16 + (host >> 8)}.${host & 255}.1`;
  // One NAT address per client host keeps the reply tuples unique too.
  const nat4 = `100.${64 + (host >> 8)}.${host & 255}.1`;
  const kind = kindOf(rand() * 100);
  const mark = rand() < 0.1 ? ` -m ${between(rand, 1, 4)}` : "";
  const natDice = rand();
  const nat = natDice < 0.25
    ? ` --src-nat ${nat4}`
    : natDice < 0.28
    ? ` --dst-nat 10.99.${host >> 8}.${(host & 255) || 1}`
    : "";
  const tcp = (state: string, flags: string | null, tMin: number, tMax: number) => {
    const f = flags === null ? "" : ` -u ${flags}`;
    return `-I -t ${between(rand, tMin, tMax)}${f} -s ${client4} -d ${server4(rand)} -p tcp` +
      ` --sport ${sport} --dport ${pick(rand, TCP_PORTS)} --state ${state}${nat}${mark}`;
  };
  const shortT = MIN_TIMEOUT_S;
  switch (kind) {
    case "tcp-established":
      return tcp("ESTABLISHED", "SEEN_REPLY,ASSURED", 3600, 432000);
    case "tcp-time-wait":
      return tcp("TIME_WAIT", "SEEN_REPLY,ASSURED", shortT, shortT + 120);
    case "tcp-syn-sent":
      return tcp("SYN_SENT", null, shortT, shortT + 120);
    case "tcp-close-wait":
      return tcp("CLOSE_WAIT", "SEEN_REPLY,ASSURED", shortT, shortT + 60);
    case "tcp-fin-wait":
      return tcp("FIN_WAIT", "SEEN_REPLY,ASSURED", shortT, shortT + 120);
    case "tcp-last-ack":
      return tcp("LAST_ACK", "SEEN_REPLY,ASSURED", shortT, shortT + 30);
    case "tcp-syn-recv":
      return tcp("SYN_RECV", "SEEN_REPLY", shortT, shortT + 60);
    case "udp": {
      const dport = pick(rand, UDP_PORTS);
      const r = rand();
      // Streams (QUIC, WireGuard) are assured; DNS answers are seen; some queries go unanswered.
      const flags = r < 0.12
        ? ""
        : dport === 443 || dport === 51820 || r < 0.3
        ? " -u SEEN_REPLY,ASSURED"
        : " -u SEEN_REPLY";
      return `-I -t ${between(rand, shortT, shortT + 180)}${flags} -s ${client4}` +
        ` -d ${server4(rand)} -p udp --sport ${sport} --dport ${dport}${nat}${mark}`;
    }
    case "icmp": {
      const flags = rand() < 0.8 ? " -u SEEN_REPLY" : "";
      return `-I -t ${between(rand, shortT, shortT + 30)}${flags} -s ${client4} -d ${
        server4(rand)
      }` +
        ` -p icmp --icmp-type 8 --icmp-code 0 --icmp-id ${portIndex & 0xffff}${mark}`;
    }
    case "tcp6":
      return `-I -t ${between(rand, 3600, 432000)} -u SEEN_REPLY,ASSURED` +
        ` -s fd00::${(host + 1).toString(16)}:1 -d ${server6(rand)} -p tcp --sport ${sport}` +
        ` --dport ${pick(rand, TCP_PORTS)} --state ESTABLISHED${mark}`;
    case "udp6": {
      const flags = rand() < 0.85 ? " -u SEEN_REPLY" : "";
      return `-I -t ${between(rand, shortT, shortT + 180)}${flags}` +
        ` -s fd00::${(host + 1).toString(16)}:1 -d ${server6(rand)} -p udp --sport ${sport}` +
        ` --dport ${pick(rand, UDP_PORTS)}${mark}`;
    }
    case "icmpv6":
      return `-I -t ${between(rand, shortT, shortT + 30)} -u SEEN_REPLY` +
        ` -s fd00::${(host + 1).toString(16)}:1 -d ${server6(rand)} -p icmpv6` +
        ` --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id ${portIndex & 0xffff}`;
    case "sctp":
      return `-I -t ${between(rand, 3600, 432000)} -u SEEN_REPLY,ASSURED -s ${client4}` +
        ` -d ${server4(rand)} -p sctp --sport ${sport} --dport ${pick(rand, [2905, 3868, 36412])}` +
        ` --state ESTABLISHED --orig-vtag ${between(rand, 1, 0x7fffffff)}` +
        ` --reply-vtag ${between(rand, 1, 0x7fffffff)}`;
    case "udplite":
      return `-I -t ${between(rand, shortT, shortT + 180)} -u SEEN_REPLY -s ${client4}` +
        ` -d ${server4(rand)} -p udplite --sport ${sport} --dport ${pick(rand, [5004, 5060])}`;
    case "gre":
      // conntrack-tools keeps 16-bit keys; the port index makes them unique per host.
      return `-I -t ${between(rand, shortT, shortT + 180)} -u SEEN_REPLY,ASSURED -s ${client4}` +
        ` -d ${server4(rand)} -p gre --srckey ${portIndex & 0xffff}` +
        ` --dstkey ${(portIndex + 1) & 0xffff}`;
  }
}

/**
 * `count` short-lived UDP flows for tick `tick` of the churn that keeps `--stream` printing at
 * every refresh: unique across ticks (a separate 172.16.0.0/12 client range, so never clashing
 * with {@linkcode tableEntries}), expiring after `timeoutS` seconds.
 */
export function churnEntries(tick: number, count: number, timeoutS: number): string[] {
  const lines: string[] = [];
  for (let k = 0; k < count; k++) {
    const n = tick * count + k;
    const host = n % 65536;
    const port = 1024 + (Math.floor(n / 65536) % 60000);
    lines.push(
      `-I -t ${timeoutS} -s 172.16.${host >> 8}.${host & 255} -d 192.0.2.53 -p udp` +
        ` --sport ${port} --dport 53`,
    );
  }
  return lines;
}
