/**
 * A lying server cannot take `conntop --connect --once` down: endless extras in one snapshot,
 * a 1 byte/s drip after the welcome, a burst of a mebibyte of newlines and an invalid `local`
 * entry each end the run with exit code 1 and one line naming the server, within bounded
 * memory and time.
 *
 * The server is the scripted fake of test/client/_fake_server.ts (a real conntopd never sends
 * such things); conntop runs as a separate process so its memory can be read from /proc.
 */

import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { batchOf } from "../_helpers/records.ts";
import { type BoundedRun, runBounded } from "../_helpers/bounded_run.ts";
import { conntopCommand } from "./_conntop.ts";
import { FakeServer } from "../client/_fake_server.ts";

/** Runs conntop with `args` for at most `ms` (then kills it: code null), watching its memory. */
function runFor(args: string[], ms: number): Promise<BoundedRun> {
  return runBounded(conntopCommand(args), ms);
}

/** The part of a snapshot that never ends: `n` extras with the longest secctx the schema allows. */
function extrasPart(part: number, n: number): string {
  const secctx = "s".repeat(4000);
  const extras = Array.from({ length: n }, (_, i) => [i, { secctx }]);
  return JSON.stringify({
    type: "batch",
    kind: "snapshot",
    seq: 1,
    part,
    last: false,
    count: 0,
    records: [],
    extras,
    owners: [],
  }) + "\n";
}

function assertOneLine(r: BoundedRun, server: FakeServer, why: RegExp): void {
  assert(
    r.code !== null,
    `still running after ${r.ms} ms (peak ${Math.round(r.peakKiB / 1024)} MiB): ${r.stderr}`,
  );
  assertEquals(r.code, 1, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, r.stderr);
  assertMatch(lines[0]!, new RegExp(`^conntop: .*127\\.0\\.0\\.1:${server.port}`));
  assertMatch(lines[0]!, why);
}

Deno.test("a server sending endless extras in one snapshot: exit 1, memory bounded", async () => {
  let sentMiB = 0;
  await using server = FakeServer.start(async (c) => {
    await c.handshake();
    // About 4 MiB a part, up to 1 GiB in all, until the client hangs up.
    const line = new TextEncoder().encode(extrasPart(0, 1000));
    for (let part = 0; part < 256; part++) {
      const bytes = part === 0 ? line : new TextEncoder().encode(extrasPart(part, 1000));
      try {
        await c.raw(bytes);
      } catch {
        return;
      }
      sentMiB += bytes.length / (1 << 20);
    }
    await c.drain();
  });
  const r = await runFor(["--connect", `127.0.0.1:${server.port}`, "--once", "-n"], 60_000);
  assertOneLine(r, server, /broke the protocol: .*extras/);
  assert(
    Math.round(r.peakKiB / 1024) < 500,
    `peak RSS ${Math.round(r.peakKiB / 1024)} MiB after ${Math.round(sentMiB)} MiB sent`,
  );
});

Deno.test("a server dripping a byte a second after the welcome: --once gives up at --deadline", async () => {
  await using server = FakeServer.start(async (c) => {
    await c.handshake();
    // A snapshot's first bytes, one a second: never a whole line.
    for (const ch of '{"type":"batch","kind":"snapshot"') {
      try {
        await c.raw(ch);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  });
  const r = await runFor(
    ["--connect", `127.0.0.1:${server.port}`, "--once", "--deadline", "2"],
    20_000,
  );
  assertOneLine(r, server, /no table within 2 s \(--deadline\)/);
  assert(r.ms < 8000, `took ${r.ms} ms`);
});

Deno.test("a mebibyte of newlines read at once: a protocol error and a reconnection, not a crash", async () => {
  // 200,000 connections make the client busy a while with the snapshot (and grow its socket
  // buffer), so the newlines sent meanwhile arrive in reads of up to 256 KiB: once spread
  // into one push, "Maximum call stack size exceeded".
  const conns = Array.from({ length: 200_000 }, (_, i) => ({
    slot: i,
    kind: 1,
    src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    dst: "192.0.2.1",
    sport: 1024 + (i % 60000),
    dport: 443,
  }));
  await using server = FakeServer.start(async (c, n) => {
    await c.handshake();
    if (n > 0) return; // the reconnection: hang up
    await c.sendBatch(batchOf(conns, { seq: 1 }), "snapshot");
    await c.raw(new Uint8Array(1 << 20).fill(0x0a)).catch(() => {});
    await c.drain();
  });
  const r = await runFor(["--connect", `127.0.0.1:${server.port}`, "--stream", "-n"], 12_000);
  // --stream tries again after a lost connection: still running when killed, never crashed.
  assertEquals(r.code, null, r.stderr);
  assertMatch(r.stderr, /broke the protocol: not JSON; trying again/);
  assert(!/Unexpected|call stack/.test(r.stderr), r.stderr);
  assert(server.conns.length >= 2, `${server.conns.length} connections`);
});

Deno.test("a server sending an invalid local address: a protocol error, not a crash", async () => {
  await using server = FakeServer.start(async (c) => {
    await c.handshake();
    const batch = batchOf([], { seq: 1 });
    batch.local = { v4: ["not-an-address"], v6: [], broadcast: [] };
    await c.sendBatch(batch, "snapshot");
    await c.drain();
  });
  const r = await runFor(["--connect", `127.0.0.1:${server.port}`, "--once"], 20_000);
  assertOneLine(r, server, /broke the protocol: .*local.*not-an-address/);
});
