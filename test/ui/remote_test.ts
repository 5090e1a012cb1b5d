/**
 * The UI on a server's table (conntop --connect): the header names the server and says how
 * the connection is, a stale table is marked, and a snapshot replaces the table — also an
 * empty one.
 */

import { assertEquals, assertMatch } from "../_helpers/assert.ts";
import { batchOf } from "../_helpers/records.ts";
import type { RemoteControl } from "../../src/ui/mod.ts";
import { fixtureApp, fixtureConns, screenText, T0 } from "./_fixture.ts";

class Link implements RemoteControl {
  host = "router";
  stale = false;
  text = "remote 192.0.2.1:55555 · connected";
  level: "ok" | "warn" | "error" = "ok";
  status(_nowMs: number) {
    return { text: this.text, level: this.level };
  }
}

Deno.test("UiApp's header shows the server, the connection's state and STALE", () => {
  const link = new Link();
  const app = fixtureApp(120, 12, { remote: link, host: "laptop" });
  let first = screenText(app).split("\n")[0]!;
  assertMatch(first, /^ conntop@router {2}remote 192\.0\.2\.1:55555 · connected {3}Conns 8 /);
  link.text = "remote 192.0.2.1:55555 · reconnecting in 3 s (connection refused)";
  link.level = "error";
  link.stale = true;
  first = screenText(app).split("\n")[0]!;
  assertMatch(first, /· reconnecting in 3 s \(connection refused\) {3}Conns 8 .* STALE$/);
  // The last table stays on screen.
  assertEquals(app.rows.length, 8);
});

Deno.test("UiApp replaces its table with a snapshot, also an empty one", () => {
  const app = fixtureApp(120, 12);
  screenText(app);
  // A restarted server: its own slots, one connection.
  const one = { ...fixtureConns()[2]!, slot: 40, id: 77 };
  app.onBatch({ ...batchOf([one], { seq: 1, timeMs: T0 }), reset: true });
  screenText(app);
  assertEquals(app.rows.toArray(), [40]);
  app.onBatch({ ...batchOf([], { seq: 1, timeMs: T0 }), reset: true });
  const screen = screenText(app);
  assertEquals(app.rows.length, 0);
  assertEquals(app.model.size, 0);
  assertMatch(screen.split("\n")[0]!, /Conns 0/);
});

Deno.test("UiApp.clearWarning() takes back only the warning still shown", () => {
  const app = fixtureApp(120, 12);
  app.onWarning("Connection to router lost: connection reset");
  app.clearWarning("something else");
  assertMatch(screenText(app).split("\n")[2]!, /lost: connection reset/);
  app.clearWarning("Connection to router lost: connection reset");
  assertEquals(/lost/.test(screenText(app).split("\n")[2]!), false);
});
