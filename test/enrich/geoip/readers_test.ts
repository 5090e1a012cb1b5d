/**
 * Tests of the two MaxMind DB backends (libmaxminddb through FFI, mmdb-lib) and of GeoIp over
 * them, against the reference reader mmdblookup: test-written GeoLite2 Country, ASN and City
 * files (IPv6 trees holding IPv4 in ::/96, 24-, 28- and 32-bit records), an IPv4-only file,
 * and the embedded country database. Both backends must give mmdblookup's records, and the
 * same records as each other.
 *
 * Requires libmaxminddb and mmdblookup (scripts/setup.sh) and the embedded data
 * (`deno task geodata`); a missing one fails the tests.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Reader } from "mmdb-lib";
import { type GeoInfo, NO_GEO } from "../../../src/core/enrichment.ts";
import { EMBEDDED_COUNTRY } from "../../../src/enrich/geoip/embedded.ts";
import { openFfiReader } from "../../../src/enrich/geoip/ffi_reader.ts";
import { readLibReader } from "../../../src/enrich/geoip/lib_reader.ts";
import { openGeoIp } from "../../../src/enrich/geoip/open.ts";
import type { MmdbReader } from "../../../src/enrich/geoip/reader.ts";
import { assert, assertEquals } from "../../_helpers/assert.ts";
import {
  assertRecordMatches,
  mmdblookupMany,
  mmdblookupMetadata,
} from "../../_helpers/mmdblookup.ts";
import {
  addressesFor,
  boundaryAddresses,
  publicV4,
  publicV6,
  type TestAddress,
  type TestDatabase,
  writeDatabase,
  writeGeoLite2,
} from "./_fixtures.ts";

/** Compares both backends with mmdblookup for `addrs` of `file`; returns the references. */
async function compareBackends(
  file: string,
  addrs: readonly TestAddress[],
): Promise<Map<string, unknown | null>> {
  const ref = await mmdblookupMany(file, addrs.map((a) => a.text));
  const readers: MmdbReader[] = [openFfiReader(file), await readLibReader(file)];
  try {
    const md = await mmdblookupMetadata(file);
    for (const r of readers) {
      assertEquals(r.metadata, {
        databaseType: md.databaseType,
        ipVersion: md.ipVersion,
        nodeCount: md.nodeCount,
        recordSize: md.recordSize,
        binaryFormatMajorVersion: Number(md.binaryFormat.split(".")[0]),
        buildEpoch: md.buildEpoch,
      }, `${r.backend} metadata of ${file}`);
    }
    for (const a of addrs) {
      const [ffi, lib] = readers.map((r) => r.lookup(a.family, a.bytes));
      assertRecordMatches(ffi, ref.get(a.text), `${a.text} in ${file} (libmaxminddb)`);
      assertRecordMatches(lib, ref.get(a.text), `${a.text} in ${file} (mmdb-lib)`);
      assertEquals(ffi, lib, `${a.text} in ${file}: libmaxminddb and mmdb-lib differ`);
    }
  } finally {
    for (const r of readers) r.close();
  }
  // Not a vacuous comparison: many addresses are found, and some are not.
  const hits = [...ref.values()].filter((v) => v !== null).length;
  assert(
    hits >= ref.size / 8 && hits < ref.size,
    `${file}: ${hits} of ${ref.size} addresses found`,
  );
  return ref;
}

type Rec = Record<string, unknown> | null | undefined;
const get = (r: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Rec)?.[k as keyof Rec], r);

/** The English name ICU gives a code, as GeoIp falls back to when a database has none. */
function icuName(code: string): string | null {
  return new Intl.DisplayNames(["en"], { type: "region", fallback: "none" }).of(code) ?? null;
}

/** The GeoInfo the references imply, by the rules GeoIp documents. */
function expectedGeo(country: unknown, asn: unknown, city: unknown): GeoInfo {
  const code = (get(country, "country", "iso_code") as string | undefined) ?? null;
  const g: GeoInfo = {
    country: code,
    countryName: (get(country, "country", "names", "en") as string | undefined) ??
      (code === null ? null : icuName(code)),
    asn: (get(asn, "autonomous_system_number") as number | undefined) ?? null,
    org: (get(asn, "autonomous_system_organization") as string | undefined) ?? null,
    city: (get(city, "city", "names", "en") as string | undefined) ?? null,
  };
  return Object.values(g).every((v) => v === null) ? NO_GEO : g;
}

Deno.test("libmaxminddb and mmdb-lib read test-written GeoLite2 files as mmdblookup does, and GeoIp combines them", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-geoip-" });
  try {
    const dbs = await writeGeoLite2(dir);
    const all: TestDatabase[] = [dbs.country, dbs.asn, dbs.city];
    const addrs = all.flatMap((db) => addressesFor(db, 50, 60));
    const seen = new Set<string>();
    const unique = addrs.filter((a) => !seen.has(a.text) && seen.add(a.text));
    const refs = new Map<string, Map<string, unknown | null>>();
    for (const [kind, db] of Object.entries(dbs)) {
      await t.step(`${kind}: ${unique.length} addresses`, async () => {
        refs.set(kind, await compareBackends(db.file, unique));
      });
    }
    await t.step("selectors of both backends read the scalars mmdblookup shows", async () => {
      const paths = [
        ["city", "names", "en"],
        ["country", "iso_code"],
        ["country", "names", "de"],
        ["location", "latitude"],
        ["location", "longitude"],
        ["location", "accuracy_radius"],
        ["continent", "geoname_id"],
        ["subdivisions", "0", "iso_code"],
        ["subdivisions", "1", "iso_code"],
        ["city"],
        ["no", "such", "key"],
      ];
      const readers = [openFfiReader(dbs.city.file), await readLibReader(dbs.city.file)];
      try {
        const selects = readers.map((r) => r.selector(paths));
        for (const a of unique) {
          const ref = refs.get("city")!.get(a.text);
          const [ffi, lib] = selects.map((s) => s(a.family, a.bytes));
          assertEquals(ffi, lib, a.text);
          if (ref === null) {
            assertEquals(ffi, null, a.text);
            continue;
          }
          const want = paths.map((p) => {
            const v = get(ref, ...p);
            return typeof v === "object" || v === undefined ? null : v;
          });
          assertRecordMatches(ffi, want, a.text);
        }
      } finally {
        for (const r of readers) r.close();
      }
    });
    await t.step("GeoIp over them gives the same answers with either backend", async () => {
      const opened = await Promise.all(
        (["ffi", "lib"] as const).map((backend) =>
          openGeoIp({ dirs: [dir], searchPaths: [], embedded: false, backend })
        ),
      );
      try {
        for (const { warnings } of opened) assertEquals(warnings, []);
        assertEquals(opened[0]!.geoip.sources().map((s) => [s.kind, s.file, s.backend]), [
          ["country", dbs.country.file, "libmaxminddb"],
          ["asn", dbs.asn.file, "libmaxminddb"],
          ["city", dbs.city.file, "libmaxminddb"],
        ]);
        assertEquals(opened[1]!.geoip.sources().map((s) => s.backend), [
          "mmdb-lib",
          "mmdb-lib",
          "mmdb-lib",
        ]);
        let found = 0;
        for (const a of unique) {
          const want = expectedGeo(
            refs.get("country")!.get(a.text),
            refs.get("asn")!.get(a.text),
            refs.get("city")!.get(a.text),
          );
          if (want !== NO_GEO) found++;
          for (const { geoip } of opened) {
            assertEquals(geoip.lookup(a.family, a.bytes), want, a.text);
          }
        }
        assert(found > unique.length / 4, `only ${found} of ${unique.length} addresses found`);
      } finally {
        for (const { geoip } of opened) geoip.close();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("both backends read an IPv4-only database and find no IPv6 address in it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-geoip-" });
  try {
    const db = await writeDatabase(
      `${dir}/dbip-country-lite.mmdb`,
      "country",
      { databaseType: "DBIP-Country-Lite", ipVersion: 4, recordSize: 24 },
      44,
    );
    await compareBackends(db.file, addressesFor(db, 60, 100));
    for (const r of [openFfiReader(db.file), await readLibReader(db.file)]) {
      for (const a of publicV6(20, 5)) assertEquals(r.lookup(6, a.bytes), null, r.backend);
      const select = r.selector([["country", "iso_code"]]);
      assertEquals(select(6, publicV6(1, 6)[0]!.bytes), null);
      r.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the embedded country database reads the same through libmaxminddb, mmdb-lib and mmdblookup", async () => {
  const file = EMBEDDED_COUNTRY.pathname;
  const bytes = await Deno.readFile(file);
  // Boundaries of the networks holding some addresses: found with mmdb-lib's prefix lengths
  // (only to choose addresses; the expected records come from mmdblookup).
  const probe = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const addrs = [...publicV4(150, 7), ...publicV6(150, 8)];
  for (const a of [...addrs.slice(0, 30), ...addrs.slice(150, 180)]) {
    // For IPv4, mmdb-lib counts the bits from the IPv4 subtree: 0..32.
    const [, len] = probe.getWithPrefixLength(a.text);
    if (len > 0) addrs.push(...boundaryAddresses(`${a.text}/${len}`));
  }
  const ref = await compareBackends(file, addrs);
  const codes = new Set([...ref.values()].map((r) => get(r, "country_code")));
  assert(codes.size > 20, `only ${codes.size} countries among ${addrs.length} addresses`);
});
