import { assert, assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { Collector } from "../../src/collector/client.ts";
import type { BatchMessage } from "../../src/collector/messages.ts";
import { ConnectionModel } from "../../src/model/mod.ts";

const OLD = "-I -t 600 -p tcp -s 10.3.0.1 -d 10.3.0.2 --sport 1000 --dport 80 --state ESTABLISHED";
const NEW = "-I -t 600 -p tcp -s 10.3.0.3 -d 10.3.0.4 --sport 1001 --dport 81 --state ESTABLISHED";

interface Seen {
  dumps: number;
  /** Per connection (by source address): [tx, rx] bytes per second, null when missing. */
  rates: Map<string, [number | null, number | null]>;
}

// Runs the collector on `ns` for `batches` batches, adding a second idle connection after the
// third; returns what the model says about each connection after each batch.
async function watch(ns: Netns, batches: number): Promise<Seen[]> {
  const model = new ConnectionModel();
  const seen: Seen[] = [];
  let wake: () => void = () => {};
  const collector = await Collector.start({
    intervalMs: 200,
    netns: ns.name,
    enableAcct: false,
    track: false,
    eventBufferBytes: 1 << 20,
    events: true,
  }, {
    onBatch(b: BatchMessage) {
      model.apply(b);
      const rates = new Map<string, [number | null, number | null]>();
      for (const s of model.slots()) {
        const c = model.connection(s, b.timeMs);
        rates.set(c.orig_src, [c.tx_bytes_per_s, c.rx_bytes_per_s]);
      }
      seen.push({ dumps: b.status.dumps, rates });
      wake();
    },
  });
  try {
    const deadline = Date.now() + 15_000;
    while (seen.length < batches && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 500);
      });
      if (seen.length === 3) await loadConntrack(ns, [NEW]);
    }
  } finally {
    await collector.stop();
  }
  return seen;
}

Deno.test("With accounting on, an idle connection's rate is 0 at every refresh, old or new", async () => {
  await using ns = await Netns.create("rates");
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 1);
  await loadConntrack(ns, [OLD]);
  // conntrack itself says the kernel counts this connection's bytes.
  assert((await ns.conntrack(["-L"])).stdout.includes("packets=0 bytes=0"));
  const seen = await watch(ns, 12);
  assert(seen.length >= 12, `12 batches came, got ${seen.length}`);
  // The first dump only finds the connection; every later one gives it a rate: 0.
  const later = seen.filter((s) => s.dumps >= 2);
  assert(later.length >= 8, `batches after the second dump: ${later.length}`);
  for (const s of later) assertEquals(s.rates.get("10.3.0.1"), [0, 0], `dump ${s.dumps}`);
  // The one added while running: 0 once rated (it was seen by two dumps), to the end.
  const added = seen.filter((s) => s.rates.has("10.3.0.3"));
  const rated = added.findIndex((s) => s.rates.get("10.3.0.3")![0] !== null);
  assert(rated >= 0 && rated <= 3, `the new connection is rated within 3 batches: ${rated}`);
  for (const s of added.slice(rated)) {
    assertEquals(s.rates.get("10.3.0.3"), [0, 0], `new connection, dump ${s.dumps}`);
  }
  assert(added.length - rated >= 4, `the new connection was watched long enough`);
});

Deno.test("With accounting off, an idle connection's rate is missing ('-'), not 0", async () => {
  await using ns = await Netns.create("rates");
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
  await loadConntrack(ns, [OLD]);
  assert(!(await ns.conntrack(["-L"])).stdout.includes("bytes="), "conntrack shows no counters");
  const seen = await watch(ns, 8);
  assert(seen.length >= 8, `8 batches came, got ${seen.length}`);
  for (const s of seen) {
    for (const [src, r] of s.rates) assertEquals(r, [null, null], `${src}, dump ${s.dumps}`);
  }
});
