/**
 * conntopd serves snapshots from its collector's own table (src/server/sent_table.ts): a client
 * that joins late must hold, at the same seq, byte for byte the table of a client that followed
 * every batch, though the table rewrites timeouts and sample times without sending them and the
 * next dump may be running while the snapshot is read. Real server, real namespace.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { serveNamespace } from "../_helpers/conntopd.ts";
import { ProtoClient } from "../_helpers/proto_client.ts";
import { loadConntrack } from "../../tools/netns.ts";
import type { ConnectionModel } from "../../src/model/mod.ts";
import { RECORD_SIZE } from "../../src/conntrack/mod.ts";

const ENTRIES = [
  "-I -t 500 -u SEEN_REPLY,ASSURED -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1234 --dport 80 --state ESTABLISHED -m 7",
  "-I -t 490 -s 2001:db8::1 -d 2001:db8::2 -p tcp --sport 1 --dport 2 --state SYN_SENT",
  "-I -t 470 -s 10.0.0.1 -d 10.0.0.2 -p udp --sport 53 --dport 5353 -m 0x10",
  "-I -t 300 -s 10.0.0.1 -d 10.0.0.5 -p udp --sport 54 --dport 5354",
  "-I -t 410 -s 10.0.0.1 -d 10.0.0.2 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 55",
];

/** Every live slot's bytes, extras and owner. */
function held(m: ConnectionModel): Map<number, string> {
  const out = new Map<number, string>();
  for (const s of m.slots()) {
    const [page, i] = m.locate(s);
    const bytes = page.u8.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE).join(",");
    out.set(s, `${bytes} ${JSON.stringify([m.extra(s) ?? null, m.owner(s) ?? null])}`);
  }
  return out;
}

/** The TIMEOUT and SAMPLED_MS fields of every live slot (what a dump rewrites unsent). */
function ticking(m: ConnectionModel): string {
  return [...m.slots()].map((s) => {
    const [page, i] = m.locate(s);
    return `${s}:${page.u32At(i, 16)}:${page.f64At(i, 160)}`;
  }).join(" ");
}

Deno.test("conntopd gives a client that joins late the bytes a client that followed holds at the same seq", async () => {
  await using served = await serveNamespace(ENTRIES, ["--interval", "0.3"]);
  const { ns, server } = served;
  await using a = await ProtoClient.connect({ port: server.port });
  await a.handshake();
  await a.nextBatch();
  const joinedAt: string[] = [];
  for (let round = 0; round < 6; round++) {
    // Changes a client must see (a mark, a timeout moved far, a birth, a death) and one it need
    // not (a timeout moved by less than the table's slack); between them, timeouts tick down.
    switch (round % 3) {
      case 0:
        await ns.conntrack([
          "-U",
          "-s",
          "10.0.0.1",
          "-p",
          "tcp",
          "--sport",
          "1234",
          "--dport",
          "80",
          "-m",
          `${round}`,
        ]);
        await ns.conntrack([
          "-U",
          "-s",
          "10.0.0.1",
          "-p",
          "udp",
          "--sport",
          "54",
          "--dport",
          "5354",
          "-t",
          "301",
        ]);
        break;
      case 1:
        await loadConntrack(ns, [
          `-I -t 200 -s 10.0.1.${round} -d 10.0.0.9 -p udp --sport ${100 + round} --dport 9`,
        ]);
        await ns.conntrack([
          "-U",
          "-s",
          "10.0.0.1",
          "-p",
          "udp",
          "--sport",
          "53",
          "--dport",
          "5353",
          "-t",
          "100",
        ]);
        break;
      default:
        await ns.conntrack(["-D", "-p", "udp", "--sport", `${100 + round - 1}`, "--dport", "9"]);
    }
    // Long enough for timeouts to tick (a second) and for several dumps.
    await new Promise((r) => setTimeout(r, 1100 + 150 * round));
    // The late client joins while `a` reads nothing: its snapshot's seq is one `a` has yet
    // to apply (its deltas wait in the socket).
    await using b = await ProtoClient.connect({ port: server.port });
    await b.handshake();
    const snap = await b.nextBatch();
    assertEquals(snap.reset, true);
    const last = a.batches.at(-1)!.seq;
    assert(snap.seq > last, `the snapshot's seq ${snap.seq} is after a's ${last}`);
    await a.batchUntil((x) => x.seq === snap.seq);
    assertEquals(held(b.model), held(a.model), `round ${round}, seq ${snap.seq}`);
    joinedAt.push(ticking(b.model));
  }
  // The comparison had something to catch: the timeouts and sample times the late clients got
  // were not all the ones the table started with.
  assertEquals(new Set(joinedAt).size, joinedAt.length);
});
