/**
 * `conntop --connect … --once` against the real conntopd serving a test namespace's table:
 * every format prints the server's table exactly as `conntop --once --netns` reads it there,
 * and the exit codes of a refused or failed connection.
 *
 * The server runs in the root namespace, listens on its loopback and reads the test
 * namespace's table through --netns (test/_helpers/conntopd.ts).
 */

import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { Conntopd } from "../_helpers/conntopd.ts";
import { freePort } from "../../tools/ports.ts";
import { parseConntrackXml } from "../_helpers/conntrack_cli.ts";
import { loadConntrack, ping } from "../../tools/netns.ts";
import { trackedPair } from "../_helpers/tracked_pair.ts";
import { runConntop } from "./_conntop.ts";
import type { Connection } from "../../src/core/connection.ts";

/** Every protocol conntrack tracks, both families (as once_compare_test.ts). */
const ENTRIES = [
  "-I -t 500 -u SEEN_REPLY,ASSURED -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1234 --dport 80 --state ESTABLISHED -m 7",
  "-I -t 490 -s 2001:db8::1 -d 2001:db8::2 -p tcp --sport 1 --dport 2 --state SYN_SENT -w 3",
  "-I -t 470 -s 10.0.0.1 -d 10.0.0.2 -p udp --sport 53 --dport 5353 -m 0x10",
  "-I -t 450 -s 10.0.0.1 -d 10.0.0.3 -p udplite --sport 1 --dport 2",
  "-I -t 430 -s 10.0.0.1 -d 10.0.0.3 -p sctp --sport 1 --dport 2 --state ESTABLISHED --orig-vtag 5 --reply-vtag 6",
  "-I -t 410 -s 10.0.0.1 -d 10.0.0.2 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 55",
  "-I -t 400 -s ::1 -d ::ffff:1.2.3.4 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 3",
  "-I -t 390 -s 10.0.0.1 -d 10.0.0.4 -p gre --srckey 1 --dstkey 2",
  "-I -t 380 -s 10.0.0.1 -d 10.0.0.5 -p dccp --sport 7 --dport 8 --state OPEN --role client",
  "-I -t 370 -s 192.0.2.7 -d 198.51.100.9 -p tcp --sport 999 --dport 443 --state ESTABLISHED",
];

/**
 * Fields that legitimately differ between two reads a moment apart, and why:
 * - `timeout`, `age_seconds`: they count down and up with the clock (each output computes them
 *   at its own refresh time);
 * - the rates: the server's collector has sampled every connection many times (rates 0), a
 *   one-shot `--once` samples once (no rate yet: null).
 * Everything else — ids, tuples, states, flags, marks, zones, counters, start times, NAT,
 * helpers, processes, classes, services — must be equal.
 */
const TICKING = [
  "timeout",
  "age_seconds",
  "tx_bytes_per_s",
  "rx_bytes_per_s",
  "tx_packets_per_s",
  "rx_packets_per_s",
] as const;

function steady(c: Connection): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...c };
  for (const k of TICKING) delete copy[k];
  return copy;
}

interface Snapshot {
  netns: string | null;
  accounting: boolean;
  timestamps: boolean;
  totals: { count: number; kernelCount: number | null; byProto: Record<string, number> };
  warnings: string[];
  connections: Connection[];
}

Deno.test("conntop --connect --once prints the server's table exactly, in every format", async (t) => {
  await using pair = await trackedPair("ronce", 31);
  const { a } = pair;
  await ping(a, "10.31.0.2");
  // The ping's entry would go after the kernel's 30 s for ICMP: on a slow machine (emulated
  // arm64) before the last step reads it. Ten minutes outlive every step.
  await a.conntrack(["-U", "-p", "icmp", "-d", "10.31.0.2", "-t", "600"]);
  await loadConntrack(a, ENTRIES);
  await using server = await Conntopd.start(["--netns", a.name, "--interval", "0.2"]);
  const connect = ["--connect", `127.0.0.1:${server.port}`, "-n"];

  await t.step("json: the same connections, tuples and counters as --once --netns", async () => {
    const [remote, local] = await Promise.all([
      runConntop([...connect, "--once", "-o", "json"]),
      runConntop(["--once", "-o", "json", "-n", "--netns", a.name]),
    ]);
    assertEquals(remote.code, 0, remote.stderr);
    assertEquals(local.code, 0, local.stderr);
    const r = JSON.parse(remote.stdout) as Snapshot;
    const l = JSON.parse(local.stdout) as Snapshot;
    assertEquals(r.netns, a.name);
    assertEquals([r.accounting, r.timestamps], [true, true]);
    assertEquals(r.totals.count, l.totals.count);
    assertEquals(r.totals.byProto, l.totals.byProto);
    assertEquals(r.warnings, l.warnings);
    assert(r.connections.length >= ENTRIES.length + 1, `${r.connections.length} connections`);
    assertEquals(r.connections.map(steady), l.connections.map(steady));
    // Counters are real (the ping's) and came through.
    const icmp = r.connections.find((c) => c.protocol === "icmp" && c.orig_dst === "10.31.0.2");
    assert(icmp !== undefined && (icmp.tx_packets ?? 0) > 0, JSON.stringify(icmp));
    // Classes from the server's interface addresses: 10.31.0.1 is the server host's own.
    assertEquals(icmp.src_class, "this-host");
    // … and the same set of connections as conntrack lists there.
    const ref = parseConntrackXml((await a.conntrack(["-L", "-o", "xml"])).stdout);
    assertEquals(r.connections.map((c) => c.id).sort(), ref.map((f) => f.id).sort());
  });

  await t.step("ndjson and csv: the same rows as --once --netns", async () => {
    for (const format of ["ndjson", "csv"]) {
      const [remote, local] = await Promise.all([
        runConntop([...connect, "--once", "-o", format]),
        runConntop(["--once", "-o", format, "-n", "--netns", a.name]),
      ]);
      assertEquals(remote.code, 0, remote.stderr);
      const rows = (text: string) => text.trim().split("\n");
      if (format === "ndjson") {
        const parse = (text: string) => rows(text).map((l) => steady(JSON.parse(l)));
        assertEquals(parse(remote.stdout), parse(local.stdout));
      } else {
        // Without the ticking columns.
        const header = rows(local.stdout)[0]!.split(",");
        const keep = header.map((h, i) => (TICKING as readonly string[]).includes(h) ? -1 : i)
          .filter((i) => i >= 0);
        const cut = (text: string) =>
          rows(text).map((l) => {
            const cells = l.split(",");
            return keep.map((i) => cells[i]).join(",");
          });
        assertEquals(cut(remote.stdout), cut(local.stdout));
      }
    }
  });

  await t.step("table: the same connections as --once --netns", async () => {
    const [remote, local] = await Promise.all([
      runConntop([...connect, "--once"]),
      runConntop(["--once", "-n", "--netns", a.name]),
    ]);
    assertEquals(remote.code, 0, remote.stderr);
    // PROTO STATE SOURCE DESTINATION, before the columns that tick.
    const lead = (text: string) => text.trim().split("\n").map((l) => l.slice(0, 60));
    assertEquals(lead(remote.stdout), lead(local.stdout));
  });

  await t.step("filters apply on the client", async () => {
    const r = await runConntop([...connect, "--once", "-o", "json", "-p", "udp"]);
    assertEquals(r.code, 0, r.stderr);
    const conns = (JSON.parse(r.stdout) as Snapshot).connections;
    assertEquals(conns.map((c) => [c.protocol, c.orig_sport]), [["udp", 53]]);
  });
});

Deno.test("conntop --connect --once: a wrong or missing token exits 2 with the authentication message", async () => {
  await using pair = await trackedPair("rauth", 32);
  const dir = await Deno.makeTempDir({ prefix: "conntop-remote-" });
  try {
    await Deno.writeTextFile(`${dir}/token`, "right-token\n", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/wrong`, "wrong-token\n", { mode: 0o600 });
    await using server = await Conntopd.start([
      "--netns",
      pair.a.name,
      "--token-file",
      `${dir}/token`,
    ]);
    const connect = ["--connect", `127.0.0.1:${server.port}`, "--once", "-o", "json", "-n"];

    const wrong = await runConntop([...connect, "--token-file", `${dir}/wrong`]);
    assertEquals(wrong.code, 2, wrong.stderr);
    assertEquals(
      wrong.stderr,
      "conntop: Authentication failed: wrong or missing token (--token-file)\n",
    );
    assertEquals(wrong.stdout, "");
    assert(!wrong.stderr.includes("wrong-token"));

    const none = await runConntop(connect);
    assertEquals(none.code, 2, none.stderr);
    assertMatch(none.stderr, /^conntop: Authentication failed: server .* requires a token/);

    const right = await runConntop([...connect, "--token-file", `${dir}/token`]);
    assertEquals(right.code, 0, right.stderr);
    assertEquals((JSON.parse(right.stdout) as Snapshot).netns, pair.a.name);
    // The server's log never holds the tokens either.
    assert(!server.log.includes("right-token") && !server.log.includes("wrong-token"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conntop --connect --once exits 1 when no server listens", async () => {
  const port = freePort();
  const r = await runConntop(["--connect", `127.0.0.1:${port}`, "--once"]);
  assertEquals(r.code, 1);
  assertEquals(r.stderr, `conntop: Cannot connect to 127.0.0.1:${port}: connection refused\n`);
  const v6 = await runConntop(["--connect", `[::1]:${port}`, "--once"]);
  assertEquals(v6.code, 1);
  assertEquals(v6.stderr, `conntop: Cannot connect to [::1]:${port}: connection refused\n`);
});

Deno.test("conntop --connect HOST --port P names HOST:P in its errors", async () => {
  const port = freePort();
  const r = await runConntop(["--connect", "127.0.0.1", "--port", String(port), "--once"]);
  assertEquals(r.code, 1);
  assertEquals(r.stderr, `conntop: Cannot connect to 127.0.0.1:${port}: connection refused\n`);
});
