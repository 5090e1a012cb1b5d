import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";
import { configPath, loadConfig, saveConfig } from "../../src/config/store.ts";
import { ConntopError, ExitCode } from "../../src/errors.ts";

function envOf(vars: Record<string, string>): { get(name: string): string | undefined } {
  return { get: (name) => vars[name] };
}

async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "conntop-config-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function namesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("configPath() follows the XDG base directory rules", async (t) => {
  await t.step("an absolute XDG_CONFIG_HOME wins", () => {
    assertEquals(
      configPath(envOf({ XDG_CONFIG_HOME: "/x/cfg", HOME: "/home/u" })),
      "/x/cfg/conntop/config.json",
    );
    assertEquals(
      configPath(envOf({ XDG_CONFIG_HOME: "/x/cfg/" })),
      "/x/cfg/conntop/config.json",
    );
  });
  await t.step("an unset, empty or relative XDG_CONFIG_HOME falls back to HOME", () => {
    const expected = "/home/u/.config/conntop/config.json";
    assertEquals(configPath(envOf({ HOME: "/home/u" })), expected);
    assertEquals(configPath(envOf({ XDG_CONFIG_HOME: "", HOME: "/home/u" })), expected);
    assertEquals(configPath(envOf({ XDG_CONFIG_HOME: "rel/cfg", HOME: "/home/u" })), expected);
  });
  await t.step("no usable directory gives undefined", () => {
    assertEquals(configPath(envOf({})), undefined);
    assertEquals(configPath(envOf({ XDG_CONFIG_HOME: "rel", HOME: "" })), undefined);
  });
});

Deno.test("loadConfig() gives no data and no warning for a missing file", () =>
  withTempDir((dir) => {
    assertEquals(loadConfig(`${dir}/config.json`), { data: undefined, writable: true });
  }));

Deno.test("loadConfig() reads a JSON object", () =>
  withTempDir((dir) => {
    const path = `${dir}/config.json`;
    Deno.writeTextFileSync(path, '{"sort":"bytes","columns":["src","dst"]}\n');
    assertEquals(loadConfig(path), {
      data: { sort: "bytes", columns: ["src", "dst"] },
      writable: true,
    });
  }));

Deno.test("loadConfig() keeps a byte-identical copy of a file that is not valid JSON", () =>
  withTempDir((dir) => {
    const path = `${dir}/config.json`;
    const bytes = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0x00, 0x0a]); // {"a":\xff\0
    Deno.writeFileSync(path, bytes);
    const loaded = loadConfig(path);
    assertEquals(loaded.data, undefined);
    assertEquals(loaded.writable, true);
    const backups = namesIn(dir).filter((n) => n !== "config.json");
    assertEquals(backups.length, 1);
    assertMatch(backups[0]!, /^config\.json\.bad-\d{8}T\d{6}$/);
    const backup = `${dir}/${backups[0]}`;
    assertEquals(Deno.readFileSync(backup), bytes);
    assertEquals(Deno.readFileSync(path), bytes, "the original is left as it was");
    assertStringIncludes(loaded.warning ?? "", `Config file '${path}' is not valid JSON (`);
    assertStringIncludes(loaded.warning ?? "", `; using defaults, kept a copy as '${backup}'`);
  }));

Deno.test("loadConfig() treats JSON that is not an object as not valid", () =>
  withTempDir((dir) => {
    const path = `${dir}/config.json`;
    Deno.writeTextFileSync(path, "[1]");
    const loaded = loadConfig(path);
    assertEquals(loaded.data, undefined);
    assertEquals(loaded.writable, true);
    assertStringIncludes(loaded.warning ?? "", "(expected an object, got an array)");
    const backups = namesIn(dir).filter((n) => n.startsWith("config.json.bad-"));
    assertEquals(backups.length, 1);
    assertEquals(Deno.readTextFileSync(`${dir}/${backups[0]}`), "[1]");
  }));

Deno.test("loadConfig() makes a second copy's name unique", () =>
  withTempDir((dir) => {
    const path = `${dir}/config.json`;
    Deno.writeTextFileSync(path, "{oops");
    loadConfig(path);
    loadConfig(path);
    const backups = namesIn(dir).filter((n) => n.startsWith("config.json.bad-"));
    assertEquals(backups.length, 2);
    for (const b of backups) assertEquals(Deno.readTextFileSync(`${dir}/${b}`), "{oops");
  }));

Deno.test("loadConfig() forbids saving when it cannot keep a copy of a bad file", () =>
  withTempDir((dir) => {
    // A name so long that adding ".bad-…" exceeds the filesystem's limit, even for root.
    const path = `${dir}/${"c".repeat(245)}`;
    Deno.writeTextFileSync(path, "not json");
    const loaded = loadConfig(path);
    assertEquals(loaded.writable, false);
    assertStringIncludes(loaded.warning ?? "", "; it will not be overwritten, since a copy could");
    assertStringIncludes(loaded.warning ?? "", `Config file '${path}' is not valid JSON`);
    assertEquals(namesIn(dir).length, 1);
  }));

Deno.test("loadConfig() warns about an unreadable file and forbids overwriting it", () =>
  withTempDir((dir) => {
    const path = `${dir}/config.json`;
    Deno.mkdirSync(path);
    const loaded = loadConfig(path);
    assertEquals(loaded.data, undefined);
    assertEquals(loaded.writable, false);
    assertEquals(
      loaded.warning,
      `Cannot read config file '${path}': is a directory; using defaults`,
    );
  }));

Deno.test("saveConfig() creates the directories and writes indented JSON with mode 0600", () =>
  withTempDir((dir) => {
    const path = `${dir}/a/b/conntop/config.json`;
    saveConfig(path, { sort: "bytes", paused: false });
    assertEquals(Deno.readTextFileSync(path), '{\n  "sort": "bytes",\n  "paused": false\n}\n');
    assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
    assertEquals(Deno.statSync(`${dir}/a/b/conntop`).mode! & 0o777, 0o700);
    assertEquals(namesIn(`${dir}/a/b/conntop`), ["config.json"]);
    assertEquals(loadConfig(path), { data: { sort: "bytes", paused: false }, writable: true });
  }));

Deno.test("saveConfig() replaces a file atomically and keeps its mode", () =>
  withTempDir((dir) => {
    const path = `${dir}/config.json`;
    Deno.writeTextFileSync(path, '{"old":true}');
    Deno.chmodSync(path, 0o640);
    const before = Deno.statSync(path).ino;
    saveConfig(path, { old: false });
    assertEquals(Deno.readTextFileSync(path), '{\n  "old": false\n}\n');
    assertEquals(Deno.statSync(path).mode! & 0o777, 0o640);
    assert(Deno.statSync(path).ino !== before, "a new file was renamed over the old one");
    assertEquals(namesIn(dir), ["config.json"], "no temporary file is left");
  }));

Deno.test("saveConfig() throws a ConntopError naming the path when it cannot write", () =>
  withTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/file`, "");
    const path = `${dir}/file/conntop/config.json`;
    const err = assertThrows(() => saveConfig(path, {}), ConntopError);
    assertMatch(err.message, /^Cannot save config file '.*\/file\/conntop\/config\.json': /);
    assertEquals(err.exitCode, ExitCode.FAILURE);
    assert(err.cause instanceof Error);
  }));

Deno.test("saveConfig() leaves no temporary file when the rename fails", () =>
  withTempDir((dir) => {
    const path = `${dir}/config.json`;
    Deno.mkdirSync(`${path}/occupied`, { recursive: true }); // rename over a non-empty dir fails
    assertThrows(() => saveConfig(path, { a: 1 }), ConntopError, `'${path}'`);
    assertEquals(namesIn(dir), ["config.json"]);
  }));

Deno.test("saveConfig() refuses data that is not JSON", () =>
  withTempDir((dir) => {
    const path = `${dir}/config.json`;
    assertThrows(() => saveConfig(path, { n: 1n }), ConntopError, `'${path}'`);
    assertThrows(() => saveConfig(path, undefined), ConntopError, `'${path}'`);
    assertEquals(namesIn(dir), []);
  }));

Deno.test("saving over a corrupt file happens only after its copy is kept", () =>
  withTempDir((dir) => {
    const path = `${dir}/config.json`;
    Deno.writeTextFileSync(path, '{"sort": "bytes",,}');
    const loaded = loadConfig(path);
    assert(loaded.writable);
    saveConfig(path, { sort: "packets" });
    const backups = namesIn(dir).filter((n) => n.startsWith("config.json.bad-"));
    assertEquals(backups.length, 1);
    assertEquals(Deno.readTextFileSync(`${dir}/${backups[0]}`), '{"sort": "bytes",,}');
    assertEquals(loadConfig(path).data, { sort: "packets" });
  }));
