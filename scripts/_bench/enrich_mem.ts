/**
 * The retained heap of the main thread's {@linkcode EnrichStore} holding given entries and
 * answers: a child of the enrichment benchmark (enrich.ts), run with `--v8-flags=--expose-gc`
 * so that the heap can be measured after full collections, which the benchmark's own process
 * cannot force.
 *
 * Reads on stdin a JSON object `{ addresses, hostAsked, geo, hosts }` — the addresses the store
 * held, those whose hostname was asked for, and the answers the worker sent — and prints
 * `{ entries, bytes }`. The answers are parsed after the first measurement, so they count as
 * the store keeps them: one object per answer, as the worker's structured-cloned messages give.
 *
 * Usage: deno run --v8-flags=--expose-gc scripts/_bench/enrich_mem.ts < input.json
 *
 * @module
 */

import { EnrichStore } from "../../src/enrich/store.ts";
import type { GeoInfo, HostEntry } from "../../src/core/enrichment.ts";

interface Input {
  addresses: string[];
  hostAsked: string[];
  geo: [string, GeoInfo][];
  hosts: [string, HostEntry][];
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("Cannot measure the heap: run with --v8-flags=--expose-gc");
  gc();
  gc();
}

if (import.meta.main) {
  const text = await new Response(Deno.stdin.readable).text();
  collect();
  const before = Deno.memoryUsage().heapUsed;
  let input: Input | undefined = JSON.parse(text) as Input;
  const store = new EnrichStore({ geoip: true, hostnames: true });
  for (const t of input.addresses) store.address(t);
  for (const t of input.hostAsked) store.wantHost(store.address(t));
  store.flush(); // no sink: the questions are dropped, as once sent
  store.apply(input.geo, input.hosts);
  input = undefined;
  collect();
  const bytes = Deno.memoryUsage().heapUsed - before;
  console.log(JSON.stringify({ entries: store.size, bytes }));
}
