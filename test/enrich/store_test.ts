import { EnrichStore } from "../../src/enrich/store.ts";
import { parseServices } from "../../src/enrich/services.ts";
import type { GeoInfo } from "../../src/core/enrichment.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

function storeWithSink(opts: { hostnames?: boolean; geoip?: boolean; now?: () => number } = {}) {
  const asked = { geo: [] as string[], hosts: [] as string[] };
  const store = new EnrichStore({
    geoip: opts.geoip ?? true,
    hostnames: opts.hostnames ?? true,
    now: opts.now,
    sink: {
      geo: (a) => asked.geo.push(...a),
      hosts: (a) => asked.hosts.push(...a),
    },
  });
  return { store, asked };
}

const conn = (
  src: string,
  dst: string,
  sport: number | null = 40000,
  dport: number | null = 443,
) => ({
  protonum: 6,
  "orig_src": src,
  "orig_dst": dst,
  "orig_sport": sport,
  "orig_dport": dport,
  process: null,
  pid: null,
  "src_host": null,
  "dst_host": null,
  "src_class": null,
  "dst_class": null,
  "src_country": null,
  "dst_country": null,
  "src_asn": null,
  "dst_asn": null,
  "src_org": null,
  "dst_org": null,
  "src_city": null,
  "dst_city": null,
  "sport_service": null,
  "dport_service": null,
} as Parameters<EnrichStore["fill"]>[0]);

const GEO: GeoInfo = { country: "DE", countryName: "Germany", asn: 3320, org: "DTAG", city: null };

Deno.test("EnrichStore asks GeoIP only about public addresses, once each", () => {
  const { store, asked } = storeWithSink();
  store.address("10.1.2.3");
  store.address("192.168.0.1");
  store.address("8.8.8.8");
  store.address("8.8.8.8");
  store.address("2001:db8::1"); // documentation
  store.address("2a00:1450::1");
  store.flush();
  assertEquals(asked.geo, ["8.8.8.8", "2a00:1450::1"]);
  assertEquals(store.pending, 2);
  assertEquals(store.address("10.1.2.3").cls, "private");
  assertEquals(store.address("2001:db8::1").cls, "documentation");
});

Deno.test("EnrichStore fills connections with answers as they arrive", () => {
  const { store, asked } = storeWithSink();
  const c = conn("10.0.0.1", "8.8.8.8");
  store.fill(c, true);
  assertEquals(c.dst_country, null);
  assertEquals(c.src_class, "private");
  assertEquals(c.dst_class, "public");
  store.flush();
  assertEquals(asked.hosts, ["10.0.0.1", "8.8.8.8"]);
  store.apply([["8.8.8.8", GEO]], [["8.8.8.8", { status: "resolved", name: "dns.google" }], [
    "10.0.0.1",
    { status: "not-found" },
  ]]);
  assertEquals(store.pending, 0);
  store.fill(c, true);
  assertEquals([c.dst_country, c.dst_asn, c.dst_org, c.dst_host], [
    "DE",
    3320,
    "DTAG",
    "dns.google",
  ]);
  assertEquals(c.src_host, null);
  store.flush();
  assertEquals(asked.hosts.length, 2, "answered hostnames are not asked again");
});

Deno.test("EnrichStore resolves no hostname with -n and no GeoIP with --no-geoip", () => {
  const { store, asked } = storeWithSink({ hostnames: false, geoip: false });
  const c = conn("10.0.0.1", "8.8.8.8");
  store.fill(c, true);
  store.flush();
  assertEquals(asked, { geo: [], hosts: [] });
  assertEquals(store.pending, 0);
  assertEquals(c.dst_class, "public");
});

Deno.test("EnrichStore asks again after a minute for a failure, after 10 for a name", () => {
  let now = 1000;
  const { store, asked } = storeWithSink({ now: () => now });
  const a = store.address("10.0.0.9");
  store.wantHost(a);
  store.apply([], [["10.0.0.9", { status: "timeout" }]]);
  store.wantHost(a);
  store.flush();
  assertEquals(asked.hosts, ["10.0.0.9"], "asked once");
  now += 61_000;
  store.wantHost(a);
  store.flush();
  assertEquals(asked.hosts, ["10.0.0.9", "10.0.0.9"], "a timeout is retried after a minute");
  store.apply([], [["10.0.0.9", { status: "resolved", name: "nine.lan" }]]);
  now += 5 * 60_000;
  store.wantHost(a);
  store.flush();
  assertEquals(asked.hosts.length, 2, "a name is kept for 10 minutes");
  assertEquals(a.host, { status: "resolved", name: "nine.lan" });
  now += 6 * 60_000;
  store.wantHost(a);
  store.flush();
  assertEquals(asked.hosts.length, 3);
  assertEquals(a.host?.name, "nine.lan", "the old name shows while it is asked again");
});

Deno.test("EnrichStore reclassifies addresses when the local addresses change", () => {
  const { store, asked } = storeWithSink();
  assertEquals(store.address("203.0.113.5").cls, "documentation");
  assertEquals(store.address("8.8.4.4").cls, "public");
  store.flush();
  assertEquals(asked.geo, ["8.8.4.4"]);
  const v = store.version;
  store.setLocal({ v4: ["8.8.4.4"], v6: [], broadcast: [] });
  assert(store.version > v);
  assertEquals(store.address("8.8.4.4").cls, "this-host");
  assertEquals(store.pending, 0, "no GeoIP answer is awaited for this host");
  store.setLocal({ v4: [], v6: [], broadcast: [] });
  assertEquals(store.address("8.8.4.4").cls, "public");
  store.flush();
  assertEquals(asked.geo, ["8.8.4.4", "8.8.4.4"]);
});

Deno.test("EnrichStore names ports per protocol once services are known", () => {
  const { store } = storeWithSink();
  const c = conn("10.0.0.1", "10.0.0.2", 40000, 22);
  store.fill(c, false);
  assertEquals(c.dport_service, null);
  store.setServices(parseServices("ssh 22/tcp\ndomain 53/udp\n"));
  store.fill(c, false);
  assertEquals([c.sport_service, c.dport_service], [null, "ssh"]);
  assertEquals(store.service(17, 53), "domain");
  assertEquals(store.service(6, 53), undefined);
  assertEquals(store.service(1, 22), undefined, "ICMP has no ports");
});

Deno.test("EnrichStore.prune() forgets answered addresses past its bound, not pending ones", () => {
  const { store } = storeWithSink();
  store.address("10.0.0.1");
  store.address("8.8.8.8"); // GeoIP pending
  store.prune(2);
  assertEquals(store.size, 2, "within the bound nothing goes");
  store.address("10.0.0.2");
  store.prune(2);
  assertEquals(store.size, 1);
  assertEquals(store.pending, 1);
  store.apply([["8.8.8.8", GEO]], []);
  assertEquals(store.address("8.8.8.8").geo, GEO, "the pending answer still lands");
});
