/**
 * The enrichment worker: GeoIP lookups, reverse DNS and /etc/services, away from the UI thread.
 * It holds the GeoIP databases and the hostname cache; the main thread holds only the answers.
 *
 * Quitting never waits for it: the main thread terminates it, and lookups still running in the
 * C library's threads are abandoned (see hostnames.ts).
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { parseAddress } from "../conntrack/mod.ts";
import { GeoIp, openGeoIp } from "./geoip/mod.ts";
import { HostnameResolver } from "./hostnames.ts";
import type { EnricherOptions, FromEnricher, ToEnricher } from "./messages.ts";
import type { GeoInfo, HostEntry } from "../core/mod.ts";

/** Lookups done before the worker lets its event loop turn (and posts what it has). */
const GEO_SLICE = 4096;
/** Results are posted at most this often, so thousands of answers make a few messages. */
const POST_EVERY_MS = 50;

let geoip: GeoIp = GeoIp.empty();
let resolver: HostnameResolver | undefined;
let geoOut: [string, GeoInfo][] = [];
let hostOut: [string, HostEntry][] = [];
let postTimer: ReturnType<typeof setTimeout> | undefined;
let geoLookups = 0;
let geoMs = 0;
let started: Promise<void> | undefined;
const geoQueue: string[][] = [];
let geoRunning = false;

function post(msg: FromEnricher): void {
  self.postMessage(msg);
}

function schedulePost(): void {
  postTimer ??= setTimeout(() => {
    postTimer = undefined;
    if (geoOut.length === 0 && hostOut.length === 0) return;
    post({ type: "results", geo: geoOut, hosts: hostOut });
    geoOut = [];
    hostOut = [];
  }, POST_EVERY_MS);
}

async function start(options: EnricherOptions): Promise<void> {
  const warnings: string[] = [];
  let servicesText: string | null = null;
  try {
    servicesText = await Deno.readTextFile("/etc/services");
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      warnings.push(`Cannot read /etc/services (${(err as Error).message}): built-in names used`);
    }
  }
  if (options.geoip) {
    const opened = await openGeoIp({
      dirs: options.geoipDirs,
      searchPaths: options.geoipSearchPaths,
      embedded: options.geoipEmbedded,
    });
    geoip = opened.geoip;
    warnings.push(...opened.warnings);
  }
  resolver = new HostnameResolver({
    ...options.dns,
    onResult: (address, entry) => {
      hostOut.push([address, entry]);
      schedulePost();
    },
  });
  post({
    type: "ready",
    servicesText,
    geoSources: geoip.sources().map((s) => ({
      kind: s.kind,
      file: s.file,
      type: s.type,
      backend: s.backend,
    })),
    warnings,
  });
}

// Looks up queued addresses in slices, so "hosts" requests and posts are not held back.
async function runGeo(): Promise<void> {
  if (geoRunning) return;
  geoRunning = true;
  try {
    for (let list = geoQueue.shift(); list !== undefined; list = geoQueue.shift()) {
      for (let at = 0; at < list.length; at += GEO_SLICE) {
        const t0 = performance.now();
        const end = Math.min(list.length, at + GEO_SLICE);
        for (let k = at; k < end; k++) {
          const text = list[k]!;
          const p = parseAddress(text);
          if (p === undefined) continue;
          const fam = p.family === 2 ? 4 : 6;
          geoOut.push([text, geoip.lookup(fam, fam === 4 ? p.bytes.subarray(0, 4) : p.bytes)]);
        }
        geoLookups += end - at;
        geoMs += performance.now() - t0;
        schedulePost();
        await new Promise((r) => setTimeout(r, 0));
      }
    }
  } finally {
    geoRunning = false;
  }
}

async function handle(msg: ToEnricher): Promise<void> {
  if (msg.type === "start") {
    started = start(msg.options);
    return await started;
  }
  await started;
  switch (msg.type) {
    case "geo":
      geoQueue.push(msg.addresses);
      return await runGeo();
    case "hosts": {
      // Answers already cached go back at once (the main thread asks again after it forgot
      // an address, or after a while); the rest are looked up, the first ones given first.
      if (resolver === undefined) return;
      for (let k = msg.addresses.length - 1; k >= 0; k--) {
        const address = msg.addresses[k]!;
        const entry = resolver.get(address);
        if (entry.status !== "pending") hostOut.push([address, entry]);
      }
      if (hostOut.length > 0) schedulePost();
      return;
    }
    case "stats": {
      const s = resolver?.stats();
      post({
        type: "stats",
        stats: {
          geoLookups,
          geoMs,
          dns: {
            entries: s?.entries ?? 0,
            hits: s?.hits ?? 0,
            misses: s?.misses ?? 0,
            inFlight: s?.inFlight ?? 0,
            queued: s?.queued ?? 0,
          },
        },
      });
      return;
    }
  }
}

self.onmessage = (e: MessageEvent<ToEnricher>) => {
  handle(e.data).catch((err) => {
    post({ type: "fatal", message: err instanceof Error ? err.message : String(err) });
  });
};
