/**
 * --once runs no worker: it collects and resolves on its main thread, which has nothing else to
 * do meanwhile (a worker isolate is about 15 MB). (Hostnames of another namespace are the
 * exception: test/e2e/enrich_once_test.ts; this run has -n.) Counted with a probe around the global
 * `Worker` constructor, which every module creating a worker goes through, and checked with
 * the kernel's list of the process's threads (Deno names a worker's thread `worker-N`).
 *
 * Requires root and conntrack (a test namespace), and the embedded GeoIP data.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";

const SCRIPT = new URL("./_once_workers.ts", import.meta.url).pathname;

/** The `worker-N` threads of process `pid`. */
function workerThreads(pid: number): number {
  let n = 0;
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        if (Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).startsWith("worker-")) n++;
      } catch {
        // ended meanwhile
      }
    }
  } catch {
    // the process ended
  }
  return n;
}

Deno.test("--once creates no worker: it collects and resolves on its own thread", async () => {
  await using ns = await Netns.create("onew");
  await loadConntrack(ns, [
    "-I -t 600 -p tcp -s 10.5.0.1 -d 93.184.216.34 --sport 40001 --dport 443 --state ESTABLISHED",
    "-I -t 600 -p udp -s 10.5.0.1 -d 10.5.0.2 --sport 40002 --dport 53",
  ]);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", SCRIPT, "--once", "--netns", ns.name, "-o", "json", "-n"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Watched while it runs: no worker thread at any time.
  let most = 0;
  const watching = (async () => {
    for (;;) {
      most = Math.max(most, workerThreads(child.pid));
      if (await Promise.race([child.status.then(() => true), sleep(5).then(() => false)])) return;
    }
  })();
  const out = await child.output();
  await watching;
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    code: number;
    created: string[];
    output: string;
  };
  assertEquals(r.code, 0);
  assertEquals(r.created, []);
  assertEquals(most, 0);
  // It did collect and resolve: the table, and the country from the embedded data.
  const doc = JSON.parse(r.output) as { connections: { orig_dst: string; dst_country: string }[] };
  assertEquals(doc.connections.length, 2);
  assertEquals(doc.connections.find((c) => c.orig_dst === "93.184.216.34")?.dst_country, "US");
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
