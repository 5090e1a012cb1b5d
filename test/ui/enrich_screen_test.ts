import { assertEquals } from "../_helpers/assert.ts";
import { assertGolden } from "../_helpers/golden.ts";
import { batchOf } from "../_helpers/records.ts";
import { EnrichStore } from "../../src/enrich/store.ts";
import { parseServices } from "../../src/enrich/services.ts";
import { palette } from "../../src/term/style.ts";
import { CellBuffer } from "../../src/term/buffer.ts";
import { defaultSettings } from "../../src/ui/settings.ts";
import { DEFAULT_THEME, UiApp } from "../../src/ui/mod.ts";
import { fixtureConns, key, screenText, T0 } from "./_fixture.ts";

// The fixture's addresses are private or documentation ones, so GeoIP never applies to them:
// the public answers here come with two connections of this test's own.
function enrichedApp(
  width: number,
  height: number,
  sort?: { column: "dst_country"; desc: boolean },
): { app: UiApp; store: EnrichStore; clock: { now: number } } {
  const clock = { now: T0 };
  const store = new EnrichStore({ geoip: true, hostnames: true });
  const settings = defaultSettings();
  if (sort !== undefined) settings.sort = sort;
  settings.columns.push({ id: "dst_org", width: 14 }, { id: "dst_class", width: 10 });
  const app = new UiApp({
    settings,
    host: "router",
    source: "live",
    now: () => clock.now,
    enrich: store,
  });
  app.resize(width, height);
  const conns = [
    ...fixtureConns(),
    { slot: 8, src: "10.0.0.1", dst: "8.8.8.8", sport: 40100, dport: 53, proto: 17, txBps: 20_000 },
    { slot: 9, src: "192.0.2.2", dst: "2a00:1450::1", sport: 40200, dport: 443, txBps: 10_000 },
  ].map((c) => ({ sampledMs: T0, ...c }));
  // The IPv6 entry needs an IPv6 source: make it one.
  conns[9]!.src = "2001:db8::2";
  const batch = batchOf(conns, { timeMs: T0 });
  batch.owners = [[8, { pid: 4242, name: "unbound" }], [0, { pid: 77, name: "curl" }]];
  batch.local = { v4: ["10.0.0.1"], v6: [], broadcast: [] };
  app.onBatch(batch);
  app.frame(new CellBuffer(1, 1)); // asks about the addresses it shows
  store.setServices(parseServices("domain 53/udp\nhttps 443/tcp\nssh 22/tcp\nsmtp 25/tcp\n"));
  store.apply(
    [
      ["8.8.8.8", { country: "US", countryName: null, asn: 15169, org: "GOOGLE", city: null }],
      ["2a00:1450::1", { country: "IE", countryName: null, asn: 15169, org: "GOOGLE", city: null }],
    ],
    [
      ["8.8.8.8", { status: "resolved", name: "dns.google" }],
      ["10.0.0.4", { status: "resolved", name: "laptop.lan" }],
      ["203.0.113.9", { status: "not-found" }],
    ],
  );
  return { app, store, clock };
}

Deno.test("The main screen shows hostnames, services, countries, classes and owners", () => {
  const { app } = enrichedApp(200, 16);
  assertGolden("ui/enriched_200x16.txt", screenText(app));
});

Deno.test("H and P switch back to addresses and port numbers", () => {
  const { app } = enrichedApp(200, 16);
  app.handle([key("H"), key("P")]);
  const text = screenText(app);
  assertEquals(text.includes("dns.google"), false);
  assertEquals(text.includes("8.8.8.8"), true);
  assertEquals(text.includes("domain"), false);
  assertEquals(text.includes("GOOGLE"), true, "GeoIP columns stay");
});

Deno.test("The details dialog names the process, hosts, classes and GeoIP", () => {
  const { app } = enrichedApp(100, 70);
  // Sorted by rate: the 8.8.8.8 connection (20000 B/s) is third; move to it.
  app.handle([key("down"), key("down"), key("enter")]);
  assertGolden("ui/enriched_details_100x70.txt", screenText(app));
});

Deno.test("An address of this host takes the this-host colour in the list", () => {
  const { app } = enrichedApp(200, 16);
  const buf = app.frame(new CellBuffer(1, 1));
  const lines = buf.lines();
  const row = lines.findIndex((l) => l.includes("dns.google"));
  const x = lines[row]!.indexOf("10.0.0.1");
  assertEquals(buf.fg[row * buf.width + x], DEFAULT_THEME.classes["this-host"].fg);
  assertEquals(DEFAULT_THEME.classes["this-host"].fg, palette(6));
});

Deno.test("Sorting on the destination country ranks countries by code, missing ones last", () => {
  const { app, clock } = enrichedApp(200, 16, { column: "dst_country", desc: true });
  // The first frame sorted before any answer; answers re-sort the list, at most once a second.
  const before = screenText(app).split("\n").slice(4, 7);
  assertEquals(before.filter((r) => / US | IE /.test(r)).length, 0, "not re-sorted yet");
  clock.now += 1000;
  const rows = screenText(app).split("\n").slice(4, 7);
  assertEquals(/ US /.test(rows[0]!), true, rows.join("\n"));
  assertEquals(/ IE /.test(rows[1]!), true, rows.join("\n"));
  assertEquals(/ US | IE /.test(rows[2]!), false, rows.join("\n"));
});

Deno.test("Process names, hostnames and GeoIP strings from outside show printable, cut with their mark", () => {
  const store = new EnrichStore({ geoip: true, hostnames: true });
  const settings = defaultSettings();
  settings.columns.push({ id: "dst_org", width: 14 });
  const app = new UiApp({ settings, host: "router", source: "live", now: () => T0, enrich: store });
  app.resize(200, 8);
  const conns = [
    { slot: 0, src: "10.0.0.1", dst: "8.8.8.8", sport: 40100, dport: 53, proto: 17, txBps: 2 },
    { slot: 1, src: "10.0.0.1", dst: "8.8.4.4", sport: 40101, dport: 53, proto: 17, txBps: 1 },
  ].map((c) => ({ sampledMs: T0, ...c }));
  const batch = batchOf(conns, { timeMs: T0 });
  batch.owners = [
    [0, { pid: 4242, name: "ev\x1b]0;PWNED\x07il" }],
    [1, { pid: 7, name: "a\t\u202e\u2066\ud800z" }],
  ];
  app.onBatch(batch);
  app.frame(new CellBuffer(1, 1));
  store.apply(
    [["8.8.8.8", {
      country: "US",
      countryName: null,
      asn: 1,
      org: "G\u009b2J\u200fX",
      city: null,
    }]],
    [["8.8.8.8", { status: "resolved", name: "dns\u202e.google" }]],
  );
  const text = screenText(app);
  const raw =
    // deno-lint-ignore no-control-regex
    /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
  assertEquals(raw.exec(text), null, text);
  const row = (needle: string) => text.split("\n").find((l) => l.includes(needle)) ?? "";
  // PROCESS is 16 wide: the name, '?' for each unprintable character, cut with "…".
  assertEquals(row("dns?.google").includes("ev?]0;PWNED?il[…"), true, text);
  assertEquals(row("dns?.google").includes("G?2J?X"), true, text);
  assertEquals(row("8.8.4.4").includes("a????z[7]"), true, text);
});
