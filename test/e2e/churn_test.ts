/**
 * The stream of changes under churn, checked for consistency against the kernel: replaying
 * every new, update and destroy that conntop printed must leave exactly the table that
 * `conntrack -L` shows, with no update or destroy of an unknown connection and no connection
 * created twice.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { parseConntrackXml } from "../_helpers/conntrack_cli.ts";
import { ConntopProcess } from "./_conntop.ts";
import type { Connection } from "../../src/model/mod.ts";

type Line = Connection & { event: "new" | "update" | "destroy"; time: string };

const key = (id: number, src: string, dst: string, sport?: number | null, dport?: number | null) =>
  `${id} ${src} ${dst} ${sport ?? "-"} ${dport ?? "-"}`;

Deno.test("conntop's stream of changes replays to exactly the kernel's table under churn", async () => {
  await using ns = await Netns.create("churn");
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
  await using mon = new ConntopProcess(["--stream", "--interval", "0.3", "--netns", ns.name]);
  await mon.waitFor(() => mon.lines.length >= 300, 10000, "the first refresh");
  for (let round = 0; round < 12; round++) {
    // Each round adds 400 flows on its own port and removes the round before last's,
    // and refreshes the timeouts of some long-lived ones: news, destroys and updates race the
    // dumps.
    await loadConntrack(
      ns,
      Array.from(
        { length: 400 },
        (_, i) =>
          `-I -t 600 -s 10.7.${i >> 8}.${i & 255} -d 10.8.0.2 -p udp --sport 2000 --dport ${
            3000 + round
          }`,
      ),
    );
    if (round >= 2) await ns.conntrack(["-D", "-p", "udp", "--dport", String(3000 + round - 2)]);
    await ns.conntrack(["-U", "-p", "tcp", "-s", `10.9.0.${round}`, "-t", "900"], undefined)
      .catch(() => {});
    await new Promise((r) => setTimeout(r, 150));
  }
  await new Promise((r) => setTimeout(r, 1500)); // two quiet refreshes
  assertEquals(await mon.stop("SIGTERM"), 143);

  const live = new Map<string, Line>();
  const problems: string[] = [];
  for (const c of mon.json<Line>()) {
    const k = key(c.id, c.orig_src, c.orig_dst, c.orig_sport, c.orig_dport);
    if (c.event === "new") {
      if (live.has(k)) problems.push(`created twice: ${k}`);
      live.set(k, c);
    } else if (!live.has(k)) {
      problems.push(`${c.event} of unknown: ${k}`);
    } else if (c.event === "destroy") {
      live.delete(k);
    } else {
      live.set(k, c);
    }
  }
  assertEquals(problems, []);
  const xml = (await ns.conntrack(["-L", "-o", "xml"])).stdout;
  const kernel = new Map(
    parseConntrackXml(xml).map((
      f,
    ) => [key(f.id, f.orig.src, f.orig.dst, f.orig.sport, f.orig.dport), f]),
  );
  assertEquals(kernel.size, 300 + 2 * 400);
  assertEquals([...live.keys()].sort(), [...kernel.keys()].sort());
  const listed = Date.now();
  for (const [k, f] of kernel) {
    const c = live.get(k)!;
    // A timeout that only ticks down is not re-sent: the last line's timeout, aged since its
    // refresh, is the kernel's now (conntrack -L rounds down too).
    const expected = c.timeout! - (listed - Date.parse(c.time)) / 1000;
    assert(Math.abs(expected - f.timeout) <= 2, `${k}: ${c.timeout} at ${c.time} vs ${f.timeout}`);
  }
  const refreshed = [...kernel.values()].filter((f) => f.timeout > 600).length;
  assert(refreshed >= 10, `the -U refreshes reached ${refreshed} flows`);
});
