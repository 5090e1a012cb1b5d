/**
 * Ping flood: clients that send pings as fast as the socket takes them and never read. Every
 * pong the server queues for them is memory it holds, so the server must answer such a client
 * with a bounded amount of queued pongs (throttled: one pong waiting at most) or drop it
 * (too_slow), keep its memory within the bound the README promises, give that memory back when
 * they leave, and serve a well-behaved client every delta, in order, throughout.
 *
 * A real conntopd (its own process, its documented permissions) serves a test namespace's table;
 * its memory is its VmRSS in /proc, read from outside.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { serveNamespace } from "../_helpers/conntopd.ts";
import { ProtoClient } from "../_helpers/proto_client.ts";
import {
  encodeMessage,
  LineReader,
  MAX_SERVER_MESSAGE_BYTES,
  parseServerMessage,
} from "../../src/protocol/mod.ts";

/** Connections in the table: a small snapshot, so the bound is the queues'. */
const TABLE = 200;
/** --client-queue: small, so the bound is tight. */
const QUEUE = 2 << 20;
/** --max-clients: the flooders, the good client and one spare. */
const MAX_CLIENTS = 6;
const FLOODERS = 4;
/** --idle-timeout, s (also how long a write may stall before the client is dropped). */
const IDLE_S = 5;
/** How long the flooders ping, ms. */
const FLOOD_MS = 15_000;
/** How long each flooder then reads what the server sent it, at most, ms. */
const DRAIN_MS = 3000;
/** Pings per write of a flooder: a 64 KiB buffer. */
const PINGS_PER_WRITE = 2600;

/**
 * Slack over the queues' bound for what the Deno runtime itself holds on to under load. Parsing
 * pings at full speed makes V8 grow its young generation to its maximum (about 40 MiB more
 * committed, with a live heap that stays at 6 MiB, per --trace-gc) and glibc's heap keeps the
 * freed backing stores of the lines read (about 10 MiB); neither is given back until the
 * runtime is idle, which a server ticking every 200 ms is not. Measured on a 2-core Debian 12
 * box with the fix: +27 to +55 MiB over the warm-up peak while four clients flood, and the same
 * after they left. Without the fix each queued pong took about 620 B of RSS (counted at 28 B):
 * +465 MiB in 25 s, kept after the flooders left.
 */
const SLACK_KIB = 80 * 1024;

function entry(i: number): string {
  return `-I -t 600 -s 10.30.${i >> 8}.${i & 255} -d 10.200.0.1 -p tcp --sport ${
    2000 + i
  } --dport 443 --state ESTABLISHED`;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** What a flooder did and saw. */
interface Flood {
  pings: number;
  /** The server closed the connection while the flooder pinged. */
  cutOff: boolean;
  /** Pongs read afterwards. */
  pongs: number;
}

/**
 * A client that says hello and sends pings, reading nothing, until `stop()` or the server cuts
 * it off; then it reads what the server sent it, for at most DRAIN_MS, counting the pongs.
 */
async function flood(conn: Deno.Conn, name: string, stop: () => boolean): Promise<Flood> {
  await writeAll(conn, encodeMessage({ type: "hello", version: 1, software: "flood 1", name }));
  const parts: Uint8Array[] = [];
  for (let i = 0; i < PINGS_PER_WRITE; i++) parts.push(encodeMessage({ type: "ping", id: i }));
  const chunk = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    chunk.set(p, at);
    at += p.length;
  }
  const f: Flood = { pings: 0, cutOff: false, pongs: 0 };
  while (!stop()) {
    try {
      await writeAll(conn, chunk);
    } catch {
      f.cutOff = true;
      return f;
    }
    f.pings += PINGS_PER_WRITE;
  }
  const reader = new LineReader(MAX_SERVER_MESSAGE_BYTES);
  const buf = new Uint8Array(256 << 10);
  const timer = setTimeout(() => conn.close(), DRAIN_MS);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      for (const line of reader.push(buf.subarray(0, n))) {
        const m = parseServerMessage(line);
        assert(m.ok, m.ok ? "" : m.reason);
        if (m.value.type === "pong") f.pongs++;
      }
    }
  } catch {
    // closed at DRAIN_MS, or by the server
  } finally {
    clearTimeout(timer);
  }
  return f;
}

Deno.test("conntopd keeps its memory bounded under a ping flood from clients that never read", async () => {
  await using served = await serveNamespace(
    Array.from({ length: TABLE }, (_, i) => entry(i)),
    [
      "--interval",
      "0.2",
      "--client-queue",
      String(QUEUE),
      "--max-clients",
      String(MAX_CLIENTS),
      "--idle-timeout",
      String(IDLE_S),
      "-v",
    ],
  );
  const { server } = served;

  await using good = await ProtoClient.connect({ port: server.port });
  await good.handshake({ name: "good" });
  const snap = await good.nextBatch();
  assert(snap.count >= TABLE, `snapshot of ${snap.count}`);

  let stop = false;
  let phase: "warm" | "flood" | "after" = "warm";
  const rss = { warm: 0, flood: 0, after: Infinity };
  let lastSeq = snap.seq;
  let deltas = 0;
  const conns: Deno.Conn[] = [];
  const tasks: Promise<unknown>[] = [];
  const errors: unknown[] = [];
  const task = (p: Promise<unknown>) => tasks.push(p.catch((e) => errors.push(e)));
  const floods: Promise<Flood>[] = [];
  const dropped = (i: number) =>
    new RegExp(`'flood-${i}': (dropped \\(too_slow\\)|bye too_slow)`).test(server.log);
  // The good client pings within the idle timeout, as conntop does.
  const pinger = setInterval(() => void good.send({ type: "ping", id: 1 }).catch(() => {}), 1000);
  let deltasDuring = 0;
  let done: Flood[] = [];
  try {
    // The good client reads everything and must get every delta, in order.
    task((async () => {
      while (!stop) {
        const b = await good.nextBatch(20_000);
        assertEquals(b.seq, lastSeq + 1, "the good client gets every delta, in order");
        lastSeq = b.seq;
        deltas++;
      }
    })());
    task((async () => {
      while (!stop) {
        const kib = await server.rssKiB();
        if (phase === "warm") rss.warm = Math.max(rss.warm, kib);
        else if (phase === "flood") rss.flood = Math.max(rss.flood, kib);
        else rss.after = Math.min(rss.after, kib);
        await new Promise((r) => setTimeout(r, 100));
      }
    })());
    // Warm-up with the good client alone: its highest RSS is the baseline.
    await new Promise((r) => setTimeout(r, 3000));
    phase = "flood";
    const deltasBefore = deltas;
    const started = Date.now();
    for (let i = 0; i < FLOODERS; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      conns.push(conn);
      floods.push(flood(conn, `flood-${i}`, () => stop || Date.now() - started > FLOOD_MS));
    }
    done = await Promise.all(floods);
    deltasDuring = deltas - deltasBefore;
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    // After they left: the good client alone again. V8 gives back what it collected lazily
    // over a few seconds: the lowest RSS over them counts.
    phase = "after";
    await new Promise((r) => setTimeout(r, 4000));
    assertEquals(errors, []);

    console.log(
      `RSS warm ${rss.warm} KiB, flood +${rss.flood - rss.warm} KiB, after +${
        rss.after - rss.warm
      } KiB; ${JSON.stringify(done)}`,
    );
  } finally {
    stop = true;
    clearInterval(pinger);
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Promise.allSettled([...tasks, ...floods]);
  }
  assertEquals(errors, []);

  // The good client is still served, in order, and was throughout.
  assert(deltasDuring > 10, `the good client got only ${deltasDuring} deltas during the flood`);
  const after = await good.nextBatch(20_000);
  assertEquals(after.seq, lastSeq + 1);

  // Memory: the queues hold at most twice --client-queue each (deltas up to the cap, the
  // server's own control messages up to as much again), for at most --max-clients clients;
  // the snapshot of TABLE connections is a few tens of KiB.
  const boundKiB = (MAX_CLIENTS * 2 * QUEUE) / 1024;
  const grown = rss.flood - rss.warm;
  assert(
    grown < boundKiB + SLACK_KIB,
    `RSS grew by ${grown} KiB (from ${rss.warm} KiB) under the ping flood; the bound is ${boundKiB} KiB + ${SLACK_KIB} KiB of slack`,
  );
  const left = rss.after - rss.warm;
  assert(
    left < SLACK_KIB,
    `RSS stayed ${left} KiB above the warm-up (${rss.warm} KiB) after the flooders left`,
  );

  // The flood was real: the flooders sent far more pings than the bound and the slack hold as
  // pongs (400,000 of them, at about 620 B each, take 237 MiB), every one of them its share.
  const pings = done.map((f) => f.pings);
  const total = pings.reduce((a, b) => a + b, 0);
  assert(total >= 400_000, `the flooders sent only ${total} pings: ${pings}`);
  for (const n of pings) assert(n >= 20_000, `a flooder sent only ${n} pings: ${pings}`);
  // Each was dropped as too_slow, or throttled: far fewer pongs than pings.
  done.forEach((f, i) => {
    assert(
      dropped(i) || (!f.cutOff && f.pongs * 10 < f.pings),
      `flood-${i} sent ${f.pings} pings and got ${f.pongs} pongs, ${
        f.cutOff ? "cut off" : "not cut off"
      }, ${dropped(i) ? "dropped" : "not dropped"} as too_slow`,
    );
  });
});
