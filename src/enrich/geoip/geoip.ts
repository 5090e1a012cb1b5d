/**
 * {@linkcode GeoIp}: the databases chosen for each kind (country, AS, city), looked up
 * together for one address. Built by `openGeoIp` (open.ts); {@linkcode GeoIp.empty} knows
 * nothing, for `--no-geoip`.
 *
 * Lookups decode only the fields conntop shows, with one selector per database, so a City
 * database that also serves the country is searched once.
 *
 * @module
 */

import { type GeoInfo, NO_GEO } from "../../core/mod.ts";
import type { GeoKind, RecordSchema } from "./discover.ts";
import type { RangeTable } from "./ranges.ts";
import { COUNTRY_NAMES } from "./_country_names.ts";
import type { FieldPath, MmdbReader, Scalar, Selector } from "./reader.ts";

/** Where the answers of one kind come from, as `--version` and the details dialog list them. */
export interface GeoSource {
  /** What it answers. */
  kind: GeoKind;
  /** The database file (or the embedded data's path). */
  file: string;
  /** Its `database_type`, or a description of the embedded table. */
  type: string;
  /** What reads it: a file through libmaxminddb or mmdb-lib, or the embedded data. */
  backend: "libmaxminddb" | "mmdb-lib" | "embedded";
  /** When the data was built, seconds since the epoch. */
  buildEpoch?: number;
}

/** A database serving some kinds. */
export interface GeoPart {
  /** What it serves here (a City database may serve only the city when a Country one exists). */
  kinds: readonly GeoKind[];
  /** An .mmdb and how its records are shaped, or the embedded AS range table. */
  db: { reader: MmdbReader; schema: RecordSchema } | { table: RangeTable; file: string };
  /** True for the embedded data. */
  embedded: boolean;
}

type Fill = (family: 4 | 6, bytes: Uint8Array, out: GeoInfo) => void;

// Paths read per kind and schema; the order is the order of the selector's results.
const PATHS: Record<RecordSchema, Record<GeoKind, FieldPath[]>> = {
  maxmind: {
    country: [["country", "iso_code"], ["country", "names", "en"]],
    asn: [["autonomous_system_number"], ["autonomous_system_organization"]],
    city: [["city", "names", "en"]],
  },
  flat: {
    country: [["country_code"]],
    asn: [["autonomous_system_number"], ["autonomous_system_organization"]],
    city: [["city"]],
  },
};

const KIND_ORDER: readonly GeoKind[] = ["country", "asn", "city"];

function str(v: Scalar | null | undefined): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

function num(v: Scalar | null | undefined): number | null {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === "bigint" && v <= 0xffffffffn) return Number(v);
  return null;
}

let regionNames: Intl.DisplayNames | undefined;
const countryNames = new Map<string, string | null>();
/** ICU's names of the two-letter codes, from the table generated from it (read on first use). */
let twoLetterNames: Map<string, string> | undefined;

/**
 * The English name of an ISO 3166-1 code as the runtime's ICU data gives it, for databases
 * that carry only the code (the embedded one): null when ICU does not know it.
 *
 * Two-letter codes (every code a database carries) are read from a table generated from ICU
 * (_country_names.ts): asking ICU itself maps about 5 MB of its code and data into the process.
 * Anything else still goes to ICU.
 */
export function countryNameOf(code: string): string | null {
  let name = countryNames.get(code);
  if (name === undefined) {
    const upper = code.toUpperCase();
    if (/^[A-Z]{2}$/.test(upper)) {
      twoLetterNames ??= new Map(
        COUNTRY_NAMES.split("\n").filter((l) => l !== "").map((l) => [l.slice(0, 2), l.slice(3)]),
      );
      name = twoLetterNames.get(upper) ?? null;
    } else {
      try {
        regionNames ??= new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });
        name = regionNames.of(upper) ?? null;
      } catch {
        name = null; // not a well-formed region code
      }
    }
    countryNames.set(code, name);
  }
  return name;
}

function mmdbFill(reader: MmdbReader, schema: RecordSchema, kinds: readonly GeoKind[]): Fill {
  const wanted = KIND_ORDER.filter((k) => kinds.includes(k));
  const paths = wanted.flatMap((k) => PATHS[schema][k]);
  const select: Selector = reader.selector(paths);
  const country = wanted.includes("country");
  const asn = wanted.includes("asn");
  const city = wanted.includes("city");
  const named = schema === "maxmind";
  return (family, bytes, out) => {
    const v = select(family, bytes);
    if (v === null) return;
    let i = 0;
    if (country) {
      out.country = str(v[i++]);
      if (named) out.countryName = str(v[i++]);
      if (out.countryName === null && out.country !== null) {
        out.countryName = countryNameOf(out.country);
      }
    }
    if (asn) {
      out.asn = num(v[i++]);
      out.org = str(v[i++]);
    }
    if (city) out.city = str(v[i++]);
  };
}

function tableFill(table: RangeTable): Fill {
  return (family, bytes, out) => {
    const as = table.lookup(family, bytes);
    if (as === null) return;
    out.asn = as.asn;
    out.org = as.org === "" ? null : as.org;
  };
}

/** Whether the 16 `bytes` are an IPv4-mapped IPv6 address (::ffff:0:0/96). */
function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** The GeoIP databases in use; look addresses up with {@linkcode GeoIp.lookup}. */
export class GeoIp {
  #fills: Fill[];
  #sources: GeoSource[];
  #readers: MmdbReader[];

  /** Uses `parts` (each kind served by at most one part); see `openGeoIp` in open.ts. */
  constructor(parts: readonly GeoPart[]) {
    this.#fills = [];
    this.#sources = [];
    this.#readers = [];
    for (const p of parts) {
      if ("reader" in p.db) {
        const r = p.db.reader;
        this.#fills.push(mmdbFill(r, p.db.schema, p.kinds));
        this.#readers.push(r);
        for (const kind of p.kinds) {
          this.#sources.push({
            kind,
            file: r.file,
            type: r.metadata.databaseType,
            backend: p.embedded ? "embedded" : r.backend,
            buildEpoch: r.metadata.buildEpoch,
          });
        }
      } else {
        this.#fills.push(tableFill(p.db.table));
        for (const kind of p.kinds) {
          this.#sources.push({
            kind,
            file: p.db.file,
            type: `AS range table (${p.db.table.source})`,
            backend: "embedded",
            buildEpoch: p.db.table.buildEpoch,
          });
        }
      }
    }
    this.#sources.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
  }

  /** A GeoIp with no database: every lookup answers {@linkcode NO_GEO}. */
  static empty(): GeoIp {
    return new GeoIp([]);
  }

  /**
   * What the databases say about a public address: `family` 4 with 4 bytes, or 6 with 16.
   * {@linkcode NO_GEO} when none knows anything.
   */
  lookup(family: 4 | 6, bytes: Uint8Array): GeoInfo {
    if (this.#fills.length === 0) return NO_GEO;
    // ::ffff:a.b.c.d is how a dual-stack socket sees the IPv4 peer a.b.c.d: look that up (the
    // embedded data and the AS table have no alias for the mapped range; not every .mmdb has).
    if (family === 6 && isV4Mapped(bytes)) return this.lookup(4, bytes.subarray(12, 16));
    const out: GeoInfo = { country: null, countryName: null, asn: null, org: null, city: null };
    for (const fill of this.#fills) fill(family, bytes, out);
    if (
      out.country === null && out.countryName === null && out.asn === null && out.org === null &&
      out.city === null
    ) return NO_GEO;
    return out;
  }

  /** Where each kind's answers come from, country first, then AS, then city. */
  sources(): GeoSource[] {
    return this.#sources.map((s) => ({ ...s }));
  }

  /** Closes the databases (safe to call twice). */
  close(): void {
    for (const r of this.#readers) r.close();
    this.#readers = [];
    this.#fills = [];
  }
}
