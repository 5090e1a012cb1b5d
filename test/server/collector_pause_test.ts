/**
 * The collector's pause and resume, as the server uses them: no batch while paused, the event
 * socket closed meanwhile (events of the pause are never read), and a refresh at once on resume
 * that catches up with what changed.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { Collector } from "../../src/collector/client.ts";
import type { BatchMessage } from "../../src/collector/messages.ts";
import { Kind, OFF, RecordView } from "../../src/conntrack/mod.ts";

async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function newIds(b: BatchMessage): number[] {
  const ids: number[] = [];
  for (const buf of b.records) {
    const v = new RecordView(buf);
    for (let i = 0; i < v.count; i++) {
      if (v.u8At(i, OFF.KIND) === Kind.NEW) ids.push(v.u32At(i, OFF.ID));
    }
  }
  return ids;
}

Deno.test("a paused collector sends nothing, reads no events, and catches up at once on resume", async () => {
  await using ns = await Netns.create("pause");
  await loadConntrack(ns, ["-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p udp --sport 1 --dport 53"]);
  const batches: BatchMessage[] = [];
  // A long interval: a batch soon after resume can only be the resume's own refresh.
  const collector = await Collector.start({
    intervalMs: 60_000,
    netns: ns.name,
    enableAcct: false,
    track: false,
    eventBufferBytes: 1 << 20,
    events: true,
  }, { onBatch: (b) => batches.push(b) });
  try {
    await waitFor(() => batches.length >= 1, 30_000, "the first batch");
    assert(collector.ready.warnings.every((w) => !/events are unavailable/.test(w)));
    collector.pause();
    await new Promise((r) => setTimeout(r, 300));
    const before = batches.length;
    const eventsBefore = batches.at(-1)!.status.events;

    // Changes while paused: no batch, and (events closed) no event counted later.
    await loadConntrack(ns, [
      "-I -t 100 -s 10.1.0.1 -d 10.1.0.3 -p udp --sport 2 --dport 53",
      "-I -t 100 -s 10.1.0.1 -d 10.1.0.4 -p udp --sport 3 --dport 53",
    ]);
    collector.collect(); // ignored while paused
    await new Promise((r) => setTimeout(r, 1500));
    assertEquals(batches.length, before, "no batch while paused");

    const t0 = Date.now();
    collector.resume();
    await waitFor(() => batches.length > before, 20_000, "the batch after resume");
    assert(Date.now() - t0 < 20_000);
    const b = batches[before]!;
    assertEquals(b.seq, batches[before - 1]!.seq + 1);
    assertEquals(newIds(b).length, 2, "the resume's dump found both new entries");
    assertEquals(b.totals.count, 3);
    assertEquals(b.status.events, eventsBefore, "the events of the pause were never read");
    assertEquals(b.status.eventOverruns, 0);
    assert(b.status.eventsEnabled, "events are on again");

    // And events work again after the resume.
    await loadConntrack(ns, ["-I -t 100 -s 10.1.0.1 -d 10.1.0.5 -p udp --sport 4 --dport 53"]);
    collector.collect();
    await waitFor(() => batches.at(-1)!.totals.count === 4, 20_000, "the entry after resume");
    await waitFor(
      () => batches.at(-1)!.status.events > eventsBefore,
      20_000,
      "an event after resume",
    );
  } finally {
    await collector.stop();
  }
});

Deno.test("a collector stops cleanly while paused", async () => {
  await using ns = await Netns.create("pause");
  const batches: BatchMessage[] = [];
  const collector = await Collector.start({
    intervalMs: 100,
    netns: ns.name,
    enableAcct: true,
    track: false,
    eventBufferBytes: 1 << 20,
    events: true,
  }, { onBatch: (b) => batches.push(b) });
  await waitFor(() => batches.length >= 1, 30_000, "the first batch");
  collector.pause();
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  await collector.stop();
  assert(Date.now() - t0 < 2500, "stopped without waiting for its timeout");
  // --enable-acct was restored by the worker itself.
  assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), "0");
});
