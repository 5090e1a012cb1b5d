/**
 * Thousands of broken clients against one conntopd: truncated, oversized, wrong-typed, random
 * and out-of-order messages, each on its own connection from its own loopback address (so the
 * per-address rate limit stays out of the way). Each must end with `bye protocol_error` (logged
 * once) or a plain close, never a crash, and the server must still serve a well-behaved client
 * the right table afterwards, without its memory having grown with the number of connections.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { serveNamespace } from "../_helpers/conntopd.ts";
import { parseConntrackExtended } from "../_helpers/conntrack_cli.ts";
import { ProtoClient, rawExchange } from "../_helpers/proto_client.ts";
import { MAX_CLIENT_MESSAGE_BYTES, parseServerMessage } from "../../src/protocol/mod.ts";
import { prng as mulberry32 } from "../../tools/prng.ts";

const CASES = 2400;
const PARALLEL = 12;
const SEED = Number(Deno.env.get("CONNTOP_FUZZ_SEED") ?? 20241124);

const enc = new TextEncoder();
const line = (v: unknown) => enc.encode(JSON.stringify(v) + "\n");
const HELLO = { type: "hello", version: 1, software: "fuzz 1", name: "fuzz" };

interface Case {
  kind: string;
  chunks: Uint8Array[];
  /** Half-close after sending (a truncated message then ends the stream). */
  end: boolean;
  /** The server must end it with protocol_error (else: a plain close). */
  protocolError: boolean;
}

function makeCase(i: number, rnd: () => number): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
  switch (i % 8) {
    case 0: { // a message cut short, then the end of the stream
      const full = JSON.stringify({ ...HELLO, name: "x".repeat(Math.floor(rnd() * 200)) });
      return {
        kind: "truncated",
        chunks: [enc.encode(full.slice(0, Math.floor(rnd() * full.length)))],
        end: true,
        protocolError: false,
      };
    }
    case 1: { // longer than the limit, in one line or with no newline at all
      const n = MAX_CLIENT_MESSAGE_BYTES + Math.floor(rnd() * 40_000);
      const text = `{"type":"hello","name":"${"a".repeat(n)}"}`;
      return {
        kind: "oversized",
        chunks: [enc.encode(rnd() < 0.5 ? text + "\n" : text)],
        end: false,
        protocolError: true,
      };
    }
    case 2: // valid JSON, wrong types or shapes
      return {
        kind: "wrong-type",
        chunks: [line(pick([
          { ...HELLO, version: "1" },
          { ...HELLO, version: 1.5 },
          { ...HELLO, name: 42 },
          { ...HELLO, extra: true },
          { ...HELLO, token: "has space" },
          { ...HELLO, name: "x".repeat(256) },
          { type: "welcome", version: 1 },
          { type: "batch" },
          { type: "ping", id: -1 },
          { type: "bye", reason: "whatever", message: "" },
          [HELLO],
          "hello",
          42,
          null,
          {},
        ]))],
        end: false,
        protocolError: true,
      };
    case 3: { // random bytes ending in a newline
      const b = bytes(1 + Math.floor(rnd() * 3000));
      return { kind: "random", chunks: [b, enc.encode("\n")], end: false, protocolError: true };
    }
    case 4: { // invalid UTF-8 inside an otherwise fine hello
      const head = enc.encode(`{"type":"hello","version":1,"software":"f","name":"`);
      const tail = enc.encode(`"}\n`);
      return {
        kind: "bad-utf8",
        chunks: [head, Uint8Array.of(0xc3, 0x28, 0xff), tail],
        end: false,
        protocolError: true,
      };
    }
    case 5: // something other than a hello first
      return {
        kind: "out-of-order",
        chunks: [line(pick([{ type: "ping", id: 1 }, { type: "pong", id: 1 }]))],
        end: false,
        protocolError: true,
      };
    case 6: // a second hello after the welcome
      return {
        kind: "hello-twice",
        chunks: [line(HELLO), line(HELLO)],
        end: false,
        protocolError: true,
      };
    default: { // garbage after a good hello, split at random points
      const all = new Uint8Array([
        ...line(HELLO),
        ...line({ type: "ping", id: 3 }),
        ...bytes(50),
        0x0a,
      ]);
      const cut = 1 + Math.floor(rnd() * (all.length - 2));
      return {
        kind: "garbage-after-welcome",
        chunks: [all.subarray(0, cut), all.subarray(cut)],
        end: false,
        protocolError: true,
      };
    }
  }
}

Deno.test("conntopd survives thousands of malformed clients and then serves a good one", async () => {
  const entries = Array.from(
    { length: 40 },
    (_, i) =>
      `-I -t 600 -s 10.3.${i}.1 -d 10.4.0.1 -p tcp --sport ${
        1000 + i
      } --dport 443 --state ESTABLISHED`,
  );
  await using served = await serveNamespace(entries, ["--interval", "0.2", "--max-clients", "64"]);
  const { ns, server } = served;

  // The baseline: the server with a client served (collector running, model and snapshot built).
  {
    await using warm = await ProtoClient.connect({ port: server.port });
    await warm.handshake();
    await warm.nextBatch();
    await warm.nextBatch();
  }
  await server.waitForLog(/client #1 .* left/);
  const rssBefore = await server.rssKiB();
  const fdsBefore = openFds(server.pid);

  const rnd = mulberry32(SEED);
  const cases = Array.from({ length: CASES }, (_, i) => makeCase(i, rnd));
  const failures: string[] = [];
  let byes = 0;
  let resets = 0;
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      // One address per case: 127.1.x.y.
      const localAddress = `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      const r = await rawExchange({
        port: server.port,
        localAddress,
        chunks: c.chunks,
        end: c.end,
        timeoutMs: 30_000,
      });
      const where = `case ${i} (${c.kind}, seed ${SEED})`;
      if (!r.closed) failures.push(`${where}: the server did not close the connection`);
      const msgs = r.lines.map((l) => parseServerMessage(enc.encode(l)));
      const bad = msgs.findIndex((m) => !m.ok);
      if (bad >= 0) failures.push(`${where}: line ${bad} is not a valid server message`);
      const last = msgs.at(-1);
      if (last?.ok && last.value.type === "bye") {
        byes++;
        if (!c.protocolError || last.value.reason !== "protocol_error") {
          failures.push(`${where}: bye ${last.value.reason}`);
        }
      } else if (c.protocolError) {
        // The server closed with our bytes unread: the kernel may answer with a reset that
        // discards its bye before we read it. That is a close too, but must stay rare.
        if (r.error === undefined) failures.push(`${where}: closed without a bye or an error`);
        resets++;
      }
      if (msgs.length === 0 || !msgs[0]!.ok || msgs[0]!.value.type !== "banner") {
        if (r.error === undefined) failures.push(`${where}: no banner`);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  assertEquals(failures.slice(0, 20), []);
  const expectedByes = cases.filter((c) => c.protocolError).length;
  assertEquals(byes + resets, expectedByes);
  assert(resets <= expectedByes / 10, `${resets} of ${expectedByes} ended in a reset, not a bye`);

  // Each protocol error was logged once (the log counts what the server did, resets included).
  await server.waitFor(
    () => server.lines.filter((l) => / bye protocol_error: /.test(l)).length >= expectedByes,
    30_000,
    "the protocol errors in the log",
  );
  assertEquals(server.lines.filter((l) => / bye protocol_error: /.test(l)).length, expectedByes);

  // No socket left behind: the server's descriptors are back to what they were.
  await server.waitFor(() => openFds(server.pid) <= fdsBefore, 30_000, "the sockets to close");

  // Still up, and right: a good client gets exactly the table.
  await using good = await ProtoClient.connect({ port: server.port });
  await good.handshake({ name: "after-fuzz" });
  const snap = await good.nextBatch();
  assertEquals(snap.reset, true);
  const ids = new Set([...good.model.slots()].map((s) => good.model.id(s)));
  const { stdout } = await ns.conntrack(["-L", "-o", "extended,id"]);
  const ref = new Set(parseConntrackExtended(stdout).map((f) => f.id!));
  assertEquals(ids, ref);
  assertEquals(ids.size, entries.length);
  const d = await good.nextBatch();
  assertEquals(d.seq, snap.seq + 1);

  // Memory. Nothing is kept per closed connection but its address's failure count (a few
  // dozen bytes; at most 10,000 addresses). Measured on a 2-core Debian 12 box: RSS grows by
  // 20-40 MiB over these 2,400 connections, then levels off near +90 MiB after ~10,000, while
  // the JS heap after a full GC stays at ~9 MiB (checked with --v8-flags=--expose-gc): the
  // growth is the runtime's allocator and heap high-water marks, not a leak. 96 MiB allows
  // for that and still fails a leak of 40 KiB per connection (a session kept with its
  // buffers and queue): 2,400 × 40 KiB = 94 MiB on top of the high-water marks.
  const rssAfter = await server.rssKiB();
  assert(
    rssAfter - rssBefore < 96 * 1024,
    `RSS grew from ${rssBefore} KiB to ${rssAfter} KiB over ${CASES} connections`,
  );
});

function openFds(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}
