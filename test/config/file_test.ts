/**
 * Two monitors (two admins, both root) sharing one settings file: each save writes only the keys
 * its own user changed, merged with what is on disk at that moment.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { ConntopError } from "../../src/errors.ts";
import { ConfigFile } from "../../src/config/file.ts";

async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "conntop-config-file-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function onDisk(path: string): unknown {
  return JSON.parse(Deno.readTextFileSync(path));
}

/** An instance as the monitor runs one: load, start from what was loaded, save its view. */
function instance(base: string): { file: ConfigFile; view: Record<string, unknown> } {
  const file = new ConfigFile({ base, path: `${base}/conntop/config.json` });
  const loaded = file.load();
  const view = { sort: "pid", theme: "dark", columns: ["src"], ...loaded.data };
  file.start(view);
  return { file, view: structuredClone(view) };
}

Deno.test("ConfigFile.save() keeps another instance's changes to other keys", () =>
  withTempDir((dir) => {
    const path = `${dir}/conntop/config.json`;
    Deno.mkdirSync(`${dir}/conntop`);
    Deno.writeTextFileSync(path, '{"sort":"pid","theme":"dark","columns":["src"],"x":1}');
    const a = instance(dir);
    const b = instance(dir);

    b.view.sort = "bytes";
    b.file.save(b.view);
    assertEquals(onDisk(path), { sort: "bytes", theme: "dark", columns: ["src"], x: 1 });

    a.view.theme = "light";
    a.file.save(a.view);
    assertEquals(
      onDisk(path),
      { sort: "bytes", theme: "light", columns: ["src"], x: 1 },
      "both changes survive",
    );
    assertEquals(a.view.sort, "pid", "A's own view keeps its sort");

    a.view.columns = ["src", "dst"];
    a.file.save(a.view);
    assertEquals(
      onDisk(path),
      { sort: "bytes", theme: "light", columns: ["src", "dst"], x: 1 },
      "a later save of A still leaves B's sort alone",
    );
  }));

Deno.test("ConfigFile.save() writes a key changed back to where it started", () =>
  withTempDir((dir) => {
    const path = `${dir}/conntop/config.json`;
    const a = instance(dir);
    const b = instance(dir);
    a.view.theme = "light";
    a.file.save(a.view);
    b.view.theme = "solar";
    b.file.save(b.view);
    a.view.theme = "dark"; // back to A's starting value: still A's user's latest choice
    a.file.save(a.view);
    assertEquals((onDisk(path) as Record<string, unknown>).theme, "dark");
  }));

Deno.test("ConfigFile.save() writes the whole view when nothing usable is on disk", () =>
  withTempDir((dir) => {
    const path = `${dir}/conntop/config.json`;
    const a = instance(dir);
    a.view.sort = "bytes";
    a.file.save(a.view);
    assertEquals(onDisk(path), { sort: "bytes", theme: "dark", columns: ["src"] });

    Deno.writeTextFileSync(path, "{ not json");
    a.view.theme = "light";
    a.file.save(a.view);
    assertEquals(onDisk(path), { sort: "bytes", theme: "light", columns: ["src"] });
    const backups = [...Deno.readDirSync(`${dir}/conntop`)]
      .filter((e) => e.name.startsWith("config.json.bad-"));
    assertEquals(backups.length, 1, "the corrupt file was kept aside first");
  }));

Deno.test("ConfigFile.save() waits for another save holding the directory's lock", () =>
  withTempDir(async (dir) => {
    const cfg = `${dir}/conntop`;
    Deno.mkdirSync(cfg);
    const a = instance(dir);
    // Another program (flock(1), as another save would) holds the lock for 300 ms and changes
    // a key while it does: the save must merge with what it leaves, not with what was before.
    const other = new Deno.Command("flock", {
      args: [
        "-x",
        cfg,
        "sh",
        "-c",
        `echo locked; sleep 0.3; printf '{"x":2}' > '${cfg}/config.json'`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = other.stdout.getReader();
    const first = await reader.read();
    assertEquals(new TextDecoder().decode(first.value).trim(), "locked");
    a.view.theme = "light";
    const t0 = performance.now();
    a.file.save(a.view);
    const waited = performance.now() - t0;
    reader.releaseLock();
    await other.stdout.cancel();
    assertEquals((await other.status).code, 0);
    assert(waited >= 200, `the save waited for the lock (${waited.toFixed(0)} ms)`);
    assertEquals(onDisk(`${cfg}/config.json`), { x: 2, theme: "light" });
  }));

Deno.test("ConfigFile.save() gives up on a lock held too long, writing nothing", () =>
  withTempDir((dir) => {
    const cfg = `${dir}/conntop`;
    Deno.mkdirSync(cfg);
    const a = instance(dir);
    // flock(2) locks belong to an open file, so this one conflicts with the save's own.
    using held = Deno.openSync(cfg);
    held.lockSync(true);
    a.view.theme = "light";
    const err = assertThrows(() => a.file.save(a.view), ConntopError);
    assertEquals(
      err.message,
      `Cannot save config file '${cfg}/config.json': '${cfg}' is locked by another program`,
    );
    assertEquals([...Deno.readDirSync(cfg)], []);
  }));
