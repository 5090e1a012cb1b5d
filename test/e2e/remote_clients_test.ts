/**
 * Twenty clients of one real conntopd, under churn, hold the same table after the same seq —
 * the ten that joined late (their first snapshot mid-stream) as much as the ten there from
 * the start — and that table is the namespace's, as `conntrack -L` lists it.
 *
 * The clients are the client library itself (src/client's runRemote, as `conntop --connect`
 * uses it), in this process, so their assembled tables can be compared byte for byte.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { Conntopd } from "../_helpers/conntopd.ts";
import { parseConntrackXml } from "../_helpers/conntrack_cli.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { runRemote } from "../../src/client/mod.ts";
import { RECORD_SIZE } from "../../src/conntrack/mod.ts";
import { ConnectionModel } from "../../src/model/mod.ts";

const CLIENTS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One client: its table, and a digest of it after each seq it applied. */
class Client {
  readonly model = new ConnectionModel();
  readonly digests = new Map<number, Promise<string>>();
  firstSeq = -1;
  lastSeq = -1;
  snapshots = 0;
  done: Promise<void> | undefined;

  onBatch(b: import("../../src/collector/mod.ts").BatchMessage): void {
    if (b.reset === true) this.snapshots++;
    this.model.apply(b);
    if (this.firstSeq < 0) this.firstSeq = b.seq;
    this.lastSeq = b.seq;
    this.digests.set(b.seq, digest(this.model));
  }
}

/** SHA-256 of every live slot's record bytes, extras and owner, in slot order. */
function digest(model: ConnectionModel): Promise<string> {
  const slots = [...model.slots()];
  const bytes = new Uint8Array(slots.length * (RECORD_SIZE + 4));
  const meta: unknown[] = [];
  slots.forEach((s, k) => {
    const v = model.page(s), i = model.index(s);
    const at = k * (RECORD_SIZE + 4);
    new DataView(bytes.buffer).setUint32(at, s, true);
    bytes.set(v.u8.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), at + 4);
    const extra = model.extra(s), owner = model.owner(s);
    if (extra !== undefined || owner !== undefined) meta.push([s, extra, owner]);
  });
  const all = new Uint8Array([...bytes, ...new TextEncoder().encode(JSON.stringify(meta))]);
  return crypto.subtle.digest("SHA-256", all).then((d) =>
    Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, "0")).join("")
  );
}

const key = (id: number, src: string, dst: string, sport?: number | null, dport?: number | null) =>
  `${id} ${src} ${dst} ${sport ?? "-"} ${dport ?? "-"}`;

Deno.test("20 clients of one conntopd hold identical tables after each seq, equal to the kernel's", async () => {
  await using ns = await Netns.create("rmany");
  await loadConntrack(
    ns,
    Array.from(
      { length: 300 },
      (_, i) =>
        `-I -t 600 -s 10.9.${i >> 8}.${
          i & 255
        } -d 10.8.0.1 -p tcp --sport 1000 --dport 80 --state ESTABLISHED`,
    ),
  );
  await using server = await Conntopd.start(["--netns", ns.name, "--interval", "0.2"]);
  const options = {
    server: { host: "127.0.0.1", port: server.port },
    display: `127.0.0.1:${server.port}`,
    tls: false,
    name: "e2e",
  };
  const stop = new AbortController();
  const clients = Array.from({ length: CLIENTS }, () => new Client());
  const start = (c: Client) => {
    c.done = runRemote(options, { onBatch: (b) => c.onBatch(b) }, {
      retry: "never",
      signal: stop.signal,
    });
  };
  try {
    // Half from the start, half while the table changes under them.
    for (const c of clients.slice(0, CLIENTS / 2)) start(c);
    for (let round = 0; round < 10; round++) {
      if (round === 3) { for (const c of clients.slice(CLIENTS / 2)) start(c); }
      await loadConntrack(
        ns,
        Array.from(
          { length: 100 },
          (_, i) =>
            `-I -t 600 -s 10.7.0.${i} -d 10.8.0.2 -p udp --sport 2000 --dport ${3000 + round}`,
        ),
      );
      if (round >= 2) await ns.conntrack(["-D", "-p", "udp", "--dport", String(3000 + round - 2)]);
      await ns.conntrack(["-U", "-p", "tcp", "-s", `10.9.0.${round}`, "-m", String(round + 1)]);
      await sleep(150);
    }
    // Quiet now: wait until every client has seen a few refreshes past the last change.
    const target = Math.max(...clients.map((c) => c.lastSeq)) + 5;
    const deadline = Date.now() + 30_000;
    while (clients.some((c) => c.lastSeq < target)) {
      assert(Date.now() < deadline, `clients at seqs ${clients.map((c) => c.lastSeq)}`);
      await sleep(50);
    }
    stop.abort();
    await Promise.all(clients.map((c) => c.done));

    // Every seq all clients applied: one table.
    const from = Math.max(...clients.map((c) => c.firstSeq));
    const to = Math.min(...clients.map((c) => c.lastSeq));
    assert(to - from >= 5, `common seqs ${from}..${to}`);
    const late = clients.slice(CLIENTS / 2);
    assert(late.every((c) => c.firstSeq > clients[0]!.firstSeq), "late clients joined later");
    let compared = 0;
    for (let seq = from; seq <= to; seq++) {
      const seen = await Promise.all(clients.map((c) => c.digests.get(seq)));
      // A client that received a fresh snapshot instead of deltas skips no seq either.
      assert(seen.every((d) => d !== undefined), `every client applied seq ${seq}`);
      assertEquals(new Set(seen).size, 1, `tables after seq ${seq}`);
      compared++;
    }
    assert(compared >= 5);

    // … and that table is the kernel's.
    const model = clients[0]!.model;
    const ours = [...model.slots()].map((s) => {
      const c = model.connection(s);
      return key(c.id, c.orig_src, c.orig_dst, c.orig_sport, c.orig_dport);
    });
    const xml = (await ns.conntrack(["-L", "-o", "xml"])).stdout;
    const kernel = parseConntrackXml(xml).map((f) =>
      key(f.id, f.orig.src, f.orig.dst, f.orig.sport, f.orig.dport)
    );
    assertEquals(kernel.length, 300 + 2 * 100);
    assertEquals(ours.sort(), kernel.sort());
    const marks = [...model.slots()].map((s) => model.connection(s)).filter((c) => c.mark !== 0);
    assertEquals(marks.length, 10);
  } finally {
    stop.abort();
    await Promise.allSettled(clients.map((c) => c.done));
  }
});
