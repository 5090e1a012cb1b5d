/**
 * The settings file under attack: root saving into a directory another user controls (the sudo
 * case), planted symbolic links, a FIFO, foreign-owned directories. Real files, real uids (the
 * tests run as root, as CI does).
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "../_helpers/assert.ts";
import { loadConfig, saveConfig } from "../../src/config/store.ts";
import { ConntopError } from "../../src/errors.ts";

/** The user the settings are saved for in the sudo case (a uid with no account is fine). */
const USER = 4242;
const GROUP = 4343;
/** Someone else. */
const OTHER = 65534;

if (Deno.uid() !== 0) throw new Error("store_safety_test.ts must run as root (it chowns files)");

async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "conntop-config-safety-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function namesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** `home/.config/conntop` owned by USER, as a user's own home looks; returns the config dir. */
function userHome(home: string): string {
  Deno.mkdirSync(`${home}/.config/conntop`, { recursive: true, mode: 0o700 });
  for (const d of [home, `${home}/.config`, `${home}/.config/conntop`]) {
    Deno.chownSync(d, USER, GROUP);
  }
  return `${home}/.config/conntop`;
}

/** A root-owned 0600 file, the stand-in for /etc/shadow. */
function victim(dir: string): { path: string; bytes: Uint8Array } {
  const path = `${dir}/victim`;
  const bytes = new TextEncoder().encode("root:$6$secret:19000:0:99999:7:::\n");
  Deno.writeFileSync(path, bytes, { mode: 0o600 });
  Deno.chmodSync(path, 0o600);
  Deno.chownSync(path, 0, 0);
  return { path, bytes };
}

function assertUntouched(v: { path: string; bytes: Uint8Array }): void {
  assertEquals(Deno.readFileSync(v.path), v.bytes, "the target's bytes are unchanged");
  const st = Deno.lstatSync(v.path);
  assert(st.isFile);
  assertEquals(st.mode! & 0o7777, 0o600, "the target's mode is unchanged");
  assertEquals([st.uid, st.gid], [0, 0], "the target's owner is unchanged");
}

Deno.test("saveConfig() as root never writes through a planted temporary-file link", () =>
  withTempDir((dir) => {
    const target = victim(dir);
    const cfg = userHome(`${dir}/home`);
    const path = `${cfg}/config.json`;
    // An existing 0644 file of the user's: the old code chmodded and chowned the temp *path*.
    Deno.writeTextFileSync(path, '{"sort":"pid"}\n');
    Deno.chmodSync(path, 0o644);
    Deno.chownSync(path, USER, GROUP);
    Deno.symlinkSync(target.path, `${path}.tmp-${Deno.pid}`);

    const err = assertThrows(
      () => saveConfig(path, { sort: "bytes" }, { base: `${dir}/home` }),
      ConntopError,
    );
    assertStringIncludes(err.message, `Cannot save config file '${path}': `);
    assertStringIncludes(err.message, `config.json.tmp-${Deno.pid}' already exists`);
    assertEquals(err.message.split("\n").length, 1, "one line");
    assertUntouched(target);
    assertEquals(Deno.readTextFileSync(path), '{"sort":"pid"}\n', "the old settings are kept");
    assert(Deno.lstatSync(`${path}.tmp-${Deno.pid}`).isSymlink, "the planted link is left");
  }));

Deno.test("saveConfig() as root gives new directories and files to the owner of the base", () =>
  withTempDir((dir) => {
    const home = `${dir}/home`;
    Deno.mkdirSync(home);
    Deno.chownSync(home, USER, GROUP);
    const path = `${home}/.config/conntop/config.json`;
    saveConfig(path, { sort: "bytes" }, { base: home });
    for (const d of [`${home}/.config`, `${home}/.config/conntop`]) {
      const st = Deno.lstatSync(d);
      assert(st.isDirectory);
      assertEquals([st.uid, st.gid], [USER, GROUP], `owner of ${d}`);
      assertEquals(st.mode! & 0o777, 0o700, `mode of ${d}`);
    }
    const st = Deno.lstatSync(path);
    assertEquals([st.uid, st.gid], [USER, GROUP], "owner of config.json");
    assertEquals(st.mode! & 0o777, 0o600);
    assertEquals(Deno.readTextFileSync(path), '{\n  "sort": "bytes"\n}\n');
    assertEquals(namesIn(`${home}/.config/conntop`), ["config.json"]);
  }));

Deno.test("saveConfig() as root replaces a user's file with one that stays the user's", () =>
  withTempDir((dir) => {
    const cfg = userHome(`${dir}/home`);
    const path = `${cfg}/config.json`;
    Deno.writeTextFileSync(path, "{}");
    Deno.chmodSync(path, 0o640);
    Deno.chownSync(path, USER, GROUP);
    saveConfig(path, { a: 1 }, { base: `${dir}/home` });
    const st = Deno.lstatSync(path);
    assertEquals([st.uid, st.gid, st.mode! & 0o7777], [USER, GROUP, 0o640]);
    assertEquals(namesIn(cfg), ["config.json"]);
  }));

Deno.test("saveConfig() and loadConfig() refuse a config directory that is a symbolic link", () =>
  withTempDir((dir) => {
    const home = `${dir}/home`;
    Deno.mkdirSync(`${home}/.config`, { recursive: true });
    const elsewhere = `${dir}/elsewhere`;
    Deno.mkdirSync(elsewhere, { mode: 0o700 });
    Deno.symlinkSync(elsewhere, `${home}/.config/conntop`);
    const path = `${home}/.config/conntop/config.json`;

    const err = assertThrows(() => saveConfig(path, { a: 1 }, { base: home }), ConntopError);
    assertEquals(
      err.message,
      `Cannot save config file '${path}': '${home}/.config/conntop' is a symbolic link`,
    );
    assertEquals(namesIn(elsewhere), [], "nothing was written through the link");

    Deno.writeTextFileSync(`${elsewhere}/config.json`, '{"sort":"bytes"}');
    const loaded = loadConfig(path, { base: home });
    assertEquals(loaded.data, undefined);
    assertEquals(loaded.writable, false);
    assertEquals(
      loaded.warning,
      `Cannot read config file '${path}': '${home}/.config/conntop' is a symbolic link; ` +
        "using defaults",
    );
  }));

Deno.test("saveConfig() and loadConfig() refuse a config directory owned by another user", () =>
  withTempDir((dir) => {
    // We are root and the base is root's, so the settings are root's; the directory is not.
    const cfg = `${dir}/conntop`;
    Deno.mkdirSync(cfg, { mode: 0o755 });
    Deno.chownSync(cfg, OTHER, OTHER);
    const path = `${cfg}/config.json`;

    const err = assertThrows(() => saveConfig(path, { a: 1 }, { base: dir }), ConntopError);
    assertEquals(
      err.message,
      `Cannot save config file '${path}': '${cfg}' is owned by uid ${OTHER}, not uid 0`,
    );
    assertEquals(namesIn(cfg), []);

    Deno.writeTextFileSync(path, '{"sort":"bytes"}');
    const loaded = loadConfig(path, { base: dir });
    assertEquals([loaded.data, loaded.writable], [undefined, false]);
    assertEquals(
      loaded.warning,
      `Cannot read config file '${path}': '${cfg}' is owned by uid ${OTHER}, not uid 0; ` +
        "using defaults",
    );
  }));

Deno.test("saveConfig() as root accepts a root-owned config directory in a user's home", () =>
  withTempDir((dir) => {
    // What earlier versions left behind under sudo: the directory made as root.
    const home = `${dir}/home`;
    userHome(home);
    Deno.chownSync(`${home}/.config/conntop`, 0, 0);
    const path = `${home}/.config/conntop/config.json`;
    saveConfig(path, { a: 1 }, { base: home });
    const st = Deno.lstatSync(path);
    assertEquals([st.uid, st.gid], [USER, GROUP], "the file is still the user's");
    assertEquals(loadConfig(path, { base: home }), { data: { a: 1 }, writable: true });
  }));

Deno.test("a config.json that is a symbolic link is neither read nor written through", () =>
  withTempDir((dir) => {
    const target = victim(dir);
    const cfg = userHome(`${dir}/home`);
    const path = `${cfg}/config.json`;
    Deno.symlinkSync(target.path, path);

    const loaded = loadConfig(path, { base: `${dir}/home` });
    assertEquals([loaded.data, loaded.writable], [undefined, false]);
    assertEquals(
      loaded.warning,
      `Cannot read config file '${path}': is a symbolic link; using defaults`,
    );
    assertEquals(namesIn(cfg), ["config.json"], "no copy of the target was made");

    assertThrows(() => saveConfig(path, { a: 1 }, { base: `${dir}/home` }), ConntopError, path);
    assertUntouched(target);
    assert(Deno.lstatSync(path).isSymlink, "the user's link is left alone");
    assertEquals(namesIn(cfg), ["config.json"]);
  }));

Deno.test("loadConfig() refuses an oversized config file without reading it all", () =>
  withTempDir((dir) => {
    const path = `${dir}/config.json`;
    Deno.writeTextFileSync(path, `{"pad":"${" ".repeat(2 << 20)}"}`);
    const loaded = loadConfig(path, { base: dir });
    assertEquals([loaded.data, loaded.writable], [undefined, false]);
    assertEquals(
      loaded.warning,
      `Cannot read config file '${path}': is larger than 1 MiB; using defaults`,
    );
  }));

/**
 * Runs `code` (which imports the store) as a script in `dir` in a child Deno with exactly
 * `flags` (`deno eval` would grant every permission), killed after 20 s.
 */
async function child(
  dir: string,
  flags: string[],
  code: string,
): Promise<{ code: number; out: string }> {
  const store = new URL("../../src/config/store.ts", import.meta.url).href;
  const script = `${dir}/child.ts`;
  Deno.writeTextFileSync(script, `import * as store from "${store}";\n${code}\n`);
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-check", ...flags, script],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  });
  const r = await cmd.output();
  Deno.removeSync(script);
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  return { code: r.code, out: text };
}

Deno.test("loadConfig() does not hang on a FIFO planted as config.json", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    const mk = await new Deno.Command("mkfifo", { args: [path] }).output();
    assert(mk.success, "mkfifo");
    const r = await child(
      dir,
      ["--allow-read", "--allow-write", "--allow-ffi"],
      `console.log(JSON.stringify(store.loadConfig(${JSON.stringify(path)}, { base: ${
        JSON.stringify(dir)
      } })));`,
    );
    assertEquals(r.code, 0, r.out);
    const loaded = JSON.parse(r.out);
    assertEquals(loaded.writable, false);
    assertEquals(
      loaded.warning,
      `Cannot read config file '${path}': is not a regular file; using defaults`,
    );
  }));

Deno.test("saveConfig() replaces a file without --allow-sys (it needs no uid or gid lookup)", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/conntop/config.json`;
    Deno.mkdirSync(`${dir}/conntop`, { mode: 0o700 });
    Deno.writeTextFileSync(path, '{"old":true}');
    const r = await child(
      dir,
      ["--allow-read", "--allow-write", "--allow-ffi"],
      `store.saveConfig(${JSON.stringify(path)}, { old: false }, { base: ${
        JSON.stringify(dir)
      } });`,
    );
    assertEquals(r.code, 0, r.out);
    assertEquals(Deno.readTextFileSync(path), '{\n  "old": false\n}\n');
  }));
