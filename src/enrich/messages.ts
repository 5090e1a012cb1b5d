/**
 * The messages between the main thread and the enrichment worker, declared once for both sides.
 * The main thread asks about addresses as text ("10.0.0.1", "2001:db8::1"); the worker answers
 * in batches as results arrive, so a slow DNS server never holds back GeoIP answers.
 *
 * @module
 */

import type { GeoInfo, HostEntry } from "../core/mod.ts";

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
  | { type: "stats" };

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
    geoSources: GeoSourceInfo[];
    warnings: string[];
  }
  | {
    type: "results";
    geo: [string, GeoInfo][];
    hosts: [string, HostEntry][];
  }
  | { type: "stats"; stats: EnricherStats }
  | { type: "fatal"; message: string };
