/**
 * The country names the GeoIP lookup adds to a code-only database (the embedded one) are ICU's:
 * the table generated from ICU (src/enrich/geoip/_country_names.ts) answers as
 * `Intl.DisplayNames` does, for every two-letter code and in either case.
 */

import { assert, assertEquals } from "../../_helpers/assert.ts";
import { countryNameOf } from "../../../src/enrich/geoip/geoip.ts";

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

Deno.test("Every two-letter code gets ICU's English name, or none when ICU has none", () => {
  const icu = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });
  const differ: string[] = [];
  let named = 0;
  for (const a of LETTERS) {
    for (const b of LETTERS) {
      const code = a + b;
      const want = icu.of(code) ?? null;
      if (want !== null) named++;
      for (const asked of [code, code.toLowerCase()]) {
        const got = countryNameOf(asked);
        if (got !== want) differ.push(`${asked}: ${got} (ICU: ${want})`);
      }
    }
  }
  // Out of date after a Deno upgrade: `deno run --allow-write=src/enrich/geoip
  // scripts/gen_country_names.ts`.
  assertEquals(differ, []);
  assert(named > 240, `ICU named only ${named} codes`);
  assertEquals(countryNameOf("DE"), "Germany");
  assertEquals(countryNameOf("CI"), "Côte d’Ivoire");
});

Deno.test("A code that is not two letters is asked of ICU (none when it is not a region)", () => {
  const icu = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });
  assertEquals(countryNameOf("419"), icu.of("419") ?? null);
  assertEquals(countryNameOf("USA"), null);
  assertEquals(countryNameOf(""), null);
});
