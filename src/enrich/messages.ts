/**
 * The messages between the main thread and the enrichment service (hosted by the collector
 * worker, src/enrich/service.ts), declared once for both sides; and the service's interface for
 * code running in that worker. The main thread asks about addresses as text ("10.0.0.1",
 * "2001:db8::1"); the service answers in batches as results arrive, so a slow DNS server never
 * holds back GeoIP answers.
 *
 * Types only: the collector worker imports this without loading GeoIP or resolver code.
 *
 * @module
 */

import type { LocalAddressesJson } from "../core/mod.ts";
import type { AddressClass, GeoInfo, HostEntry } from "../core/mod.ts";

/** What the enrichment worker is asked to set up. */
export interface EnricherOptions {
  /** Open GeoIP databases (`--no-geoip` turns it off). */
  geoip: boolean;
  /** `--geoip-dir` directories, searched before the system's. */
  geoipDirs: string[];
  /** Override of the system search paths (tests). */
  geoipSearchPaths?: string[];
  /** Use the embedded default databases where no system database is found. */
  geoipEmbedded: boolean;
  /** Resolver settings (defaults in hostnames.ts). */
  dns?: {
    timeoutMs?: number;
    concurrency?: number;
    maxQueue?: number;
    positiveTtlMs?: number;
    negativeTtlMs?: number;
  };
}

/** A GeoIP database in use, as the worker reports it. */
export interface GeoSourceInfo {
  kind: "country" | "asn" | "city";
  file: string;
  type: string;
  backend: string;
}

/** Main thread → worker. */
export type ToEnricher =
  | { type: "start"; options: EnricherOptions }
  /** GeoIP for these public addresses. */
  | { type: "geo"; addresses: string[] }
  /** Reverse DNS for these addresses (cached answers come back at once), first ones first. */
  | { type: "hosts"; addresses: string[] }
  | { type: "stats" }
  /** The client is done: the service drops its databases and caches. */
  | { type: "close" };

/** Resolver and GeoIP counters, for the benchmark and the header. */
export interface EnricherStats {
  geoLookups: number;
  geoMs: number;
  dns: { entries: number; hits: number; misses: number; inFlight: number; queued: number };
}

/** Worker → main thread. */
export type FromEnricher =
  | {
    type: "ready";
    /** /etc/services as read, or null when it is missing (the built-in table applies). */
    servicesText: string | null;
    /** Empty: GeoIP is opened on the first public address ("geoip" says what it opened). */
    geoSources: GeoSourceInfo[];
    warnings: string[];
  }
  /** GeoIP was opened (on the first public address asked about): what, and what went wrong. */
  | { type: "geoip"; geoSources: GeoSourceInfo[]; warnings: string[] }
  | {
    type: "results";
    geo: [string, GeoInfo][];
    hosts: [string, HostEntry][];
  }
  | { type: "stats"; stats: EnricherStats }
  | { type: "fatal"; message: string };

/**
 * The enrichment as code in the worker that hosts it calls it (a view engine's sort keys and
 * text filters): synchronous for GeoIP, classes and service names, asynchronous for hostnames,
 * whose lookups never block the worker (nonblocking getnameinfo calls).
 */
export interface EnrichService {
  /**
   * What GeoIP says about an address: `family` 4 with 4 bytes, or 6 with 16; `NO_GEO` with
   * `--no-geoip`. Undefined while GeoIP is being opened: the first call starts that (the
   * reader's code may have to load), {@linkcode EnrichService.geoReady} says when it is done;
   * every call after it answers at once.
   */
  geo(family: 4 | 6, bytes: Uint8Array): GeoInfo | undefined;
  /** Opens GeoIP if that has not begun; resolves once {@linkcode EnrichService.geo} answers. */
  geoReady(): Promise<void>;
  /** The class of an address (as `geo`), against the host's addresses last set. */
  addressClass(family: 4 | 6, bytes: Uint8Array): AddressClass;
  /** The monitored host's interface addresses (the collector sets them as they change). */
  setLocal(list: LocalAddressesJson): void;
  /** The service name of `port` for protocol number `protonum`, if it has one. */
  service(protonum: number, port: number): string | undefined;
  /**
   * The hostname entry of an address given as text: cached, or "pending" with a lookup
   * started; final answers go to the {@linkcode EnrichService.onHost} listeners.
   */
  host(address: string): HostEntry;
  /** Calls `f` with each final hostname answer; returns the remover. */
  onHost(f: (address: string, entry: HostEntry) => void): () => void;
}
