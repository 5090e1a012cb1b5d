/**
 * Fixtures of the GeoIP tests: GeoLite2-shaped Country, ASN and City databases written with
 * the test's MaxMind DB writer, deterministic public addresses spread over the address space,
 * and the addresses on and around network boundaries.
 *
 * @module
 */

import { formatIPv4, formatIPv6, parsePrefix } from "../../../src/conntrack/address.ts";
import {
  double,
  MmdbWriter,
  type MmdbWriterOptions,
  uint16,
  type WriterValue,
} from "../../_helpers/mmdb_writer.ts";
import { prng as random } from "../../../tools/prng.ts";

/** An address as family and bytes, with its text. */
export interface TestAddress {
  family: 4 | 6;
  bytes: Uint8Array;
  text: string;
}

function v4(n: number): TestAddress {
  const bytes = new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  return { family: 4, bytes, text: formatIPv4(bytes) };
}

function v6(bytes: Uint8Array): TestAddress {
  return { family: 6, bytes, text: formatIPv6(bytes) };
}

// Not public: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24,
// 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24, 224/3.
const V4_NOT_PUBLIC: [number, number][] = [
  [0x00000000, 8],
  [0x0a000000, 8],
  [0x64400000, 10],
  [0x7f000000, 8],
  [0xa9fe0000, 16],
  [0xac100000, 12],
  [0xc0000000, 24],
  [0xc0000200, 24],
  [0xc0a80000, 16],
  [0xc6120000, 15],
  [0xc6336400, 24],
  [0xcb007100, 24],
  [0xe0000000, 3],
];

/** Whether an IPv4 address (as a number) is public. */
export function isPublicV4(n: number): boolean {
  return !V4_NOT_PUBLIC.some(([net, len]) => (n >>> (32 - len)) === (net >>> (32 - len)));
}

/** `count` public IPv4 addresses spread over the space: one per equal slice, at random in it. */
export function publicV4(count: number, seed: number): TestAddress[] {
  const rnd = random(seed);
  const out: TestAddress[] = [];
  const slice = 2 ** 32 / count;
  for (let i = 0; out.length < count && i < count * 4; i++) {
    const n = Math.floor((i % count) * slice + rnd() * slice) >>> 0;
    if (isPublicV4(n)) out.push(v4(n));
  }
  return out;
}

/** `count` global unicast IPv6 addresses (2000::/3), spread, excluding 2001:db8::/32. */
export function publicV6(count: number, seed: number): TestAddress[] {
  const rnd = random(seed);
  const out: TestAddress[] = [];
  for (let i = 0; out.length < count; i++) {
    const b = new Uint8Array(16);
    for (let k = 0; k < 16; k++) b[k] = Math.floor(rnd() * 256);
    // Spread the top 16 bits evenly over 2000::/3; make some fall in the busy 2001:/16,
    // 2400::/6 and 2a00::/8 where real allocations are.
    const top = i % 4 === 0
      ? 0x2001
      : i % 4 === 1
      ? 0x2400 + Math.floor(rnd() * 0x0c00)
      : i % 4 === 2
      ? 0x2a00 + Math.floor(rnd() * 0x100)
      : 0x2000 + Math.floor((i / count) * 0x2000);
    b[0] = top >> 8;
    b[1] = top & 255;
    if (top === 0x2001 && b[2] === 0x0d && b[3] === 0xb8) continue;
    out.push(v6(b));
  }
  return out;
}

/** The first and last addresses of `network`, and the ones just outside it. */
export function boundaryAddresses(network: string): TestAddress[] {
  const p = parsePrefix(network)!;
  if (p.family === 2) {
    const n = ((p.bytes[0]! << 24) | (p.bytes[1]! << 16) | (p.bytes[2]! << 8) | p.bytes[3]!) >>> 0;
    const size = 2 ** (32 - p.length);
    const first = n - (n % size);
    const last = first + size - 1;
    return [first - 1, first, last, last + 1].filter((x) => x >= 0 && x < 2 ** 32).map(v4);
  }
  let n = 0n;
  for (const b of p.bytes) n = (n << 8n) | BigInt(b);
  const size = 1n << BigInt(128 - p.length);
  const first = n - (n % size);
  const last = first + size - 1n;
  return [first - 1n, first, last, last + 1n].filter((x) => x >= 0n && x < 1n << 128n).map(
    (x) => {
      const b = new Uint8Array(16);
      for (let i = 15; i >= 0; i--, x >>= 8n) b[i] = Number(x & 255n);
      return v6(b);
    },
  );
}

interface Country {
  iso: string;
  geonameId: number;
  names: Record<string, string>;
  continent: { code: string; geonameId: number; names: Record<string, string> };
}

const EU = { code: "EU", geonameId: 6255148, names: { en: "Europe", de: "Europa" } };
const NA = { code: "NA", geonameId: 6255149, names: { en: "North America", ja: "北アメリカ" } };
const AS = { code: "AS", geonameId: 6255147, names: { en: "Asia", "zh-CN": "亚洲" } };
const SA = { code: "SA", geonameId: 6255150, names: { en: "South America", pt: "América do Sul" } };

const COUNTRIES: Country[] = [
  { iso: "DE", geonameId: 2921044, names: { en: "Germany", de: "Deutschland" }, continent: EU },
  { iso: "US", geonameId: 6252001, names: { en: "United States", ja: "アメリカ" }, continent: NA },
  { iso: "JP", geonameId: 1861060, names: { en: "Japan", ja: "日本" }, continent: AS },
  { iso: "BR", geonameId: 3469034, names: { en: "Brazil", pt: "Brasil" }, continent: SA },
  { iso: "FR", geonameId: 3017382, names: { en: "France", fr: "France" }, continent: EU },
  // No English name: the reader must fall back to the runtime's name for the code.
  { iso: "CH", geonameId: 2658434, names: { de: "Schweiz", fr: "Suisse" }, continent: EU },
];

const CITIES = ["Berlin", "Springfield", "Ōsaka", "São Paulo", "Saint-Étienne", "Zürich"];

function countryPart(c: Country): Record<string, WriterValue> {
  return {
    continent: {
      code: c.continent.code,
      geoname_id: c.continent.geonameId,
      names: c.continent.names,
    },
    country: {
      geoname_id: c.geonameId,
      ...(c.continent.code === "EU" ? { is_in_european_union: true } : {}),
      iso_code: c.iso,
      names: c.names,
    },
    registered_country: { geoname_id: c.geonameId, iso_code: c.iso, names: c.names },
  };
}

/** A GeoLite2-Country record; every seventh has only a continent (as MaxMind's EU ranges). */
function countryRecord(i: number): WriterValue {
  const c = COUNTRIES[i % COUNTRIES.length]!;
  if (i % 7 === 6) {
    return {
      continent: { code: "EU", geoname_id: EU.geonameId, names: EU.names },
      registered_country: { geoname_id: c.geonameId, iso_code: c.iso, names: c.names },
    };
  }
  return countryPart(c);
}

/** A GeoLite2-ASN record; every ninth has no organisation. */
function asnRecord(i: number): WriterValue {
  const asn = 1000 + i * 7919 % 400000;
  return i % 9 === 8
    ? { autonomous_system_number: asn }
    : { autonomous_system_number: asn, autonomous_system_organization: `AS ${asn} Networks, Inc.` };
}

/** A GeoLite2-City record; every fifth has no city. */
function cityRecord(i: number): WriterValue {
  const c = COUNTRIES[i % COUNTRIES.length]!;
  const city = CITIES[i % CITIES.length]!;
  return {
    ...(i % 5 === 4 ? {} : {
      city: { geoname_id: 100000 + i, names: { en: city, de: city, ru: "Город" } },
    }),
    ...countryPart(c),
    location: {
      accuracy_radius: uint16(10 + i % 1000),
      latitude: double(-60 + (i * 37) % 120 + 0.1234),
      longitude: -170 + (i * 53) % 340 + 0.5678,
      time_zone: "Europe/Berlin",
    },
    postal: { code: String(10000 + i) },
    subdivisions: [{ geoname_id: 200000 + i, iso_code: "BE", names: { en: "Land", de: "Land" } }],
  };
}

/** Networks to insert: random prefixes over the public space, some nested in others. */
export function networks(seed: number, ipVersion: 4 | 6): string[] {
  const rnd = random(seed);
  const out: string[] = [];
  for (const a of publicV4(120, seed + 1)) {
    const len = 8 + Math.floor(rnd() * 23);
    out.push(`${a.text}/${len}`);
    if (rnd() < 0.2) out.push(`${a.text}/${Math.min(32, len + 4)}`); // nested, later wins
  }
  if (ipVersion === 6) {
    for (const a of publicV6(80, seed + 2)) {
      const len = rnd() < 0.1 ? 128 : 16 + Math.floor(rnd() * 49);
      out.push(`${a.text}/${len}`);
      if (rnd() < 0.2) out.push(`${a.text}/${Math.min(128, len + 8)}`);
    }
  }
  return out;
}

/** A GeoLite2-shaped test database: its file, the networks written and their kind. */
export interface TestDatabase {
  file: string;
  networks: string[];
  ipVersion: 4 | 6;
}

/** Writes a database of `kind` records over {@linkcode networks} into `file`. */
export async function writeDatabase(
  file: string,
  kind: "country" | "asn" | "city",
  options: Pick<MmdbWriterOptions, "databaseType" | "ipVersion" | "recordSize">,
  seed: number,
): Promise<TestDatabase> {
  const w = new MmdbWriter({ ...options, languages: ["de", "en", "ja"] });
  const nets = networks(seed, options.ipVersion);
  const record = kind === "country" ? countryRecord : kind === "asn" ? asnRecord : cityRecord;
  nets.forEach((n, i) => w.insert(n, record(i)));
  await Deno.writeFile(file, w.toBytes());
  return { file, networks: nets, ipVersion: options.ipVersion };
}

/** The GeoLite2 Country, ASN and City files of the tests, written into `dir`. */
export async function writeGeoLite2(dir: string): Promise<{
  country: TestDatabase;
  asn: TestDatabase;
  city: TestDatabase;
}> {
  return {
    country: await writeDatabase(
      `${dir}/GeoLite2-Country.mmdb`,
      "country",
      { databaseType: "GeoLite2-Country", ipVersion: 6, recordSize: 24 },
      11,
    ),
    asn: await writeDatabase(
      `${dir}/GeoLite2-ASN.mmdb`,
      "asn",
      { databaseType: "GeoLite2-ASN", ipVersion: 6, recordSize: 28 },
      22,
    ),
    city: await writeDatabase(
      `${dir}/GeoLite2-City.mmdb`,
      "city",
      { databaseType: "GeoLite2-City", ipVersion: 6, recordSize: 32 },
      33,
    ),
  };
}

/**
 * The addresses a database is checked at: around the boundaries of (up to) `boundaries` of its
 * networks, and `spread` addresses of each family spread over the public space.
 */
export function addressesFor(db: TestDatabase, boundaries: number, spread: number): TestAddress[] {
  const step = Math.max(1, Math.floor(db.networks.length / boundaries));
  const out: TestAddress[] = [];
  for (let i = 0; i < db.networks.length; i += step) {
    out.push(...boundaryAddresses(db.networks[i]!));
  }
  out.push(...publicV4(spread, 101));
  if (db.ipVersion === 6) out.push(...publicV6(spread, 202));
  const seen = new Set<string>();
  return out.filter((a) => !seen.has(a.text) && seen.add(a.text));
}
