/**
 * The JSON outputs against the JSON Schemas in schema/, validated by Ajv: the documented field
 * names and types are what conntop really prints.
 */

import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { runConntop } from "../e2e/_conntop.ts";

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  // deno-lint-ignore no-explicit-any
  (addFormats as any)(ajv);
  const load = (name: string) =>
    JSON.parse(Deno.readTextFileSync(new URL(`../../schema/${name}`, import.meta.url)));
  ajv.addSchema(load("connection.schema.json"));
  ajv.addSchema(load("snapshot.schema.json"));
  return ajv;
}

Deno.test("conntop --once JSON and NDJSON match the published JSON Schemas", async () => {
  await using ns = await Netns.create("sch");
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 1);
  await loadConntrack(ns, [
    "-I -t 100 -u SEEN_REPLY,ASSURED -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1 --dport 2 --state ESTABLISHED -w 4",
    "-I -t 100 -s 2001:db8::1 -d 2001:db8::2 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 9",
    "-I -t 100 -s 10.0.0.1 -d 10.0.0.3 -p gre --srckey 1 --dstkey 2",
  ]);
  const ajv = validator();
  const json = await runConntop(["--once", "-o", "json", "--netns", ns.name]);
  assertEquals(json.code, 0, json.stderr);
  const snapshot = ajv.getSchema("https://conntop.invalid/schema/snapshot.schema.json")!;
  const doc = JSON.parse(json.stdout);
  assert(snapshot(doc), JSON.stringify(snapshot.errors));
  assertEquals(doc.connections.length, 3);
  const nd = await runConntop(["--once", "-o", "ndjson", "--netns", ns.name]);
  const conn = ajv.getSchema("https://conntop.invalid/schema/connection.schema.json")!;
  const lines = nd.stdout.trim().split("\n");
  assertEquals(lines.length, 3);
  for (const line of lines) assert(conn(JSON.parse(line)), JSON.stringify(conn.errors));
  const bad = { ...JSON.parse(lines[0]!), surprise: 1 };
  assertEquals(conn(bad), false, "the schema is strict about unknown fields");
});
