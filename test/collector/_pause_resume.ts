/**
 * Runs a server's collector (src/collector/local.ts: paused until resumed, its table let go
 * while paused) in its own process, inside the namespace named by the first argument, and
 * checks the promise a server's hub relies on: after every pause, the first batch that follows
 * the resume holds the whole table and says so (`reset`), however soon the resume came.
 *
 * For each gap in the second argument (ms, comma-separated) it waits until the loop is between
 * refreshes, pauses, waits the gap, resumes, and waits up to 5 s for a `reset` batch. Prints
 * `{ "first": number | null, "firstTables": number, "rounds": { gap, reset: number | null }[] }`
 * as JSON on stdout: `reset` is the record count of that batch, null when none came in time;
 * `firstTables` the tables the loop made from the first resume to its first batch.
 *
 * Usage: deno run -A test/collector/_pause_resume.ts NS 0,10,30
 *
 * @module
 */

import { LocalCollector } from "../../src/collector/local.ts";
import type { BatchMessage } from "../../src/collector/mod.ts";

const [netns, gapsArg] = Deno.args;
if (netns === undefined || gapsArg === undefined) {
  console.error("usage: _pause_resume.ts NS GAPS");
  Deno.exit(2);
}
const gaps = gapsArg.split(",").map(Number);

let waiter: ((b: BatchMessage) => void) | undefined;
/** Tables the loop made (each new table is 34 MB at 200k connections). */
let tables = 0;
const collector = await LocalCollector.start({
  intervalMs: 200,
  netns,
  enableAcct: false,
  track: false,
  eventBufferBytes: 1 << 20,
  events: true,
}, {
  onBatch: (b) => waiter?.(b),
  onTable: () => tables++,
});
// As a server's hub does when it attaches: a pause, the loop being paused already.
collector.pause();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The record count of the next `reset` batch, or null after 5 s. */
function nextReset(): Promise<number | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiter = undefined;
      resolve(null);
    }, 5000);
    waiter = (b) => {
      if (b.reset !== true) return;
      clearTimeout(timer);
      waiter = undefined;
      resolve(b.count);
    };
  });
}

const got = nextReset();
const before = tables;
collector.resume();
const first = await got;
const firstTables = tables - before;
const rounds: { gap: number; reset: number | null }[] = [];
for (const gap of gaps) {
  // The loop is now between refreshes (a refresh every 200 ms, each a few ms long).
  await sleep(100);
  const next = nextReset();
  collector.pause();
  if (gap > 0) await sleep(gap);
  collector.resume();
  rounds.push({ gap, reset: await next });
}
await collector.stop();
console.log(JSON.stringify({ first, firstTables, rounds }));
