/**
 * Fetches and converts conntop's embedded GeoIP data (see src/enrich/geoip/embedded.ts):
 *
 * - downloads the two pinned npm tarballs from https://registry.npmjs.org into `.cache/geodata/`
 *   and checks each against its pinned sha512 `dist.integrity`;
 * - writes `data/geoip/country.mmdb` (geo-whois-asn-country.mmdb, unchanged),
 *   `data/geoip/asn-ranges.bin` (asn-ipv4.csv and asn-ipv6.csv converted to conntop's AS range
 *   table, see src/enrich/geoip/ranges.ts), `data/geoip/ATTRIBUTION.md` (the licences'
 *   notices) and last `data/geoip/manifest.json` (what was written, from which packages).
 *
 * Idempotent: when the manifest names the pinned packages and table format and the outputs
 * exist, it does nothing (`--force` rebuilds). The tarballs stay in the cache, where the tests
 * read the source CSV to check the table against.
 *
 * Usage: deno task geodata [--force] [--quiet]
 * Requires `--allow-net=registry.npmjs.org`, `--allow-read` of the repository and `--allow-write`
 * of data/geoip/ and .cache/geodata/.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseAddress } from "../src/conntrack/address.ts";
import { classifyDatabase } from "../src/enrich/geoip/discover.ts";
import { EMBEDDED_PACKAGES, type EmbeddedPackage } from "../src/enrich/geoip/embedded.ts";
import { openLibReader } from "../src/enrich/geoip/lib_reader.ts";
import {
  type AsRange,
  buildRangeTable,
  RANGE_TABLE_VERSION,
  RangeTable,
} from "../src/enrich/geoip/ranges.ts";

const ROOT = new URL("../", import.meta.url);
/** Where the outputs go. */
export const DATA_DIR: URL = new URL("data/geoip/", ROOT);
/** Where downloaded tarballs are kept (gitignored). */
export const CACHE_DIR: URL = new URL(".cache/geodata/", ROOT);
const REGISTRY = "https://registry.npmjs.org";

/** The name of a package's tarball, as the registry and the cache name it. */
function tarballName(pkg: EmbeddedPackage): string {
  return `${pkg.name.replace(/^@[^/]+\//, "")}-${pkg.version}.tgz`;
}

/** Where the cached tarball of a pinned package is (it may not exist yet). */
export function cachedTarball(pkg: EmbeddedPackage): URL {
  return new URL(tarballName(pkg), CACHE_DIR);
}

/** The manifest written last; its contents say which data the outputs hold. */
function manifest(): string {
  return JSON.stringify(
    {
      tableFormat: RANGE_TABLE_VERSION,
      packages: Object.fromEntries(
        Object.entries(EMBEDDED_PACKAGES).map(([k, p]) => [k, {
          name: p.name,
          version: p.version,
          integrity: p.integrity,
        }]),
      ),
      files: ["country.mmdb", "asn-ranges.bin", "ATTRIBUTION.md"],
    },
    null,
    2,
  ) + "\n";
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** True when the outputs exist and were made from the pinned packages. */
export async function upToDate(): Promise<boolean> {
  try {
    if (await Deno.readTextFile(new URL("manifest.json", DATA_DIR)) !== manifest()) return false;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  for (const f of ["country.mmdb", "asn-ranges.bin", "ATTRIBUTION.md"]) {
    if (!(await exists(new URL(f, DATA_DIR)))) return false;
  }
  return true;
}

/** The SRI string ("sha512-…") of `bytes`. */
async function integrityOf(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", bytes));
  return `sha512-${btoa(String.fromCharCode(...digest))}`;
}

async function writeAtomic(url: URL, bytes: Uint8Array): Promise<void> {
  const tmp = new URL(`${url.pathname}.tmp`, "file:");
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, url);
}

/** The tarball of `pkg`, from the cache or the registry, checked against its integrity. */
async function fetchTarball(pkg: EmbeddedPackage, log: (s: string) => void): Promise<Uint8Array> {
  const cached = cachedTarball(pkg);
  try {
    const bytes = await Deno.readFile(cached);
    if (await integrityOf(bytes) === pkg.integrity) return bytes;
    log(`cached ${tarballName(pkg)} does not match its integrity; downloading it again`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const url = `${REGISTRY}/${pkg.name}/-/${tarballName(pkg)}`;
  log(`downloading ${url}`);
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`Failed to download '${url}': ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Failed to download '${url}': HTTP ${res.status}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const got = await integrityOf(bytes);
  if (got !== pkg.integrity) {
    throw new Error(`Failed to verify '${url}': expected '${pkg.integrity}', got '${got}'`);
  }
  await Deno.mkdir(CACHE_DIR, { recursive: true });
  await writeAtomic(cached, bytes);
  return bytes;
}

/** The regular files of a gzipped (ustar) tarball whose names are in `wanted`. */
export async function untar(
  tgz: Uint8Array<ArrayBuffer>,
  wanted: ReadonlySet<string>,
): Promise<Map<string, Uint8Array>> {
  const tar = new Uint8Array(
    await new Response(new Blob([tgz]).stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer(),
  );
  const text = (a: number, b: number) => {
    const s = tar.subarray(a, b);
    const end = s.indexOf(0);
    return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
  };
  const out = new Map<string, Uint8Array>();
  for (let pos = 0; pos + 512 <= tar.length;) {
    if (tar[pos] === 0) break; // the end-of-archive blocks
    const prefix = text(pos + 345, pos + 500);
    const name = (prefix ? prefix + "/" : "") + text(pos, pos + 100);
    const size = parseInt(text(pos + 124, pos + 136).trim() || "0", 8);
    const type = String.fromCharCode(tar[pos + 156]!);
    if (!Number.isFinite(size) || pos + 512 + size > tar.length) {
      throw new Error(`Failed to read tarball: entry '${name}' is truncated`);
    }
    if ((type === "0" || type === "\0") && wanted.has(name)) {
      out.set(name, tar.slice(pos + 512, pos + 512 + size));
    }
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  for (const w of wanted) {
    if (!out.has(w)) throw new Error(`Failed to read tarball: '${w}' is missing`);
  }
  return out;
}

/** The fields of one CSV line (RFC 4180 quoting). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = "";
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error(`Failed to parse CSV line '${line}': unterminated quote`);
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(v);
    } else {
      const c = line.indexOf(",", i);
      fields.push(line.slice(i, c < 0 ? line.length : c));
      i = c < 0 ? line.length : c;
    }
    if (i >= line.length) return fields;
    if (line[i] !== ",") throw new Error(`Failed to parse CSV line '${line}': text after a quote`);
    i++;
  }
}

function addressValue(text: string, family: 2 | 10): bigint {
  const a = parseAddress(text);
  if (a === undefined || a.family !== family) {
    throw new Error(`Failed to parse address '${text}': expected IPv${family === 2 ? 4 : 6}`);
  }
  let v = 0n;
  for (const b of a.bytes.subarray(0, family === 2 ? 4 : 16)) v = (v << 8n) | BigInt(b);
  return v;
}

/** The rows of ip-location-db's asn-ipv4.csv or asn-ipv6.csv. */
export function parseAsnCsv(csv: string, family: 2 | 10): AsRange[] {
  const rows: AsRange[] = [];
  for (const line of csv.split("\n")) {
    if (line.trim() === "") continue;
    const f = parseCsvLine(line.replace(/\r$/, ""));
    if (f.length !== 4) throw new Error(`Failed to parse CSV line '${line}': expected 4 fields`);
    const asn = Number(f[2]);
    if (!/^\d+$/.test(f[2]!) || asn > 0xffffffff) {
      throw new Error(`Failed to parse CSV line '${line}': invalid AS number '${f[2]}'`);
    }
    rows.push({
      start: addressValue(f[0]!, family),
      end: addressValue(f[1]!, family),
      asn,
      org: f[3]!,
    });
  }
  return rows;
}

/** "2.3.2026061719" → 2026-06-17 19:00 UTC, in seconds: when ip-location-db published it. */
export function versionEpoch(version: string): number {
  const m = /(\d{4})(\d{2})(\d{2})(\d{2})$/.exec(version);
  if (m === null) throw new Error(`Failed to read a date from version '${version}'`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!) / 1000;
}

/**
 * `text` filled into lines of at most 100 columns, as `deno fmt` wraps Markdown prose (which
 * it does not do the same way around inline code with spaces: keep those out of `text`).
 */
function wrap(text: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > 100) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines.join("\n");
}

function attribution(country: Map<string, Uint8Array>, asn: Map<string, Uint8Array>): string {
  // The licences' own notices are quoted verbatim, in code blocks so that nothing reflows them.
  const notice = (m: Map<string, Uint8Array>, f: string) =>
    "```text\n" + new TextDecoder().decode(m.get(f)).replace(/\r\n/g, "\n").trim() + "\n```";
  const c = EMBEDDED_PACKAGES.country, a = EMBEDDED_PACKAGES.asn;
  return [
    "# Embedded GeoIP data",
    wrap(
      "conntop ships GeoIP data that is used when no GeoIP database is installed. It is generated " +
        "by scripts/geodata.ts (the geodata task) from two npm packages of the " +
        "[ip-location-db](https://github.com/sapics/ip-location-db) project. This file is " +
        "generated too; do not edit it.",
    ),
    `## Country: \`${c.name}@${c.version}\``,
    wrap(
      "`data/geoip/country.mmdb` is `geo-whois-asn-country.mmdb` from that package, unchanged. " +
        "The package is published under CC0 1.0 " +
        "(https://creativecommons.org/publicdomain/zero/1.0/). It is built from GeoFeed, WHOIS " +
        "and ASN data; the WHOIS and ASN data come from the Number Resource Organization (NRO, " +
        "https://www.nro.net/), whose notice is:",
    ),
    notice(country, "package/NRO_LICENSE"),
    `## Autonomous systems: \`${a.name}@${a.version}\``,
    wrap(
      "`data/geoip/asn-ranges.bin` is converted from `asn-ipv4.csv` and `asn-ipv6.csv` of that " +
        "package: the address ranges, AS numbers and organisation names are unchanged; they are " +
        "stored in conntop's own range-table format (src/enrich/geoip/ranges.ts), and where two " +
        "ranges overlap, the one starting later is kept for the overlap. The data is licensed " +
        "under the Creative Commons Attribution 4.0 International License " +
        "(https://creativecommons.org/licenses/by/4.0/) by RouteViews " +
        "(https://www.routeviews.org/), DB-IP (https://db-ip.com/) and the NRO " +
        "(https://www.nro.net/). Their notices, as shipped in the package:",
    ),
    notice(asn, "package/ROUTEVIEWS-LICENSE"),
    notice(asn, "package/DBIP-LICENSE"),
    notice(asn, "package/NRO_LICENSE"),
    "The package describes how it was made:",
    notice(asn, "package/MODIFICATIONS"),
    "IP to ASN data: IP Geolocation by DB-IP (https://db-ip.com).",
  ].join("\n\n") + "\n";
}

/** Options of {@linkcode geodata}. */
export interface GeodataOptions {
  /** Rebuild even when the outputs are up to date. */
  force?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Makes sure the embedded data exists; returns false when it already did (nothing done). */
export async function geodata(options: GeodataOptions = {}): Promise<boolean> {
  const log = options.log ?? (() => {});
  if (!options.force && await upToDate()) return false;
  const [countryTgz, asnTgz] = await Promise.all([
    fetchTarball(EMBEDDED_PACKAGES.country, log),
    fetchTarball(EMBEDDED_PACKAGES.asn, log),
  ]);
  const country = await untar(
    new Uint8Array(countryTgz),
    new Set(["package/geo-whois-asn-country.mmdb", "package/NRO_LICENSE"]),
  );
  const asn = await untar(
    new Uint8Array(asnTgz),
    new Set([
      "package/asn-ipv4.csv",
      "package/asn-ipv6.csv",
      "package/ROUTEVIEWS-LICENSE",
      "package/DBIP-LICENSE",
      "package/NRO_LICENSE",
      "package/MODIFICATIONS",
    ]),
  );
  const mmdb = country.get("package/geo-whois-asn-country.mmdb")!;
  const reader = openLibReader(mmdb, "geo-whois-asn-country.mmdb");
  const cls = classifyDatabase(reader.metadata.databaseType);
  if (cls === null || !cls.kinds.includes("country")) {
    throw new Error(
      `Failed to convert geo-whois-asn-country.mmdb: unexpected database type '${reader.metadata.databaseType}'`,
    );
  }
  log("converting asn-ipv4.csv and asn-ipv6.csv");
  const dec = new TextDecoder();
  const table = buildRangeTable(
    parseAsnCsv(dec.decode(asn.get("package/asn-ipv4.csv")), 2),
    parseAsnCsv(dec.decode(asn.get("package/asn-ipv6.csv")), 10),
    {
      buildEpoch: versionEpoch(EMBEDDED_PACKAGES.asn.version),
      source: `${EMBEDDED_PACKAGES.asn.name}@${EMBEDDED_PACKAGES.asn.version}`,
    },
  );
  new RangeTable(table, "asn-ranges.bin"); // fails here, not at run time, if it is malformed
  await Deno.mkdir(DATA_DIR, { recursive: true });
  // The manifest goes first (removed) and last (written), so an interrupted run is redone.
  await Deno.remove(new URL("manifest.json", DATA_DIR)).catch(() => {});
  await writeAtomic(new URL("country.mmdb", DATA_DIR), mmdb);
  await writeAtomic(new URL("asn-ranges.bin", DATA_DIR), table);
  await writeAtomic(
    new URL("ATTRIBUTION.md", DATA_DIR),
    new TextEncoder().encode(attribution(country, asn)),
  );
  await writeAtomic(new URL("manifest.json", DATA_DIR), new TextEncoder().encode(manifest()));
  log(
    `wrote ${DATA_DIR.pathname}: country.mmdb ${mmdb.length} bytes, asn-ranges.bin ${table.length} bytes`,
  );
  return true;
}

if (import.meta.main) {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: { force: { type: "boolean" }, quiet: { type: "boolean" } },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`geodata: ${(err as Error).message}`);
    Deno.exit(2);
  }
  const log = args.quiet ? undefined : (line: string) => console.error(`geodata: ${line}`);
  try {
    const done = await geodata({ force: args.force, log });
    if (!done) log?.(`up to date: ${DATA_DIR.pathname}`);
  } catch (err) {
    console.error(`geodata: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
