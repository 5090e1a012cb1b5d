/**
 * Enrichment in `conntop --once`, end to end: conntop runs as users run it (its own process,
 * the build's permissions) against conntrack tables of throw-away namespaces, and every
 * enrichment field it prints is checked against a reference of the test's own: mmdblookup on
 * the GeoIP files, the AS source CSV, `getent services`, the pids of processes the test
 * started and the PTR records it served.
 *
 * CONNTOP_GEOIP_PATH points at an empty directory in every run, so the machine's own GeoIP
 * databases never change a result.
 *
 * Requires root, conntrack, nft, python3, dnsmasq, mmdblookup, getent, the embedded GeoIP data
 * and its cached source tarball (scripts/setup.sh, `deno task geodata`).
 *
 * @module
 */

import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { runCommand } from "../../tools/run.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { trackedPair } from "../_helpers/tracked_pair.ts";
import { startDnsmasq, startSilentDns } from "../../tools/dns.ts";
import { reverseName } from "../../tools/reverse_name.ts";
import { mmdblookupMany } from "../_helpers/mmdblookup.ts";
import { startSocketProcess } from "../collector/_socket_processes.ts";
import { CsvReference, readAsnCsv, v4Value, v6Value } from "../enrich/geoip/_asn_reference.ts";
import { addressesFor, publicV4, publicV6, writeGeoLite2 } from "../enrich/geoip/_fixtures.ts";
import type { Connection } from "../../src/core/connection.ts";
import { CONNECTION_FIELDS } from "../../src/core/connection.ts";
import { runConntop } from "./_conntop.ts";
import {
  ENRICHMENT_FIELDS,
  geoOf,
  type GeoSide,
  isPublic,
  NO_GEO_SIDE,
  once,
  parseCsv,
  tempDir,
} from "./_enrich_fixtures.ts";

const EMBEDDED_COUNTRY = new URL("../../data/geoip/country.mmdb", import.meta.url).pathname;
const SCHEMA_DIR = new URL("../../schema/", import.meta.url);

/** The private source the inserted entries use for a destination of `addr`'s family. */
function localFor(addr: string): string {
  return addr.includes(":") ? "fd00::1" : "10.0.0.1";
}

/** Accounting and timestamps on, so conntop has no warning of its own to print about them. */
async function quietTable(ns: Netns): Promise<void> {
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 1);
  await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 1);
}

/** One UDP conntrack entry per [source, destination] pair, each on ports of its own. */
function udpEntries(pairs: readonly [string, string][]): string[] {
  return pairs.map(([src, dst], i) =>
    `-I -t 300 -s ${src} -d ${dst} -p udp --sport ${20000 + i} --dport ${30000 + i}`
  );
}

/** The connection whose original tuple goes from `src` to `dst`; fails when there is none. */
function flow(conns: readonly Connection[], src: string, dst: string): Connection {
  const c = conns.find((x) => x.orig_src === src && x.orig_dst === dst);
  assert(c !== undefined, `no connection ${src} > ${dst} in ${conns.length}`);
  return c;
}

// ---------------------------------------------------------------------------------------------
// 1. Embedded data and address classes.

/** Classes of non-public addresses, from the RFCs that define the ranges. */
const NOT_PUBLIC: readonly [string, string][] = [
  ["10.20.30.40", "private"], // RFC 1918
  ["172.31.255.254", "private"],
  ["192.168.1.1", "private"],
  ["127.0.0.2", "loopback"], // RFC 1122
  ["169.254.10.20", "link-local"], // RFC 3927
  ["224.0.0.251", "multicast"], // RFC 5771
  ["239.255.255.250", "multicast"],
  ["192.0.2.5", "documentation"], // RFC 5737
  ["198.51.100.7", "documentation"],
  ["203.0.113.9", "documentation"],
  ["100.64.0.1", "shared"], // RFC 6598 (CGNAT)
  ["100.127.255.254", "shared"],
  ["198.18.0.1", "reserved"], // RFC 2544 benchmarking
  ["240.0.0.1", "reserved"], // RFC 1112 class E
  ["0.0.0.0", "unspecified"],
  ["255.255.255.255", "broadcast"], // RFC 919
  ["192.168.77.1", "this-host"], // the namespace's own address (below)
  ["192.168.77.255", "broadcast"], // and its network's broadcast address
  ["::1", "loopback"], // RFC 4291
  ["fe80::1", "link-local"],
  ["ff02::fb", "multicast"],
  ["2001:db8::5", "documentation"], // RFC 3849
  ["3fff::1", "documentation"], // RFC 9637
  ["fd12:3456::1", "unique-local"], // RFC 4193
  ["64:ff9b:1::1", "reserved"], // RFC 8215 local-use translation
];

/** Public addresses just outside special blocks, where a class boundary could be off by one. */
const PUBLIC_EDGES = [
  "100.63.255.255",
  "100.128.0.0",
  "172.15.255.255",
  "172.32.0.0",
  "11.0.0.0",
  "9.255.255.255",
  "223.255.255.255",
  "2001:200::1",
];

Deno.test("conntop --once fills country, AS and class of each address from the embedded data", async () => {
  await using ns = await Netns.create("egeo");
  await using geoPath = await tempDir("conntop-geo-empty-");
  await quietTable(ns);
  // A local network, for "this-host" and its broadcast address.
  await ns.exec(["ip", "link", "add", "eg0", "type", "veth", "peer", "name", "eg1"]);
  await ns.exec(["ip", "addr", "add", "192.168.77.1/24", "brd", "+", "dev", "eg0"]);

  const publics = [
    ...publicV4(30, 4101).map((a) => a.text),
    ...publicV6(20, 4102).map((a) => a.text),
    ...PUBLIC_EDGES,
  ].filter(isPublic);
  assert(publics.length >= 45, `only ${publics.length} public test addresses`);
  const expectedClass = new Map<string, string>([
    ...publics.map((p): [string, string] => [p, "public"]),
    ...NOT_PUBLIC,
    ["10.0.0.1", "private"],
    ["fd00::1", "unique-local"],
  ]);
  // Public addresses as destinations and, every third one, as sources: both sides are filled.
  const pairs: [string, string][] = [
    ...publics.map((p, i): [string, string] => i % 3 === 2 ? [p, localFor(p)] : [localFor(p), p]),
    ...NOT_PUBLIC.map(([a]): [string, string] => [localFor(a), a]),
  ];
  await loadConntrack(ns, udpEntries(pairs));

  const [run, countries, v4Rows, v6Rows] = await Promise.all([
    once(["--netns", ns.name, "-n"], { env: { CONNTOP_GEOIP_PATH: geoPath.path } }),
    mmdblookupMany(EMBEDDED_COUNTRY, publics),
    readAsnCsv("asn-ipv4.csv"),
    readAsnCsv("asn-ipv6.csv"),
  ]);
  const asn4 = new CsvReference(v4Rows), asn6 = new CsvReference(v6Rows);
  const expectedGeo = (addr: string): GeoSide => {
    if (expectedClass.get(addr) !== "public") return NO_GEO_SIDE;
    const rec = countries.get(addr) as { country_code?: string } | null;
    const as = addr.includes(":") ? asn6.lookup(v6Value(addr)) : asn4.lookup(v4Value(addr));
    return {
      country: rec?.country_code ?? null,
      asn: as?.asn ?? null,
      org: as === null || as.org === "" ? null : as.org,
      city: null, // the embedded data has no cities
    };
  };

  const conns = run.snapshot.connections;
  assertEquals(conns.length, pairs.length);
  let answered = 0;
  for (const [src, dst] of pairs) {
    const c = flow(conns, src, dst);
    for (const [side, addr] of [["src", src], ["dst", dst]] as const) {
      const where = `${side} ${addr}`;
      assertEquals(c[`${side}_class`], expectedClass.get(addr), where);
      const want = expectedGeo(addr);
      assertEquals(geoOf(c, side), want, where);
      if (want.country !== null && want.asn !== null) answered++;
    }
  }
  // The comparison means something only if most public addresses have answers.
  assert(answered >= publics.length / 2, `only ${answered} answered addresses`);
});

// ---------------------------------------------------------------------------------------------
// 2. --geoip-dir, a corrupt file, --no-geoip.

Deno.test("conntop --once answers from --geoip-dir databases and survives a corrupt one", async (t) => {
  await using ns = await Netns.create("edir");
  await using dir = await tempDir("conntop-geo-dir-");
  await using geoPath = await tempDir("conntop-geo-empty-");
  await quietTable(ns);
  const dbs = await writeGeoLite2(dir.path);
  // Sorts first, so it is opened first: the others must still be read after it failed.
  const corrupt = `${dir.path}/A-corrupt.mmdb`;
  await Deno.writeFile(corrupt, new TextEncoder().encode("not a MaxMind DB\n".repeat(64)));

  const seen = new Set<string>();
  const addresses = [
    ...addressesFor(dbs.city, 10, 0),
    ...addressesFor(dbs.country, 6, 0),
    ...addressesFor(dbs.asn, 6, 0),
    ...publicV4(8, 4201),
    ...publicV6(8, 4202),
  ].map((a) => a.text).filter((a) => isPublic(a) && !seen.has(a) && seen.add(a));
  const pairs = addresses.map((a): [string, string] => [localFor(a), a]);
  await loadConntrack(ns, udpEntries(pairs));
  const env = { CONNTOP_GEOIP_PATH: geoPath.path };

  await t.step(
    "fields equal mmdblookup's answers, one warning names the corrupt file",
    async () => {
      const [run, country, asn, city] = await Promise.all([
        once(["--netns", ns.name, "-n", "--geoip-dir", dir.path], { env }),
        mmdblookupMany(dbs.country.file, addresses),
        mmdblookupMany(dbs.asn.file, addresses),
        mmdblookupMany(dbs.city.file, addresses),
      ]);
      const lines = run.stderr.split("\n").filter((l) => l.trim() !== "");
      assertEquals(lines.length, 1, `one warning expected, got: ${run.stderr}`);
      assert(lines[0]!.includes(corrupt), `the warning names ${corrupt}: ${lines[0]}`);
      assertEquals(run.snapshot.warnings.filter((w) => w.includes(corrupt)).length, 1);
      type Rec = {
        country?: { iso_code?: string };
        city?: { names?: { en?: string } };
        "autonomous_system_number"?: number;
        "autonomous_system_organization"?: string;
      } | null;
      let cities = 0, orgs = 0, countries = 0;
      for (const [src, dst] of pairs) {
        const c = flow(run.snapshot.connections, src, dst);
        const co = country.get(dst) as Rec, as = asn.get(dst) as Rec, ci = city.get(dst) as Rec;
        const want: GeoSide = {
          country: co?.country?.iso_code ?? null,
          asn: as?.autonomous_system_number ?? null,
          org: as?.autonomous_system_organization ?? null,
          city: ci?.city?.names?.en ?? null,
        };
        assertEquals(geoOf(c, "dst"), want, dst);
        assertEquals(c.dst_class, "public", dst);
        if (want.city !== null) cities++;
        if (want.org !== null) orgs++;
        if (want.country !== null) countries++;
      }
      assert(cities >= 5 && orgs >= 5 && countries >= 5, `${cities} ${orgs} ${countries} answers`);
    },
  );

  await t.step("--no-geoip leaves every GeoIP field null and still sets classes", async () => {
    // The test databases sit in the system search path: only --no-geoip keeps them out.
    const run = await once(["--netns", ns.name, "-n", "--no-geoip"], {
      env: { CONNTOP_GEOIP_PATH: dir.path },
    });
    assertEquals(run.stderr, "");
    assertEquals(run.snapshot.connections.length, pairs.length);
    for (const c of run.snapshot.connections) {
      assertEquals([geoOf(c, "src"), geoOf(c, "dst")], [NO_GEO_SIDE, NO_GEO_SIDE], c.orig_dst);
      assertEquals(c.dst_class, "public", c.orig_dst);
      assertEquals(c.src_class, c.family === "ipv6" ? "unique-local" : "private", c.orig_src);
    }
  });

  await t.step("--no-geoip with --geoip-dir is a one-line usage error", async () => {
    const r = await runConntop(
      ["--once", "-o", "json", "--netns", ns.name, "--no-geoip", "--geoip-dir", dir.path],
      { env },
    );
    assertEquals(r.code, 2, r.stderr);
    assertEquals(r.stdout, "");
    // The error, then the usage hint every usage error ends with (as in errors_test.ts).
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 2, r.stderr);
    assert(/^conntop: .*--no-geoip.*--geoip-dir/.test(lines[0]!), lines[0]);
    assertEquals(lines[1], "Try 'conntop --help' for more information.");
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Service names.

/** The name `getent services PORT/PROTO` gives, or null when it knows none (exit code 2). */
async function getentService(port: number, proto: "tcp" | "udp"): Promise<string | null> {
  const r = await runCommand(["getent", "services", `${port}/${proto}`], { check: false });
  if (r.code === 2) return null;
  assertEquals(r.code, 0, `getent services ${port}/${proto}: ${r.stderr}`);
  return r.stdout.trim().split(/\s+/)[0]!;
}

// Ports named for both protocols, for one only, differently for each (21, 512–514), and none.
const SERVICE_PORTS: readonly [number, number][] = [
  [22, 40001],
  [53, 53],
  [443, 80],
  [21, 123],
  [512, 513],
  [514, 5353],
  [1, 3306],
  [65000, 7],
  [40002, 0],
];

Deno.test("conntop --once names source and destination ports as getent services does", async (t) => {
  await using ns = await Netns.create("esvc");
  await using geoPath = await tempDir("conntop-geo-empty-");
  await quietTable(ns);
  const entries: string[] = [];
  const expected: {
    proto: "tcp" | "udp";
    sport: number;
    dport: number;
    s: string | null;
    d: string | null;
  }[] = [];
  for (const [i, [sport, dport]] of SERVICE_PORTS.entries()) {
    for (const proto of ["tcp", "udp"] as const) {
      const state = proto === "tcp" ? " --state ESTABLISHED" : "";
      entries.push(
        `-I -t 300 -s 10.0.${i}.1 -d 10.0.${i}.2 -p ${proto} --sport ${sport} --dport ${dport}${state}`,
      );
      expected.push({
        proto,
        sport,
        dport,
        s: await getentService(sport, proto),
        d: await getentService(dport, proto),
      });
    }
  }
  // The table means something only if getent both names ports and tells tcp from udp.
  assert(expected.filter((e) => e.d !== null).length >= 8, JSON.stringify(expected));
  assert(expected.some((e, i) => i % 2 === 0 && e.s !== null && e.s !== expected[i + 1]!.s));
  await loadConntrack(ns, entries);
  const env = { CONNTOP_GEOIP_PATH: geoPath.path };
  const key = (proto: unknown, sport: unknown, dport: unknown) => `${proto} ${sport} > ${dport}`;
  await t.step("JSON: sport_service and dport_service", async () => {
    const { snapshot } = await once(["--netns", ns.name, "-n"], { env });
    const byKey = new Map(
      snapshot.connections.map((c) => [key(c.protocol, c.orig_sport, c.orig_dport), c]),
    );
    for (const e of expected) {
      const k = key(e.proto, e.sport, e.dport);
      const c = byKey.get(k);
      assertEquals([c?.sport_service, c?.dport_service], [e.s, e.d], k);
    }
  });

  await t.step("-P leaves them null", async () => {
    const { snapshot } = await once(["--netns", ns.name, "-n", "-P"], { env });
    assertEquals(snapshot.connections.length, expected.length);
    for (const c of snapshot.connections) {
      assertEquals([c.sport_service, c.dport_service], [null, null]);
    }
  });

  await t.step(
    "CSV: the columns in the documented order, the names as getent gives them",
    async () => {
      const r = await runConntop(["--once", "-o", "csv", "--netns", ns.name, "-n"], { env });
      assertEquals(r.code, 0, r.stderr);
      assert(r.stdout.startsWith(CONNECTION_FIELDS.join(",") + "\r\n"), r.stdout.slice(0, 200));
      const schema = JSON.parse(
        await Deno.readTextFile(new URL("connection.schema.json", SCHEMA_DIR)),
      );
      const [header, ...rows] = parseCsv(r.stdout);
      // The schema lists the fields in output order; the enrichment ones close the line.
      assertEquals(header, schema.required);
      assertEquals(header!.slice(-ENRICHMENT_FIELDS.length), [...ENRICHMENT_FIELDS]);
      assertEquals(rows.length, expected.length);
      const byKey = new Map(rows.map((cells) => {
        const o = Object.fromEntries(header!.map((h, i) => [h, cells[i]]));
        return [key(o.protocol, o.orig_sport, o.orig_dport), o];
      }));
      for (const e of expected) {
        const k = key(e.proto, e.sport, e.dport);
        const o = byKey.get(k);
        // CSV writes null as an empty cell.
        assertEquals([o?.sport_service, o?.dport_service], [e.s ?? "", e.d ?? ""], k);
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// 4. Owning processes.

/** A TCP server on argv[2]: reports its port, accepts one connection, reports it, holds it. */
const SERVER = `
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind((sys.argv[2], 0))
srv.listen(1)
out(port=srv.getsockname()[1])
srv.settimeout(10)
conn, peer = srv.accept()
out(peer=list(peer))
hold()
`;

/** A TCP client connecting to argv[2]:argv[3]: reports its own port and holds the socket. */
const CLIENT = `
c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5)
out(sport=c.getsockname()[1])
hold()
`;

Deno.test("conntop --once names the local process of a connection, on both ends, and no other", async (t) => {
  await using pair = await trackedPair("eown", 61);
  await using geoPath = await tempDir("conntop-geo-empty-");
  const { a, b } = pair;
  await quietTable(b);
  // B tracks what comes in, as A tracks what goes out.
  await b.nft(
    "table inet t {\n chain in {\n type filter hook input priority 0;\n ct state new counter\n }\n}\n",
  );
  await using server = await startSocketProcess(b, "ct-e2e-server", SERVER, {
    args: ["10.61.0.2"],
  });
  const port = server.info.port as number;
  await using client = await startSocketProcess(a, "ct-e2e-client", CLIENT, {
    args: ["10.61.0.2", String(port)],
  });
  const sport = client.info.sport as number;
  assertEquals((await server.next()).peer, ["10.61.0.1", sport]);
  await loadConntrack(a, [
    // Forwarded: neither end is an address of A.
    "-I -t 300 -s 10.50.0.1 -d 10.50.0.2 -p tcp --sport 1000 --dport 2000 --state ESTABLISHED",
    // From A's own address, but no socket holds it.
    "-I -t 300 -s 10.61.0.1 -d 10.61.0.2 -p tcp --sport 1001 --dport 2001 --state ESTABLISHED",
    "-I -t 300 -s 10.61.0.1 -d 192.0.2.9 -p udp --sport 1002 --dport 2002",
  ]);
  const env = { CONNTOP_GEOIP_PATH: geoPath.path };
  const isFlow = (c: Connection) =>
    c.protocol === "tcp" && c.orig_sport === sport && c.orig_dport === port;

  await t.step("outgoing: the client, in the namespace that connects", async () => {
    const { snapshot } = await once(["--netns", a.name, "-n"], { env });
    const c = snapshot.connections.find(isFlow);
    assert(c !== undefined, `no flow ${sport} > ${port}: ${JSON.stringify(snapshot.connections)}`);
    assertEquals([c.process, c.pid], [client.name, client.pid]);
    const others = snapshot.connections.filter((x) => !isFlow(x));
    assertEquals(others.length, 3);
    for (const o of others) {
      assertEquals([o.process, o.pid], [null, null], `${o.orig_src}:${o.orig_sport}`);
    }
  });

  await t.step("--stream names the same process in its events", async () => {
    const r = await runConntop(["--stream", "-c", "1", "--netns", a.name, "-n"], { env });
    assertEquals(r.code, 0, r.stderr);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Connection);
    const c = events.find(isFlow);
    assert(c !== undefined, `no flow ${sport} > ${port} in ${r.stdout}`);
    assertEquals([c.process, c.pid], [client.name, client.pid]);
    for (const o of events.filter((x) => !isFlow(x))) {
      assertEquals([o.process, o.pid], [null, null], `${o.orig_src}:${o.orig_sport}`);
    }
  });

  await t.step("incoming: the server holding the accepted socket", async () => {
    const { snapshot } = await once(["--netns", b.name, "-n"], { env });
    assertEquals(snapshot.connections.length, 1, JSON.stringify(snapshot.connections));
    const c = snapshot.connections[0]!;
    assert(isFlow(c), JSON.stringify(c));
    assertEquals([c.process, c.pid], [server.name, server.pid]);
  });
});

// ---------------------------------------------------------------------------------------------
// 5. Hostnames.

const PTR = [
  { address: "192.0.2.10", name: "web.conntop.test" },
  { address: "10.0.0.1", name: "client.conntop.test" },
  { address: "2001:db8::53", name: "six.conntop.test" },
];
const NO_PTR = ["198.51.100.7", "203.0.113.5", "2001:db8::99"];

Deno.test("conntop --once resolves hostnames with the namespace's resolver, and only when asked", async (t) => {
  await using ns = await Netns.create("ehost");
  await using geoPath = await tempDir("conntop-geo-empty-");
  await quietTable(ns);
  await using dns = await startDnsmasq(ns, { records: PTR });
  const pairs: [string, string][] = [
    ["10.0.0.1", "192.0.2.10"],
    ["10.0.0.1", "198.51.100.7"],
    ["203.0.113.5", "10.0.0.1"],
    ["2001:db8::53", "2001:db8::99"],
  ];
  await loadConntrack(ns, udpEntries(pairs));
  const names = new Map<string, string | null>([
    ...PTR.map((r): [string, string] => [r.address, r.name]),
    ...NO_PTR.map((a): [string, null] => [a, null]),
  ]);
  const opts = {
    env: { CONNTOP_GEOIP_PATH: geoPath.path },
    prefix: ["ip", "netns", "exec", ns.name],
  };

  await t.step("-n: no name, and no PTR query", async () => {
    const { snapshot } = await once(["--netns", ns.name, "-n"], opts);
    assertEquals(snapshot.connections.length, pairs.length);
    for (const c of snapshot.connections) assertEquals([c.src_host, c.dst_host], [null, null]);
    assertEquals(dns.queries(), []);
  });

  await t.step("the PTR names, and null where the answer is NXDOMAIN", async () => {
    const { snapshot } = await once(["--netns", ns.name], opts);
    for (const [src, dst] of pairs) {
      const c = flow(snapshot.connections, src, dst);
      assertEquals([c.src_host, c.dst_host], [names.get(src), names.get(dst)], `${src} > ${dst}`);
    }
    // Every address was asked about: the nulls are NXDOMAIN answers, not questions left out.
    const asked = new Set(dns.queries());
    for (const a of names.keys()) assert(asked.has(reverseName(a)), `no PTR query for ${a}`);
  });
});

Deno.test("conntop --once --netns looks hostnames up from inside the namespace", async () => {
  await using ns = await Netns.create("ehns");
  await using geoPath = await tempDir("conntop-geo-empty-");
  await quietTable(ns);
  // dnsmasq listens on the namespace's loopback only: a question leaving from the root
  // namespace (where nothing of this test listens) gets no answer.
  await using dns = await startDnsmasq(ns, { records: PTR });
  const pairs: [string, string][] = [["10.0.0.1", "192.0.2.10"], ["2001:db8::53", "2001:db8::99"]];
  await loadConntrack(ns, udpEntries(pairs));
  // conntop runs in the root namespace, with only resolv.conf swapped for the namespace's (in
  // a mount namespace of its own): its lookups reach dnsmasq only from inside `ns`.
  const { snapshot } = await once(["--netns", ns.name], {
    env: { CONNTOP_GEOIP_PATH: geoPath.path },
    prefix: [
      "unshare",
      "-m",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      'mount --bind "$0" /etc/resolv.conf && exec "$@"',
      `/etc/netns/${ns.name}/resolv.conf`,
    ],
  });
  const c1 = flow(snapshot.connections, "10.0.0.1", "192.0.2.10");
  assertEquals([c1.src_host, c1.dst_host], ["client.conntop.test", "web.conntop.test"]);
  const c2 = flow(snapshot.connections, "2001:db8::53", "2001:db8::99");
  assertEquals([c2.src_host, c2.dst_host], ["six.conntop.test", null]);
  assert(dns.queries().length >= 4, `${dns.queries().length} queries`);
});

Deno.test("conntop --once looks up no hostname when the rows have over 1000 distinct addresses", async (t) => {
  await using ns = await Netns.create("ebig");
  await using geoPath = await tempDir("conntop-geo-empty-");
  await quietTable(ns);
  // 500 flows between distinct addresses of 10.50/16 and 10.60/16 (1000 addresses, the
  // limit), and one more from 10.51.0.1 (1002: over it).
  const pairs = Array.from({ length: 500 }, (_, i): [string, string] => {
    const low = `${i >> 7}.${(i & 127) + 1}`;
    return [`10.50.${low}`, `10.60.${low}`];
  });
  const all: [string, string][] = [...pairs, ["10.51.0.1", "10.60.9.9"]];
  const records = [
    { address: "10.50.0.1", name: "first.conntop.test" },
    { address: "10.60.3.116", name: "last.conntop.test" },
  ];
  await using dns = await startDnsmasq(ns, { records });
  await loadConntrack(ns, udpEntries(all));
  const opts = {
    env: { CONNTOP_GEOIP_PATH: geoPath.path },
    prefix: ["ip", "netns", "exec", ns.name],
  };
  const warning = "Hostnames not looked up: the rows have 1,002 distinct addresses, more than " +
    "1,000: pass -n to skip lookups or --top N to print fewer rows";

  await t.step("1002 addresses: no PTR query, no name, one warning", async () => {
    const run = await once(["--netns", ns.name], opts);
    assertEquals(run.snapshot.connections.length, all.length);
    for (const c of run.snapshot.connections) assertEquals([c.src_host, c.dst_host], [null, null]);
    assertEquals(dns.queries(), []);
    assertEquals(run.snapshot.warnings, [warning]);
    assertEquals(run.stderr.trim().split("\n"), [`conntop: ${warning}`]);
  });

  await t.step("1000 addresses (a filter leaves 500 rows): every one asked for", async () => {
    const run = await once(["--netns", ns.name, "--src", "10.50.0.0/16"], opts);
    assertEquals(run.snapshot.connections.length, pairs.length);
    assertEquals(run.snapshot.warnings, []);
    const named = new Map(records.map((r) => [r.address, r.name]));
    for (const [src, dst] of pairs) {
      const c = flow(run.snapshot.connections, src, dst);
      assertEquals(
        [c.src_host, c.dst_host],
        [named.get(src) ?? null, named.get(dst) ?? null],
        `${src} > ${dst}`,
      );
    }
    const asked = new Set(dns.queries());
    const expected = new Set(pairs.flat().map(reverseName));
    assertEquals(asked, expected);
  });
});

Deno.test("conntop --once finishes in bounded time when the DNS server never answers", async () => {
  await using ns = await Netns.create("esil");
  await using geoPath = await tempDir("conntop-geo-empty-");
  await quietTable(ns);
  // glibc would wait 10 s × 3 attempts for each question.
  await using silent = await startSilentDns(ns, { resolvOptions: ["timeout:10", "attempts:3"] });
  // 80 addresses: more questions than the resolver runs at once, so some wait in its queue.
  const pairs = Array.from({ length: 40 }, (_, i): [string, string] => [
    i % 2 === 0 ? `10.0.${i}.1` : `2001:db8::${i}:1`,
    i % 2 === 0 ? `192.0.2.${i + 1}` : `2001:db8::${i}:2`,
  ]);
  await loadConntrack(ns, udpEntries(pairs));
  const run = await once(["--netns", ns.name], {
    env: { CONNTOP_GEOIP_PATH: geoPath.path },
    prefix: ["ip", "netns", "exec", ns.name],
  });
  assert(run.ms < 12_000, `took ${Math.round(run.ms)} ms`);
  assert(silent.received() > 0, "conntop asked the server");
  assertEquals(run.snapshot.connections.length, pairs.length);
  for (const c of run.snapshot.connections) assertEquals([c.src_host, c.dst_host], [null, null]);
  // The names left out are said, not passed off as addresses without one.
  const warning = "No hostname for 80 addresses: the resolver did not answer within 5 s";
  assertEquals(run.snapshot.warnings, [warning]);
  assertEquals(run.stderr.trim().split("\n"), [`conntop: ${warning}`]);
});

// ---------------------------------------------------------------------------------------------
// 6. The schema.

function validator(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  // deno-lint-ignore no-explicit-any
  (addFormats as any)(ajv);
  for (const name of ["connection.schema.json", "snapshot.schema.json"]) {
    ajv.addSchema(JSON.parse(Deno.readTextFileSync(new URL(name, SCHEMA_DIR))));
  }
  return ajv;
}

Deno.test("conntop --once JSON with every enrichment field filled matches the JSON Schemas", async () => {
  await using pair = await trackedPair("esch", 62);
  await using dir = await tempDir("conntop-geo-dir-");
  await using geoPath = await tempDir("conntop-geo-empty-");
  const { a, b } = pair;
  await quietTable(a);
  const dbs = await writeGeoLite2(dir.path);
  // Public addresses with a city, an organisation and a country in the test databases.
  const candidates = [dbs.city, dbs.asn, dbs.country]
    .flatMap((db) => addressesFor(db, 30, 10))
    .map((x) => x.text)
    .filter((x) => !x.includes(":") && isPublic(x)); // A has IPv4 only
  const [city, asn, country] = await Promise.all(
    [dbs.city, dbs.asn, dbs.country].map((db) => mmdblookupMany(db.file, candidates)),
  );
  type Rec = { city?: unknown; country?: unknown; "autonomous_system_organization"?: unknown };
  const pick = (m: Map<string, unknown>, has: (r: Rec) => boolean, what: string): string => {
    const found = candidates.find((x) => m.get(x) !== null && has(m.get(x) as Rec));
    assert(found !== undefined, `no test address with ${what}`);
    return found;
  };
  const far = [
    pick(city!, (r) => r.city !== undefined, "a city"),
    pick(asn!, (r) => r.autonomous_system_organization !== undefined, "an organisation"),
    pick(country!, (r) => r.country !== undefined, "a country"),
  ];
  await using _dns = await startDnsmasq(a, {
    records: [
      { address: far[0]!, name: "far.conntop.test" },
      { address: "10.62.0.2", name: "server.conntop.test" },
    ],
  });
  await using server = await startSocketProcess(b, "ct-e2e-schema", SERVER, {
    args: ["10.62.0.2"],
  });
  await using client = await startSocketProcess(a, "ct-e2e-sclient", CLIENT, {
    args: ["10.62.0.2", String(server.info.port)],
  });
  await server.next();
  // Each far address as source and as destination, on named ports.
  await loadConntrack(
    a,
    far.flatMap((x, i) => [
      `-I -t 300 -s ${x} -d 10.62.0.1 -p tcp --sport 443 --dport ${22 + i} --state ESTABLISHED`,
      `-I -t 300 -s 10.62.0.1 -d ${x} -p udp --sport ${40000 + i} --dport 53`,
    ]),
  );
  const opts = {
    env: { CONNTOP_GEOIP_PATH: geoPath.path },
    prefix: ["ip", "netns", "exec", a.name],
  };
  const args = ["--netns", a.name, "--geoip-dir", dir.path];
  const json = await once(args, opts);
  const ajv = validator();
  const snapshot = ajv.getSchema("https://conntop.invalid/schema/snapshot.schema.json")!;
  const connection = ajv.getSchema("https://conntop.invalid/schema/connection.schema.json")!;
  assert(snapshot(JSON.parse(json.stdout)), JSON.stringify(snapshot.errors));
  const conns: Connection[] = json.snapshot.connections;
  for (const f of ENRICHMENT_FIELDS) {
    assert(conns.every((c) => f in c), `${f} missing`);
    assert(conns.some((c) => c[f] !== null), `${f} is null in every connection`);
  }
  assert(conns.some((c) => c.pid === client.pid), "the client's connection has its pid");
  const nd = await runConntop(["--once", "-o", "ndjson", ...args], opts);
  assertEquals(nd.code, 0, nd.stderr);
  // conntop's own DNS questions are tracked in A too: this run may see a few more connections.
  const lines = nd.stdout.trim().split("\n");
  assert(lines.length >= conns.length, `${lines.length} lines`);
  for (const line of lines) assert(connection(JSON.parse(line)), JSON.stringify(connection.errors));
});

Deno.test("conntop --once with an empty table says nothing of hostnames", async () => {
  await using ns = await Netns.create("eempty");
  await using geoPath = await tempDir("conntop-geo-empty-");
  await quietTable(ns);
  // No row, no address: 0 is within the lookup limit (it once said "0 ... more than 1,000").
  const run = await once(["--netns", ns.name], {
    env: { CONNTOP_GEOIP_PATH: geoPath.path },
    prefix: ["ip", "netns", "exec", ns.name],
  });
  assertEquals(run.snapshot.connections, []);
  assert(!run.snapshot.warnings.some((w) => /[Hh]ostname/.test(w)), run.stderr);
  assert(!/[Hh]ostname/.test(run.stderr), run.stderr);
});
