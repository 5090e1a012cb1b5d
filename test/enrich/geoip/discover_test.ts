/**
 * Tests of database discovery: classification by `database_type`, files found by their
 * metadata whatever their names, and broken or unknown files reported by name while the
 * others keep working, with either backend.
 *
 * Requires libmaxminddb and mmdblookup (scripts/setup.sh).
 *
 * @module
 */

import { classifyDatabase, defaultSearchPaths } from "../../../src/enrich/geoip/discover.ts";
import { openGeoIp } from "../../../src/enrich/geoip/open.ts";
import { assert, assertEquals, assertMatch } from "../../_helpers/assert.ts";
import { MmdbWriter, type WriterValue } from "../../_helpers/mmdb_writer.ts";
import { mmdblookup } from "../../_helpers/mmdblookup.ts";

Deno.test("classifyDatabase() knows MaxMind's, DB-IP's and ip-location-db's types", () => {
  const cases: [string, string[] | null, string?][] = [
    ["GeoLite2-Country", ["country"], "maxmind"],
    ["GeoIP2-Country", ["country"], "maxmind"],
    ["DBIP-Country-Lite", ["country"], "maxmind"],
    ["DBIP-Country", ["country"], "maxmind"],
    ["GeoLite2-ASN", ["asn"], "maxmind"],
    ["GeoIP2-ISP", ["asn"], "maxmind"],
    ["DBIP-ASN-Lite", ["asn"], "maxmind"],
    ["DBIP-ASN-Lite (compat=GeoLite2-ASN)", ["asn"], "maxmind"],
    ["GeoLite2-City", ["city", "country"], "maxmind"],
    ["GeoIP2-City", ["city", "country"], "maxmind"],
    ["GeoIP2-City-Europe", ["city", "country"], "maxmind"],
    ["DBIP-City-Lite", ["city", "country"], "maxmind"],
    ["GeoIP2-Enterprise", ["city", "country", "asn"], "maxmind"],
    ["country ipvAll", ["country"], "flat"],
    ["GEO-WHOIS-ASN-COUNTRY ipv4", ["country"], "flat"],
    ["ASN ipv6", ["asn"], "flat"],
    ["asn ipvAll", ["asn"], "flat"],
    ["GEOLITE2-CITY ipv4", ["city", "country"], "flat"],
    ["GeoIP2-Anonymous-IP", null],
    ["GeoIP2-Connection-Type", null],
    ["GeoLite2-Country-Extra", null],
    ["", null],
  ];
  for (const [type, kinds, schema] of cases) {
    const c = classifyDatabase(type);
    assertEquals(c === null ? null : [...c.kinds], kinds, type);
    if (c !== null) assertEquals(c.schema, schema, type);
  }
});

Deno.test("defaultSearchPaths() searches the original conntop's directories and /usr/share/GeoIP", () => {
  const home = Deno.env.get("HOME");
  assertEquals(defaultSearchPaths(), [
    ...(home ? [`${home}/.local/share/GeoIP`] : []),
    "/usr/local/share/GeoIP",
    "/var/lib/GeoIP",
    "/usr/share/GeoIP",
  ]);
});

function database(type: string, networks: [string, WriterValue][]): Uint8Array {
  const w = new MmdbWriter({ databaseType: type, ipVersion: 6, recordSize: 28 });
  for (const [n, v] of networks) w.insert(n, v);
  return w.toBytes();
}

/** `bytes` with the one-byte value after the metadata key `key` replaced by `value`. */
function patchMetadata(bytes: Uint8Array, key: string, value: number): Uint8Array {
  const out = bytes.slice();
  const k = new TextEncoder().encode(key);
  const meta = out.lastIndexOf(0xab);
  for (let i = meta; i < out.length; i++) {
    if (k.every((x, n) => out[i + n] === x)) {
      // The key, then a one-byte-long integer: control byte, value.
      assertEquals(out[i + k.length]! & 0x1f, 1, `${key} is one byte long`);
      out[i + k.length + 1] = value;
      return out;
    }
  }
  throw new Error(`Failed to patch metadata: '${key}' not found`);
}

const COUNTRY_NETS: [string, WriterValue][] = [
  ["1.0.0.0/8", { country: { iso_code: "AU", names: { en: "Australia" } } }],
  ["2001:200::/23", { country: { iso_code: "JP", names: { en: "Japan" } } }],
];
const ASN_NETS: [string, WriterValue][] = [
  ["1.1.1.0/24", { autonomous_system_number: 13335, autonomous_system_organization: "Cloudflare" }],
];

for (const backend of ["ffi", "lib"] as const) {
  Deno.test(`openGeoIp() with backend ${backend} finds databases by type and reports broken ones by name`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "conntop-geoip-" });
    try {
      const country = database("GeoLite2-Country", COUNTRY_NETS);
      const files: Record<string, Uint8Array> = {
        "foo.mmdb": country,
        "asn-data.MMDB": database("DBIP-ASN-Lite (compat=GeoLite2-ASN)", ASN_NETS),
        "truncated.mmdb": country.slice(0, Math.floor(country.length * 0.6)),
        "random.mmdb": crypto.getRandomValues(new Uint8Array(4096)),
        "empty.mmdb": new Uint8Array(0),
        "record-size.mmdb": patchMetadata(country, "record_size", 20),
        "format-3.mmdb": patchMetadata(country, "binary_format_major_version", 3),
        "anonymous.mmdb": database("GeoIP2-Anonymous-IP", [["1.0.0.0/8", { is_anonymous: true }]]),
        "notes.txt": new TextEncoder().encode("not a database"),
      };
      for (const [name, bytes] of Object.entries(files)) {
        await Deno.writeFile(`${dir}/${name}`, bytes);
      }
      await Deno.mkdir(`${dir}/folder.mmdb`);

      const { geoip, warnings } = await openGeoIp({
        dirs: [dir],
        searchPaths: [],
        embedded: false,
        backend,
      });
      try {
        const named = warnings.map((w) => {
          assert(!w.includes("\n"), `one line: ${w}`);
          return /'([^']+)'/.exec(w)![1]!;
        }).sort();
        assertEquals(
          named,
          ["anonymous", "empty", "format-3", "random", "record-size", "truncated"].map((n) =>
            `${dir}/${n}.mmdb`
          ),
        );
        for (const w of warnings) {
          if (w.includes("anonymous")) {
            assertEquals(
              w,
              `Ignored GeoIP database '${dir}/anonymous.mmdb': unknown database type 'GeoIP2-Anonymous-IP'`,
            );
          } else assertMatch(w, /^Failed to open GeoIP database '[^']+': \S.*$/);
        }
        assertEquals(geoip.sources().map((s) => [s.kind, s.file, s.type]), [
          ["country", `${dir}/foo.mmdb`, "GeoLite2-Country"],
          ["asn", `${dir}/asn-data.MMDB`, "DBIP-ASN-Lite (compat=GeoLite2-ASN)"],
        ]);
        // The good files answer as mmdblookup reads them.
        const au = await mmdblookup(`${dir}/foo.mmdb`, "1.1.1.1") as {
          country: { iso_code: string; names: { en: string } };
        };
        const as = await mmdblookup(`${dir}/asn-data.MMDB`, "1.1.1.1") as {
          autonomous_system_number: number;
          autonomous_system_organization: string;
        };
        assertEquals(geoip.lookup(4, new Uint8Array([1, 1, 1, 1])), {
          country: au.country.iso_code,
          countryName: au.country.names.en,
          asn: as.autonomous_system_number,
          org: as.autonomous_system_organization,
          city: null,
        });
      } finally {
        geoip.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("openGeoIp() warns about a missing --geoip-dir but not about missing system paths", async () => {
  const { geoip, warnings } = await openGeoIp({
    dirs: ["/nonexistent/conntop-geoip"],
    searchPaths: ["/nonexistent/system-geoip"],
    embedded: false,
    backend: "lib",
  });
  assertEquals(warnings, [
    "Failed to search GeoIP directory '/nonexistent/conntop-geoip': it does not exist",
  ]);
  assertEquals(geoip.sources(), []);
  geoip.close();
});
