/**
 * `deno task build` (scripts/build.ts): the commands it prints, how it stops when no runtime can
 * be had, and a real `deno compile` of both programs for both targets with DENORT_BIN pointing at
 * the deno binary. Such binaries cannot run conntop (they start Deno's REPL), so they are never
 * run: their bytes are inspected instead: the embedded files are found byte for byte, the
 * permissions and entry point are read from the metadata deno compile writes after its
 * `d3n0l4nd` marker, and conntopd is checked to hold no UI, GeoIP or npm code.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { runCommand } from "../../tools/run.ts";
import { Netns } from "../../tools/netns.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const BUILD = `${ROOT}/scripts/build.ts`;
const DENO = Deno.execPath();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function build(
  args: string[],
  env: Record<string, string> = {},
  prefix: string[] = [],
): Promise<Run> {
  const cmd = [
    ...prefix,
    "env",
    "-u",
    "DENORT_BIN",
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
  ];
  const child = new Deno.Command(cmd[0]!, {
    args: [...cmd.slice(1), DENO, "run", "--allow-all", BUILD, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  // A build that hangs (in a download) fails the test instead of holding up the run.
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

// The commands written out by hand: what each binary must be made with.
const CONNTOP_FLAGS = "--no-check --no-prompt --allow-ffi --allow-read --allow-write --allow-net " +
  "--allow-env=NO_COLOR,CONNTOP_COLOR,TERM,COLORTERM,HOME,XDG_CONFIG_HOME,CONNTOP_LIBNFCT," +
  "CONNTOP_LIBMAXMINDDB,CONNTOP_GEOIP_PATH,CONNTOP_NO_EMBEDDED_GEOIP,CONNTOP_PROBE " +
  "--allow-run=nft,ip,sh --allow-sys=hostname " +
  "--v8-flags=--optimize-for-size,--no-short-builtin-calls,--max-semi-space-size=1 " +
  "--include src/collector/worker.ts --include src/enrich/service.ts " +
  "--include src/engine/serve.ts --include data/geoip";
const CONNTOPD_FLAGS = "--no-check --no-prompt --allow-ffi --allow-net --allow-read " +
  "--allow-env=CONNTOP_LIBNFCT --allow-sys=hostname --allow-run=nft --allow-write " +
  "--include src/collector/worker.ts";

Deno.test("build --dry-run prints the four deno compile commands", async () => {
  const r = await build(["--dry-run"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trimEnd().split("\n"), [
    `deno compile ${CONNTOP_FLAGS} --target x86_64-unknown-linux-gnu --output dist/conntop-x86_64 main.ts`,
    `deno compile ${CONNTOPD_FLAGS} --target x86_64-unknown-linux-gnu --output dist/conntopd-x86_64 src/conntopd.ts`,
    `deno compile ${CONNTOP_FLAGS} --target aarch64-unknown-linux-gnu --output dist/conntop-aarch64 main.ts`,
    `deno compile ${CONNTOPD_FLAGS} --target aarch64-unknown-linux-gnu --output dist/conntopd-aarch64 src/conntopd.ts`,
  ]);
});

Deno.test("build rejects an unknown target with one line and exit 2", async () => {
  const r = await build(["--dry-run", "--target", "mips"]);
  assertEquals(r.code, 2);
  assertEquals(r.stderr, "build: Unknown target 'mips': expected x86_64 or aarch64\n");
});

Deno.test("without DENORT_BIN, a cached runtime or the network, the build stops at once saying what to set", async () => {
  // A namespace with no route anywhere stands for a machine that cannot download, even where
  // the test machine can; an empty DENO_DIR has no cached runtime.
  await using ns = await Netns.create("build");
  const denoDir = await Deno.makeTempDir({ prefix: "conntop-build-denodir-" });
  const out = await Deno.makeTempDir({ prefix: "conntop-build-out-" });
  try {
    const r = await build(
      ["--target", "aarch64", "--out-dir", out],
      { DENO_DIR: denoDir },
      ["ip", "netns", "exec", ns.name],
    );
    assertEquals(r.code, 3, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assertEquals(lines.length, 1, r.stderr);
    assertStringIncludes(lines[0]!, "build: deno compile needs its runtime (denort)");
    assertStringIncludes(
      lines[0]!,
      `https://dl.deno.land/release/v${Deno.version.deno}/denort-aarch64-unknown-linux-gnu.zip`,
    );
    assertStringIncludes(lines[0]!, "set DENORT_BIN");
    assertEquals([...Deno.readDirSync(out)], [], "nothing was written");
  } finally {
    await Deno.remove(denoDir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a DENORT_BIN that is missing or not an executable stops the build with one line", async () => {
  const text = await Deno.makeTempFile({ prefix: "conntop-build-", suffix: ".txt" });
  try {
    await Deno.writeTextFile(text, "not a program\n");
    for (
      const [path, why] of [["/nonexistent/denort", "cannot be read"], [
        text,
        "is not an x86_64 or aarch64 ELF executable",
      ]]
    ) {
      const r = await build(["--target", "x86_64", "--out-dir", "/nonexistent-out"], {
        DENORT_BIN: path!,
      });
      assertEquals(r.code, 3, r.stderr);
      assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assertStringIncludes(r.stderr, `build: DENORT_BIN '${path}' ${why}`);
    }
  } finally {
    await Deno.remove(text);
  }
});

/** Where `needle` occurs in `hay`, or -1. */
function indexOf(hay: Buffer, needle: Uint8Array): number {
  return hay.indexOf(needle);
}

/** The JSON metadata deno compile writes into the binary (after its "d3n0l4nd" marker). */
function metadata(bin: Buffer): Record<string, unknown> {
  const marker = bin.indexOf("d3n0l4nd");
  assert(marker >= 0, "no d3n0l4nd section");
  const start = bin.indexOf('{"argv":', marker);
  assert(start >= 0, "no metadata after the marker");
  // The object's end: balance braces outside strings.
  let depth = 0;
  let inString = false;
  for (let i = start; i < bin.length; i++) {
    const c = bin[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      return JSON.parse(bin.subarray(start, i + 1).toString("utf8"));
    }
  }
  throw new Error("unterminated metadata");
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${ROOT}/${dir}`)) {
    if (e.isFile) out.push(`${dir}/${e.name}`);
  }
  return out.sort();
}

Deno.test("deno compile of both programs for both targets embeds the workers and data, with the least permissions baked in", async () => {
  const out = await Deno.makeTempDir({ prefix: "conntop-build-" });
  try {
    const r = await build(["--out-dir", out, "--no-archive"], { DENORT_BIN: DENO });
    assertEquals(r.code, 0, r.stderr);
    // The build says plainly that these binaries are a compile check only.
    assertMatch(
      r.stderr,
      /warning: DENORT_BIN is an x86_64 runtime: conntop-aarch64 will not run on aarch64/,
    );
    assertMatch(r.stderr, /warning: DENORT_BIN is the deno CLI, not denort/);

    const geoip = filesUnder("data/geoip");
    assert(geoip.some((f) => f.endsWith("country.mmdb")), `data/geoip holds ${geoip}`);
    const mmdbLib = await mmdbLibSource();
    for (const arch of ["x86_64", "aarch64"]) {
      const conntop = Buffer.from(await Deno.readFile(`${out}/conntop-${arch}`));
      assertEquals([...conntop.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], "an ELF file");
      const embedded = ["main.ts", "src/collector/worker.ts", "src/enrich/service.ts"];
      for (const f of [...embedded, "src/engine/serve.ts", ...geoip]) {
        assert(
          indexOf(conntop, await Deno.readFile(`${ROOT}/${f}`)) >= 0,
          `conntop-${arch} embeds ${f}`,
        );
      }
      const meta = metadata(conntop);
      assertEquals(meta.entrypoint_key, "main.ts");
      const perms = meta.permissions as Record<string, unknown>;
      assertEquals(perms.prompt, false);
      assertEquals(perms.allow_env, [
        "NO_COLOR",
        "CONNTOP_COLOR",
        "TERM",
        "COLORTERM",
        "HOME",
        "XDG_CONFIG_HOME",
        "CONNTOP_LIBNFCT",
        "CONNTOP_LIBMAXMINDDB",
        "CONNTOP_GEOIP_PATH",
        "CONNTOP_NO_EMBEDDED_GEOIP",
        "CONNTOP_PROBE",
      ]);
      assertEquals(perms.allow_run, ["nft", "ip", "sh"]);
      // The V8 flags conntop is measured with, read back from the binary (after deno's own).
      const v8Flags = meta.v8_flags as string[];
      assertEquals(v8Flags.at(-1), "--max-semi-space-size=1", v8Flags.join(" "));
      assertEquals(perms.allow_sys, ["hostname"]);
      for (const all of ["allow_ffi", "allow_read", "allow_write", "allow_net"]) {
        assertEquals(perms[all], [], `conntop-${arch}: ${all} unrestricted`);
      }

      const conntopd = Buffer.from(await Deno.readFile(`${out}/conntopd-${arch}`));
      for (const f of ["src/conntopd.ts", "src/collector/worker.ts"]) {
        assert(
          indexOf(conntopd, await Deno.readFile(`${ROOT}/${f}`)) >= 0,
          `conntopd-${arch} embeds ${f}`,
        );
      }
      for (
        const f of [
          "src/ui/app.ts",
          "src/term/buffer.ts",
          "src/enrich/service.ts",
          "src/enrich/geoip/geoip.ts",
          ...geoip,
        ]
      ) {
        const bytes = (await Deno.readFile(`${ROOT}/${f}`)).subarray(0, 4096);
        assertEquals(indexOf(conntopd, bytes), -1, `conntopd-${arch} must not hold ${f}`);
      }
      assertEquals(indexOf(conntopd, mmdbLib), -1, `conntopd-${arch} must not hold mmdb-lib`);
      const dmeta = metadata(conntopd);
      assertEquals(dmeta.entrypoint_key, "src/conntopd.ts");
      const dv8Flags = dmeta.v8_flags as string[];
      assertEquals(dv8Flags.filter((f) => f.startsWith("--max-semi-space-size")), []);
      const dperms = dmeta.permissions as Record<string, unknown>;
      assertEquals(dperms.prompt, false);
      assertEquals(dperms.allow_env, ["CONNTOP_LIBNFCT"]);
      assertEquals(dperms.allow_run, ["nft"]);
      assertEquals(dperms.allow_sys, ["hostname"]);
      for (const all of ["allow_ffi", "allow_read", "allow_write", "allow_net"]) {
        assertEquals(dperms[all], [], `conntopd-${arch}: ${all} unrestricted`);
      }
    }
    const completions = [...Deno.readDirSync(`${out}/completions`)].map((e) => e.name).sort();
    assertEquals(completions, [
      "_conntop",
      "_conntopd",
      "conntop.bash",
      "conntop.fish",
      "conntopd.bash",
      "conntopd.fish",
    ]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** The first 4 KiB of mmdb-lib's main module, from Deno's npm cache. */
async function mmdbLibSource(): Promise<Uint8Array> {
  const info = JSON.parse(
    (await runCommand([DENO, "info", "--json"])).stdout,
  ) as { npmCache: string };
  const file = `${info.npmCache}/registry.npmjs.org/mmdb-lib/3.0.3/lib/index.js`;
  return (await Deno.readFile(file)).subarray(0, 4096);
}

Deno.test("the release archive unpacks to the layout install.sh installs from", async () => {
  const out = await Deno.makeTempDir({ prefix: "conntop-build-" });
  try {
    const r = await build(["--out-dir", out, "--target", "x86_64"], { DENORT_BIN: DENO });
    assertEquals(r.code, 0, r.stderr);
    const version =
      (await Deno.readTextFile(`${ROOT}/src/version.ts`)).match(/VERSION = "([^"]+)"/)![1];
    const name = `conntop-${version}-linux-x86_64`;
    const list = await runCommand(["tar", "-tvzf", `${out}/${name}.tar.gz`]);
    const entries = new Map<string, string>();
    for (const line of list.stdout.trimEnd().split("\n")) {
      const parts = line.split(/\s+/);
      entries.set(parts.at(-1)!, `${parts[0]} ${parts[1]}`);
    }
    const files = [...entries.keys()].filter((p) => !p.endsWith("/")).sort();
    assertEquals(files, [
      `${name}/CHANGELOG.md`,
      `${name}/LICENSE`,
      `${name}/README.md`,
      `${name}/dist/completions/_conntop`,
      `${name}/dist/completions/_conntopd`,
      `${name}/dist/completions/conntop.bash`,
      `${name}/dist/completions/conntop.fish`,
      `${name}/dist/completions/conntopd.bash`,
      `${name}/dist/completions/conntopd.fish`,
      `${name}/dist/conntop-x86_64`,
      `${name}/dist/conntopd-x86_64`,
      `${name}/docs/benchmarks.md`,
      `${name}/docs/fields.md`,
      `${name}/docs/internals.md`,
      `${name}/docs/protocol.md`,
      `${name}/docs/screenshot.png`,
      `${name}/docs/screenshot.txt`,
      `${name}/docs/server.md`,
      `${name}/docs/tests.md`,
      `${name}/man/conntop.8`,
      `${name}/man/conntopd.8`,
      `${name}/scripts/conntopd.service`,
      `${name}/scripts/install.sh`,
    ]);
    assertEquals(entries.get(`${name}/dist/conntop-x86_64`), "-rwxr-xr-x root/root");
    assertEquals(entries.get(`${name}/scripts/install.sh`), "-rwxr-xr-x root/root");
    assertEquals(entries.get(`${name}/man/conntop.8`), "-rw-r--r-- root/root");
    assertEquals(entries.get(`${name}/docs/fields.md`), "-rw-r--r-- root/root");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
