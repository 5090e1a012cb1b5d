/**
 * The dedicated server stays small: neither src/conntopd.ts nor the collector worker it loads by
 * URL pulls in the UI, the terminal code, GeoIP, hostname resolution, ajv or Node compatibility modules.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";

const ROOT = new URL("../../", import.meta.url);

/** Module specifiers conntopd must never load (prefixes of file URLs, or npm/jsr names). */
const FORBIDDEN = [
  "src/ui/",
  "src/term/",
  "src/enrich/geoip/",
  "src/enrich/hostnames.ts",
  "src/enrich/service.ts",
  "src/app/monitor.ts",
  "ffi/maxminddb.ts",
];
const FORBIDDEN_PACKAGES = [/^npm:\/?mmdb-lib/, /^npm:\/?ajv/];
/**
 * Node compatibility modules: the first import of one loads Deno's Node layer (about 3 MB each
 * for `node:util` and `node:buffer` in a server that would never use them again).
 */
const FORBIDDEN_NODE = /^node:/;

async function graph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  // `npmPackages` lists the lock file's packages, not the graph's: read the modules only.
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; npmPackage?: string }[];
  };
  return info.modules.map((m) =>
    m.npmPackage === undefined ? m.specifier : `npm:/${m.npmPackage} ${m.specifier}`
  );
}

for (const entry of ["src/conntopd.ts", "src/collector/worker.ts"]) {
  Deno.test(`${entry}'s module graph holds no UI, GeoIP, resolver, ajv or node: module`, async () => {
    const modules = await graph(entry);
    assert(modules.length > 5, `deno info listed ${modules.length} modules`);
    const local = modules
      .filter((m) => m.startsWith(ROOT.href))
      .map((m) => m.slice(ROOT.href.length));
    for (const bad of FORBIDDEN) {
      const hits = local.filter((m) => m.startsWith(bad));
      assertEquals(hits, [], `${entry} imports ${bad}`);
    }
    const node = modules.filter((m) => FORBIDDEN_NODE.test(m));
    assertEquals(node, [], `${entry} imports Node compatibility modules`);
    for (const re of FORBIDDEN_PACKAGES) {
      const hits = modules.filter((m) => re.test(m));
      assertEquals(hits, [], `${entry} imports ${re}`);
    }
  });
}

/**
 * What conntopd alone must not load either: the engine (the monitor's view queries; the
 * collector worker hosts it, conntopd serves batches), the --once outputs and the programs'
 * modes. The option parser checks column names from src/core/columns.ts for this.
 */
const CONNTOPD_FORBIDDEN = ["src/engine/", "src/output/", "src/app/", "src/client/", "src/record/"];

Deno.test("conntopd loads no engine, --once output, monitor mode, client or recording code", async () => {
  const local = (await graph("src/conntopd.ts"))
    .filter((m) => m.startsWith(ROOT.href))
    .map((m) => m.slice(ROOT.href.length));
  assert(local.includes("src/cli/options.ts"), "the option parser is in the graph");
  for (const bad of CONNTOPD_FORBIDDEN) {
    assertEquals(local.filter((m) => m.startsWith(bad)), [], `src/conntopd.ts imports ${bad}`);
  }
});

Deno.test("conntopd's graph does hold the server, the protocol and the collector client", async () => {
  const local = (await graph("src/conntopd.ts")).map((m) => m.slice(ROOT.href.length));
  for (const m of ["src/server/run.ts", "src/protocol/validate.ts", "src/collector/client.ts"]) {
    assert(local.includes(m), `${m} is in the graph`);
  }
});
