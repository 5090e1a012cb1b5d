/**
 * The shape of the code: folders import downward only, along the table below, and a folder is
 * entered through its `mod.ts`. The table is checked to be acyclic, so the folder graph is.
 *
 * Imports are read from the source text (static `import`/`export … from`, dynamic `import()`,
 * and `new Worker(new URL(…))`), so a test of this file cannot be satisfied by a type-only
 * trick: every relative specifier in `src/`, `ffi/` and `main.ts` is looked at.
 */

import { assert, assertEquals } from "./_helpers/assert.ts";

const ROOT = new URL("../", import.meta.url);

/**
 * Which folders each folder may import. `root` is the loose modules at the top of src/
 * (errors, version, signals, library probes, attribution); `entry` is the programs (main.ts,
 * src/conntopd.ts). A folder not in the table fails the test: a new folder takes its place
 * here on purpose, not by accident.
 */
const ALLOWED: Record<string, readonly string[]> = {
  text: [],
  ffi: [],
  root: ["ffi", "text"],
  files: ["root", "text"],
  conntrack: ["root", "ffi", "text"],
  core: ["conntrack", "ffi", "root", "text"],
  config: ["core", "ffi", "files", "root", "text"],
  collector: ["conntrack", "core", "ffi", "files", "root", "text"],
  enrich: ["collector", "conntrack", "core", "ffi", "files", "root", "text"],
  model: ["conntrack", "core", "root", "text"],
  engine: ["conntrack", "core", "enrich", "model", "root", "text"],
  output: ["conntrack", "core", "engine", "model", "root", "text"],
  protocol: ["conntrack", "core", "root", "text"],
  record: ["conntrack", "core", "files", "protocol", "root", "text"],
  client: ["conntrack", "core", "files", "model", "protocol", "root", "text"],
  server: [
    "cli",
    "collector",
    "conntrack",
    "core",
    "ffi",
    "files",
    "model",
    "protocol",
    "root",
    "text",
  ],
  term: ["root", "text"],
  cli: ["conntrack", "core", "protocol", "root", "text"],
  ui: ["conntrack", "core", "engine", "enrich", "model", "output", "root", "term", "text"],
  app: [
    "cli",
    "client",
    "collector",
    "config",
    "conntrack",
    "core",
    "engine",
    "enrich",
    "ffi",
    "files",
    "model",
    "output",
    "protocol",
    "record",
    "root",
    "server",
    "term",
    "text",
    "ui",
  ],
};

/** Folders without a `mod.ts`: each of their modules is its own surface. */
const NO_SURFACE = new Set(["ffi", "root"]);

/**
 * Second doors into a folder, each with its reason: a module that code must be able to load
 * without the rest of its folder's surface.
 */
const LIGHT_SURFACES: Record<string, string | string[]> = {
  // --once, --stream and --restore tell a lost terminal without loading the terminal code
  // (test/app/graph_test.ts).
  "src/term/hangup.ts": "app",
  // conntopd and --once run the collector in their own thread; the monitor's UI thread, which
  // loads the collector's surface, must not load the collection loop and its FFI with it.
  "src/collector/local.ts": ["server", "app"],
  // `--version` reports libmaxminddb; the enrichment's surface, which the UI thread loads, must
  // not load its binding.
  "src/enrich/geoip/library.ts": "entry",
  // The UI's human units and the programs' writers, without the --once formats and encoders.
  "src/output/units.ts": "ui",
  "src/output/write.ts": "entry",
  // The `completions` command's scripts, loaded by the programs only when it runs.
  "src/cli/completions.ts": "entry",
};

/** Programs: they may import any folder's surface. */
const ENTRIES = new Set(["main.ts", "src/conntopd.ts"]);

function folderOf(path: string): string {
  if (ENTRIES.has(path)) return "entry";
  if (path.startsWith("ffi/")) return "ffi";
  const parts = path.split("/");
  if (parts[0] !== "src") return "outside";
  return parts.length === 2 ? "root" : parts[1]!;
}

async function sources(): Promise<string[]> {
  const out = ["main.ts"];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(new URL(dir, ROOT))) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (/\.(ts|js)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
    }
  };
  await walk("src");
  await walk("ffi");
  return out.sort();
}

const SPECIFIER = new RegExp(
  [
    String.raw`\bfrom\s+"(\.{1,2}/[^"]+)"`,
    String.raw`\bimport\s*\(\s*"(\.{1,2}/[^"]+)"\s*\)`,
    String.raw`\bimport\s+"(\.{1,2}/[^"]+)"`,
    String.raw`new\s+Worker\(\s*new\s+URL\(\s*"(\.{1,2}/[^"]+)"`,
  ].join("|"),
  "g",
);

interface Edge {
  from: string;
  to: string;
}

async function edges(): Promise<Edge[]> {
  const out: Edge[] = [];
  for (const file of await sources()) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4]!;
      const to = new URL(spec, new URL(file, ROOT)).pathname.slice(ROOT.pathname.length);
      if (!/\.(ts|js)$/.test(to)) continue; // data files (GeoIP, services) are not modules
      out.push({ from: file, to });
    }
  }
  return out;
}

Deno.test("The allowed-imports table has no cycle", () => {
  const state = new Map<string, "visiting" | "done">();
  const cycle: string[] = [];
  const visit = (f: string, path: string[]): boolean => {
    if (state.get(f) === "done") return false;
    if (state.get(f) === "visiting") {
      cycle.push(...path.slice(path.indexOf(f)), f);
      return true;
    }
    state.set(f, "visiting");
    for (const g of ALLOWED[f] ?? []) if (visit(g, [...path, f])) return true;
    state.set(f, "done");
    return false;
  };
  for (const f of Object.keys(ALLOWED)) if (visit(f, [])) break;
  assertEquals(cycle, [], `cycle in the table: ${cycle.join(" → ")}`);
  for (const [f, allowed] of Object.entries(ALLOWED)) {
    for (const g of allowed) {
      assert(g in ALLOWED, `${f} may import ${g}, which is not in the table`);
    }
  }
});

Deno.test("Every folder imports only the folders below it", async () => {
  const bad: string[] = [];
  for (const { from, to } of await edges()) {
    const a = folderOf(from), b = folderOf(to);
    if (a === b || a === "entry") continue;
    if (b === "outside" || b === "entry") {
      bad.push(`${from} → ${to} (outside src/ and ffi/, or a program)`);
      continue;
    }
    const allowed = ALLOWED[a];
    if (allowed === undefined) bad.push(`${from}: folder '${a}' is not in the layering table`);
    else if (!allowed.includes(b)) bad.push(`${from} → ${to} (${a} may not import ${b})`);
  }
  assertEquals(bad, []);
});

Deno.test("Other folders enter a folder through its mod.ts", async () => {
  const bad: string[] = [];
  for (const { from, to } of await edges()) {
    const a = folderOf(from), b = folderOf(to);
    if (a === b || NO_SURFACE.has(b) || b === "outside") continue;
    const door = LIGHT_SURFACES[to];
    if (door === a || (Array.isArray(door) && door.includes(a))) continue;
    if (to !== `src/${b}/mod.ts`) bad.push(`${from} → ${to} (use src/${b}/mod.ts)`);
  }
  assertEquals(bad, []);
});

Deno.test("The layering check sees a planted upward import", () => {
  // The checker itself: a line that imports the UI from the collector must be reported.
  const a = folderOf("src/collector/worker.ts"), b = folderOf("src/ui/app.ts");
  assertEquals([a, b], ["collector", "ui"]);
  assert(!ALLOWED[a]!.includes(b));
  const text = `import { UiApp } from "../ui/mod.ts";\nconst w = new Worker(new URL("./w.ts"`;
  const found = [...text.matchAll(SPECIFIER)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]);
  assertEquals(found, ["../ui/mod.ts", "./w.ts"]);
});
