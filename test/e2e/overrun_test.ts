/**
 * An event socket that overflows (ENOBUFS) is counted, reported, and resynchronised with a
 * dump, so no connection stays missing.
 */

import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { ConntopProcess } from "./_conntop.ts";

Deno.test("conntop recovers from an event socket overrun with a resync dump", async () => {
  await using ns = await Netns.create("ovr");
  await loadConntrack(ns, ["-I -t 600 -s 10.1.0.1 -d 10.1.0.2 -p udp --sport 1 --dport 2"]);
  await using mon = new ConntopProcess([
    "--stream",
    "--interval",
    "3",
    "--event-buffer",
    "4096",
    "--netns",
    ns.name,
  ]);
  await mon.waitFor(() => mon.lines.length >= 1, 10000, "the first refresh");
  const n = 20000;
  const burst = Array.from(
    { length: n },
    (_, i) => `-I -t 600 -s 10.2.${i >> 8}.${i & 255} -d 10.3.0.1 -p udp --sport 1000 --dport 53`,
  );
  await loadConntrack(ns, burst);
  await mon.waitFor(
    () => mon.json().filter((c) => c.event === "new").length >= n + 1,
    20000,
    "every burst entry reported",
  );
  await mon.waitFor(() => mon.stderr.includes("overflowed"), 5000, "the overrun warning");
  assertStringIncludes(mon.stderr, "conntop: The event socket overflowed (ENOBUFS");
  const news = mon.json().filter((c) => c.event === "new");
  assertEquals(new Set(news.map((c) => c.orig_src)).size, n + 1, "each connection once");
  assert(mon.json().every((c) => c.event !== "destroy"), "nothing was wrongly destroyed");
});
