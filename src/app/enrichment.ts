/**
 * Starts enrichment for a command: the worker that resolves (hostnames, GeoIP, services) and
 * the main thread's store of its answers, wired together. Closing it terminates the worker at
 * once: quitting never waits for a lookup.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import { Enricher } from "../enrich/mod.ts";
import type { EnricherOptions } from "../enrich/mod.ts";
import { builtinServices, parseServices } from "../enrich/mod.ts";
import { EnrichStore } from "../enrich/mod.ts";

/** Callbacks of {@linkcode startEnrichment}. */
export interface EnrichmentHandlers {
  /** Answers arrived (the store has them): redraw. */
  onChange?(): void;
  onWarning?(message: string): void;
}

/** A running enrichment: the store, and the worker behind it. */
export interface Enrichment extends Disposable {
  readonly store: EnrichStore;
  /** Resolves when the worker has loaded its databases and service names. */
  readonly ready: Promise<void>;
  /** The worker's counters. */
  readonly enricher: Enricher;
  close(): void;
}

/** The worker's options for the command line `opts`. */
export function enricherOptions(opts: Options): EnricherOptions {
  const search = Deno.env.get("CONNTOP_GEOIP_PATH");
  return {
    geoip: opts.geoip,
    geoipDirs: opts.geoipDirs,
    geoipSearchPaths: search === undefined ? undefined : search.split(":").filter((p) => p !== ""),
    geoipEmbedded: Deno.env.get("CONNTOP_NO_EMBEDDED_GEOIP") === undefined,
  };
}

/**
 * Starts the enrichment worker; `dns` overrides resolver settings (--once waits longer);
 * `here`: the service runs on this thread (see {@linkcode Enricher}), but for hostnames in
 * another network namespace (`--netns`): those are looked up by a worker started on the first
 * of them, after this thread entered the namespace, so that every lookup runs there, as the
 * monitor's do. (This thread's blocking threads, which would run them, may predate the
 * namespace: some lookups would leave from one namespace, some from the other.)
 */
export function startEnrichment(
  opts: Options,
  handlers: EnrichmentHandlers,
  dns?: EnricherOptions["dns"],
  here = false,
): Enrichment {
  // The sink's closures run only after this function returned, when `enricher` exists.
  const store = new EnrichStore({
    geoip: opts.geoip,
    hostnames: opts.hostnames,
    sink: {
      geo: (a) => enricher.geo(a),
      hosts: (a) => (here && opts.netns !== undefined ? hostWorker() : enricher).hosts(a),
    },
  });
  let hostEnricher: Enricher | undefined;
  const hostWorker = () =>
    hostEnricher ??= new Enricher({ ...enricherOptions(opts), geoip: false, dns }, {
      onResults: (geo, hosts) => {
        store.apply(geo, hosts);
        handlers.onChange?.();
      },
      onWarning: (m) => handlers.onWarning?.(m),
    });
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const enricher = new Enricher({ ...enricherOptions(opts), dns }, {
    onReady: (info) => {
      if (opts.servnames) {
        store.setServices(
          info.servicesText === null ? builtinServices() : parseServices(info.servicesText),
        );
      }
      markReady();
      handlers.onChange?.();
    },
    onResults: (geo, hosts) => {
      store.apply(geo, hosts);
      handlers.onChange?.();
    },
    onWarning: (m) => {
      handlers.onWarning?.(m);
      markReady();
    },
  }, here);
  return {
    store,
    ready,
    enricher,
    close: () => {
      enricher.close();
      hostEnricher?.close();
    },
    [Symbol.dispose]: () => {
      enricher.close();
      hostEnricher?.close();
    },
  };
}
