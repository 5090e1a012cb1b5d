/**
 * The GeoIP data shipped with conntop, used for each kind for which no system database is
 * found: country from ip-location-db's geo-whois-asn-country (an .mmdb, read with mmdb-lib)
 * and AS number and organisation from ip-location-db's asn CSVs, converted into conntop's AS
 * range table (see ranges.ts). scripts/geodata.ts fetches the pinned packages below and writes
 * the files; the pins live here so that the script and the runtime name the same data.
 *
 * The files are taken as bytes from a URL relative to this module, never handed to
 * libmaxminddb as a path: inside a `deno compile` binary (built with
 * `--include data/geoip/`) they exist only in the binary's embedded file system, and are read
 * whole; elsewhere they are mapped (bytes.ts says which path is taken when). Requires
 * `--allow-read` (and `--allow-ffi` to map).
 *
 * @module
 */

import { fileBytes } from "./bytes.ts";
import { openLibReader } from "./lib_reader.ts";
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

/** Opens the embedded country database with mmdb-lib. */
export function loadEmbeddedCountry(): MmdbReader {
  return openLibReader(read(EMBEDDED_COUNTRY), EMBEDDED_COUNTRY.pathname);
}

/** Loads the embedded AS range table. */
export function loadEmbeddedAsn(): RangeTable {
  return new RangeTable(read(EMBEDDED_ASN), EMBEDDED_ASN.pathname);
}
