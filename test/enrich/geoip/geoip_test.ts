/**
 * Tests of GeoIp over the embedded data alone (what conntop answers out of the box): the
 * country as mmdblookup reads the embedded .mmdb, the AS as the source CSV says; and of the
 * attribution that data requires.
 *
 * Requires the embedded data and the cached tarball (`deno task geodata`), mmdblookup and tar.
 *
 * @module
 */

import { formatIPv6 } from "../../../src/conntrack/address.ts";
import {
  EMBEDDED_COUNTRY,
  EMBEDDED_DIR,
  EMBEDDED_PACKAGES,
} from "../../../src/enrich/geoip/embedded.ts";
import { GEOIP_ATTRIBUTION, openGeoIp } from "../../../src/enrich/geoip/mod.ts";
import { type GeoInfo, NO_GEO } from "../../../src/core/enrichment.ts";
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { mmdblookupMany } from "../../_helpers/mmdblookup.ts";
import { CsvReference, readAsnCsv, valueBytes } from "./_asn_reference.ts";
import { publicV4, publicV6, type TestAddress } from "./_fixtures.ts";
import { prng as random } from "../../../tools/prng.ts";

function value(a: TestAddress): bigint {
  let v = 0n;
  for (const b of a.bytes) v = (v << 8n) | BigInt(b);
  return v;
}

Deno.test("openGeoIp() with only the embedded data answers as mmdblookup and the source CSV do", async () => {
  const v4 = new CsvReference(await readAsnCsv("asn-ipv4.csv"));
  const v6 = new CsvReference(await readAsnCsv("asn-ipv6.csv"));
  const addrs = [...publicV4(200, 31), ...publicV6(100, 32)];
  // Addresses inside IPv6 ranges that exist, which random ones rarely hit.
  const rnd = random(33);
  for (let i = 0; i < 100; i++) {
    const bytes = valueBytes(v6.rows[Math.floor(rnd() * v6.rows.length)]!.start, 6);
    addrs.push({ family: 6, bytes, text: formatIPv6(bytes) });
  }
  const ref = await mmdblookupMany(EMBEDDED_COUNTRY.pathname, addrs.map((a) => a.text));
  const names = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });
  for (const backend of ["ffi", "lib"] as const) {
    const { geoip, warnings } = await openGeoIp({ searchPaths: [], backend });
    try {
      assertEquals(warnings, []);
      let withAs = 0;
      for (const a of addrs) {
        const code = (ref.get(a.text) as { country_code?: string } | null)?.country_code ?? null;
        const row = (a.family === 4 ? v4 : v6).lookup(value(a));
        if (row !== null) withAs++;
        const want: GeoInfo = {
          country: code,
          countryName: code === null ? null : names.of(code) ?? null,
          asn: row?.asn ?? null,
          org: row === null || row.org === "" ? null : row.org,
          city: null,
        };
        const expected = Object.values(want).every((v) => v === null) ? NO_GEO : want;
        assertEquals(geoip.lookup(a.family, a.bytes), expected, a.text);
        if (a.family === 4) {
          // A dual-stack socket sees an IPv4 peer as ::ffff:a.b.c.d: the same place.
          const mapped = new Uint8Array(16);
          mapped.set([0xff, 0xff], 10);
          mapped.set(a.bytes, 12);
          assertEquals(geoip.lookup(6, mapped), expected, `::ffff:${a.text}`);
        }
      }
      assert(withAs > addrs.length / 2, `only ${withAs} of ${addrs.length} addresses have an AS`);
    } finally {
      geoip.close();
    }
  }
});

Deno.test("GEOIP_ATTRIBUTION and ATTRIBUTION.md credit every source of the embedded data", async () => {
  const md = await Deno.readTextFile(new URL("ATTRIBUTION.md", EMBEDDED_DIR));
  const line = GEOIP_ATTRIBUTION.join("\n");
  for (const credit of ["RouteViews", "routeviews.org", "DB-IP", "db-ip.com", "NRO", "nro.net"]) {
    assert(line.includes(credit), `GEOIP_ATTRIBUTION credits ${credit}`);
    assert(md.includes(credit), `ATTRIBUTION.md credits ${credit}`);
  }
  assert(line.includes("CC BY 4.0") && line.includes("CC0"), "licences named");
  for (const p of Object.values(EMBEDDED_PACKAGES)) {
    assert(md.includes(`${p.name}@${p.version}`), `ATTRIBUTION.md names ${p.name}@${p.version}`);
  }
  assert(GEOIP_ATTRIBUTION.every((l) => !l.includes("\n") && l.length < 240));
});
