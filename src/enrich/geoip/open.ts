/**
 * `openGeoIp`: finds the GeoIP databases (`--geoip-dir` first, then the system directories),
 * chooses one per kind, falls back to the embedded data for the kinds with none, and returns
 * a {@linkcode GeoIp} with the warnings to show.
 *
 * mmdb-lib (lib_reader.ts) is loaded only when a file needs it: it brings Node's `Buffer` and
 * the npm compatibility layer along, about 13 MB of a small process. With libmaxminddb
 * installed, the embedded country database is a file like any other (when it is a real file:
 * not inside a `deno compile` binary), so nothing needs mmdb-lib.
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
import { EMBEDDED_COUNTRY, loadEmbeddedAsn, loadEmbeddedCountry } from "./embedded.ts";
import { openFfiReader } from "./ffi_reader.ts";
import { GeoIp, type GeoPart } from "./geoip.ts";
import type { MmdbReader } from "./reader.ts";
import { isRealFile } from "./bytes.ts";

/** The mmdb-lib backend's module (lib_reader.ts), once loaded. */
export type LibReaderModule = typeof import("./lib_reader.ts");

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

/** Whether libmaxminddb can be loaded (throws other errors, e.g. no --allow-ffi). */
function ffiLoads(): boolean {
  try {
    maxminddb();
    return true;
  } catch (err) {
    if (err instanceof LibraryLoadError) return false;
    throw err;
  }
}

function needLib(lib: LibReaderModule | undefined): LibReaderModule {
  if (lib === undefined) throw new Error("Failed to open GeoIP: mmdb-lib was not loaded");
  return lib;
}

/** The function opening a file with the backend asked for. */
function opener(
  backend: "auto" | "ffi" | "lib",
  lib: LibReaderModule | undefined,
): (path: string) => MmdbReader {
  if (backend === "lib" || (backend === "auto" && !ffiLoads())) {
    return (path) => needLib(lib).readLibReaderSync(path);
  }
  maxminddb(); // "ffi": a LibraryLoadError goes to the caller
  return openFfiReader;
}

/**
 * Whether {@linkcode openGeoIpSync} with `options` needs mmdb-lib: the "lib" backend, no
 * libmaxminddb, or an embedded country database that libmaxminddb cannot open (inside a
 * `deno compile` binary it is no real file). Without `--allow-ffi`, true.
 */
export function needsLibReader(options: GeoIpOptions = {}): boolean {
  const backend = options.backend ?? "auto";
  if (backend === "lib") return true;
  let ffi: boolean;
  try {
    ffi = ffiLoads();
  } catch {
    return true;
  }
  if (!ffi) return backend === "auto";
  return (options.embedded ?? true) && !isRealFile(EMBEDDED_COUNTRY);
}

/** Loads mmdb-lib when `options` need it ({@linkcode needsLibReader}). */
export async function loadLibReader(
  options: GeoIpOptions = {},
): Promise<LibReaderModule | undefined> {
  return needsLibReader(options) ? await import("./lib_reader.ts") : undefined;
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
export async function openGeoIp(options: GeoIpOptions = {}): Promise<OpenedGeoIp> {
  return openGeoIpSync(options, await loadLibReader(options));
}

/**
 * {@linkcode openGeoIp}, synchronously, given mmdb-lib's module when
 * {@linkcode needsLibReader} says it is needed ({@linkcode loadLibReader}).
 */
export function openGeoIpSync(
  options: GeoIpOptions = {},
  lib?: LibReaderModule,
): OpenedGeoIp {
  const warnings: string[] = [];
  const backend = options.backend ?? "auto";
  const open = opener(backend, lib);
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
        const reader = loadEmbeddedCountry(open, lib);
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
