/**
 * Finding GeoIP databases: the directories searched, and what each *.mmdb file in them is,
 * told by its metadata (`database_type`), never by its name alone: a GeoLite2 Country database
 * saved as "foo.mmdb" is still found.
 *
 * A file that cannot be opened (corrupt, truncated, not a MaxMind DB) or whose type is not
 * one conntop reads becomes a warning naming the file; the others keep working. Requires
 * `--allow-read` and `--allow-env` (for `HOME`).
 *
 * @module
 */

import type { MmdbReader } from "./reader.ts";

/** What a database can answer. */
export type GeoKind = "country" | "asn" | "city";

/**
 * How records are shaped: "maxmind" as GeoLite2/GeoIP2 and DB-IP's compatible files
 * (`country.iso_code`, `city.names.en`, …); "flat" as ip-location-db's files
 * (`country_code`, `city` as a plain string).
 */
export type RecordSchema = "maxmind" | "flat";

/** A recognised `database_type`. */
export interface DatabaseClass {
  /** The kinds it provides; a City database provides the country too. */
  kinds: readonly GeoKind[];
  /** How its records are shaped. */
  schema: RecordSchema;
}

const COUNTRY: readonly GeoKind[] = ["country"];
const ASN: readonly GeoKind[] = ["asn"];
const CITY: readonly GeoKind[] = ["city", "country"];
const ALL: readonly GeoKind[] = ["city", "country", "asn"];

// MaxMind's and DB-IP's own types. DB-IP marks some files "DBIP-… (compat=GeoLite2-ASN)";
// the suffix is dropped before matching.
const KNOWN_TYPES: readonly [RegExp, readonly GeoKind[]][] = [
  [/^(GeoLite2|GeoIP2)-Country$/, COUNTRY],
  [/^DBIP-Country(-Lite)?$/, COUNTRY],
  [/^(GeoLite2|GeoIP2)-City(-[A-Za-z-]+)?$/, CITY],
  [/^DBIP-City(-Lite)?$/, CITY],
  [/^DBIP-Location$/, CITY],
  [/^(GeoLite2|GeoIP2)-ASN$/, ASN],
  [/^GeoIP2-ISP$/, ASN],
  [/^DBIP-(ASN|ISP)(-Lite)?$/, ASN],
  [/^GeoIP2-Enterprise$/, ALL],
  [/^DBIP-Location-ISP$/, ALL],
];

// ip-location-db's files: "country ipvAll", "ASN ipv4", "GEOLITE2-CITY ipv6",
// "GEO-WHOIS-ASN-COUNTRY ipv4", … — the word before the address family names the kind.
const FLAT_TYPE = /(?:^|[-_ ])(country|asn|city)[ _-]ipv(?:4|6|all)$/i;

/** What a `database_type` provides, or null when conntop does not read that type. */
export function classifyDatabase(databaseType: string): DatabaseClass | null {
  const type = databaseType.replace(/\s*\(compat=[^)]*\)\s*$/, "").trim();
  for (const [re, kinds] of KNOWN_TYPES) if (re.test(type)) return { kinds, schema: "maxmind" };
  const flat = FLAT_TYPE.exec(type);
  if (flat !== null) {
    const word = flat[1]!.toLowerCase();
    return { kinds: word === "city" ? CITY : word === "asn" ? ASN : COUNTRY, schema: "flat" };
  }
  return null;
}

/**
 * The system directories searched after `--geoip-dir`, as the original conntop (plus
 * /usr/share/GeoIP, where Debian's geoipupdate and some packages put them).
 */
export function defaultSearchPaths(): string[] {
  const home = Deno.env.get("HOME");
  return [
    ...(home ? [`${home}/.local/share/GeoIP`] : []),
    "/usr/local/share/GeoIP",
    "/var/lib/GeoIP",
    "/usr/share/GeoIP",
  ];
}

/** A usable database found in a directory. */
export interface FoundDatabase {
  /** Its path. */
  file: string;
  /** Its index in the list of directories searched (lower wins). */
  dirIndex: number;
  /** The open database. */
  reader: MmdbReader;
  /** What its `database_type` says it provides. */
  class: DatabaseClass;
}

/** Options of {@linkcode findDatabases}. */
export interface FindDatabasesOptions {
  /** Opens one file with the chosen backend; throws when the file is not a usable database. */
  open: (path: string) => MmdbReader;
  /**
   * Directories that must exist (those given with `--geoip-dir`): a missing one is a warning.
   * The system paths are searched only when present.
   */
  required?: ReadonlySet<string>;
}

/** Checks what both backends must agree a file is before it is used. */
function checkMetadata(reader: MmdbReader): void {
  const md = reader.metadata;
  if (md.binaryFormatMajorVersion !== 2) {
    throw new Error(`unsupported format version ${md.binaryFormatMajorVersion}`);
  }
  if (md.ipVersion !== 4 && md.ipVersion !== 6) {
    throw new Error(`invalid ip_version ${md.ipVersion}`);
  }
  if (![24, 28, 32].includes(md.recordSize)) {
    throw new Error(`unsupported record_size ${md.recordSize}`);
  }
  // A probe: a corrupt tree or data section throws here rather than in the first lookup.
  reader.lookup(4, new Uint8Array([1, 1, 1, 1]));
  if (md.ipVersion === 6) {
    reader.lookup(6, new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(12).fill(0)]));
  }
}

/** The *.mmdb files directly in `dir`, sorted by name; [] when it does not exist. */
function mmdbFiles(dir: string, required: boolean, warnings: string[]): string[] {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (!e.isDirectory && e.name.toLowerCase().endsWith(".mmdb")) names.push(e.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      if (required) warnings.push(`Failed to search GeoIP directory '${dir}': it does not exist`);
      return [];
    }
    if (err instanceof Deno.errors.NotCapable) throw err;
    warnings.push(`Failed to search GeoIP directory '${dir}': ${(err as Error).message}`);
    return [];
  }
  return names.sort().map((n) => `${dir.replace(/\/+$/, "")}/${n}`);
}

/**
 * Opens every *.mmdb file in `dirs` (in that order) and classifies it by its metadata. Files
 * that fail or are of an unknown type are closed and reported in `warnings`. Synchronous: the
 * enrichment opens GeoIP on its first lookup, which answers at once (a directory listing and
 * a few opened files, once per run).
 */
export function findDatabases(
  dirs: readonly string[],
  warnings: string[],
  options: FindDatabasesOptions,
): FoundDatabase[] {
  const found: FoundDatabase[] = [];
  const seen = new Set<string>();
  for (const [dirIndex, dir] of dirs.entries()) {
    for (const file of mmdbFiles(dir, options.required?.has(dir) ?? false, warnings)) {
      let real = file;
      try {
        real = Deno.realPathSync(file);
      } catch { /* reported by open below */ }
      if (seen.has(real)) continue; // the same file through two search paths or a symlink
      seen.add(real);
      let reader: MmdbReader;
      try {
        reader = options.open(file);
      } catch (err) {
        if (err instanceof Deno.errors.NotCapable) throw err;
        warnings.push(`Failed to open GeoIP database '${file}': ${messageOf(err)}`);
        continue;
      }
      try {
        checkMetadata(reader);
      } catch (err) {
        reader.close();
        warnings.push(`Failed to open GeoIP database '${file}': ${messageOf(err)}`);
        continue;
      }
      const cls = classifyDatabase(reader.metadata.databaseType);
      if (cls === null) {
        reader.close();
        warnings.push(
          `Ignored GeoIP database '${file}': unknown database type '${reader.metadata.databaseType}'`,
        );
        continue;
      }
      found.push({ file, dirIndex, reader, class: cls });
    }
  }
  return found;
}

/** An error's message without a repeated "Failed to open MaxMind DB '…': " prefix. */
function messageOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/^Failed to open MaxMind DB '[^']*': /, "");
}
