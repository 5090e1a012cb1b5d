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

Deno.test("parseOptions() gives an option its next argument even when it starts with '-'", () => {
  // GNU getopt takes the next argument as the value: `-i -1` is an interval of -1, which is out
  // of range, not "--interval takes no value".
  const cases: [string[], string][] = [
    [
      ["-i", "-1"],
      "Invalid value for --interval: expected seconds between 0.05 and 3600, got '-1'",
    ],
    [["--interval", "-2"], "Invalid value for --interval"],
    [["-w", "-1"], "Invalid value for --zone: expected an integer from 0 to 65535, got '-1'"],
    [["--sport", "-5"], "Invalid value for --sport"],
    [["-c", "-3", "--stream"], "Invalid value for --count"],
    [["--connect", "h", "--port", "-1"], "Invalid value for --port"],
  ];
  for (const [args, message] of cases) {
    assertThrows(() => parseOptions(args), UsageError, message);
  }
  // An option value that is itself a dash word is a value, not an option.
  assertEquals(parseOptions(["--record", "-x.ndjson"]).record, "-x.ndjson");
  // After "--" nothing is an option value any more.
  assertThrows(() => parseOptions(["--", "-i"]), UsageError, "Unexpected argument '-i'");
});

/** parseOptions(args) throws a UsageError naming `option` and quoting `value`. */
function rejects(args: string[], option: string, value: string): void {
  const err = assertThrows(() => parseOptions(args), UsageError, `Invalid value for ${option}`);
  assertEquals(err.message.endsWith(`got '${value}'`), true, err.message);
}

Deno.test("parseOptions() reads every integer option with one parser: decimal or 0x hex", () => {
  assertEquals(parseOptions(["--connect", "h", "--port", "0x2710"]).remote?.server.port, 10000);
  assertEquals(parseOptions(["--connect", "h:0x50"]).remote?.server.port, 80);
  assertEquals(parseOptions(["--sport", "0x50"]).filter.sport, 80);
  assertEquals(parseOptions(["--dport", "0X1bB"]).filter.dport, 443);
  assertEquals(parseOptions(["--stream", "-c", "0x10"]).count, 16);
  assertEquals(parseOptions(["-w", "0x1"]).filter.zone, 1);
  assertEquals(parseOptions(["--event-buffer", "0x10000"]).eventBufferBytes, 65536);
  const server = parseOptions(["--server", "--max-clients", "0x10", "--client-queue", "0x100000"]);
  assertEquals([server.server?.maxClients, server.server?.clientQueueBytes], [16, 1 << 20]);
  for (const bad of ["", " 5", "5 ", "+5", "1_0", "1e3", "0x", "0x1g", "5.0", "٣"]) {
    rejects(["--sport", bad], "--sport", bad);
    rejects(["--connect", "h", "--port", bad], "--port", bad);
    rejects(["--server", "--max-clients", bad], "--max-clients", bad);
  }
});

Deno.test("parseOptions() reads every seconds option with one parser", () => {
  assertEquals(parseOptions(["-i", ".5"]).intervalMs, 500);
  assertEquals(parseOptions(["--server", "--idle-timeout", "7.5"]).server?.idleTimeoutMs, 7500);
  for (const bad of ["", "1e3", "0x10", "+1", " 1", "1.", "-1", "NaN", "Infinity"]) {
    rejects(["-i", bad], "--interval", bad);
    rejects(["--server", "--handshake-timeout", bad], "--handshake-timeout", bad);
  }
});

Deno.test("--name takes 1 to 64 printable characters: controls, C1 and bidi characters are refused", () => {
  for (
    const bad of ["", "a\tb", "a\x1b]0;x\x07", "a\x7f", "a\u009bb", "a\u202eb", "x".repeat(65)]
  ) {
    assertThrows(
      () => parseOptions(["--connect", "h", "--name", bad]),
      UsageError,
      "Invalid value for --name",
    );
  }
  assertEquals(parseOptions(["--connect", "h", "--name", "Zürich 🦕"]).remote?.name, "Zürich 🦕");
});

Deno.test("parseOptions() takes --sort, --reverse, --top and --columns with --once, by column name", () => {
  const o = parseOptions(["--once", "--sort", "rate,dst", "--reverse", "--top", "0x14"]);
  assertEquals([o.sort, o.reverse, o.top, o.columns], [["rate", "dst"], true, 20, undefined]);
  const d = parseOptions(["--once"]);
  assertEquals([d.sort, d.reverse, d.top, d.columns], [[], false, undefined, undefined]);
  assertEquals(parseOptions(["-o", "csv", "--columns", "id, src,process"]).columns, [
    "id",
    "src",
    "process",
  ]);
});

Deno.test("parseOptions() refuses --sort, --reverse, --top and --columns without --once, and unknown names", () => {
  for (const args of [["--sort", "rate"], ["--reverse"], ["--top", "5"], ["--columns", "id"]]) {
    const name = args[0]!;
    assertThrows(() => parseOptions(args), UsageError, `Option ${name} works with --once only`);
    assertThrows(() => parseOptions(["--stream", ...args]), UsageError, `Option ${name} works`);
    assertThrows(() => parseOptions(["--server", ...args]), UsageError, `Option ${name} works`);
  }
  // One line naming the value and every valid name.
  const names = "columns: proto, state, src, sport, dst, dport, nat, tx_rate, rx_rate, rate, " +
    "tx_bytes, rx_bytes, tx_packets, rx_packets, age, timeout, mark, zone, flags, id, process, " +
    "src_host, dst_host, src_country, dst_country, src_asn, dst_asn, src_org, dst_org, " +
    "src_city, dst_city, src_class, dst_class";
  assertThrows(
    () => parseOptions(["--once", "--sort", "rte"]),
    UsageError,
    `Invalid value for --sort: unknown column 'rte' (${names})`,
  );
  assertThrows(
    () => parseOptions(["--once", "--columns", "id,,src"]),
    UsageError,
    `Invalid value for --columns: unknown column '' (${names})`,
  );
  assertThrows(
    () => parseOptions(["--once", "--columns", "id,src,id"]),
    UsageError,
    "Invalid value for --columns: column 'id' given twice",
  );
  assertThrows(
    () => parseOptions(["--once", "--sort", "rate,dst,src"]),
    UsageError,
    "Invalid value for --sort: expected one or two column names, got 'rate,dst,src'",
  );
  assertThrows(() => parseOptions(["--once", "--top", "0"]), UsageError, "--top");
  assertThrows(() => parseOptions(["--once", "--top", "-3"]), UsageError, "--top");
});
