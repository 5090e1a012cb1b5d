/**
 * The enrichment service: GeoIP lookups, reverse DNS and service names, hosted by the collector
 * worker (one isolate for collecting and resolving, as the design has it) and reached from the
 * main thread over a `MessagePort` (messages.ts, client.ts). Code in the same worker calls the
 * {@linkcode EnrichService} methods directly.
 *
 * GeoIP is opened on the first public address looked up, not at start: a table with no public
 * address never reads a database (and the data it would map or read costs nothing). Hostname
 * lookups are nonblocking FFI calls (hostnames.ts): they never hold the worker's collecting up.
 *
 * Quitting never waits for it: the main thread terminates the worker, and lookups still running
 * in the C library's threads are abandoned (see hostnames.ts). It must never touch the terminal.
 *
 * @module
 */

import { parseAddress } from "../conntrack/mod.ts";
import { addressClass, LocalAddresses, type LocalAddressesJson } from "../core/mod.ts";
import { GeoIp, type GeoSource, loadLibReader, openGeoIpSync } from "./geoip/mod.ts";
import { HostnameResolver } from "./hostnames.ts";
import type {
  EnricherOptions,
  EnricherStats,
  EnrichService,
  FromEnricher,
  GeoSourceInfo,
  ToEnricher,
} from "./messages.ts";
import { builtinServices, parseServices, type ServiceTable } from "./services.ts";
import { IPPROTO } from "../conntrack/mod.ts";
import type { AddressClass, GeoInfo, HostEntry } from "../core/mod.ts";

/** Lookups done before the worker lets its event loop turn (and posts what it has). */
const GEO_SLICE = 4096;
/** Results are posted at most this often, so thousands of answers make a few messages. */
const POST_EVERY_MS = 50;

const PROTO_NAMES: Record<number, string> = {
  [IPPROTO.TCP]: "tcp",
  [IPPROTO.UDP]: "udp",
  [IPPROTO.UDPLITE]: "udplite",
  [IPPROTO.SCTP]: "sctp",
  [IPPROTO.DCCP]: "dccp",
};

/** Callbacks of {@linkcode Enrichment}. */
export interface EnrichmentEvents {
  /** GeoIP was opened (on first use): the sources in use and the warnings to show. */
  onGeoOpened?(sources: GeoSource[], warnings: string[]): void;
}

/** The enrichment of one client, as the worker hosts it. */
export class Enrichment implements EnrichService, Disposable {
  #options: EnricherOptions;
  #events: EnrichmentEvents;
  #geoip: GeoIp | undefined;
  #geoOpening: Promise<void> | undefined;
  #closed = false;
  #local: LocalAddresses | undefined;
  #services: ServiceTable | undefined;
  #resolver: HostnameResolver;
  #hostListeners = new Set<(address: string, entry: HostEntry) => void>();
  /** /etc/services as read (null: missing), and a warning when it could not be read. */
  readonly servicesText: string | null;
  readonly servicesWarning: string | undefined;
  geoLookups = 0;
  geoMs = 0;

  /** Reads /etc/services (small) now; GeoIP waits for its first lookup. */
  constructor(options: EnricherOptions, events: EnrichmentEvents = {}) {
    this.#options = options;
    this.#events = events;
    let text: string | null = null;
    let warning: string | undefined;
    try {
      text = Deno.readTextFileSync("/etc/services");
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        warning = `Cannot read /etc/services (${(err as Error).message}): built-in names used`;
      }
    }
    this.servicesText = text;
    this.servicesWarning = warning;
    this.#resolver = new HostnameResolver({
      ...options.dns,
      onResult: (address, entry) => {
        for (const f of [...this.#hostListeners]) f(address, entry);
      },
    });
  }

  /** Whether GeoIP has been opened (the tests check it is not before a public address). */
  get geoOpened(): boolean {
    return this.#geoip !== undefined;
  }

  geo(family: 4 | 6, bytes: Uint8Array): GeoInfo | undefined {
    if (this.#geoip === undefined) {
      void this.geoReady();
      return undefined;
    }
    return this.#geoip.lookup(family, bytes);
  }

  geoReady(): Promise<void> {
    this.#geoOpening ??= this.#openGeo();
    return this.#geoOpening;
  }

  addressClass(family: 4 | 6, bytes: Uint8Array): AddressClass {
    return addressClass(family, bytes, this.#local);
  }

  setLocal(list: LocalAddressesJson): void {
    this.#local = LocalAddresses.fromJSON(list);
  }

  service(protonum: number, port: number): string | undefined {
    const proto = PROTO_NAMES[protonum];
    if (proto === undefined) return undefined;
    this.#services ??= this.servicesText === null
      ? builtinServices()
      : parseServices(this.servicesText);
    return this.#services.name(proto, port);
  }

  host(address: string): HostEntry {
    return this.#resolver.get(address);
  }

  onHost(f: (address: string, entry: HostEntry) => void): () => void {
    this.#hostListeners.add(f);
    return () => this.#hostListeners.delete(f);
  }

  /** Resolver and GeoIP counters. */
  stats(): EnricherStats {
    const s = this.#resolver.stats();
    return {
      geoLookups: this.geoLookups,
      geoMs: this.geoMs,
      dns: {
        entries: s.entries,
        hits: s.hits,
        misses: s.misses,
        inFlight: s.inFlight,
        queued: s.queued,
      },
    };
  }

  /** Closes the databases and the resolver (running lookups are abandoned). Safe twice. */
  close(): void {
    this.#closed = true;
    this.#resolver.close();
    this.#geoip?.close();
    this.#geoip = GeoIp.empty();
    this.#hostListeners.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #openGeo(): Promise<void> {
    const o = this.#options;
    if (!o.geoip) {
      this.#geoip = GeoIp.empty();
      return;
    }
    const options = {
      dirs: o.geoipDirs,
      searchPaths: o.geoipSearchPaths,
      embedded: o.geoipEmbedded,
    };
    let warnings: string[];
    let geoip: GeoIp;
    try {
      const opened = openGeoIpSync(options, await loadLibReader(options));
      geoip = opened.geoip;
      warnings = opened.warnings;
    } catch (err) {
      // No permission to read a directory, for instance: no GeoIP, said once.
      geoip = GeoIp.empty();
      warnings = [`GeoIP is off: ${(err as Error).message}`];
    }
    if (this.#closed) {
      geoip.close();
      return;
    }
    this.#geoip = geoip;
    this.#events.onGeoOpened?.(geoip.sources(), warnings);
  }
}

function sourceInfo(sources: GeoSource[]): GeoSourceInfo[] {
  return sources.map((s) => ({ kind: s.kind, file: s.file, type: s.type, backend: s.backend }));
}

/**
 * Serves one client over `port` (the protocol of messages.ts) and returns its enrichment, for
 * the code of the hosting worker. The first message must be "start".
 */
export function serve(port: MessagePort): Promise<Enrichment> {
  let geoOut: [string, GeoInfo][] = [];
  let hostOut: [string, HostEntry][] = [];
  let postTimer: ReturnType<typeof setTimeout> | undefined;
  const geoQueue: string[][] = [];
  let geoRunning = false;
  let service: Enrichment | undefined;
  let closed = false;
  const post = (msg: FromEnricher) => {
    if (!closed) port.postMessage(msg);
  };
  const schedulePost = () => {
    postTimer ??= setTimeout(() => {
      postTimer = undefined;
      if (geoOut.length === 0 && hostOut.length === 0) return;
      post({ type: "results", geo: geoOut, hosts: hostOut });
      geoOut = [];
      hostOut = [];
    }, POST_EVERY_MS);
  };
  // Looks up queued addresses in slices, so "hosts" requests, posts and the collector's own
  // work are not held back by a long list.
  const runGeo = async (s: Enrichment) => {
    if (geoRunning) return;
    geoRunning = true;
    try {
      await s.geoReady();
      for (let list = geoQueue.shift(); list !== undefined; list = geoQueue.shift()) {
        for (let at = 0; at < list.length && !closed; at += GEO_SLICE) {
          const t0 = performance.now();
          const end = Math.min(list.length, at + GEO_SLICE);
          for (let k = at; k < end; k++) {
            const text = list[k]!;
            const p = parseAddress(text);
            if (p === undefined) continue;
            const fam = p.family === 2 ? 4 : 6;
            const g = s.geo(fam, fam === 4 ? p.bytes.subarray(0, 4) : p.bytes);
            if (g !== undefined) geoOut.push([text, g]);
          }
          s.geoLookups += end - at;
          s.geoMs += performance.now() - t0;
          schedulePost();
          await new Promise((r) => setTimeout(r, 0));
        }
      }
    } finally {
      geoRunning = false;
    }
  };
  return new Promise((resolve) => {
    const handle = (msg: ToEnricher) => {
      if (msg.type === "start") {
        if (service !== undefined) return;
        service = new Enrichment(msg.options, {
          onGeoOpened: (sources, warnings) =>
            post({ type: "geoip", geoSources: sourceInfo(sources), warnings }),
        });
        service.onHost((address, entry) => {
          hostOut.push([address, entry]);
          schedulePost();
        });
        post({
          type: "ready",
          servicesText: service.servicesText,
          geoSources: [],
          warnings: service.servicesWarning === undefined ? [] : [service.servicesWarning],
        });
        resolve(service);
        return;
      }
      const s = service;
      if (s === undefined) throw new Error(`expected "start" first, got "${msg.type}"`);
      switch (msg.type) {
        case "geo":
          geoQueue.push(msg.addresses);
          runGeo(s).catch((err) => fatal(err));
          return;
        case "hosts": {
          // Answers already cached go back at once (the main thread asks again after it forgot
          // an address, or after a while); the rest are looked up, the first ones given first.
          for (let k = msg.addresses.length - 1; k >= 0; k--) {
            const address = msg.addresses[k]!;
            const entry = s.host(address);
            if (entry.status !== "pending") hostOut.push([address, entry]);
          }
          if (hostOut.length > 0) schedulePost();
          return;
        }
        case "stats":
          post({ type: "stats", stats: s.stats() });
          return;
        case "close":
          closed = true;
          clearTimeout(postTimer);
          s.close();
          port.close();
          return;
      }
    };
    const fatal = (err: unknown) =>
      post({ type: "fatal", message: err instanceof Error ? err.message : String(err) });
    port.onmessage = (e: MessageEvent<ToEnricher>) => {
      try {
        handle(e.data);
      } catch (err) {
        fatal(err);
      }
    };
  });
}
