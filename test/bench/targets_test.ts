/**
 * The bench targets' pure parts: the report (every target with its figure, the target and a
 * verdict; a skip is never counted as a pass) and the options that choose and size them.
 *
 * @module
 */

import { assertEquals, assertStringIncludes, assertThrows } from "../_helpers/assert.ts";
import { renderTargets, type TargetRow } from "../../scripts/_bench/targets.ts";
import { parseBenchOptions } from "../../scripts/_bench/options.ts";

const rows: TargetRow[] = [
  {
    group: "collection",
    measure: "collection of 250,000 ÷ `conntrack -L`",
    value: "700 ms",
    reference: "1000 ms",
    compared: 0.7,
    ratio: 0.7,
    target: "≤ 0.72×",
    verdict: "PASS",
  },
  {
    group: "monitor-1k",
    measure: "monitor 1,000: peak RSS",
    value: "140.5 MB",
    reference: "",
    compared: 140.5,
    target: "≤ 60 MB",
    verdict: "FAIL",
  },
  {
    group: "once",
    measure: "`--once -o csv --sort rate --top 20` at 200,000: peak RSS",
    value: "—",
    reference: "",
    compared: null,
    target: "≤ 100 MB",
    verdict: "SKIP",
    note: "`conntop --help` lists no --top on this branch",
  },
];

Deno.test("renderTargets() prints each target with its figures and verdict, skips apart", () => {
  const text = renderTargets({ rows, runs: 3, notes: ["Load average 1.00."], totalMs: 1 }, "M.");
  const lines = text.split("\n");
  assertEquals(lines[0], "M.");
  assertStringIncludes(text, "Targets (median of 3 runs each):");
  assertStringIncludes(text, "| Target | conntop | Reference | conntop ÷ reference | Target |");
  assertEquals(
    lines.find((l) => l.startsWith("| collection")),
    "| collection of 250,000 ÷ `conntrack -L` | 700 ms | 1000 ms | 0.70 | ≤ 0.72× | PASS |",
  );
  assertEquals(
    lines.find((l) => l.startsWith("| monitor 1,000")),
    "| monitor 1,000: peak RSS | 140.5 MB |  |  | ≤ 60 MB | **FAIL** |",
  );
  assertStringIncludes(
    text,
    "| — |  |  | ≤ 100 MB | **SKIP**: `conntop --help` lists no --top on this branch |",
  );
  assertStringIncludes(
    text,
    "1 passed, 1 failed, 1 skipped (a skip is not a pass). Load average 1.00.",
  );
});

Deno.test("parseBenchOptions() runs only the named target groups with --targets", () => {
  const o = parseBenchOptions(["--targets", "once,collection"]);
  assertEquals(o.targets, true);
  assertEquals(o.targetGroups, ["once", "collection"]);
  assertEquals([o.collector, o.ui, o.enrich, o.server, o.peers], [
    false,
    false,
    false,
    false,
    false,
  ]);
  assertEquals([o.targetRuns, o.targetSeconds, o.targetAfter], [3, 25, 60]);
});

Deno.test("parseBenchOptions() shortens the targets with --quick but keeps the 60 s wait", () => {
  const o = parseBenchOptions(["--quick", "--targets-only"]);
  assertEquals(o.targetGroups.length, 6);
  assertEquals([o.targetRuns, o.targetSeconds, o.targetKeys, o.targetAfter], [1, 10, 20, 60]);
});

Deno.test("parseBenchOptions() refuses an unknown target group, naming it", () => {
  assertThrows(
    () => parseBenchOptions(["--targets", "monitor,speed"]),
    Error,
    "Invalid value for --targets: expected groups among monitor, sort, monitor-1k, daemon, " +
      "once, collection, got 'speed'",
  );
});

Deno.test("parseBenchOptions() leaves the targets out with --no-targets", () => {
  assertEquals(parseBenchOptions(["--no-targets"]).targets, false);
  assertEquals(parseBenchOptions([]).targets, true);
});
