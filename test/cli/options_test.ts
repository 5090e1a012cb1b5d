import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import { parseOptions } from "../../src/cli/options.ts";
import { versionText } from "../../src/cli/usage.ts";
import { UsageError } from "../../src/errors.ts";

Deno.test("parseOptions() picks the mode and defaults", () => {
  assertEquals(parseOptions([]).mode, "monitor");
  assertEquals(parseOptions(["--once"]).format, "table");
  assertEquals(parseOptions(["--stream"]).format, "ndjson");
  assertEquals(parseOptions(["-o", "csv"]).mode, "once", "a format implies --once");
  assertEquals(parseOptions([]).intervalMs, 1000);
  assertEquals(parseOptions(["-i", "0.25"]).intervalMs, 250);
  assertEquals(parseOptions(["--interval=2"]).intervalGiven, true);
  assertEquals(parseOptions(["--no-color"]).color, false);
  assertEquals(parseOptions([], { noColor: true }).color, false);
});

Deno.test("parseOptions() builds filters with conntrack's meaning", () => {
  const f = parseOptions(["-p", "TCP", "--state", "established,time_wait", "-s", "10.0.0.0/8"])
    .filter;
  assertEquals(f.proto, 6);
  assertEquals([...f.states!], ["ESTABLISHED", "TIME_WAIT"]);
  assertEquals(f.src?.length, 8);
  assertEquals(parseOptions(["-m", "0x10/0xf0"]).filter.mark, { value: 0x10, mask: 0xf0 });
  assertEquals(parseOptions(["-m", "7"]).filter.mark, { value: 7, mask: 0xffffffff });
  assertEquals(parseOptions(["--family", "ipv6"]).filter.family, 10);
  assertEquals(parseOptions(["-p", "253"]).filter.proto, 253);
});

Deno.test("parseOptions() rejects contradictions and out-of-range values", () => {
  assertThrows(() => parseOptions(["--family", "4", "--src", "::1"]), UsageError, "--family");
  assertThrows(() => parseOptions(["--stream", "-o", "json"]), UsageError, "--stream");
  assertThrows(() => parseOptions(["-i", "1e3"]), UsageError, "--interval");
  assertThrows(() => parseOptions(["-i", "4000"]), UsageError, "--interval");
  assertThrows(() => parseOptions(["-w", "-1"]), UsageError);
  assertThrows(() => parseOptions(["-p", "256"]), UsageError, "--proto");
  assertThrows(() => parseOptions(["--count", "0"]), UsageError, "--count");
});

Deno.test("parseOptions() takes --record, --replay and --speed for the monitor only", () => {
  const r = parseOptions(["--replay", "x.ndjson.gz", "--speed", "4"]);
  assertEquals([r.mode, r.replay, r.speed], ["monitor", "x.ndjson.gz", 4]);
  assertEquals(parseOptions(["--record", "out.ndjson"]).record, "out.ndjson");
  assertThrows(() => parseOptions(["--once", "--record", "f"]), UsageError, "--record");
  assertThrows(() => parseOptions(["--stream", "--replay", "f"]), UsageError, "--replay");
  assertThrows(() => parseOptions(["--record", "a", "--replay", "b"]), UsageError, "combined");
  assertThrows(() => parseOptions(["--replay", ""]), UsageError, "--replay");
  assertThrows(() => parseOptions(["--speed", "2"]), UsageError, "--replay");
  assertThrows(() => parseOptions(["--replay", "f", "--speed", "100"]), UsageError, "--speed");
  assertThrows(() => parseOptions(["--replay", "f", "--speed", "fast"]), UsageError, "--speed");
});

Deno.test("parseOptions() takes --restore with --netns only", () => {
  assertEquals(parseOptions(["--restore"]).mode, "restore");
  const r = parseOptions(["--restore", "--netns", "blue"]);
  assertEquals([r.mode, r.netns], ["restore", "blue"]);
  assertThrows(
    () => parseOptions(["--restore", "--track"]),
    UsageError,
    "Option --track does not apply to --restore (only --netns does)",
  );
  assertThrows(() => parseOptions(["--restore", "--once"]), UsageError, "--once");
  assertThrows(
    () => parseOptions(["--server", "--restore"]),
    UsageError,
    "Options --server and --restore cannot be combined",
  );
});

Deno.test("parseOptions() takes the enrichment switches", () => {
  const d = parseOptions([]);
  assertEquals([d.hostnames, d.servnames, d.geoip, d.geoipDirs], [true, true, true, []]);
  const o = parseOptions(["-n", "-P", "--geoip-dir", "/a", "--geoip-dir=/b"]);
  assertEquals([o.hostnames, o.servnames, o.geoipDirs], [false, false, ["/a", "/b"]]);
  assertEquals(parseOptions(["--no-hostname", "--no-servname"]).servnames, false);
  assertEquals(parseOptions(["--no-geoip"]).geoip, false);
  for (const args of [["--no-geoip", "--geoip-dir", "/a"], ["--geoip-dir", ""], ["--geoip-dir"]]) {
    assertThrows(() => parseOptions(args), UsageError);
  }
});

Deno.test("versionText() credits the embedded GeoIP data", () => {
  const text = versionText();
  assertEquals(text.includes("CC BY 4.0"), true);
  assertEquals(text.includes("ip-location-db"), true);
});
