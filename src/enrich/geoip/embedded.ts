/**
 * The GeoIP data shipped with conntop, used for each kind for which no system database is
 * found: country from ip-location-db's geo-whois-asn-country (an .mmdb, read with mmdb-lib)
 * and AS number and organisation from ip-location-db's asn CSVs, converted into conntop's AS
 * range table (see ranges.ts). scripts/geodata.ts fetches the pinned packages below and writes
 * the files; the pins live here so that the script and the runtime name the same data.
 *
 * Inside a `deno compile` binary (built with `--include data/geoip/`) the files exist only in
 * the binary's embedded file system: they are read whole as bytes, and the country database is
 * read with mmdb-lib. Elsewhere they are real files: the country database is opened as any
 * other (libmaxminddb maps it) and the AS table is mapped (bytes.ts says which path is taken
 * when). Requires `--allow-read` (and `--allow-ffi` to map).
 *
 * @module
 */

import { fileBytes, isRealFile } from "./bytes.ts";
import type { MmdbReader } from "./reader.ts";
import { RangeTable } from "./ranges.ts";

/** One pinned npm package of embedded data. */
export interface EmbeddedPackage {
  /** npm package name. */
  name: string;
  /** Its exact version. */
  version: string;
  /** npm's `dist.integrity` (SRI, sha512) of the tarball. */
  integrity: string;
  /** SPDX-style licence of the data. */
  license: string;
}

/** The data packages scripts/geodata.ts downloads (pinned, checked against `integrity`). */
export const EMBEDDED_PACKAGES = {
  country: {
    name: "@ip-location-db/geo-whois-asn-country-mmdb",
    version: "2.3.2026061719",
    integrity:
      "sha512-xemBDNQl4mCYDuVbqe3jKGKsVDykZGkfvebhtOh/3VGLadq8vsp7t7ontpMUt3hH7sAGT0eLDyJ99SV+0waxZg==",
    license: "CC0-1.0",
  },
  asn: {
    name: "@ip-location-db/asn",
    version: "2.3.2026061719",
    integrity:
      "sha512-PpqYi7wyEyWwunXBtl+y3Vi403SvNywotWwvmiYCOUtE0SVol/Sf492Ee+eErEznmGapxEQB2SAfrpXuZ9a+vQ==",
    license: "CC-BY-4.0",
  },
} as const satisfies Record<string, EmbeddedPackage>;

/** Where the embedded data lives (data/geoip/ at the repository's root). */
export const EMBEDDED_DIR: URL = new URL("../../../data/geoip/", import.meta.url);
/** The country database (geo-whois-asn-country.mmdb, unchanged). */
export const EMBEDDED_COUNTRY: URL = new URL("country.mmdb", EMBEDDED_DIR);
/** The AS range table. */
export const EMBEDDED_ASN: URL = new URL("asn-ranges.bin", EMBEDDED_DIR);

/** The embedded data is not there: scripts/geodata.ts has not run. */
export class EmbeddedDataMissingError extends Error {
  /** `url` is the missing file; `options.cause` the NotFound error. */
  constructor(url: URL, options?: ErrorOptions) {
    super(
      `Failed to load embedded GeoIP data '${url.pathname}': it is missing (run 'deno task geodata')`,
      options,
    );
    this.name = "EmbeddedDataMissingError";
  }
}

function read(url: URL): Uint8Array {
  try {
    return fileBytes(url).bytes;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new EmbeddedDataMissingError(url, { cause: err });
    }
    throw err;
  }
}

/**
 * Opens the embedded country database: with `open` (libmaxminddb) when it is a real file,
 * else from its bytes with mmdb-lib's module `lib`.
 */
export function loadEmbeddedCountry(
  open?: (path: string) => MmdbReader,
  lib?: typeof import("./lib_reader.ts"),
): MmdbReader {
  if (open !== undefined && isRealFile(EMBEDDED_COUNTRY)) return open(EMBEDDED_COUNTRY.pathname);
  const bytes = read(EMBEDDED_COUNTRY);
  if (lib === undefined) {
    throw new Error("Failed to open embedded GeoIP data: mmdb-lib was not loaded");
  }
  return lib.openLibReader(bytes, EMBEDDED_COUNTRY.pathname);
}

/** Loads the embedded AS range table. */
export function loadEmbeddedAsn(): RangeTable {
  return new RangeTable(read(EMBEDDED_ASN), EMBEDDED_ASN.pathname);
}
