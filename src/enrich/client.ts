/**
 * The main thread's handle on the enrichment service, which runs in the collector's worker
 * thread (src/collector/thread.ts; one isolate for collecting and resolving). It talks over a
 * `MessageChannel` port handed to that worker. Starting it never waits: requests made before
 * the service is ready queue in the port, and answers arrive through callbacks. Closing it
 * releases the thread, which the last user terminates at once, whatever lookups are running.
 *
 * @module
 */

import { WorkerThread } from "../collector/mod.ts";
import type {
  EnricherOptions,
  EnricherStats,
  FromEnricher,
  GeoSourceInfo,
  ToEnricher,
} from "./messages.ts";
import type { GeoInfo, HostEntry } from "../core/mod.ts";
import type { ToCollector } from "../collector/mod.ts";

/** Callbacks for what the worker reports. */
export interface EnricherHandlers {
  onReady?(info: { servicesText: string | null; geoSources: GeoSourceInfo[] }): void;
  /** GeoIP was opened, on the first public address: the databases in use. */
  onGeoip?(geoSources: GeoSourceInfo[]): void;
  onResults(geo: [string, GeoInfo][], hosts: [string, HostEntry][]): void;
  onWarning?(message: string): void;
}

/** A running enrichment service. */
export class Enricher {
  #thread: WorkerThread | undefined;
  #port: MessagePort;
  #stats: ((s: EnricherStats) => void)[] = [];
  #closed = false;
  #removeOnError: () => void;

  /**
   * Starts the service in the process's worker thread (GeoIP opens on first use), or with
   * `here` on this thread: a command that only waits for the answers (`--once`) spares the
   * worker isolate (about 15 MB). The protocol is the same either way.
   */
  constructor(options: EnricherOptions, handlers: EnricherHandlers, here = false) {
    const channel = new MessageChannel();
    this.#port = channel.port1;
    if (here) {
      this.#thread = undefined;
      // Loaded only here: the monitor's main thread must not hold the service's modules.
      import("./service.ts").then((m) => m.serve(channel.port2)).catch((err) =>
        handlers.onWarning?.(`Enrichment stopped: ${err instanceof Error ? err.message : err}`)
      );
    } else {
      this.#thread = WorkerThread.forService();
      const attach: ToCollector = { type: "enrich", port: channel.port2 };
      this.#thread.worker.postMessage(attach, [channel.port2]);
    }
    this.#port.onmessage = (e: MessageEvent<FromEnricher>) => {
      const msg = e.data;
      switch (msg.type) {
        case "ready":
          for (const w of msg.warnings) handlers.onWarning?.(w);
          handlers.onReady?.({ servicesText: msg.servicesText, geoSources: msg.geoSources });
          break;
        case "geoip":
          for (const w of msg.warnings) handlers.onWarning?.(w);
          handlers.onGeoip?.(msg.geoSources);
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
    this.#removeOnError = this.#thread?.onError((e) => {
      handlers.onWarning?.(`Enrichment stopped: ${e.message}`);
      this.close();
    }) ?? (() => {});
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

  /**
   * Stops the service and releases the worker thread (terminated at once when the collector
   * is done with it too); running lookups are abandoned. Safe to call twice.
   */
  close(): void {
    if (this.#closed) return;
    this.#post({ type: "close" });
    this.#closed = true;
    this.#removeOnError();
    this.#port.close();
    this.#thread?.release();
  }

  #post(msg: ToEnricher): void {
    if (this.#closed) return;
    this.#port.postMessage(msg);
  }
}
