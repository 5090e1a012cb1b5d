/**
 * GeoIP lookup throughput of each backend over the same random public addresses: the embedded
 * country database read through libmaxminddb (FFI) and through mmdb-lib, the embedded data as
 * conntop uses it out of the box (country with mmdb-lib plus the AS range table), and the AS
 * range table alone; with the embedded data's sizes and load times.
 *
 * Requires the embedded data (`deno task geodata`) and libmaxminddb.
 *
 * Usage: deno run --allow-all scripts/_bench/geoip.ts [N]
 *
 * @module
 */

import { openGeoIp } from "../../src/enrich/geoip/open.ts";
import type { GeoIp } from "../../src/enrich/geoip/geoip.ts";
import { EMBEDDED_ASN, EMBEDDED_COUNTRY, EMBEDDED_DIR } from "../../src/enrich/geoip/embedded.ts";
import { RangeTable } from "../../src/enrich/geoip/ranges.ts";

/** Options of {@linkcode geoipBench}. */
export interface GeoipBenchOptions {
  /** Addresses looked up per pass, half IPv4, half IPv6 (default 100000). */
  n?: number;
}

/** What {@linkcode geoipBench} measured. */
export interface GeoipBenchResult {
  /** Addresses per pass. */
  n: number;
  /** GeoIp over the embedded country .mmdb opened from disk with libmaxminddb. */
  ffiPerSec: number;
  /** The same file with mmdb-lib. */
  libPerSec: number;
  /** The out-of-the-box GeoIp: embedded country (mmdb-lib, from bytes) + AS range table. */
  embeddedPerSec: number;
  /** The AS range table alone. */
  asnTablePerSec: number;
  /** Bytes of data/geoip/country.mmdb. */
  countryBytes: number;
  /** Bytes of data/geoip/asn-ranges.bin. */
  asnTableBytes: number;
  /** openGeoIp() with only the embedded data: read both files and set them up. */
  embeddedOpenMs: number;
  /** Reading and checking the AS range table alone. */
  asnTableLoadMs: number;
}

/** `n` public-looking addresses, alternating IPv4 (outside private and reserved blocks) and IPv6 (2000::/3). */
function addresses(n: number, seed: number): [4 | 6, Uint8Array][] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out: [4 | 6, Uint8Array][] = [];
  while (out.length < n) {
    if (out.length % 2 === 0) {
      const b = new Uint8Array(4).map(() => Math.floor(rnd() * 256));
      const f = b[0]!;
      if (f === 0 || f === 10 || f === 127 || f >= 224) continue;
      if ((f === 172 && (b[1]! & 0xf0) === 16) || (f === 192 && b[1] === 168)) continue;
      if ((f === 169 && b[1] === 254) || (f === 100 && (b[1]! & 0xc0) === 64)) continue;
      out.push([4, b]);
    } else {
      const b = new Uint8Array(16).map(() => Math.floor(rnd() * 256));
      b[0] = 0x20 | (b[0]! & 0x1f);
      out.push([6, b]);
    }
  }
  return out;
}

/** Lookups per second of `fn` over `addrs`, after a warm-up pass, over at least ~1 s. */
function perSec(addrs: [4 | 6, Uint8Array][], fn: (f: 4 | 6, b: Uint8Array) => unknown): number {
  for (const [f, b] of addrs) fn(f, b);
  let done = 0;
  const start = performance.now();
  do {
    for (const [f, b] of addrs) fn(f, b);
    done += addrs.length;
  } while (performance.now() - start < 1000);
  return Math.round(done / ((performance.now() - start) / 1000));
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, performance.now() - t0];
}

/** Runs the measurements. */
export async function geoipBench(options: GeoipBenchOptions = {}): Promise<GeoipBenchResult> {
  const n = options.n ?? 100000;
  const addrs = addresses(n, 42);
  const dir = EMBEDDED_DIR.pathname;
  const open = async (backend: "ffi" | "lib"): Promise<GeoIp> => {
    const { geoip, warnings } = await openGeoIp({
      dirs: [dir],
      searchPaths: [],
      embedded: false,
      backend,
    });
    if (warnings.length > 0) throw new Error(`Failed to open '${dir}': ${warnings.join("; ")}`);
    return geoip;
  };
  const ffi = await open("ffi");
  const ffiPerSec = perSec(addrs, (f, b) => ffi.lookup(f, b));
  ffi.close();
  const lib = await open("lib");
  const libPerSec = perSec(addrs, (f, b) => lib.lookup(f, b));
  lib.close();
  const [embedded, embeddedOpenMs] = await timed(() => openGeoIp({ searchPaths: [] }));
  const embeddedPerSec = perSec(addrs, (f, b) => embedded.geoip.lookup(f, b));
  embedded.geoip.close();
  const [table, asnTableLoadMs] = await timed(async () =>
    new RangeTable(await Deno.readFile(EMBEDDED_ASN), EMBEDDED_ASN.pathname)
  );
  const asnTablePerSec = perSec(addrs, (f, b) => table.lookup(f, b));
  return {
    n,
    ffiPerSec,
    libPerSec,
    embeddedPerSec,
    asnTablePerSec,
    countryBytes: (await Deno.stat(EMBEDDED_COUNTRY)).size,
    asnTableBytes: (await Deno.stat(EMBEDDED_ASN)).size,
    embeddedOpenMs: Math.round(embeddedOpenMs * 10) / 10,
    asnTableLoadMs: Math.round(asnTableLoadMs * 10) / 10,
  };
}

if (import.meta.main) {
  const n = Deno.args[0] === undefined ? undefined : Number(Deno.args[0]);
  const r = await geoipBench({ n });
  const k = (v: number) => `${(v / 1000).toFixed(0)}k/s`;
  console.log(`GeoIP lookups over ${r.n} random public addresses (half IPv4, half IPv6):`);
  console.log(`  libmaxminddb (FFI), country .mmdb   ${k(r.ffiPerSec)}`);
  console.log(`  mmdb-lib, country .mmdb             ${k(r.libPerSec)}`);
  console.log(`  embedded (mmdb-lib + AS table)      ${k(r.embeddedPerSec)}`);
  console.log(`  AS range table alone                ${k(r.asnTablePerSec)}`);
  console.log(
    `data/geoip/country.mmdb ${r.countryBytes} bytes, asn-ranges.bin ${r.asnTableBytes} bytes`,
  );
  console.log(`open embedded ${r.embeddedOpenMs} ms, AS table load ${r.asnTableLoadMs} ms`);
}
