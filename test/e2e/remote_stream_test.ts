/**
 * `conntop --connect … --stream` across a restart of the real conntopd: the deltas while
 * connected, then, after the reconnection, only what changed while it was away — a destroy for
 * the entry deleted meanwhile, a new for the one added — never the whole table again.
 */

import { assertEquals, assertMatch } from "../_helpers/assert.ts";
import { Conntopd } from "../_helpers/conntopd.ts";
import { freePort } from "../../tools/ports.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { ConntopProcess } from "./_conntop.ts";
import type { Connection } from "../../src/model/mod.ts";

type Line = Pick<Connection, "orig_src" | "mark"> & { event: string };

Deno.test("conntop --connect --stream prints only what changed while the server was away", async () => {
  await using ns = await Netns.create("rstream");
  await loadConntrack(
    ns,
    [1, 2, 3].map((i) =>
      `-I -t 600 -s 10.62.0.${i} -d 192.0.2.1 -p tcp --sport 4100${i} --dport 443 --state ESTABLISHED`
    ),
  );
  const port = freePort();
  const serve = () =>
    Conntopd.start(["--netns", ns.name, "--interval", "0.2", "--port", String(port)], {
      ownPort: true,
    });
  let server: Conntopd | undefined = await serve();
  try {
    await using stream = new ConntopProcess(["--connect", `127.0.0.1:${port}`, "--stream", "-n"]);
    await stream.waitFor(() => stream.json().length === 3, 20_000, "the first snapshot");
    await ns.conntrack(["-U", "-s", "10.62.0.1", "-m", "5"]);
    await stream.waitFor(() => stream.json().length === 4, 10_000, "the update");

    await server.stop("SIGTERM");
    server = undefined;
    await stream.waitFor(() => /lost|stopped/.test(stream.stderr), 10_000, "the loss");
    await ns.conntrack(["-D", "-s", "10.62.0.2"]);
    await loadConntrack(ns, [
      "-I -t 600 -s 10.62.0.4 -d 192.0.2.1 -p tcp --sport 41004 --dport 443 --state ESTABLISHED",
    ]);
    server = await serve();
    await stream.waitFor(() => stream.stderr.includes("Reconnected"), 20_000, "the reconnection");
    // A few refreshes more: nothing else may come.
    await new Promise((r) => setTimeout(r, 1000));
    assertEquals(await stream.stop("SIGTERM"), 143);
    const events = stream.json<Line>().map((l) => `${l.event} ${l.orig_src} ${l.mark}`);
    // The snapshot comes in the server's slot order.
    assertEquals(events.slice(0, 3).sort(), [
      "new 10.62.0.1 0",
      "new 10.62.0.2 0",
      "new 10.62.0.3 0",
    ]);
    assertEquals(events.slice(3), [
      "update 10.62.0.1 5",
      "destroy 10.62.0.2 0",
      "new 10.62.0.4 0",
    ]);
    assertMatch(stream.stderr, /conntop: Server 127\.0\.0\.1:\d+ stopped .*; trying again in/);
  } finally {
    await server?.stop("SIGKILL");
  }
});
