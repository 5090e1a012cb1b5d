/**
 * The FFI bindings declare only what conntop calls: Deno.dlopen fails when one declared symbol is
 * missing from the library, so an unused one could only stop conntop on a build of the library
 * that lacks it. Checked statically (each declared symbol is called, from src/ or from an ffi/
 * function that src/ reaches) and by loading: the libraries load with their declarations, and a
 * stand-in libnetfilter_conntrack that has nothing but the four symbols conntop calls loads too.
 *
 * Requires gcc (the stand-in) and `--allow-all`.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import * as conntrack from "../../ffi/conntrack.ts";
import * as libc from "../../ffi/libc.ts";
import * as maxminddb from "../../ffi/maxminddb.ts";
import * as dl from "../../ffi/dl.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

const MODULES = {
  "conntrack.ts": conntrack.SYMBOLS,
  "libc.ts": libc.SYMBOLS,
  "maxminddb.ts": maxminddb.SYMBOLS,
  "dl.ts": dl.SYMBOLS,
} as const;

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await tsFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** `text` without comments (the files have no "//" or "/*" inside strings that matter here). */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** The top-level declarations of a module: name → its text. */
function declarations(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re =
    /^(?:export\s+)?(?:async\s+)?(?:function\*?|class|const|let|var|interface|type)\s+([A-Za-z_$][\w$]*)/gm;
  const starts = [...text.matchAll(re)].map((m) => ({ name: m[1]!, at: m.index! }));
  starts.forEach((s, i) => out.set(s.name, text.slice(s.at, starts[i + 1]?.at ?? text.length)));
  return out;
}

/** Whether `symbol` is called as a property (`.symbol(`) in `text`. */
const calls = (text: string, symbol: string) => new RegExp(`\\.${symbol}\\(`).test(text);

Deno.test("every symbol an ffi/ binding declares is called from src/", async () => {
  const srcTexts = await Promise.all(
    [...await tsFiles(`${ROOT}/src`), `${ROOT}/main.ts`].map(async (f) => ({
      file: f,
      text: stripComments(await Deno.readTextFile(f)),
    })),
  );
  const unused: string[] = [];
  for (const [module, symbols] of Object.entries(MODULES)) {
    const decls = declarations(stripComments(await Deno.readTextFile(`${ROOT}/ffi/${module}`)));
    // What src/ imports from the module, then what those declarations use in it, transitively.
    const reached = new Set<string>();
    const importRe = new RegExp(
      `import\\s*(?:type\\s*)?\\{([^}]*)\\}\\s*from\\s*"[./]*ffi/${module.replace(".", "\\.")}"`,
      "g",
    );
    for (const { text } of srcTexts) {
      for (const m of text.matchAll(importRe)) {
        for (const part of m[1]!.split(",")) {
          const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0]!;
          if (decls.has(name)) reached.add(name);
        }
      }
    }
    for (const todo = [...reached]; todo.length > 0;) {
      const body = decls.get(todo.pop()!)!;
      for (const name of decls.keys()) {
        if (!reached.has(name) && new RegExp(`\\b${name.replace("$", "\\$")}\\b`).test(body)) {
          reached.add(name);
          todo.push(name);
        }
      }
    }
    assert(reached.size > 0, `src/ imports nothing from ffi/${module}`);
    for (const symbol of Object.keys(symbols)) {
      const inSrc = srcTexts.some(({ text }) => calls(text, symbol));
      const inFfi = [...reached].some((d) => d !== "SYMBOLS" && calls(decls.get(d)!, symbol));
      if (!inSrc && !inFfi) unused.push(`ffi/${module}: ${symbol}`);
    }
  }
  assertEquals(unused, []);
});

Deno.test("the scan finds an uncalled symbol (it is not blind)", () => {
  // A declaration that nothing calls is reported: the same helpers on a made-up module.
  const decls = declarations(
    "export const SYMBOLS = {};\nexport function f() { lib.used(1); }\nfunction g() { lib.unused(2); }\n",
  );
  assertEquals([...decls.keys()], ["SYMBOLS", "f", "g"]);
  assert(calls(decls.get("f")!, "used"));
  assert(!calls(decls.get("f")!, "unused"));
  assertEquals(stripComments("a(); // lib.unused(1)\n/* b.unused(2) */"), "a(); \n");
});

Deno.test("the libraries load with exactly their declared symbols", () => {
  for (
    const [soname, symbols] of [
      ["libc.so.6", libc.SYMBOLS],
      ["libc.so.6", dl.SYMBOLS],
      [conntrack.LIBNFCT_SONAME, conntrack.SYMBOLS],
      [maxminddb.LIBMAXMINDDB_SONAME, maxminddb.SYMBOLS],
    ] as const
  ) {
    const lib = Deno.dlopen(soname, symbols);
    try {
      for (const name of Object.keys(symbols)) {
        assertEquals(typeof (lib.symbols as Record<string, unknown>)[name], "function", name);
      }
    } finally {
      lib.close();
    }
  }
});

Deno.test("conntop loads a libnetfilter_conntrack that has only the four symbols it calls", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-nfct-stub-" });
  try {
    const names = Object.keys(conntrack.SYMBOLS);
    assertEquals(names.sort(), ["nfct_close", "nfct_fd", "nfct_open", "nfct_send"]);
    const source = names.map((n) => `int ${n}(void) { return -1; }`).join("\n") + "\n";
    await Deno.writeTextFile(`${dir}/stub.c`, source);
    const cc = await new Deno.Command("gcc", {
      args: ["-shared", "-fPIC", "-o", `${dir}/libnfct-stub.so`, `${dir}/stub.c`],
      stderr: "piped",
    }).output();
    assertEquals(cc.code, 0, new TextDecoder().decode(cc.stderr));
    // In a child: the binding opens its library once per process.
    const probe = `import { nfct } from "${ROOT}/ffi/conntrack.ts";` +
      `console.log(Object.keys(nfct()).sort().join(","));`;
    const run = async (lib: string) => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--quiet", probe],
        env: { CONNTOP_LIBNFCT: lib, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: r.code, out: dec.decode(r.stdout).trim(), err: dec.decode(r.stderr) };
    };
    const ok = await run(`${dir}/libnfct-stub.so`);
    assertEquals(ok, { code: 0, out: names.join(","), err: "" });
    // The stand-in really lacks what conntop used to declare: opening it with one more fails.
    assert(
      (() => {
        try {
          Deno.dlopen(`${dir}/libnfct-stub.so`, {
            nfct_catch: { parameters: ["pointer"], result: "i32" },
          }).close();
          return false;
        } catch {
          return true;
        }
      })(),
      "a symbol the stand-in lacks fails to load",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
