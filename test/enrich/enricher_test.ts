import { Enricher } from "../../src/enrich/client.ts";
import type { GeoInfo, HostEntry } from "../../src/core/enrichment.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { mmdblookup } from "../_helpers/mmdblookup.ts";

const COUNTRY_MMDB = new URL("../../data/geoip/country.mmdb", import.meta.url).pathname;

/** An Enricher whose answers are collected; `next()` waits for the next batch of them. */
function started(geoip: boolean) {
  const hosts: [string, HostEntry][] = [];
  const geo: [string, GeoInfo][] = [];
  let wake: (() => void) | undefined;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const e = new Enricher(
    { geoip, geoipDirs: [], geoipSearchPaths: [], geoipEmbedded: true },
    {
      onReady: () => ready(),
      onResults: (g, h) => {
        geo.push(...g);
        hosts.push(...h);
        wake?.();
      },
    },
  );
  const until = async (cond: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error("Timed out waiting for the enrichment worker");
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  return { e, hosts, geo, isReady, until };
}

Deno.test("Enricher answers hostnames from the system resolver, again from its cache", async () => {
  const w = started(false);
  try {
    await w.isReady;
    w.e.hosts(["127.0.0.1"]);
    await w.until(() => w.hosts.length >= 1);
    // /etc/hosts names 127.0.0.1 on Debian; the reference is getent, as nsswitch applies.
    const getent = new TextDecoder().decode(
      (await new Deno.Command("getent", { args: ["hosts", "127.0.0.1"] }).output()).stdout,
    ).trim().split(/\s+/)[1];
    assertEquals(w.hosts[0], ["127.0.0.1", { status: "resolved", name: getent }]);
    // Asked again (the main thread forgot it): the cached answer comes back, no lookup.
    w.e.hosts(["127.0.0.1"]);
    await w.until(() => w.hosts.length >= 2);
    assertEquals(w.hosts[1], w.hosts[0]);
    const stats = await w.e.stats();
    assertEquals(stats.dns.misses, 1);
  } finally {
    w.e.close();
  }
});

Deno.test("Enricher answers GeoIP from the embedded data as mmdblookup does", async () => {
  const w = started(true);
  try {
    await w.isReady;
    const addresses = ["8.8.8.8", "1.1.1.1", "2a00:1450:4001:80b::200e", "193.0.6.139"];
    w.e.geo(addresses);
    await w.until(() => w.geo.length >= addresses.length);
    for (const [address, g] of w.geo) {
      const ref = await mmdblookup(COUNTRY_MMDB, address);
      const code = (ref as { country_code?: string } | null)?.country_code ?? null;
      assertEquals(g.country, code, address);
    }
  } finally {
    w.e.close();
  }
});
