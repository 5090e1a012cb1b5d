/**
 * Command-line options of scripts/bench.ts.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { MAX_ENTRIES } from "./entries.ts";

/** What the benchmark was asked to do. */
export interface BenchOptions {
  /** Table sizes for the read-time comparison. */
  sizes: number[];
  /** Length of the steady-state CPU measurement, per tool, in seconds. */
  cpuSeconds: number;
  /** Table size for the steady-state measurement. */
  cpuSize: number;
  /** Timed runs per tool and size. */
  runs: number;
  /** Also write the results as JSON to this file. */
  json?: string;
  help: boolean;
}

/** Usage text. */
export const USAGE = `Usage: deno task bench [OPTIONS]

Compares conntop with conntrack -L on tables of realistic connections in throw-away network
namespaces (needs root), and prints a markdown table on stdout (progress on stderr).

Options:
  --sizes N,N,...     table sizes for the full-read comparison (default 10000,100000,250000)
  --runs N            timed runs per tool and size (default 5)
  --cpu-size N        table size for the CPU and memory measurement (default 200000)
  --cpu-seconds S     length of the CPU measurement, per tool (default 30)
  --quick             sizes 10000,50000, 3 runs, 10 s of CPU at 50000 (explicit options win)
  --json FILE         also write every result as JSON to FILE
  -h, --help          show this help
`;

const SPEC = {
  sizes: { type: "string" },
  runs: { type: "string" },
  "cpu-size": { type: "string" },
  "cpu-seconds": { type: "string" },
  quick: { type: "boolean" },
  json: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function integer(name: string, text: string, lo: number, hi: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < lo || n > hi) {
    throw new Error(
      `Invalid value for ${name}: expected an integer from ${lo} to ${hi}, got '${text}'`,
    );
  }
  return n;
}

/** Parses the benchmark's arguments; throws an Error naming the bad option. */
export function parseBenchOptions(args: string[]): BenchOptions {
  const { values: v } = parseArgs({ args, options: SPEC, strict: true, allowPositionals: false });
  const quick = v.quick ?? false;
  const size = (name: string, text: string) => integer(name, text, 1, MAX_ENTRIES);
  return {
    sizes: v.sizes !== undefined
      ? v.sizes.split(",").map((s) => size("--sizes", s.trim()))
      : quick
      ? [10_000, 50_000]
      : [10_000, 100_000, 250_000],
    runs: v.runs !== undefined ? integer("--runs", v.runs, 1, 1000) : quick ? 3 : 5,
    cpuSize: v["cpu-size"] !== undefined
      ? integer("--cpu-size", v["cpu-size"], 0, MAX_ENTRIES)
      : quick
      ? 50_000
      : 200_000,
    cpuSeconds: v["cpu-seconds"] !== undefined
      ? integer("--cpu-seconds", v["cpu-seconds"], 0, 3600)
      : quick
      ? 10
      : 30,
    json: v.json,
    help: v.help ?? false,
  };
}
