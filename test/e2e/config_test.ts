/**
 * Two monitors sharing one settings file, as two admins (both root) would run them: each save
 * writes only what its own user changed, and neither picks up the other's settings while it
 * runs. Real conntop processes in private tmux terminals, on a test namespace's table.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { Tmux } from "../../tools/tmux.ts";
import { scaledMs } from "../../tools/time_scale.ts";
import { conntopCommand } from "./_conntop.ts";

const WIDTH = 120;
const HEIGHT = 30;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The sorted column's title and arrow, from the column title row (4th line at 120x30). */
function sortedColumn(screen: string): string | undefined {
  const m = /([▲▼])([A-Za-z/]+)|([A-Za-z/]+)([▲▼])/.exec(screen.split("\n")[3] ?? "");
  if (m === null) return undefined;
  return m[1] !== undefined ? `${m[1]}${m[2]}` : `${m[3]}${m[4]}`;
}

type Saved = { sort?: { column: string; desc: boolean }; services?: boolean };

/** Polls config.json until `predicate` holds; returns the last content read. */
async function waitForFile(
  file: string,
  what: string,
  predicate: (saved: Saved) => boolean,
): Promise<Saved> {
  const deadline = Date.now() + scaledMs(10_000);
  let saved: Saved = {};
  for (;;) {
    try {
      saved = JSON.parse(await Deno.readTextFile(file)) as Saved;
      if (predicate(saved)) return saved;
    } catch {
      // Not written yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what} in ${file}: ${JSON.stringify(saved)}`);
    }
    await sleep(50);
  }
}

/**
 * A monitor in its own terminal; its exit code is written to `rcFile` (read through a shell:
 * tmux's own pane status is not always filled in for a pane whose program exits right away).
 */
async function monitor(ns: Netns, configHome: string, rcFile: string): Promise<Tmux> {
  const cmd = conntopCommand(["--netns", ns.name, "--interval", "0.2", "-P"]);
  const term = await Tmux.start(
    ["sh", "-c", '"$@"; echo $? > "$0"', rcFile, ...cmd],
    { width: WIDTH, height: HEIGHT, env: { XDG_CONFIG_HOME: configHome, NO_COLOR: "1" } },
  );
  await term.waitFor((s) => /\bConns 3\b/.test(s) && sortedColumn(s) !== undefined, {
    what: "the monitor with 3 connections",
    timeoutMs: 15_000,
  });
  return term;
}

Deno.test("Two monitors' saves keep each other's changes and neither takes the other's", async () => {
  await using ns = await Netns.create("cfg");
  await loadConntrack(
    ns,
    [1, 2, 3].map((i) =>
      `-I -t 600 -p tcp -s 10.1.0.${i} -d 10.2.0.${i} --sport ${40000 + i} --dport ${8000 + i}` +
      " --state ESTABLISHED"
    ),
  );
  const configHome = await Deno.makeTempDir({ prefix: "conntop-config-e2e-" });
  try {
    const file = `${configHome}/conntop/config.json`;
    await using a = await monitor(ns, configHome, `${configHome}/a.rc`);
    await using b = await monitor(ns, configHome, `${configHome}/b.rc`);
    const initial = sortedColumn(await a.capture())!;
    assertEquals(sortedColumn(await b.capture()), initial);

    // A's user sorts by the next column.
    await a.sendKeys(">");
    const aSort = sortedColumn(
      await a.waitFor((s) => sortedColumn(s) !== initial, { what: "A's new sort" }),
    )!;
    const afterA = await waitForFile(file, "A's sort", (s) => s.sort !== undefined);
    const aSaved = afterA.sort!;

    // B's user turns service names off (or on): B's save must keep A's sort.
    await b.sendKeys("P");
    await b.waitFor((s) => /Service names (on|off)/.test(s), { what: "B's services toggle" });
    const afterB = await waitForFile(
      file,
      "B's services",
      (s) => s.services !== undefined && s.services !== afterA.services,
    );
    assertEquals(afterB.sort, aSaved, "B's save kept A's sort");
    assertEquals(sortedColumn(await b.capture()), initial, "B still shows its own sort");

    // A's user inverts the sort: A's save must keep B's services.
    await a.sendKeys("I");
    await a.waitFor((s) => sortedColumn(s) !== aSort, { what: "A's inverted sort" });
    const afterA2 = await waitForFile(
      file,
      "A's inverted sort",
      (s) => s.sort?.desc === !aSaved.desc,
    );
    assertEquals(afterA2.services, afterB.services, "A's save kept B's services setting");
    assertEquals(sortedColumn(await b.capture()), initial, "B still shows its own sort");

    for (const [term, name] of [[a, "a"], [b, "b"]] as const) {
      await term.sendKeys("q");
      const rcFile = `${configHome}/${name}.rc`;
      let rc = "";
      for (let i = 0; i < 100 && rc === ""; i++) {
        await sleep(50);
        rc = await Deno.readTextFile(rcFile).catch(() => "");
      }
      assertEquals(rc.trim(), "0", `${name}'s exit code`);
    }
  } finally {
    await Deno.remove(configHome, { recursive: true });
  }
});

Deno.test("A monitor refuses to save through a config directory swapped for a link, and says so", async () => {
  await using ns = await Netns.create("cfg");
  await loadConntrack(ns, [
    "-I -t 600 -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 40001 --dport 8001 --state ESTABLISHED",
    "-I -t 600 -p tcp -s 10.1.0.2 -d 10.2.0.2 --sport 40002 --dport 8002 --state ESTABLISHED",
    "-I -t 600 -p tcp -s 10.1.0.3 -d 10.2.0.3 --sport 40003 --dport 8003 --state ESTABLISHED",
  ]);
  const work = await Deno.makeTempDir({ prefix: "conntop-config-e2e-" });
  try {
    const configHome = `${work}/home`;
    const dir = `${configHome}/conntop`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/config.json`, '{"services":true}\n');
    await using term = await monitor(ns, configHome, `${configHome}/c.rc`);
    // While it runs, the directory becomes a link to somewhere else.
    const elsewhere = `${work}/elsewhere`;
    await Deno.mkdir(elsewhere);
    await Deno.rename(dir, `${work}/moved`);
    await Deno.symlink(elsewhere, dir);

    await term.sendKeys(">");
    const line = `Cannot save config file '${dir}/config.json': '${dir}' is a symbolic link`;
    // (The header may cut the line at 120 columns; all of it is printed at exit.)
    await term.waitFor((s) => s.includes("Cannot save config file '"), {
      what: "the refusal on screen",
    });
    await term.sendKeys("q");
    // With the history: the wrapped line may have scrolled the screen by a row.
    const printed = () => term.tmux(["capture-pane", "-t", "t", "-p", "-J", "-S", "-100"]);
    let screen = "";
    for (let i = 0; i < 200 && !screen.includes(`conntop: ${line}`); i++) {
      await sleep(50);
      screen = await printed();
    }
    assertEquals(screen.split(line).length - 1, 1, `said once after exit:\n${screen}`);
    assertEquals([...Deno.readDirSync(elsewhere)].map((e) => e.name), [], "nothing written there");
    assertEquals(
      await Deno.readTextFile(`${work}/moved/config.json`),
      '{"services":true}\n',
      "the old settings are kept",
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
