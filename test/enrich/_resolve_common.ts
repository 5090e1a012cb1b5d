/**
 * What _resolve_script.ts and _resolve_worker.ts share: the configuration they are given, the
 * events they print, and the resolving itself with the real system lookup.
 *
 * @module
 */

import { HostnameResolver, type HostnameStats } from "../../src/enrich/hostnames.ts";
import type { HostEntry } from "../../src/core/enrichment.ts";

/** How a script run ends once every address has a final result. */
export type EndMode =
  /** `Deno.exit(0)` in the main thread at once, lookups still running. */
  | "exit"
  /** The resolver runs in a worker; the main thread terminates it and returns. */
  | "worker"
  /** The main thread returns: Deno then waits for the lookups still running (the control). */
  | "return";

/** The script's only argument, as JSON. */
export interface ResolveConfig {
  /** Addresses to resolve, all requested at once. */
  addresses: string[];
  /** The resolver's per-lookup timeout in ms. */
  timeoutMs: number;
  /** How the run ends. */
  mode: EndMode;
}

/** One line the script prints; `ms` counts from the request. */
export type ResolveEvent =
  | { type: "result"; address: string; entry: HostEntry; ms: number }
  | { type: "done"; ms: number; stats: HostnameStats }
  | { type: "terminated"; ms: number }
  | { type: "unload"; ms: number };

/**
 * Requests every address of `config` from a resolver with the default (getnameinfo) lookup,
 * emits each result as it arrives and "done" once all have one. Requires `--allow-ffi`.
 *
 * @param config The addresses and the timeout.
 * @param emit Receives the events.
 */
export function resolveAll(config: ResolveConfig, emit: (event: ResolveEvent) => void): void {
  const start = performance.now();
  const waiting = new Set(config.addresses);
  const resolver: HostnameResolver = new HostnameResolver({
    timeoutMs: config.timeoutMs,
    onResult: (address, entry) => {
      const ms = performance.now() - start;
      emit({ type: "result", address, entry, ms });
      if (waiting.delete(address) && waiting.size === 0) {
        emit({ type: "done", ms, stats: resolver.stats() });
      }
    },
  });
  resolver.request(config.addresses);
}
