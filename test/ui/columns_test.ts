import { assert, assertEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { Collector } from "../../src/collector/client.ts";
import { ConnectionModel } from "../../src/model/mod.ts";
import { COLUMNS } from "../../src/ui/columns.ts";
import { Engine } from "../../src/engine/mod.ts";
import { viewQuery } from "../_helpers/view_query.ts";

const CTX = { hostnames: false, services: false };

function modelOf(conns: TestConn[]): ConnectionModel {
  const m = new ConnectionModel();
  m.apply(batchOf(conns));
  return m;
}

// The first table the collector gives for `ns`.
async function firstTable(ns: Netns): Promise<ConnectionModel> {
  const model = new ConnectionModel();
  let got: () => void = () => {};
  const first = new Promise<void>((resolve) => (got = resolve));
  const collector = await Collector.start({
    intervalMs: 200,
    netns: ns.name,
    enableAcct: false,
    track: false,
    eventBufferBytes: 1 << 20,
    events: false,
  }, {
    onBatch(b) {
      model.apply(b);
      if (model.size > 0) got();
    },
  });
  try {
    await Promise.race([first, new Promise((r) => setTimeout(r, 10_000))]);
  } finally {
    await collector.stop();
  }
  return model;
}

Deno.test("MARK shows the mark in decimal, as conntrack -L does", async () => {
  await using ns = await Netns.create("mark");
  const marks = [42, 0x80000001, 0];
  await loadConntrack(
    ns,
    marks.map((m, k) =>
      `-I -t 600 -p udp -s 10.4.0.${k + 1} -d 10.4.1.1 --sport 1000 --dport 53 --mark ${m}`
    ),
  );
  const listed = (await ns.conntrack(["-L"])).stdout;
  const model = await firstTable(ns);
  assertEquals(model.size, marks.length);
  for (const s of model.slots()) {
    const c = model.connection(s, 0);
    const line = listed.split("\n").find((l) => l.includes(`src=${c.orig_src} `));
    const want = /\bmark=(\d+)/.exec(line ?? "")?.[1];
    assert(want !== undefined, `conntrack -L lists ${c.orig_src} with its mark:\n${listed}`);
    assertEquals(COLUMNS.mark.text(c, CTX), want);
  }
});

Deno.test("STATE sorts by the state's name, not by protocol and state number", () => {
  // TCP: SYN_SENT 1, ESTABLISHED 3, TIME_WAIT 7, CLOSE 8; SCTP (132): ESTABLISHED 3, CLOSED 1.
  const e = new Engine({ now: () => 0 });
  e.apply(batchOf([
    { slot: 0, src: "10.0.0.1", dst: "10.0.1.1", sport: 1, dport: 2, state: 7 },
    { slot: 1, src: "10.0.0.2", dst: "10.0.1.1", sport: 1, dport: 2, state: 3 },
    { slot: 2, src: "10.0.0.3", dst: "10.0.1.1", sport: 1, dport: 2, state: 1, proto: 132 },
    { slot: 3, src: "10.0.0.4", dst: "10.0.1.1", sport: 1, dport: 2, state: 1 },
    { slot: 4, src: "10.0.0.5", dst: "10.0.1.1", sport: 1, dport: 2, state: 8 },
    { slot: 5, src: "10.0.0.6", dst: "10.0.1.1", sport: 1, dport: 2, proto: 17 },
  ]));
  const names = (desc: boolean) =>
    e.query(viewQuery({ sort: { column: "state", desc } })).rows.map((c) =>
      COLUMNS.state.text(c, CTX)
    );
  const named = names(false).filter((n) => n !== "");
  assertEquals(named, ["CLOSE", "CLOSED", "ESTABLISHED", "SYN_SENT", "TIME_WAIT"]);
  assertEquals(named, [...named].sort(), "in the order of the names shown");
  assertEquals(names(true).filter((n) => n !== ""), [...named].reverse());
});

Deno.test("Rate cells: '-' without counters, blank before the first rate, 0 when idle", () => {
  const m = modelOf([
    { slot: 0, src: "10.0.0.1", dst: "10.0.1.1", sport: 1, dport: 2 },
    { slot: 1, src: "10.0.0.2", dst: "10.0.1.1", sport: 1, dport: 2, txBytes: 60, rxBytes: 0 },
    {
      slot: 2,
      src: "10.0.0.3",
      dst: "10.0.1.1",
      sport: 1,
      dport: 2,
      txBytes: 60,
      rxBytes: 0,
      txBps: 0,
      rxBps: 0,
    },
  ]);
  const cells = (s: number) =>
    (["tx_rate", "rx_rate", "rate"] as const).map((id) =>
      COLUMNS[id].text(m.connection(s, 0), CTX)
    );
  assertEquals(cells(0), ["-", "-", "-"], "accounting off: the kernel gives no counters");
  assertEquals(cells(1), ["", "", ""], "counters, measured once: no rate yet");
  assertEquals(cells(2), ["0", "0", "0"], "idle");
});
