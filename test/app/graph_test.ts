/**
 * --once, --stream and --restore load no UI: the modules a mode loads are main.ts's static
 * imports plus what that mode imports, and neither may reach the UI or the terminal code. Read
 * from `deno info --json`, following only the imports that load code at run time (a type-only
 * import is erased), and telling static imports from dynamic ones (`import()`), which load only
 * when their mode runs.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";

const ROOT = new URL("../../", import.meta.url);

/** Modules and their run-time imports, as `deno info --json` lists them. */
interface Graph {
  roots: string[];
  modules: {
    specifier: string;
    dependencies?: { code?: { specifier?: string }; isDynamic?: boolean }[];
  }[];
}

async function info(entry: string): Promise<Graph> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as Graph;
}

/**
 * The repository's modules that loading `entry` loads (with `dynamic`, also those its
 * `import()`s load), each with the chain of imports that reaches it.
 */
async function loaded(entry: string, dynamic: boolean): Promise<Map<string, string>> {
  const g = await info(entry);
  const bySpecifier = new Map(g.modules.map((m) => [m.specifier, m]));
  const chain = new Map<string, string>();
  const local = (s: string) => s.startsWith(ROOT.href) ? s.slice(ROOT.href.length) : s;
  const todo = [g.roots[0]!];
  chain.set(g.roots[0]!, local(g.roots[0]!));
  while (todo.length > 0) {
    const s = todo.pop()!;
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      const next = d.code?.specifier;
      if (next === undefined || (d.isDynamic === true && !dynamic) || chain.has(next)) continue;
      chain.set(next, `${chain.get(s)} > ${local(next)}`);
      todo.push(next);
    }
  }
  const out = new Map<string, string>();
  for (const [s, c] of chain) if (s.startsWith(ROOT.href)) out.set(local(s), c);
  return out;
}

/** What a mode without a terminal must never load. */
const NO_TERMINAL = ["src/ui/", "src/term/tty.ts", "src/term/input.ts", "src/app/monitor.ts"];

function offending(modules: Map<string, string>, forbidden: readonly string[]): string[] {
  return [...modules].filter(([m]) => forbidden.some((f) => m.startsWith(f))).map(([, c]) => c);
}

Deno.test("main.ts loads no UI, terminal or server code before it knows the mode", async () => {
  const modules = await loaded("main.ts", false);
  assert(modules.has("src/cli/options.ts"), "the static graph holds the option parser");
  assertEquals(offending(modules, [...NO_TERMINAL, "src/server/"]), []);
  // Every mode is loaded only when it runs (src/app/mod.ts).
  assertEquals(offending(modules, ["src/app/once.ts", "src/app/stream.ts"]), []);
  // The modes and the server are still there, behind import().
  const all = await loaded("main.ts", true);
  for (
    const m of [
      "src/app/monitor.ts",
      "src/app/once.ts",
      "src/app/stream.ts",
      "src/app/restore.ts",
      "src/ui/app.ts",
      "src/term/tty.ts",
      "src/server/run.ts",
    ]
  ) {
    assert(all.has(m), `${m} is reachable through import()`);
  }
});

Deno.test("The live monitor's UI thread loads no collection loop, client or recording code", async () => {
  // What the UI thread of a live monitor holds: main.ts and the monitor, without their
  // import()s (--connect's and --replay's sources, --record's writer, the other modes). The
  // collection loop, its FFI and the GeoIP binding run in the worker; the protocol, the client
  // and the recording code only for --connect, --replay and --record.
  const modules = new Map([
    ...await loaded("main.ts", false),
    ...await loaded("src/app/monitor.ts", false),
  ]);
  assert(modules.has("src/ui/app.ts"), "the monitor's static graph holds the UI");
  assertEquals(
    offending(modules, [
      "src/collector/loop.ts",
      "src/collector/local.ts",
      "src/protocol/",
      "src/client/",
      "src/record/",
      "src/app/once.ts",
      "src/app/remote.ts",
      "src/app/recording.ts",
      "ffi/maxminddb.ts",
      "ffi/conntrack.ts",
      "src/output/records.ts",
      "src/output/encode.ts",
      "src/cli/completions.ts",
    ]),
    [],
  );
  // They are still reachable when asked for.
  const all = await loaded("src/app/monitor.ts", true);
  for (const m of ["src/client/connection.ts", "src/record/replay.ts", "src/record/recorder.ts"]) {
    assert(all.has(m), `${m} is reachable through import()`);
  }
});

for (const mode of ["src/app/once.ts", "src/app/stream.ts", "src/app/restore.ts"]) {
  Deno.test(`${mode} loads no UI or terminal code, even through import()`, async () => {
    const modules = await loaded(mode, true);
    assert(modules.size > 5, `deno info listed ${modules.size} modules`);
    assertEquals(offending(modules, NO_TERMINAL), []);
  });
}
