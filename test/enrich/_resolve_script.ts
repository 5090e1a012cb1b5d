/**
 * Resolves addresses with {@linkcode HostnameResolver} and the real system lookup, for
 * hostnames_dns_test.ts, which runs it under `ip netns exec` against a DNS server of its own.
 *
 * Prints one JSON line per event ({@linkcode ResolveEvent}) and, once every address has a
 * final result, ends as the configuration's mode says: `Deno.exit(0)` at once, or terminating
 * the worker that resolves and returning, or just returning. The caller times how long the
 * process takes to exit after "done".
 *
 * Usage: `deno run --allow-ffi --allow-read=REPO _resolve_script.ts '{"addresses":["192.0.2.1"],"timeoutMs":500,"mode":"exit"}'`
 *
 * @module
 */

import { resolveAll, type ResolveConfig, type ResolveEvent } from "./_resolve_common.ts";

function print(event: ResolveEvent): void {
  console.log(JSON.stringify(event));
}

if (import.meta.main) {
  const config = JSON.parse(Deno.args[0] ?? "{}") as ResolveConfig;
  const start = performance.now();
  globalThis.addEventListener("unload", () => {
    print({ type: "unload", ms: performance.now() - start });
  });
  if (config.mode === "worker") {
    const worker = new Worker(new URL("./_resolve_worker.ts", import.meta.url), {
      type: "module",
    });
    worker.onmessage = (e: MessageEvent<ResolveEvent>) => {
      print(e.data);
      if (e.data.type !== "done") return;
      worker.terminate();
      print({ type: "terminated", ms: performance.now() - start });
      // Nothing is left for this thread to do: returning ends the process.
    };
    worker.postMessage(config);
  } else {
    resolveAll(config, (event) => {
      print(event);
      if (event.type === "done" && config.mode === "exit") Deno.exit(0);
    });
  }
}
