/**
 * `conntop --connect … --stream` against a scripted fake server that goes away and comes back
 * with other slots: after the reconnection only the real differences are printed (a destroy
 * for what vanished, a new for what appeared, an update for what changed) — not the whole
 * table again.
 */

import { assertEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { parseOptions } from "../../src/cli/mod.ts";
import { runStream } from "../../src/app/stream.ts";
import { Kind } from "../../src/conntrack/mod.ts";
import { FakeServer } from "./_fake_server.ts";

const T = 1_700_000_000_000;

function conn(n: number, slot: number, over: Partial<TestConn> = {}): TestConn {
  return {
    slot,
    id: 7000 + n,
    src: `10.0.0.${n}`,
    dst: "192.0.2.1",
    sport: 40000 + n,
    dport: 443,
    txBytes: 100,
    timeout: 300,
    sampledMs: T,
    ...over,
  };
}

Deno.test("--stream after a reconnection prints only what changed meanwhile", async () => {
  await using server = FakeServer.start(async (c, n) => {
    await c.handshake();
    if (n === 0) {
      await c.sendBatch(batchOf([conn(1, 0), conn(2, 1), conn(3, 2)], { seq: 1 }), "snapshot");
      await c.sendBatch(
        batchOf([conn(2, 1, { kind: Kind.UPDATE, txBytes: 150 })], { seq: 2 }),
        "delta",
      );
      return; // the server goes away
    }
    // Back, restarted: slots afresh; 1 as it was, 2 moved on, 3 gone, 4 new.
    await c.sendBatch(
      batchOf([conn(4, 0), conn(2, 1, { txBytes: 999 }), conn(1, 2)], { seq: 1, timeMs: T + 5000 }),
      "snapshot",
    );
    await c.drain();
  });
  const opts = parseOptions(["--connect", `127.0.0.1:${server.port}`, "--stream", "-c", "3"]);
  let out = "";
  const notes: string[] = [];
  const code = await runStream(opts, (t) => void (out += t), (w) => void notes.push(w));
  assertEquals(code, 0);
  const events = out.trim().split("\n").map((l) => JSON.parse(l)).map((e) =>
    `${e.event} ${e.orig_src} ${e.tx_bytes}`
  );
  assertEquals(events, [
    "new 10.0.0.1 100",
    "new 10.0.0.2 100",
    "new 10.0.0.3 100",
    "update 10.0.0.2 150",
    // after the reconnection
    "destroy 10.0.0.3 100",
    "new 10.0.0.4 100",
    "update 10.0.0.2 999",
  ]);
  assertEquals(notes.length, 2, notes.join("\n"));
  assertEquals(notes[0]!.startsWith(`Connection to 127.0.0.1:${server.port} lost`), true);
  assertEquals(notes[1], `Reconnected to 127.0.0.1:${server.port}`);
});
