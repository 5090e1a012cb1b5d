/**
 * Tests of openGeoIp()'s choices: `--geoip-dir` before the system directories, the system
 * directories in order, a Country database before a City one in the same directory, the
 * embedded data only for the kinds no database provides, the backends (and the fallback to
 * mmdb-lib when libmaxminddb cannot be loaded), and GeoIp.empty().
 *
 * Requires libmaxminddb and the embedded data (scripts/setup.sh, `deno task geodata`).
 *
 * @module
 */

import { closeMaxminddb, LibraryLoadError } from "../../../ffi/maxminddb.ts";
import { EMBEDDED_ASN, EMBEDDED_COUNTRY } from "../../../src/enrich/geoip/embedded.ts";
import { GeoIp } from "../../../src/enrich/geoip/geoip.ts";
import { openGeoIp } from "../../../src/enrich/geoip/open.ts";
import { NO_GEO } from "../../../src/core/enrichment.ts";
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { MmdbWriter, type WriterValue } from "../../_helpers/mmdb_writer.ts";
import { mmdblookup } from "../../_helpers/mmdblookup.ts";

const ONE = new Uint8Array([1, 1, 1, 1]);

/** A database of `type` saying `record` for all of 0.0.0.0/0. */
async function write(file: string, type: string, record: WriterValue): Promise<void> {
  const w = new MmdbWriter({ databaseType: type, ipVersion: 4, recordSize: 24 });
  w.insert("0.0.0.0/1", record);
  w.insert("128.0.0.0/1", record);
  await Deno.writeFile(file, w.toBytes());
}

const country = (iso: string) => ({ country: { iso_code: iso, names: { en: `Land ${iso}` } } });
const asn = (n: number) => ({
  autonomous_system_number: n,
  autonomous_system_organization: `Org ${n}`,
});
const city = (iso: string, name: string) => ({ ...country(iso), city: { names: { en: name } } });

/** Temporary directories `names`, removed after `fn`. */
async function withDirs(
  names: string[],
  fn: (dirs: Record<string, string>) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "conntop-geoip-" });
  try {
    const dirs: Record<string, string> = {};
    for (const n of names) {
      dirs[n] = `${root}/${n}`;
      await Deno.mkdir(dirs[n]!);
    }
    await fn(dirs);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("openGeoIp() searches --geoip-dir first, then the system directories in order", async () => {
  await withDirs(["user", "sys1", "sys2"], async (d) => {
    await write(`${d.user}/mine.mmdb`, "GeoLite2-Country", country("UU"));
    await write(`${d.sys1}/GeoLite2-Country.mmdb`, "GeoLite2-Country", country("S1"));
    await write(`${d.sys1}/GeoLite2-ASN.mmdb`, "GeoLite2-ASN", asn(111));
    await write(`${d.sys2}/GeoLite2-ASN.mmdb`, "GeoLite2-ASN", asn(222));
    await write(`${d.sys2}/GeoLite2-City.mmdb`, "GeoLite2-City", city("S2", "Second"));
    const { geoip, warnings } = await openGeoIp({
      dirs: [d.user!],
      searchPaths: [d.sys1!, d.sys2!],
    });
    try {
      assertEquals(warnings, []);
      assertEquals(geoip.sources().map((s) => [s.kind, s.file]), [
        ["country", `${d.user}/mine.mmdb`],
        ["asn", `${d.sys1}/GeoLite2-ASN.mmdb`],
        ["city", `${d.sys2}/GeoLite2-City.mmdb`],
      ]);
      assertEquals(geoip.lookup(4, ONE), {
        country: "UU",
        countryName: "Land UU",
        asn: 111,
        org: "Org 111",
        city: "Second",
      });
    } finally {
      geoip.close();
    }
  });
});

Deno.test("openGeoIp() takes the country from a City database when no Country one comes first", async () => {
  await withDirs(["a", "b"], async (d) => {
    await write(`${d.a}/x.mmdb`, "GeoIP2-City", city("CA", "Toronto"));
    await write(`${d.b}/y.mmdb`, "GeoLite2-Country", country("BB"));
    await write(`${d.b}/z.mmdb`, "GeoIP2-City", city("ZZ", "Elsewhere"));
    // In b, the Country database serves the country and the City one only the city.
    const inB = await openGeoIp({ searchPaths: [d.b!], embedded: false });
    assertEquals(inB.geoip.sources().map((s) => [s.kind, s.file]), [
      ["country", `${d.b}/y.mmdb`],
      ["city", `${d.b}/z.mmdb`],
    ]);
    assertEquals(inB.geoip.lookup(4, ONE), {
      country: "BB",
      countryName: "Land BB",
      asn: null,
      org: null,
      city: "Elsewhere",
    });
    inB.geoip.close();
    // With a first, its City database serves both.
    const inAB = await openGeoIp({ searchPaths: [d.a!, d.b!], embedded: false });
    assertEquals(inAB.geoip.sources().map((s) => [s.kind, s.file]), [
      ["country", `${d.a}/x.mmdb`],
      ["city", `${d.a}/x.mmdb`],
    ]);
    assertEquals(inAB.geoip.lookup(4, ONE).country, "CA");
    inAB.geoip.close();
  });
});

Deno.test("openGeoIp() uses the embedded data only for the kinds no database provides", async () => {
  await withDirs(["sys"], async (d) => {
    await write(`${d.sys}/GeoLite2-ASN.mmdb`, "GeoLite2-ASN", asn(64500));
    const { geoip, warnings } = await openGeoIp({ searchPaths: [d.sys!] });
    try {
      assertEquals(warnings, []);
      const sources = geoip.sources();
      assertEquals(sources.map((s) => [s.kind, s.file, s.backend]), [
        ["country", EMBEDDED_COUNTRY.pathname, "embedded"],
        ["asn", `${d.sys}/GeoLite2-ASN.mmdb`, "libmaxminddb"],
      ]);
      assertEquals(sources[0]!.type, "country ipvAll");
      const ref = await mmdblookup(EMBEDDED_COUNTRY.pathname, "1.1.1.1") as {
        country_code: string;
      };
      const got = geoip.lookup(4, ONE);
      assertEquals([got.country, got.asn, got.org, got.city], [
        ref.country_code,
        64500,
        "Org 64500",
        null,
      ]);
    } finally {
      geoip.close();
    }
  });
  // Nothing installed: both embedded sources.
  const { geoip } = await openGeoIp({ searchPaths: [] });
  assertEquals(geoip.sources().map((s) => [s.kind, s.file, s.backend]), [
    ["country", EMBEDDED_COUNTRY.pathname, "embedded"],
    ["asn", EMBEDDED_ASN.pathname, "embedded"],
  ]);
  geoip.close();
});

Deno.test("openGeoIp() without embedded data and without databases knows nothing", async () => {
  const { geoip, warnings } = await openGeoIp({ searchPaths: [], embedded: false });
  assertEquals(warnings, []);
  assertEquals(geoip.sources(), []);
  assert(geoip.lookup(4, ONE) === NO_GEO);
  geoip.close();
});

Deno.test("GeoIp.empty() answers NO_GEO and lists no source", () => {
  const g = GeoIp.empty();
  assert(g.lookup(4, ONE) === NO_GEO);
  assert(g.lookup(6, new Uint8Array(16)) === NO_GEO);
  assertEquals(g.sources(), []);
  g.close();
  g.close();
});

Deno.test("openGeoIp() falls back to mmdb-lib when libmaxminddb cannot be loaded, unless asked for it", async () => {
  await withDirs(["sys"], async (d) => {
    await write(`${d.sys}/GeoLite2-Country.mmdb`, "GeoLite2-Country", country("DE"));
    const saved = Deno.env.get("CONNTOP_LIBMAXMINDDB");
    closeMaxminddb();
    Deno.env.set("CONNTOP_LIBMAXMINDDB", "/nonexistent/libmaxminddb.so.0");
    try {
      const auto = await openGeoIp({ searchPaths: [d.sys!], embedded: false });
      assertEquals(auto.geoip.sources().map((s) => s.backend), ["mmdb-lib"]);
      assertEquals(auto.geoip.lookup(4, ONE).country, "DE");
      auto.geoip.close();
      let error: unknown;
      try {
        await openGeoIp({ searchPaths: [d.sys!], embedded: false, backend: "ffi" });
      } catch (err) {
        error = err;
      }
      assert(error instanceof LibraryLoadError, String(error));
      assertEquals(
        error.message,
        "Cannot load libmaxminddb from '/nonexistent/libmaxminddb.so.0'",
      );
      assert(error.cause !== undefined);
    } finally {
      if (saved === undefined) Deno.env.delete("CONNTOP_LIBMAXMINDDB");
      else Deno.env.set("CONNTOP_LIBMAXMINDDB", saved);
      closeMaxminddb();
    }
    // And with the library back, "auto" uses it.
    const again = await openGeoIp({ searchPaths: [d.sys!], embedded: false });
    assertEquals(again.geoip.sources().map((s) => s.backend), ["libmaxminddb"]);
    again.geoip.close();
  });
});
