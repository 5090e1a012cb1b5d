import { assertEquals } from "../_helpers/assert.ts";
import { parseArgs as nodeParseArgs } from "node:util";
import { parseArgs } from "../../src/cli/parse_args.ts";
import { attachValues, LONG_OPTIONS } from "../../src/cli/options.ts";

// A spec like options.ts's: booleans and strings, short names, one `multiple`.
const SPEC = {
  help: { type: "boolean", short: "h" },
  once: { type: "boolean", short: "1" },
  "no-hostname": { type: "boolean", short: "n" },
  "no-servname": { type: "boolean", short: "P" },
  count: { type: "string", short: "c" },
  format: { type: "string", short: "o" },
  "geoip-dir": { type: "string", multiple: true },
  listen: { type: "string" },
} as const;

// What each parser gives: its values (as plain entries, in order) or its error's code and message.
function outcome(f: () => { values: object }): unknown {
  try {
    return { values: Object.entries(f().values) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code, message: e.message };
  }
}

const CASES: string[][] = [
  [],
  ["-h"],
  ["--help", "--once"],
  ["-1nP"],
  ["-nc5"],
  ["-c", "5"],
  ["-c5", "-o", "json"],
  ["--count=7", "--count=8"],
  ["--count="],
  ["--format=csv", "-n"],
  ["--geoip-dir=/a", "--geoip-dir", "/b", "--geoip-dir="],
  ["--count"],
  ["-c"],
  ["-nc"],
  ["--help=yes"],
  ["--bogus"],
  ["--bogus=1"],
  ["-x"],
  ["-nx"],
  ["stray"],
  ["-"],
  ["--", "a"],
  ["--"],
  ["--help", "--", "--once"],
  ["--listen", "127.0.0.1:1"],
  ["--listen=::1", "-h", "--listen=a=b"],
];

Deno.test("parseArgs() gives the values and errors of node:util's parseArgs", () => {
  for (const args of CASES) {
    const a = attachValues(args, SPEC);
    const ours = outcome(() => parseArgs({ args: a, options: SPEC }));
    const node = outcome(() =>
      nodeParseArgs({ args: a, options: SPEC, strict: true, allowPositionals: false })
    );
    assertEquals(ours, node, `args ${JSON.stringify(args)}`);
  }
});

Deno.test("parseArgs() knows every long option options.ts declares", () => {
  // Each long option parses alone (a string one with a value), as node:util's does.
  for (const name of LONG_OPTIONS) {
    for (const args of [[`--${name}`], [`--${name}=x`]]) {
      const ours = outcome(() => parseArgs({ args, options: { [name]: { type: "string" } } }));
      const node = outcome(() =>
        nodeParseArgs({
          args,
          options: { [name]: { type: "string" } },
          strict: true,
          allowPositionals: false,
        })
      );
      assertEquals(ours, node);
    }
  }
});
