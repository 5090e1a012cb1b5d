/**
 * `conntop --once` writes as it goes: with the JavaScript heap capped at 40 MiB, every format
 * of a 50,000-connection table still comes out whole. Before --once streamed, the JSON
 * document alone (about 80 MB as a string, with every connection object behind it) did not fit
 * and the run died of heap exhaustion (exit 133); the table held all its rows as strings.
 */

import { assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { CONNTOP_PERMISSIONS } from "../../scripts/_build/commands.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const COUNT = 50_000;
/** The cap: far below what the whole output takes, well above what one piece of it does. */
const HEAP_MIB = 40;

function entries(): string[] {
  return Array.from({ length: COUNT }, (_, i) => {
    const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    return `-I -t 3000 -s ${src} -d 192.0.2.1 -p udp --sport ${1024 + (i % 60000)} --dport 53`;
  });
}

Deno.test("conntop --once prints a 50,000-connection table in every format within a 40 MiB heap", async (t) => {
  await using ns = await Netns.create("mem");
  await loadConntrack(ns, entries());
  const run = async (format: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--v8-flags=--max-old-space-size=${HEAP_MIB}`,
        ...CONNTOP_PERMISSIONS,
        MAIN,
        "--once",
        "-o",
        format,
        "-n",
        "--netns",
        ns.name,
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr.slice(-2000));
    return new TextDecoder().decode(out.stdout);
  };
  await t.step("json", async () => {
    const doc = JSON.parse(await run("json")) as { connections: { orig_dst: string }[] };
    assertEquals(doc.connections.length, COUNT);
    assertEquals(doc.connections[COUNT - 1]!.orig_dst, "192.0.2.1");
  });
  await t.step("ndjson", async () => {
    const lines = (await run("ndjson")).split("\n");
    assertEquals(lines.length, COUNT + 1);
    assertEquals(JSON.parse(lines[COUNT - 1]!).orig_dport, 53);
  });
  await t.step("csv", async () => {
    assertEquals((await run("csv")).split("\r\n").length, COUNT + 2);
  });
  await t.step("table", async () => {
    const lines = (await run("table")).split("\n");
    assertEquals(lines.length, COUNT + 2);
    assertEquals(lines[1]!.startsWith("udp "), true, lines[1]);
  });
});
