/**
 * `--version` of conntop and conntopd: the version, Deno's, and the shared libraries found, each
 * with the file the dynamic linker loaded. The reference is the system's own: `ldconfig -p` for
 * the files and dpkg for libmaxminddb's version.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import { runCommand } from "../../tools/run.ts";
import { CONNTOP_PERMISSIONS, CONNTOPD_BUILD_PERMISSIONS } from "../../scripts/_build/commands.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const VERSION =
  (await Deno.readTextFile(`${ROOT}/src/version.ts`)).match(/VERSION = "([^"]+)"/)![1];

async function version(
  entry: string,
  permissions: readonly string[],
  env: Record<string, string> = {},
): Promise<string[]> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, `${ROOT}/${entry}`, "--version"],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assertEquals(r.code, 0, dec.decode(r.stderr));
  assertEquals(dec.decode(r.stderr), "");
  return dec.decode(r.stdout).split("\n");
}

/** The real path of the file ldconfig's cache gives for `soname`. */
async function ldconfigPath(soname: string): Promise<string> {
  const { stdout } = await runCommand(["ldconfig", "-p"]);
  const line = stdout.split("\n").find((l) => l.trim().startsWith(`${soname} `));
  if (line === undefined) throw new Error(`ldconfig -p does not list ${soname}`);
  return Deno.realPathSync(line.split(" => ")[1]!.trim());
}

Deno.test("conntop --version names itself, Deno and the libraries it loads, with their files", async () => {
  const lines = await version("main.ts", CONNTOP_PERMISSIONS);
  assertEquals(lines[0], `conntop ${VERSION}`);
  assertEquals(
    lines[1]!.startsWith(`Deno ${Deno.version.deno}, V8 ${Deno.version.v8},`),
    true,
    lines[1],
  );
  const nfct = await ldconfigPath("libnetfilter_conntrack.so.3");
  assertEquals(lines[2], `libnetfilter_conntrack (${nfct})`);
  const mmdb = await ldconfigPath("libmaxminddb.so.0");
  const pkg = await runCommand(["dpkg-query", "-W", "-f", "${Version}", "libmaxminddb0"]);
  const upstream = pkg.stdout.replace(/^\d+:/, "").replace(/-[^-]*$/, "");
  assertEquals(lines[3], `libmaxminddb ${upstream} (${mmdb})`);
});

Deno.test("conntop --version says which library is missing and why, and still exits 0", async () => {
  const lines = await version("main.ts", CONNTOP_PERMISSIONS, {
    CONNTOP_LIBMAXMINDDB: "/nonexistent/libmaxminddb.so.0",
  });
  assertEquals(
    lines[3],
    "libmaxminddb: not found (/nonexistent/libmaxminddb.so.0: cannot open shared object file: No such file or directory)",
  );
});

Deno.test("conntopd --version names itself, the protocol, Deno and libnetfilter_conntrack only", async () => {
  const lines = await version("src/conntopd.ts", CONNTOPD_BUILD_PERMISSIONS);
  assertEquals(lines[0], `conntopd ${VERSION} (protocol 1)`);
  assertEquals(lines[1]!.startsWith(`Deno ${Deno.version.deno},`), true, lines[1]);
  assertEquals(
    lines[2],
    `libnetfilter_conntrack (${await ldconfigPath("libnetfilter_conntrack.so.3")})`,
  );
  assertEquals(lines.slice(3), [""]);
});
