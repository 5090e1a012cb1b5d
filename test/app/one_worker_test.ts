/**
 * --once runs one worker: the collector and the enrichment share it (src/collector/thread.ts).
 * Counted with a probe around the global `Worker` constructor, which every module creating a
 * worker goes through, and checked with the kernel's list of this process's threads (Deno names
 * a worker's thread `worker-N`): the worker is gone once --once returned.
 *
 * Requires root and conntrack (a test namespace), and the embedded GeoIP data.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { parseOptions } from "../../src/cli/mod.ts";
import { runOnce } from "../../src/app/once.ts";

function workerThreads(): number {
  let n = 0;
  for (const t of Deno.readDirSync("/proc/self/task")) {
    try {
      if (Deno.readTextFileSync(`/proc/self/task/${t.name}/comm`).startsWith("worker-")) n++;
    } catch {
      // ended meanwhile
    }
  }
  return n;
}

Deno.test("--once creates one worker for collecting and resolving, and ends it", async () => {
  await using ns = await Netns.create("onew");
  await loadConntrack(ns, [
    "-I -t 600 -p tcp -s 10.5.0.1 -d 93.184.216.34 --sport 40001 --dport 443 --state ESTABLISHED",
    "-I -t 600 -p udp -s 10.5.0.1 -d 10.5.0.2 --sport 40002 --dport 53",
  ]);
  const before = workerThreads();
  const RealWorker = globalThis.Worker;
  const created: string[] = [];
  globalThis.Worker = class extends RealWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      created.push(String(url));
    }
  };
  let text = "";
  let code: number;
  try {
    const opts = parseOptions(["--once", "--netns", ns.name, "-o", "json", "-n"]);
    const dec = new TextDecoder();
    code = await runOnce(
      opts,
      (b) => Promise.resolve(void (text += dec.decode(b, { stream: true }))),
      () => {},
    );
  } finally {
    globalThis.Worker = RealWorker;
  }
  assertEquals(code, 0);
  assertEquals(created.length, 1, created.join(", "));
  assert(created[0]!.endsWith("/src/collector/worker.ts"), created[0]);
  // It did collect and resolve: the table, and the country from the embedded data.
  const out = JSON.parse(text) as { connections: { orig_dst: string; dst_country: string }[] };
  const publicRow = out.connections.find((c) => c.orig_dst === "93.184.216.34");
  assertEquals(out.connections.length, 2);
  assertEquals(publicRow?.dst_country, "US");
  // Terminated once --once is done (a thread ends shortly after terminate()).
  const deadline = Date.now() + 5000;
  while (workerThreads() > before && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assertEquals(workerThreads(), before);
});
