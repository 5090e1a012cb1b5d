import { assert, assertEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { Hub, type Subscriber } from "../../src/server/hub.ts";
import { OutQueue, type QueueWriter } from "../../src/server/queue.ts";
import { BatchAssembler, parseServerMessage } from "../../src/protocol/mod.ts";
import type { BatchMessage } from "../../src/collector/mod.ts";
import { Kind, RECORD_SIZE } from "../../src/conntrack/mod.ts";
import { ConnectionModel } from "../../src/model/mod.ts";
import { CtTable } from "../../src/collector/table.ts";
import { tcp4, type Tcp4Options } from "../_helpers/nlmsg.ts";

/** A subscriber whose socket takes everything (or nothing, while `blocked`). */
class Client implements Subscriber, QueueWriter {
  readonly queue: OutQueue;
  readonly lines: Uint8Array[] = [];
  readonly model = new ConnectionModel();
  readonly asm = new BatchAssembler();
  readonly batches: BatchMessage[] = [];
  /** With `keepFirst`: the client's table right after its first batch. */
  first: [number, string, string][] | undefined;
  keepFirst = false;
  #partial: number[] = [];
  blocked = false;
  slow = false;
  #release: (() => void)[] = [];
  constructor(readonly hub: Hub, capBytes = 1 << 20) {
    this.queue = new OutQueue(this, {
      capBytes,
      stallMs: 60_000,
      onDrain: () => hub.drained(this),
    });
  }
  async write(p: Uint8Array): Promise<number> {
    while (this.blocked) await new Promise<void>((r) => this.#release.push(r));
    for (const b of p) {
      if (b !== 0x0a) {
        this.#partial.push(b);
        continue;
      }
      const line = Uint8Array.from(this.#partial);
      this.#partial = [];
      this.lines.push(line);
      const m = parseServerMessage(line);
      assert(m.ok, m.ok ? "" : m.reason);
      if (m.value.type !== "batch") continue;
      const r = this.asm.push(m.value);
      assert(r.ok, r.ok ? "" : r.reason);
      if (r.value !== undefined) {
        this.model.apply(r.value);
        this.batches.push(r.value);
        if (this.keepFirst && this.batches.length === 1) this.first = dump(this.model);
      }
    }
    return p.length;
  }
  unblock(): void {
    this.blocked = false;
    for (const r of this.#release.splice(0)) r();
  }
  tooSlow(): void {
    this.slow = true;
  }
}

class Control {
  calls: string[] = [];
  pause(): void {
    this.calls.push("pause");
  }
  resume(): void {
    this.calls.push("resume");
  }
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
};

function conn(slot: number, kind: number = Kind.NEW): TestConn {
  return {
    slot,
    id: 5000 + slot,
    kind,
    src: slot % 3 === 0 ? `2001:db8::${slot.toString(16)}` : `10.0.${slot >> 8}.${slot & 255}`,
    dst: slot % 3 === 0 ? "2001:db8::ffff" : "192.0.2.1",
    sport: 1000 + slot,
    dport: 443,
    txBytes: slot * 10,
  };
}

function table(n: number): TestConn[] {
  return Array.from({ length: n }, (_, i) => conn(i));
}

/** The bytes and extras of every live slot, to compare models. */
function dump(m: ConnectionModel): [number, string, string][] {
  return [...m.slots()].map((s) => {
    const [page, i] = m.locate(s);
    const bytes = Array.from(page.u8.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE)).join(",");
    return [s, bytes, JSON.stringify([m.extra(s) ?? null, m.owner(s) ?? null])];
  });
}

Deno.test("Hub pauses collection with no client and resumes it for the first one", async () => {
  const hub = new Hub();
  const ctl = new Control();
  hub.onBatch(batchOf(table(3), { seq: 0 }));
  hub.attach(ctl);
  assertEquals(ctl.calls, ["pause"]);
  assert(hub.paused);
  const a = new Client(hub);
  hub.subscribe(a);
  assertEquals(ctl.calls, ["pause", "resume"]);
  await settle();
  assertEquals(a.batches.length, 0, "no snapshot of the table as it was before the pause");
  hub.onBatch(batchOf([conn(3)], { seq: 1 }));
  await settle();
  assertEquals(a.batches.length, 1);
  assertEquals(a.batches[0]!.reset, true);
  assertEquals(a.batches[0]!.seq, 1);
  assertEquals(a.model.size, 4);
  hub.unsubscribe(a);
  assertEquals(ctl.calls, ["pause", "resume", "pause"]);
});

Deno.test("Hub lets its model and snapshot go at a pause when the collector lets its table go", async () => {
  const hub = new Hub();
  const ctl = Object.assign(new Control(), { releasesWhilePaused: true });
  hub.attach(ctl);
  const a = new Client(hub);
  hub.subscribe(a);
  // The collector started paused and let its (empty) table go: its first batch is the whole
  // table and says so.
  hub.onBatch(batchOf(table(5), { seq: 0, reset: true }));
  await settle();
  assertEquals(a.model.size, 5);
  assertEquals(hub.model.size, 5);
  assertEquals(hub.releases, 1, "the pause at attach (no client yet)");
  hub.unsubscribe(a);
  assertEquals(ctl.calls, ["pause", "resume", "pause"]);
  assertEquals(hub.releases, 2);
  assertEquals(hub.model.size, 0, "the model is let go");
  // A batch already under way when the last client left changes nothing.
  hub.onBatch(batchOf([conn(9)], { seq: 1 }));
  assertEquals(hub.model.size, 0);
  // The resume's first batch holds the whole table again (a collector that let its table go
  // starts from slot 0); the new client's snapshot is that table, nothing of the old one.
  const b = new Client(hub);
  hub.subscribe(b);
  // One more batch under way from before the release reaches the hub after the new client
  // came: it is not the whole table (no reset), so it makes no snapshot.
  hub.onBatch(batchOf([conn(7)], { seq: 2 }));
  await settle();
  assertEquals(b.batches.length, 0);
  assertEquals(hub.model.size, 0);
  hub.onBatch(batchOf([conn(0), conn(1), conn(2)], { seq: 3, reset: true }));
  await settle();
  assertEquals(b.batches.length, 1);
  assertEquals(b.batches[0]!.reset, true);
  assertEquals(b.model.size, 3);
  assertEquals(dump(b.model), dump(hub.model));
});

Deno.test("Hub encodes each batch once and gives every client the same bytes", async () => {
  const hub = new Hub();
  hub.attach(new Control());
  const clients = Array.from({ length: 5 }, () => new Client(hub));
  for (const c of clients) hub.subscribe(c);
  hub.onBatch(batchOf(table(100), { seq: 0 }));
  await settle();
  assertEquals(hub.snapshotEncodings, 1, "one snapshot encoding for five clients at one refresh");
  for (let seq = 1; seq <= 3; seq++) {
    hub.onBatch(batchOf([conn(100 + seq), conn(seq, Kind.DESTROY)], { seq }));
  }
  await settle();
  assertEquals(hub.deltaEncodings, 3, "one delta encoding per batch");
  const lastLines = clients.map((c) => c.lines.at(-1)!);
  for (const c of clients) {
    assertEquals(c.batches.map((b) => b.seq), [0, 1, 2, 3]);
    assertEquals(dump(c.model), dump(hub.model));
  }
  assertEquals(lastLines[0], lastLines[4]);
});

Deno.test("Hub's snapshot carries every live record, extra, owner and the host's addresses", async () => {
  const hub = new Hub();
  hub.attach(new Control());
  const first = batchOf(table(20_000), { seq: 0 });
  first.extras = [[7, { helper: "ftp" }], [19_999, { labels: [3] }]];
  first.owners = [[8, { pid: 42, name: "sshd" }]];
  first.local = { v4: ["192.0.2.1"], v6: [], broadcast: [] };
  const early = new Client(hub);
  hub.subscribe(early);
  hub.onBatch(first);
  hub.onBatch(batchOf([conn(5, Kind.DESTROY), conn(20_000)], { seq: 1 }));
  await settle();
  const late = new Client(hub);
  hub.subscribe(late);
  await settle();
  const snap = late.batches[0]!;
  assertEquals(snap.reset, true);
  assertEquals(snap.seq, 1);
  assertEquals(snap.count, 20_000);
  assertEquals(snap.records.length, 3, "chunks of at most 8192 records");
  assertEquals(late.model.local, first.local);
  assertEquals(late.model.extra(7), { helper: "ftp" });
  assertEquals(late.model.owner(8), { pid: 42, name: "sshd" });
  assertEquals(dump(late.model), dump(hub.model));
  assertEquals(dump(early.model), dump(hub.model));
});

Deno.test("Hub sends a client that overflowed a fresh snapshot once it catches up, then deltas again", async () => {
  const hub = new Hub();
  hub.attach(new Control());
  const fast = new Client(hub);
  const slow = new Client(hub, 64 << 10);
  hub.subscribe(fast);
  hub.subscribe(slow);
  hub.onBatch(batchOf(table(10), { seq: 0 }));
  await settle();
  slow.blocked = true;
  hub.onBatch(batchOf([conn(11)], { seq: 1 })); // in flight, blocked
  for (let seq = 2; seq < 60; seq++) {
    hub.onBatch(
      batchOf(table(200).map((c) => ({ ...c, kind: Kind.UPDATE, txBytes: seq })), { seq }),
    );
    await settle(); // batches come a refresh apart: the fast client's writes go out between
  }
  await settle();
  assert(!slow.slow, "one overflow is not too slow");
  slow.unblock();
  await settle();
  const kinds = slow.batches.map((b) => `${b.reset ? "snapshot" : "delta"} ${b.seq}`);
  assertEquals(kinds.slice(0, 2), ["snapshot 0", "delta 1"]);
  assertEquals(kinds.at(-1), "snapshot 59", "the missed deltas are replaced by one snapshot");
  hub.onBatch(batchOf([conn(12)], { seq: 60 }));
  await settle();
  assertEquals(slow.batches.at(-1)!.seq, 60);
  assertEquals(dump(slow.model), dump(hub.model));
  assertEquals(dump(fast.model), dump(hub.model));
  assertEquals(fast.batches.length, 61, "the fast client got every delta");
});

Deno.test("Hub sends warnings to every client", async () => {
  const hub = new Hub();
  hub.attach(new Control());
  const a = new Client(hub);
  hub.subscribe(a);
  hub.warn("line one\nline two");
  await settle();
  const m = parseServerMessage(a.lines[0]!);
  assert(m.ok && m.value.type === "warning");
  // The exact text, JSON-escaped on the wire: a client shows it through printable().
  assertEquals(m.value.message, "line one\nline two");
  hub.warn("\u009b".repeat(5000));
  await settle();
  const long = parseServerMessage(a.lines[1]!);
  assert(long.ok && long.value.type === "warning");
  assertEquals(long.value.message, "\u009b".repeat(4095) + "…");
});

Deno.test("Hub's snapshot a client is still reading when the next batch comes holds the table of its refresh", async () => {
  // Snapshot lines are encoded from the model as each client reads them; the next batch
  // changes the model, so what a client has not read yet is encoded before it does.
  const hub = new Hub();
  hub.attach(new Control());
  const slow = new Client(hub);
  const quick = new Client(hub);
  slow.blocked = true;
  slow.keepFirst = true;
  hub.subscribe(slow);
  hub.subscribe(quick);
  // Seven parts: the quick client has read them all, only the last two are still encoded.
  hub.onBatch(batchOf(table(50_000), { seq: 0 }));
  await settle();
  const atSeq0 = dump(hub.model);
  assertEquals(slow.batches.length, 0, "the slow client is still on its first line");
  hub.onBatch(
    batchOf([{ ...conn(16_500, Kind.UPDATE), txBytes: 1 }, conn(16_501, Kind.DESTROY)], {
      seq: 1,
    }),
  );
  slow.unblock();
  await settle();
  assertEquals(slow.batches[0]!.seq, 0);
  assertEquals(slow.first, atSeq0, "the snapshot is the table of seq 0");
  assertEquals(slow.batches.map((b) => b.seq), [0, 1]);
  assertEquals(dump(slow.model), dump(hub.model));
  assertEquals(dump(quick.model), dump(hub.model));
  assertEquals(hub.snapshotEncodings, 1, "one snapshot for both clients");
});

Deno.test("Hub serving from the collector's table: a snapshot read batches later is its refresh's table, deltas equal copies", async () => {
  // The collector's table (fed netlink messages as the kernel's dump gives them) and a
  // following client that applied every batch: a client that reads its snapshot slowly, while
  // the table moves on and its records change, must end with that client's bytes at its seq.
  const t = new CtTable(16);
  const hub = new Hub();
  hub.useTable(t);
  hub.attach(new Control());
  const follower = new Client(hub);
  hub.subscribe(follower);
  const conns: Tcp4Options[] = Array.from({ length: 34_000 }, (_, i) => ({
    id: i + 1,
    src: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
    dst: "192.0.2.1",
    sport: 1024 + (i % 60_000),
    dport: 443,
    timeout: 300,
    counters: [1, 100, 1, 100] as [number, number, number, number],
  }));
  let seq = 0;
  let now = 1_700_000_000_000;
  const refresh = () => {
    now += 1000;
    t.beginDump();
    for (const c of conns) t.applyDump(new DataView(tcp4("dump", c).buffer), 0, now);
    t.endDump(true);
    const b = t.takeBatch(false);
    hub.onBatch({
      ...batchOf([], { seq: seq++, timeMs: now }),
      count: b.count,
      extras: b.extras,
      changes: b.changes,
    });
  };
  // Two refreshes first: the second gives every connection its first rate (a whole-table delta).
  refresh();
  refresh();
  await settle();
  const slow = new Client(hub);
  slow.blocked = true;
  slow.keepFirst = true;
  hub.subscribe(slow);
  const snapSeq = hub.seq;
  const atSnap = dump(follower.model);
  assertEquals(follower.batches.at(-1)!.seq, snapSeq);
  // Three refreshes while the slow client reads nothing: timeouts tick down everywhere (sent
  // to nobody), a few connections move or end, new ones come.
  for (let r = 0; r < 3; r++) {
    for (let i = r; i < conns.length; i += 997) {
      conns[i]!.timeout = 290 - r;
      conns[i]!.counters = [2 + r, 200 + r, 1, 100];
    }
    for (const c of conns) c.timeout = Math.max(0, (c.timeout ?? 300) - 1);
    conns.splice(20_000 + r * 7, 3); // in lines the slow client has not read
    conns.push({ ...conns[0]!, id: 900_000 + r, sport: 61_000 + r });
    refresh();
    await settle();
  }
  slow.unblock();
  await settle();
  assertEquals(slow.batches[0]!.seq, snapSeq);
  assertEquals(slow.first, atSnap, "the snapshot is the table of its seq");
  assertEquals(dump(slow.model), dump(follower.model));
  assertEquals(slow.batches.map((b) => b.seq), [snapSeq, snapSeq + 1, snapSeq + 2, snapSeq + 3]);
  assertEquals(dump(follower.model).length, conns.length);
  assertEquals(hub.model.size, 0, "the hub holds no model of its own");
});
