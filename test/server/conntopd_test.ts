/**
 * conntopd end to end: a real server process (with exactly its documented permissions) serving a
 * test namespace's real conntrack table, spoken to over loopback by the protocol test client,
 * whose every received message goes through the schema and the batch assembler.
 */

import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { parseConntrackExtended } from "../_helpers/conntrack_cli.ts";
import { Conntopd, conntopdCommand, runConntopd, serveNamespace } from "../_helpers/conntopd.ts";
import { freePort } from "../../tools/ports.ts";
import { runBounded } from "../_helpers/bounded_run.ts";
import { CONNTOPD_PERMISSIONS } from "../../src/conntopd.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { ProtoClient, rawExchange } from "../_helpers/proto_client.ts";
import { runConntop } from "../e2e/_conntop.ts";
import type { Connection } from "../../src/core/connection.ts";
import type { ConnectionModel } from "../../src/model/mod.ts";
import { CHUNK_RECORDS, PROTOCOL_VERSION } from "../../src/protocol/mod.ts";
import { RECORD_SIZE } from "../../src/conntrack/mod.ts";
import { VERSION } from "../../src/version.ts";
import { TRACK_TABLE } from "../../src/collector/kernel.ts";

const ENTRIES = [
  "-I -t 500 -u SEEN_REPLY,ASSURED -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1234 --dport 80 --state ESTABLISHED -m 7",
  "-I -t 490 -s 2001:db8::1 -d 2001:db8::2 -p tcp --sport 1 --dport 2 --state SYN_SENT -w 3",
  "-I -t 470 -s 10.0.0.1 -d 10.0.0.2 -p udp --sport 53 --dport 5353 -m 0x10",
  "-I -t 460 -s 2001:db8::5 -d 2001:db8::6 -p udp --sport 500 --dport 4500",
  "-I -t 430 -s 10.0.0.1 -d 10.0.0.3 -p sctp --sport 1 --dport 2 --state ESTABLISHED --orig-vtag 5 --reply-vtag 6",
  "-I -t 410 -s 10.0.0.1 -d 10.0.0.2 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 55",
  "-I -t 400 -s ::1 -d ::ffff:1.2.3.4 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 3",
  "-I -t 390 -s 10.0.0.1 -d 10.0.0.4 -p gre --srckey 1 --dstkey 2",
  "-I -t 380 -s 10.9.0.1 -d 192.0.2.9 -r 198.51.100.7 -q 10.9.0.1 -p tcp --sport 4000 --dport 443 --reply-port-src 8443 --reply-port-dst 4000 --state ESTABLISHED",
];

/** Fields that change with time or with the sample (rates need two samples). */
const TIME_FIELDS = new Set([
  "timeout",
  "age_seconds",
  "tx_bytes_per_s",
  "rx_bytes_per_s",
  "tx_packets_per_s",
  "rx_packets_per_s",
]);

function connections(model: ConnectionModel): Connection[] {
  return [...model.slots()].map((s) => model.connection(s));
}

/** The namespace's table as conntrack lists it: id → "proto src dst sport dport". */
async function reference(ns: Netns): Promise<Map<number, string>> {
  const { stdout } = await ns.conntrack(["-L", "-o", "extended,id"]);
  const out = new Map<number, string>();
  for (const f of parseConntrackExtended(stdout)) {
    out.set(
      f.id!,
      `${f.l4name} ${f.orig.src} ${f.orig.dst} ${f.orig.sport ?? f.orig.type ?? ""} ${
        f.orig.dport ?? f.orig.code ?? ""
      } ${f.reply.src} ${f.reply.dst}`,
    );
  }
  return out;
}

function ours(model: ConnectionModel): Map<number, string> {
  const out = new Map<number, string>();
  for (const c of connections(model)) {
    out.set(
      c.id,
      `${c.protocol} ${c.orig_src} ${c.orig_dst} ${c.orig_sport ?? c.icmp_type ?? ""} ${
        c.orig_dport ?? c.icmp_code ?? ""
      } ${c.reply_src} ${c.reply_dst}`,
    );
  }
  return out;
}

function sorted(m: Map<number, string>): [number, string][] {
  return [...m].sort((a, b) => a[0] - b[0]);
}

Deno.test("conntopd serves a snapshot equal to the namespace's table, then one delta per change", async (t) => {
  await using served = await serveNamespace(ENTRIES, ["--interval", "0.2", "-v"]);
  const { ns, server } = served;
  await using c = await ProtoClient.connect({ port: server.port });
  const { banner, welcome } = await c.handshake({ name: "table-test" });

  await t.step("the banner and the welcome describe the server", () => {
    assertEquals(banner, {
      type: "banner",
      protocol: "conntop",
      versions: [PROTOCOL_VERSION],
      software: `conntopd ${VERSION}`,
      auth: [],
    });
    assertEquals(welcome.version, PROTOCOL_VERSION);
    assertEquals(welcome.intervalMs, 200);
    assertEquals(welcome.netns, ns.name);
    assertEquals(welcome.recordSize, RECORD_SIZE);
    assertEquals(welcome.chunkRecords, CHUNK_RECORDS);
    assertEquals(welcome.idleTimeoutMs, 60_000);
    assert(welcome.name.length > 0);
  });

  const snap = await c.nextBatch();
  await t.step("the first batch is a snapshot of exactly the table conntrack lists", async () => {
    assertEquals(snap.reset, true);
    assertEquals(snap.count, ENTRIES.length);
    assertEquals(snap.totals.count, ENTRIES.length);
    assert(snap.local !== undefined, "a snapshot carries the host's addresses");
    assertEquals(sorted(ours(c.model)), sorted(await reference(ns)));
  });

  await t.step("every field equals what conntop --once reads from the same table", async () => {
    const once = await runConntop([
      "--once",
      "-o",
      "json",
      "-n",
      "-P",
      "--no-geoip",
      "--netns",
      ns.name,
    ]);
    assertEquals(once.code, 0, once.stderr);
    const local = (JSON.parse(once.stdout) as { connections: Connection[] }).connections;
    const served = connections(c.model);
    assertEquals(served.length, local.length);
    for (const mine of served) {
      const theirs = local.find((x) => x.id === mine.id);
      assert(theirs !== undefined, `conntop --once has id ${mine.id}`);
      for (const [k, v] of Object.entries(mine)) {
        if (TIME_FIELDS.has(k) || !(k in theirs)) continue;
        // Enrichment fields stay null on both sides here (-n -P --no-geoip; no owners in a
        // namespace without sockets), except the address classes the client computes.
        if (k.endsWith("_class")) continue;
        assertEquals(v, theirs[k as keyof Connection], `id ${mine.id}: ${k}`);
      }
    }
  });

  await t.step("an inserted entry arrives in a delta with seq + 1", async () => {
    let last = snap.seq;
    await ns.conntrack([
      "-I",
      "-t",
      "300",
      "-s",
      "10.5.5.5",
      "-d",
      "10.6.6.6",
      "-p",
      "udp",
      "--sport",
      "7",
      "--dport",
      "8",
    ]);
    const b = await c.batchUntil((b) => {
      assertEquals(b.reset, undefined, "deltas, not snapshots");
      assertEquals(b.seq, last + 1, "consecutive seqs");
      last = b.seq;
      return connections(c.model).some((x) => x.orig_src === "10.5.5.5");
    });
    assert(b.count >= 1);
    assertEquals(sorted(ours(c.model)), sorted(await reference(ns)));
  });

  await t.step("a deleted entry leaves the client's table in a delta", async () => {
    await ns.conntrack(["-D", "-s", "10.0.0.1", "-d", "10.0.0.3", "-p", "sctp"]);
    let last = c.batches.at(-1)!.seq;
    await c.batchUntil((b) => {
      assertEquals(b.seq, last + 1, "consecutive seqs");
      last = b.seq;
      return !connections(c.model).some((x) => x.orig_dst === "10.0.0.3");
    });
    assertEquals(sorted(ours(c.model)), sorted(await reference(ns)));
    assertEquals(c.model.size, ENTRIES.length);
  });

  await t.step("a ping is answered with its id", async () => {
    await c.send({ type: "ping", id: 4242 });
    for (;;) {
      const m = await c.next();
      assert(m !== undefined && m.type !== "bye", "no bye");
      if (m.type === "pong") {
        assertEquals(m.id, 4242);
        break;
      }
    }
  });

  await t.step("a second client joining later gets the same table", async () => {
    await using d = await ProtoClient.connect({ port: server.port, hostname: "::1" });
    await d.handshake({ name: "second" });
    const s2 = await d.nextBatch();
    assertEquals(s2.reset, true);
    assertEquals(sorted(ours(d.model)), sorted(await reference(ns)));
  });

  await t.step("the log names the client and never a protocol error", () => {
    assertMatch(server.log, /INFO client #1 127\.0\.0\.1:\d+ 'table-test': welcome/);
    assert(!/protocol_error/.test(server.log), server.log);
  });
});

Deno.test("conntopd answers an unsupported protocol version with bye version_mismatch", async () => {
  await using served = await serveNamespace([]);
  await using c = await ProtoClient.connect({ port: served.server.port });
  await c.expect("banner");
  await c.send({ type: "hello", version: 999, software: "future 9", name: "x" });
  const bye = await c.expect("bye");
  assertEquals(bye.reason, "version_mismatch");
  assertMatch(bye.message, /version 1, not 999/);
  assertEquals(await c.next(), undefined, "the server closes after its bye");
});

Deno.test("conntopd with --token-file asks for the token and refuses a missing or wrong one", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "conntopd-token-" });
  try {
    const secret = "s3cr3t-Token_value";
    const file = `${dir}/token`;
    await Deno.writeTextFile(file, secret + "\n", { mode: 0o600 });
    await using served = await serveNamespace([], ["--token-file", file, "-v"]);
    const { server } = served;

    await t.step("the banner asks for a token", async () => {
      await using c = await ProtoClient.connect({ port: server.port });
      assertEquals((await c.expect("banner")).auth, ["token"]);
    });
    await t.step("a hello without a token gets bye auth_failed", async () => {
      await using c = await ProtoClient.connect({ port: server.port });
      await c.expect("banner");
      await c.send({ type: "hello", version: 1, software: "t 1", name: "no-token" });
      const bye = await c.expect("bye");
      assertEquals(bye.reason, "auth_failed");
      assertEquals(await c.next(), undefined);
    });
    await t.step("a hello with a wrong token gets bye auth_failed", async () => {
      await using c = await ProtoClient.connect({ port: server.port });
      await c.expect("banner");
      await c.send({ type: "hello", version: 1, software: "t 1", name: "bad", token: "guess" });
      const bye = await c.expect("bye");
      assertEquals(bye.reason, "auth_failed");
      assert(!bye.message.includes("guess") && !bye.message.includes(secret));
    });
    await t.step("the right token (file's trailing newline dropped) is welcomed", async () => {
      await using c = await ProtoClient.connect({ port: server.port });
      await c.handshake({ token: secret });
      assertEquals((await c.nextBatch()).reset, true);
    });
    await t.step("neither token appears in the log", () => {
      assert(!server.log.includes(secret), "the secret is not logged");
      assert(!server.log.includes("guess"), "a wrong token is not logged");
      assertMatch(server.log, /WARNING client #\d+ .*bye auth_failed/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conntopd drops a connection that sends no hello within the handshake timeout", async () => {
  await using served = await serveNamespace([], ["--handshake-timeout", "0.5"]);
  await using c = await ProtoClient.connect({ port: served.server.port });
  await c.expect("banner");
  const t0 = Date.now();
  const bye = await c.expect("bye", 20_000);
  assertEquals(bye.reason, "timeout");
  assert(Date.now() - t0 >= 300, "not before the timeout");
  assertEquals(await c.next(), undefined);
});

Deno.test("conntopd drops a silent client after the idle timeout and keeps one that pings", async () => {
  await using served = await serveNamespace([], ["--idle-timeout", "5", "--interval", "0.5"]);
  const { server } = served;
  await using silent = await ProtoClient.connect({ port: server.port });
  await using pinging = await ProtoClient.connect({ port: server.port });
  const { welcome } = await silent.handshake({ name: "silent" });
  assertEquals(welcome.idleTimeoutMs, 5000);
  await pinging.handshake({ name: "pinging" });
  const t0 = Date.now();
  let id = 0;
  const pinger = setInterval(
    () => void pinging.send({ type: "ping", id: ++id }).catch(() => {}),
    1000,
  );
  try {
    const bye = await silent.bye(30_000);
    assertEquals(bye.reason, "timeout");
    const waited = Date.now() - t0;
    assert(waited >= 4000, `dropped after ${waited} ms, not before the 5 s timeout`);
    // The pinging client is still served, well past the idle timeout.
    await new Promise((r) => setTimeout(r, 2000));
    let pongs = 0;
    const deadline = Date.now() + 20_000;
    while (pongs < 3 && Date.now() < deadline) {
      const m = await pinging.next(20_000);
      assert(m !== undefined && m.type !== "bye", `still served (got ${JSON.stringify(m)})`);
      if (m.type === "pong") pongs++;
    }
    assertEquals(pongs, 3);
  } finally {
    clearInterval(pinger);
  }
});

Deno.test("conntopd refuses connections past --max-clients with bye server_full", async () => {
  await using served = await serveNamespace([], ["--max-clients", "2"]);
  const port = served.server.port;
  await using a = await ProtoClient.connect({ port });
  await using b = await ProtoClient.connect({ port });
  await a.handshake();
  await b.handshake();
  {
    await using c = await ProtoClient.connect({ port });
    await c.expect("banner");
    const bye = await c.expect("bye");
    assertEquals(bye.reason, "server_full");
    assertEquals(await c.next(), undefined);
  }
  // A place freed is taken again.
  a.close();
  await served.server.waitForLog(/client #1 .* left/);
  await using d = await ProtoClient.connect({ port });
  await d.handshake();
  assertEquals((await d.nextBatch()).reset, true);
});

Deno.test("conntopd refuses an address for a while after 5 failed handshakes, not other addresses", async () => {
  await using served = await serveNamespace([], ["-v"]);
  const { server } = served;
  const port = server.port;
  const hello = (token?: string) =>
    new TextEncoder().encode(
      JSON.stringify({
        type: "hello",
        version: 1,
        software: "t 1",
        name: "rl",
        ...(token === undefined ? {} : { token }),
      }) + "\n",
    );
  for (let i = 0; i < 5; i++) {
    // The server has no token: a hello with one is refused (protocol_error), a failure.
    const r = await rawExchange({ port, localAddress: "127.0.0.7", chunks: [hello("x")] });
    assert(r.closed);
    assertMatch(r.lines.at(-1) ?? "", /"reason":"protocol_error"/);
  }
  await server.waitForLog(/refusing 127\.0\.0\.7 for a while/);
  const refused = await rawExchange({ port, localAddress: "127.0.0.7", chunks: [hello()] });
  assertMatch(refused.lines[0] ?? "", /"type":"banner"/);
  assertMatch(refused.lines.at(-1) ?? "", /"reason":"rate_limited"/);
  assert(!refused.lines.some((l) => l.includes("welcome")), "no welcome while refused");
  // Another address is served as usual.
  const other = await rawExchange({
    port,
    localAddress: "127.0.0.8",
    chunks: [hello()],
    timeoutMs: 3000,
  });
  assert(other.lines.some((l) => l.includes('"type":"welcome"')), JSON.stringify(other));
});

Deno.test("conntopd says bye server_quit to its clients on SIGTERM, SIGINT and SIGHUP", async (t) => {
  for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130], ["SIGHUP", 129]] as const) {
    await t.step(`${signal} → exit ${code}`, async () => {
      await using served = await serveNamespace([], ["--interval", "0.2"]);
      await using c = await ProtoClient.connect({ port: served.server.port });
      await c.handshake();
      await c.nextBatch();
      assertEquals(await served.server.stop(signal), code);
      const bye = await c.bye();
      assertEquals(bye.reason, "server_quit");
      assertEquals(await c.next(), undefined);
      assertMatch(served.server.log, /Shutting down/);
    });
  }
});

Deno.test("conntopd pauses collection while no client is connected", async () => {
  await using served = await serveNamespace(ENTRIES.slice(0, 3), ["--interval", "0.1", "-v"]);
  const { server } = served;
  let lastDumps: number;
  {
    await using a = await ProtoClient.connect({ port: server.port });
    await a.handshake();
    await a.nextBatch();
    // Several refreshes while a client is here: dumps advance.
    const first = a.batches[0]!.status.dumps;
    const b = await a.batchUntil((b) => b.status.dumps >= first + 5);
    lastDumps = b.status.dumps;
  }
  const paused = await server.waitForLog(/Collection paused/, 30_000, 0);
  assert(paused !== undefined);
  // At 0.1 s, 3 s of collection would be ~30 dumps.
  await new Promise((r) => setTimeout(r, 3000));
  await using b = await ProtoClient.connect({ port: server.port });
  await b.handshake();
  const snap = await b.nextBatch();
  assertEquals(snap.reset, true);
  const dumps = snap.status.dumps;
  // The client that left may have seen up to a refresh or two less than the worker had done;
  // the resume adds one (two if events overflowed). Anything near 30 more means no pause.
  assert(dumps <= lastDumps + 5, `dumps went from ${lastDumps} to ${dumps} while nobody was here`);
  assertEquals(snap.count, 3, "the snapshot after resuming is the table as it is");
  await server.waitForLog(/Collection resumed/);
});

Deno.test("conntopd lets its table go when the last client leaves, and collects it anew for the next", async () => {
  await using served = await serveNamespace(ENTRIES.slice(0, 3), ["--interval", "0.1", "-v"]);
  const { ns, server } = served;
  {
    await using a = await ProtoClient.connect({ port: server.port });
    await a.handshake();
    await a.nextBatch();
    assertEquals(sorted(ours(a.model)), sorted(await reference(ns)));
  }
  // The collector drops its table (and the hub its model) once paused: a line after the
  // client's snapshot (the first one is the start's, before any client).
  const from = server.lines.findIndex((l) => /snapshot \d+: queued/.test(l));
  assert(from >= 0);
  await server.waitForLog(/Collection paused: no client/, 30_000, from);
  await server.waitForLog(/Table released until a client comes/, 30_000, from);
  const after = server.lines.length;
  // What changes meanwhile is seen by nobody; the next client's snapshot comes from a new dump.
  await ns.conntrack(["-D", "-p", "udp", "--sport", "53", "--dport", "5353"]);
  await loadConntrack(ns, [
    "-I -t 300 -s 10.0.0.7 -d 10.0.0.8 -p tcp --sport 7 --dport 8 --state ESTABLISHED",
  ]);
  await using b = await ProtoClient.connect({ port: server.port });
  await b.handshake();
  const snap = await b.nextBatch();
  assertEquals(snap.reset, true);
  assertEquals(snap.count, 3);
  assertEquals(sorted(ours(b.model)), sorted(await reference(ns)));
  await server.waitForLog(/Collection resumed/, 30_000, after);
  // Deltas follow the new table as before.
  await loadConntrack(ns, ["-I -t 300 -s 10.0.0.9 -d 10.0.0.8 -p udp --sport 9 --dport 8"]);
  await b.batchUntil(() => b.model.size === 4);
  assertEquals(sorted(ours(b.model)), sorted(await reference(ns)));
});

Deno.test("conntopd restores --enable-acct and deletes its --track table on SIGTERM", async () => {
  await using ns = await Netns.create("srv");
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
  await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 0);
  await loadConntrack(ns, ENTRIES.slice(0, 1));
  const tables = async () => (await ns.exec(["nft", "list", "tables"])).stdout;
  const server = await Conntopd.start(["--netns", ns.name, "--enable-acct", "--track"], {
    permissions: ["--allow-write"],
  });
  try {
    assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), "1");
    assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_timestamp"), "1");
    assert((await tables()).includes(`inet ${TRACK_TABLE}`), await tables());
    {
      // Collect for a client (the collector runs on the server's thread), then leave.
      await using c = await ProtoClient.connect({ port: server.port });
      await c.handshake();
      assertEquals((await c.nextBatch()).count, 1);
    }
    assertEquals(await server.stop("SIGTERM"), 143);
    assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), "0");
    assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_timestamp"), "0");
    assert(!(await tables()).includes(TRACK_TABLE), await tables());
  } finally {
    await server.stop("SIGKILL").catch(() => {});
  }
});

Deno.test("conntopd --help and --version need no privilege and print conntopd's own text", async () => {
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", "src/conntopd.ts", "--help"],
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(help.code, 0, new TextDecoder().decode(help.stderr));
  assertMatch(new TextDecoder().decode(help.stdout), /^Usage: conntopd \[OPTION\]/);
  const version = await new Deno.Command(Deno.execPath(), {
    args: ["run", "src/conntopd.ts", "--version"],
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
  }).output();
  const lines = new TextDecoder().decode(version.stdout).split("\n");
  assertEquals(lines[0], `conntopd ${VERSION} (protocol 1)`);
  // Without --allow-ffi the library is not looked at (test/cli/version_test.ts checks the line).
  assertEquals(lines[2], "libnetfilter_conntrack: not checked (no --allow-ffi)");
});

Deno.test("conntopd reports a bad option as one line and exit 2", async () => {
  const r = await runConntopd(["--port", "x"]);
  assertEquals(r.code, 2);
  assertEquals(
    r.stderr,
    "conntopd: Invalid value for --port: expected a port from 1 to 65535, got 'x'\n" +
      "Try 'conntopd --help' for more information.\n",
  );
});

// That deno.json's conntopd task has exactly the binary's permissions is test/scripts/link_test.ts's.
Deno.test("conntopd's module documentation names each permission it needs", async () => {
  const doc = await Deno.readTextFile(new URL("../../src/conntopd.ts", import.meta.url));
  for (const p of CONNTOPD_PERMISSIONS) assert(doc.includes("`" + p), `${p} is documented`);
});

Deno.test("conntopd --log-file appends its log there, with --allow-write for that file only", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "conntopd-log-" });
  try {
    const file = `${dir}/conntopd.log`;
    await Deno.writeTextFile(file, "an earlier line\n");
    await using ns = await Netns.create("log");
    await t.step("without --allow-write it names the missing permission (exit 2)", async () => {
      const r = await runConntopd(["--netns", ns.name, "--port", "45002", "--log-file", file]);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /^conntopd: Missing Deno permission: .*write access/);
    });
    await t.step("with it, the log goes to the file, nothing to stderr", async () => {
      await using s = await Conntopd.start(["--netns", ns.name, "--log-file", file], {
        permissions: [`--allow-write=${file}`],
        logFile: file,
      });
      await using c = await ProtoClient.connect({ port: s.port });
      await c.handshake({ name: "logged" });
      await s.waitForLog(/INFO client #1 .* welcome 'logged'/);
      assertEquals(await s.stop("SIGTERM"), 143);
      assertEquals(s.stderr, "");
      const text = await Deno.readTextFile(file);
      assertMatch(text, /^an earlier line\n\d{4}-/);
      assertMatch(text, /INFO Shutting down \(exit code 143\)\n/);
      assertMatch(text, /bye server_quit/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conntopd --log-file refuses a link (exit 2, one line) and leaves its target alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conntopd-loglink-" });
  try {
    // A root-owned 0600 file standing in for /etc/shadow (the test runs as root).
    const secret = `${dir}/shadow`;
    await Deno.writeTextFile(secret, "root:$6$secret:19000:0:99999:7:::\n", { mode: 0o600 });
    await Deno.chmod(secret, 0o600);
    const st = await Deno.lstat(secret);
    const link = `${dir}/conntopd.log`;
    await Deno.symlink(secret, link);
    await using ns = await Netns.create("loglink");
    // Bounded: a conntopd that took the link would run until killed.
    const r = await runBounded(
      conntopdCommand(["--netns", ns.name, "--port", String(freePort()), "--log-file", link], [
        `--allow-write=${link}`,
      ]),
      15_000,
    );
    assertEquals(r.code, 2, r.stderr);
    assertEquals(r.stderr, `conntopd: Cannot open log file '${link}': it is a symbolic link\n`);
    assertEquals(await Deno.readTextFile(secret), "root:$6$secret:19000:0:99999:7:::\n");
    const after = await Deno.lstat(secret);
    assertEquals([after.mode, after.uid, after.gid, after.size], [
      st.mode,
      st.uid,
      st.gid,
      st.size,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conntopd reports a collector that cannot start as one line and exit 2", async () => {
  const port = freePort();
  const r = await runConntopd(["--port", String(port)], {
    prefix: ["env", "CONNTOP_LIBNFCT=/nonexistent/libnetfilter_conntrack.so.3"],
  });
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /^conntopd: Cannot load '\/nonexistent\/libnetfilter_conntrack\.so\.3'/m);
  assertEquals(r.stderr.split("\n").filter((l) => l.startsWith("conntopd:")).length, 1);
});
