import { assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { runBounded } from "../_helpers/bounded_run.ts";

const FIXTURE = new URL("./_pause_resume.ts", import.meta.url).pathname;

// The defect: a client that left and another that joined before the loop looked (one poll
// slice, 50 ms) paused and resumed a server's collector without its knowing. The hub had let
// its view of the table go at the pause and waited for a batch holding the whole table, which
// never came: the new client got nothing ("nothing received for 15 s").
Deno.test("A server's collector sends the whole table after every pause, however soon the resume", async () => {
  await using ns = await Netns.create("pause");
  const lines = Array.from(
    { length: 30 },
    (_, i) => `-I -t 600 -s 10.1.0.${i + 1} -d 10.2.0.1 -p udp --sport ${1000 + i} --dport 53`,
  );
  await loadConntrack(ns, lines);
  const r = await runBounded(
    [Deno.execPath(), "run", "-A", FIXTURE, ns.name, "0,0,5,20,80,400"],
    60_000,
  );
  assertEquals(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    first: number | null;
    firstTables: number;
    rounds: unknown[];
  };
  assertEquals(out.first, 30, "the first batch after the first resume");
  // The pause the server makes at start, while the loop is paused already, is no pause to go
  // through after the resume: one table is filled, not a second beside the first.
  assertEquals(out.firstTables, 1, "tables made for the first batch");
  assertEquals(out.rounds, [0, 0, 5, 20, 80, 400].map((gap) => ({ gap, reset: 30 })));
});
