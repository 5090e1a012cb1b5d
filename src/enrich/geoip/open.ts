/**
 * `openGeoIp`: finds the GeoIP databases (`--geoip-dir` first, then the system directories),
 * chooses one per kind, falls back to the embedded data for the kinds with none, and returns
 * a {@linkcode GeoIp} with the warnings to show.
 *
 * Requires `--allow-read` and `--allow-env`; `--allow-ffi` for libmaxminddb (backend "auto"
 * uses mmdb-lib when the library is not installed).
 *
 * @example
 * ```ts
 * import { openGeoIp } from "./open.ts";
 * const { geoip, warnings } = await openGeoIp({ dirs: ["/srv/geoip"] });
 * for (const w of warnings) console.error(`conntop: ${w}`);
 * console.log(geoip.lookup(4, new Uint8Array([1, 1, 1, 1])));
 * geoip.close();
 * ```
 *
 * @module
 */

import { LibraryLoadError, maxminddb } from "../../../ffi/maxminddb.ts";
import { defaultSearchPaths, findDatabases, type FoundDatabase, type GeoKind } from "./discover.ts";
import { loadEmbeddedAsn, loadEmbeddedCountry } from "./embedded.ts";
import { openFfiReader } from "./ffi_reader.ts";
import { GeoIp, type GeoPart } from "./geoip.ts";
import { readLibReaderSync } from "./lib_reader.ts";
import type { MmdbReader } from "./reader.ts";

/** Options of {@linkcode openGeoIp}. */
export interface GeoIpOptions {
  /** Directories given with `--geoip-dir`, searched first (a missing one is a warning). */
  dirs?: string[];
  /** The system directories searched after `dirs` (default: {@linkcode defaultSearchPaths}). */
  searchPaths?: string[];
  /** Fall back to the embedded data for each kind no database provides (default true). */
  embedded?: boolean;
  /**
   * Which reader opens database files: "ffi" libmaxminddb (throws when it cannot be loaded),
   * "lib" mmdb-lib, "auto" (default) libmaxminddb when it loads, else mmdb-lib.
   */
  backend?: "auto" | "ffi" | "lib";
}

/** What {@linkcode openGeoIp} returns. */
export interface OpenedGeoIp {
  /** The databases chosen; close it when done. */
  geoip: GeoIp;
  /** One line each, e.g. a corrupt file or an unknown database type, naming the file. */
  warnings: string[];
}

const KINDS: readonly GeoKind[] = ["country", "asn", "city"];

/** The function opening a file with the backend asked for. */
function opener(backend: "auto" | "ffi" | "lib"): (path: string) => MmdbReader {
  if (backend === "lib") return readLibReaderSync;
  try {
    maxminddb();
  } catch (err) {
    if (backend === "auto" && err instanceof LibraryLoadError) return readLibReaderSync;
    throw err;
  }
  return openFfiReader;
}

/**
 * The database serving `kind`: the first directory wins; within one, a database made for that
 * kind before one that also provides it (a Country database before a City one), then by name.
 */
function choose(found: readonly FoundDatabase[], kind: GeoKind): FoundDatabase | undefined {
  const dedicated = (f: FoundDatabase) => (f.class.kinds[0] === kind ? 0 : 1);
  return found
    .filter((f) => f.class.kinds.includes(kind))
    .sort((a, b) => a.dirIndex - b.dirIndex || dedicated(a) - dedicated(b))[0];
}

/** Finds and opens the GeoIP databases; see the module documentation. */
export function openGeoIp(options: GeoIpOptions = {}): Promise<OpenedGeoIp> {
  try {
    return Promise.resolve(openGeoIpSync(options));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * {@linkcode openGeoIp}, synchronously: the enrichment opens GeoIP on its first lookup, which
 * answers at once.
 */
export function openGeoIpSync(options: GeoIpOptions = {}): OpenedGeoIp {
  const warnings: string[] = [];
  const open = opener(options.backend ?? "auto");
  const dirs = options.dirs ?? [];
  const found = findDatabases(
    [...dirs, ...(options.searchPaths ?? defaultSearchPaths())],
    warnings,
    { open, required: new Set(dirs) },
  );
  const served = new Map<FoundDatabase, GeoKind[]>();
  const missing: GeoKind[] = [];
  for (const kind of KINDS) {
    const db = choose(found, kind);
    if (db === undefined) missing.push(kind);
    else served.set(db, [...(served.get(db) ?? []), kind]);
  }
  for (const f of found) if (!served.has(f)) f.reader.close();
  const parts: GeoPart[] = [...served].map(([f, kinds]) => ({
    kinds,
    db: { reader: f.reader, schema: f.class.schema },
    embedded: false,
  }));
  if (options.embedded ?? true) {
    try {
      if (missing.includes("country")) {
        const reader = loadEmbeddedCountry();
        parts.push({ kinds: ["country"], db: { reader, schema: "flat" }, embedded: true });
      }
    } catch (err) {
      warnings.push((err as Error).message);
    }
    try {
      if (missing.includes("asn")) {
        const table = loadEmbeddedAsn();
        parts.push({ kinds: ["asn"], db: { table, file: table.file }, embedded: true });
      }
    } catch (err) {
      warnings.push((err as Error).message);
    }
  }
  return { geoip: new GeoIp(parts), warnings };
}
