/**
 * The enrichment benchmark's drive in a process of its own, started by enrich.ts inside the
 * benchmark's network namespace (`ip netns exec NS`), so that its collector reads that
 * namespace's table and its enrichment worker's reverse lookups stay in it.
 *
 * Takes one argument, the JSON of `{ refreshes, pages, sortRuns }`; prints the result as JSON
 * on stdout and its progress on stderr.
 *
 * Requires root and `--allow-all`.
 *
 * @module
 */

import { driveEnrichment } from "./enrich.ts";

if (import.meta.main) {
  const args = JSON.parse(Deno.args[0] ?? "{}") as {
    refreshes?: number;
    pages?: number;
    sortRuns?: number;
  };
  const result = await driveEnrichment({
    refreshes: args.refreshes ?? 8,
    pages: args.pages ?? 25,
    sortRuns: args.sortRuns ?? 10,
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(result));
  // Reverse lookups still running in the C library's threads would hold a plain return
  // (src/enrich/hostnames.ts, "Quitting").
  Deno.exit(0);
}
