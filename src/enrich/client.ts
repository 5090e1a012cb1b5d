/**
 * The main thread's handle on the enrichment worker. Starting it never waits: requests made
 * before the worker is ready queue in its message port, and answers arrive through callbacks.
 * Stopping terminates the worker at once, whatever lookups are still running.
 *
 * @module
 */

import type {
  EnricherOptions,
  EnricherStats,
  FromEnricher,
  GeoSourceInfo,
  ToEnricher,
} from "./messages.ts";
import type { GeoInfo, HostEntry } from "../core/mod.ts";

/** Callbacks for what the worker reports. */
export interface EnricherHandlers {
  onReady?(info: { servicesText: string | null; geoSources: GeoSourceInfo[] }): void;
  onResults(geo: [string, GeoInfo][], hosts: [string, HostEntry][]): void;
  onWarning?(message: string): void;
}

/** A running enrichment worker. */
export class Enricher {
  #worker: Worker;
  #stats: ((s: EnricherStats) => void)[] = [];
  #closed = false;

  /** Starts the worker (it loads its databases in the background). */
  constructor(options: EnricherOptions, handlers: EnricherHandlers) {
    this.#worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<FromEnricher>) => {
      const msg = e.data;
      switch (msg.type) {
        case "ready":
          for (const w of msg.warnings) handlers.onWarning?.(w);
          handlers.onReady?.({ servicesText: msg.servicesText, geoSources: msg.geoSources });
          break;
        case "results":
          handlers.onResults(msg.geo, msg.hosts);
          break;
        case "stats":
          for (const f of this.#stats.splice(0)) f(msg.stats);
          break;
        case "fatal":
          handlers.onWarning?.(`Enrichment stopped: ${msg.message}`);
          break;
      }
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      handlers.onWarning?.(`Enrichment stopped: ${e.message}`);
      this.close();
    };
    this.#post({ type: "start", options });
  }

  /** Asks for GeoIP answers about these (public) addresses. */
  geo(addresses: string[]): void {
    if (addresses.length > 0) this.#post({ type: "geo", addresses });
  }

  /** Asks for the hostnames of these addresses, the first ones first. */
  hosts(addresses: string[]): void {
    if (addresses.length > 0) this.#post({ type: "hosts", addresses });
  }

  /** The worker's counters. */
  stats(): Promise<EnricherStats> {
    return new Promise((resolve) => {
      this.#stats.push(resolve);
      this.#post({ type: "stats" });
    });
  }

  /** Terminates the worker now; running lookups are abandoned. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
  }

  #post(msg: ToEnricher): void {
    if (this.#closed) return;
    this.#worker.postMessage(msg);
  }
}
