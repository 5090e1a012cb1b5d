/**
 * The peers benchmark's pure helpers (scripts/_bench/peers_screen.ts, peers_report.ts): reading
 * iptstate's totals, the three monitors' screens (captured from the real programs, trimmed),
 * how many connections flowtop can show, counting lines, and the report's cells and notes for
 * the cases that matter: iptstate's 16,384-row cap, a listing that timed out, a monitor that
 * never showed its table.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";
import {
  conntopScreen,
  flowtopScreen,
  flowtopVisible,
  iptstateExpectedRows,
  iptstateScreen,
  iptstateTotals,
  LineCounter,
} from "../../scripts/_bench/peers_screen.ts";
import { renderPeers } from "../../scripts/_bench/peers_report.ts";
import type { Listing, Monitor, PeersResult } from "../../scripts/_bench/peers.ts";
import type { TimedRun } from "../../scripts/_bench/peers_proc.ts";

Deno.test("iptstateTotals reads the totals line of iptstate -1 -t", () => {
  const text = "IP Tables State Top -- Sort by: SrcIP\n" +
    "Total States: 10000 -- TCP: 5722 UDP: 3246 ICMP: 696 Other: 336 (Filtered: 0)\n" +
    "Source      Destination      Prt     State       TTL\n";
  assertEquals(iptstateTotals(text), {
    total: 10000,
    tcp: 5722,
    udp: 3246,
    icmp: 696,
    other: 336,
  });
  assertEquals(iptstateTotals("IP Tables State Top -- Sort by: SrcIP\n"), null);
});

Deno.test("iptstateExpectedRows caps at iptstate's 16,384 rows", () => {
  assertEquals(iptstateExpectedRows(0), 0);
  assertEquals(iptstateExpectedRows(10_000), 10_000);
  assertEquals(iptstateExpectedRows(16_384), 16_384);
  assertEquals(iptstateExpectedRows(100_000), 16_384);
});

Deno.test("conntopScreen reads the header's count and the rows", () => {
  const screen = [
    " conntop@vm  netns ctpeer-try   Conns 10000 tcp 5722 udp 3246 icmp 526 icmpv6 170",
    " Table [|                           10000/262144]  TX 0/s  RX 0/s  Acct on  Stamps on",
    " Collector: dump 46 ms, 5 dumps, 0 events, 0 overruns",
    "PROTO  STATE       SOURCE                  SPORT DESTINATION             DPORT DCC",
    "sctp   ESTABLISHED 10.31.74.1              40687 198.51.100.243          36412",
    "tcp    TIME_WAIT   10.22.56.1              32768 93.184.216.240          https US",
    "icmpv6             fd00::fd2:1                   2001:db8:9a2::c2cf",
    "",
    "F1Help F2Setup F3Search F4Filter F6SortBy F10Quit                      row 1 of 10000",
  ];
  assertEquals(conntopScreen(screen), { count: 10000, rows: 3, collecting: false });
  assertEquals(conntopScreen(["conntop starting…"]), { count: null, rows: 0, collecting: false });
});

Deno.test("iptstateScreen reads Total States and the rows", () => {
  const screen = [
    "                                 IPTState - IPTables State Top",
    "Version: 2.2.7        Sort: SrcIP           b: change sorting   h: help",
    "Total States: 10000 -- TCP: 5722 UDP: 3246 ICMP: 696 Other: 336 (Filtered: 0)",
    "Source                      Destination                 Prt     State       TTL",
    "10.16.0.1:32768             151.101.1.109:67            udp                   0:24:07",
    "10.16.0.1                   151.101.1.101               sctp                 66:38:00",
    "10.16.2.1                   203.0.113.223               icmp    8/0 (256)     0:22:21",
    "fd00::fd2:1                 2001:db8:9a2::c2cf          icmp6   128/0 (0)     0:23:53",
  ];
  assertEquals(iptstateScreen(screen), { count: 10000, rows: 4, collecting: false });
});

Deno.test("flowtopScreen reads the flows count, the rows and 'Collecting flows'", () => {
  const collecting = [
    "  flowtop 0.6.8 (Flutternozzle)",
    "  Kernel netfilter flows(2110) for IPv4,IPv6,TCP,UDP,SCTP,DCCP,ICMP,ICMP6, [+0] " +
    "[Collecting flows ...]",
    "Flows |Processes |",
    "PROCESS       PID     PROTO  STATE       TIME ADDRESS                 PORT     GEO",
    "                      tcp    TIME-WAIT     6m 10.31.108.1             40687",
    "                                              93.184.216.205          http",
    "                      udp                  6m 10.30.151.1             40687",
    "                                              203.0.113.32            https",
    "sshd          812     tcp    ESTABLISHED   6m 10.16.124.1             40687",
    "                                              140.82.121.44           ssh",
  ];
  assertEquals(flowtopScreen(collecting), { count: 2110, rows: 3, collecting: true });
  const done = [...collecting];
  done[1] = "  Kernel netfilter flows(8808) for IPv4,IPv6,TCP,UDP,SCTP,DCCP,ICMP,ICMP6, [+0]";
  assertEquals(flowtopScreen(done), { count: 8808, rows: 3, collecting: false });
});

Deno.test("flowtopVisible leaves out DNS (port 53) and GRE", () => {
  const lines = [
    "-I -t 1910 -u SEEN_REPLY,ASSURED -s 10.16.0.1 -d 151.101.1.109 -p udp --sport 32768 " +
    "--dport 67 -m 3",
    "-I -t 1825 -u SEEN_REPLY,ASSURED -s 10.16.1.1 -d 203.0.113.63 -p gre --srckey 0 " +
    "--dstkey 1",
    "-I -t 1900 -u SEEN_REPLY -s 10.16.2.1 -d 9.9.9.9 -p udp --sport 40000 --dport 53",
    "-I -t 1900 -u SEEN_REPLY -s 10.16.2.1 -d 9.9.9.9 -p udp --sport 53 --dport 40000",
    "-I -t 1900 -u SEEN_REPLY -s 10.16.2.1 -d 9.9.9.9 -p tcp --sport 40000 --dport 5353 " +
    "--state ESTABLISHED",
    "-I -t 1900 -s 10.16.3.1 -d 9.9.9.9 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 53",
  ];
  assertEquals(flowtopVisible(lines), 3);
});

Deno.test("LineCounter counts newlines across chunks and keeps the head", () => {
  const c = new LineCounter(8);
  const enc = new TextEncoder();
  c.push(enc.encode("ab\ncd"));
  c.push(enc.encode("\n\nefghij\n"));
  c.push(new Uint8Array());
  assertEquals(c.lines, 4);
  assertEquals(c.bytes, 14);
  assertEquals(c.head, "ab\ncd\n\ne");
});

// --- the report ---

function runOf(wallMs: number, cpuS: number, maxRssKiB: number): TimedRun {
  return {
    wallMs,
    cpuS,
    maxRssKiB,
    code: 0,
    timedOut: false,
    lines: null,
    head: "",
    stderr: "",
  };
}

function listing(
  tool: Listing["tool"],
  wallMs: number | null,
  rows: number,
  expectedRows: number,
  reported: number | null,
): Listing {
  const runs = wallMs === null ? [] : [runOf(wallMs, wallMs / 1000, 2048)];
  const one = (x: number) => ({ median: x, min: x, max: x, values: [x] });
  return {
    tool,
    command: [tool],
    skipped: null,
    check: null,
    rows: wallMs === null ? null : rows,
    expectedRows,
    reported,
    runs,
    wall: wallMs === null ? null : one(wallMs),
    cpu: wallMs === null ? null : one(wallMs / 1000),
    rss: wallMs === null ? null : one(2048),
    timedOut: wallMs === null,
    failed: null,
  };
}

function monitor(tool: Monitor["tool"], readyMs: number | null, count: number): Monitor {
  return {
    tool,
    command: [tool],
    skipped: null,
    readyMs,
    atStart: { count, rows: 40, collecting: readyMs === null },
    atEnd: { count, rows: 40, collecting: readyMs === null },
    screen: [],
    expectedCount: tool === "flowtop" ? 88_000 : 100_000,
    windowS: 20,
    cpuPercent: 50,
    otherCpuPercent: 2,
    peakRssKiB: 10_240,
    processes: 1,
    exited: null,
  };
}

function result(): PeersResult {
  return {
    empty: [
      listing("conntrack", 10, 0, 0, 0),
      listing("iptstate", 20, 0, 0, 0),
      listing("conntop", 200, 0, 0, null),
    ],
    sizes: [{
      size: 100_000,
      loaded: 100_000,
      loadMs: 1000,
      flowtopVisible: 88_000,
      listings: [
        listing("conntrack", 500, 100_000, 100_000, 100_000),
        listing("iptstate", 1000, 16_384, 16_384, 100_000),
        listing("conntop", null, 0, 100_000, null),
      ],
      monitors: [
        monitor("conntop", 2000, 100_000),
        monitor("iptstate", 4000, 100_000),
        monitor("flowtop", null, 21_000),
      ],
    }],
    runs: 5,
    seconds: 20,
    listTimeoutS: 60,
    readyTimeoutS: 60,
    width: 160,
    height: 50,
    versions: {
      iptstate: "2.2.7-0.1",
      "netsniff-ng": "0.6.8-3",
      conntrack: "1:1.4.7-1+b2",
      time: "1.9-0.2",
    },
    tmux: "tmux 3.3a",
    gnuTime: true,
    missing: [],
    busy: { start: [], end: [{ pid: 42, comm: "deno", percent: 95 }] },
    totalMs: 300_000,
  };
}

Deno.test("renderPeers: cells, ratios and notes", () => {
  const text = renderPeers(result());
  const lines = text.split("\n");
  const line = (prefix: string) => {
    const l = lines.find((x) => x.startsWith(`| ${prefix}`));
    assert(l !== undefined, `no row '${prefix}' in:\n${text}`);
    return l.split("|").slice(1, -1).map((c) => c.trim());
  };
  assertEquals(line("Empty namespace: wall time"), [
    "Empty namespace: wall time (median of 5)",
    "10.0 ms",
    "20.0 ms",
    "200 ms",
    "20.0",
    "10.0",
  ]);
  // conntop timed out at 100,000: no ratio; iptstate's capped rows in bold.
  assertEquals(line("100,000 connections: wall time").slice(1), [
    "500 ms",
    "1000 ms",
    "did not finish in 60 s",
    "",
    "",
  ]);
  assertEquals(line("100,000 connections: rows printed").slice(1, 3), ["100,000", "**16,384**"]);
  assertStringIncludes(text, "`iptstate -1` printed 16,384 rows (in bold)");
  // The monitors: iptstate, flowtop, conntop; flowtop never showed the table.
  assertEquals(line("100,000 connections: start → the table on screen").slice(1), [
    "4.00 s",
    "not within 60 s",
    "2.00 s",
    "0.50",
    "",
  ]);
  assertEquals(line("100,000 connections: CPU over the next 20 s").slice(1), [
    "50.0 %",
    "50.0 % (still collecting)",
    "50.0 %",
    "1.00",
    "1.00",
  ]);
  assertEquals(line("100,000 connections: connections it said it held").slice(1, 4), [
    "100,000",
    "21,000 of the 88,000 it can show, still collecting after 80 s",
    "100,000",
  ]);
  assertStringIncludes(text, "at 100,000 it had 21,000 of 88,000 after 80 s");
  assertStringIncludes(text, "at the end deno (pid 42) 95 %");
  assertStringIncludes(text, "This part took 300 s.");
});
