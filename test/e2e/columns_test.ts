/**
 * The column titles over their values, as a person sees them: conntop runs full-screen in a
 * real terminal (tools/tmux.ts) on a test namespace's table, at 80x24 and 200x50, and
 * scrolled sideways; every title must stand over its own column's values.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { Tmux } from "../../tools/tmux.ts";
import { conntopCommand } from "./_conntop.ts";

// Three connections with addresses and ports of different lengths.
const ENTRIES = [
  { src: "10.9.0.1", sport: 40001, dst: "192.168.200.201", dport: 443 },
  { src: "10.9.100.123", sport: 5, dst: "10.9.0.2", dport: 8080 },
  { src: "10.9.7.77", sport: 600, dst: "10.9.0.3", dport: 22 },
];

// A namespace holding ENTRIES, idle, with accounting `acct` (0: off, 1: on).
async function namespace(acct = 0): Promise<Netns> {
  const ns = await Netns.create("cols");
  try {
    await ns.sysctl("net.netfilter.nf_conntrack_acct", acct);
    await loadConntrack(
      ns,
      ENTRIES.map((e) =>
        `-I -t 600 -p tcp -s ${e.src} -d ${e.dst} --sport ${e.sport} --dport ${e.dport} ` +
        "--state ESTABLISHED"
      ),
    );
  } catch (err) {
    await ns.close();
    throw err;
  }
  return ns;
}

/** Where `word` starts and ends (exclusive) on `line`, or undefined. */
function spanOf(line: string, word: string): { start: number; end: number } | undefined {
  const m = new RegExp(`(?<=^|\\s|[▲▼])${word.replace(/[/.]/g, "\\$&")}(?=$|\\s|[▲▼])`).exec(line);
  return m === null ? undefined : { start: m.index, end: m.index + word.length };
}

// Checks the titles on `lines[3]` against every row of a loaded connection: left-aligned
// columns start where their title does, right-aligned ones end where it ends. RATE/s has no
// value known in advance ("-" without accounting): its title must end over a word's end.
function assertAligned(screen: string, label: string, scrolled = false): void {
  const lines = screen.split("\n");
  const title = lines[3]!;
  const where = `${label}, the screen was:\n${screen}`;
  let checked = 0;
  for (const e of ENTRIES) {
    const row = lines.find((l) => l.includes(` ${e.src} `) || l.includes(` ${e.src}`));
    assert(row !== undefined, `a row of ${e.src}: ${where}`);
    const cells: [string, string, "left" | "right"][] = [
      ["SOURCE", e.src, "left"],
      ["SPORT", String(e.sport), "right"],
      ["DESTINATION", e.dst, "left"],
      ["DPORT", String(e.dport), "right"],
    ];
    for (const [name, value, align] of cells) {
      const t = spanOf(title, name);
      if (t === undefined && scrolled) continue; // scrolled off
      assert(t !== undefined, `title ${name} in view: ${where}`);
      const v = spanOf(row, value);
      assert(v !== undefined, `${name} value '${value}' on its row: ${where}`);
      if (align === "left") assertEquals(v.start, t.start, `${name} over '${value}': ${where}`);
      else assertEquals(v.end, t.end, `${name} over '${value}': ${where}`);
      checked++;
    }
    // Accounting is off in the namespace: the kernel gives no counters, the rate is "-".
    const rate = spanOf(title, "RATE/s");
    assert(rate !== undefined, `the rate (the sort column) is in view: ${where}`);
    const under = row.slice(rate.start - 1, rate.end + 1).padEnd(8);
    assertEquals(under, "      - ", `'-' right under RATE/s: ${where}`);
  }
  assert(checked > 0, `some titles were checked: ${where}`);
}

async function check(width: number, height: number, scroll: boolean): Promise<void> {
  await using ns = await namespace();
  const config = await Deno.makeTempDir({ prefix: "conntop-cols-" });
  try {
    await using term = await Tmux.start(
      conntopCommand(["--netns", ns.name, "--interval", "0.2", "-P", "-n", "--no-geoip"]),
      { width, height, env: { NO_COLOR: "1", XDG_CONFIG_HOME: config } },
    );
    const ready = (s: string) => ENTRIES.every((e) => s.includes(e.src));
    const first = await term.waitFor(ready, { what: "the three rows" });
    assertAligned(first, `${width}x${height}`);
    if (!scroll) return;
    // Scrolled sideways: the titles move with the rows, the sort column stays in view.
    const titles = (s: string) => s.split("\n")[3];
    await term.sendKeys("Right", "Right");
    const scrolled = await term.waitFor((s) => ready(s) && titles(s) !== titles(first), {
      what: "the scrolled titles",
    });
    assertAligned(scrolled, `${width}x${height} scrolled`, true);
  } finally {
    await Deno.remove(config, { recursive: true }).catch(() => {});
  }
}

Deno.test("At 80x24 every column title sits over its values, scrolled or not", async () => {
  await check(80, 24, true);
});

Deno.test("At 200x50 every column title sits over its values", async () => {
  await check(200, 50, false);
});

Deno.test("With accounting on, the monitor shows an idle connection's rate as 0, not '-'", async () => {
  await using ns = await namespace(1);
  const config = await Deno.makeTempDir({ prefix: "conntop-cols-" });
  try {
    await using term = await Tmux.start(
      conntopCommand(["--netns", ns.name, "--interval", "0.2", "-P", "-n", "--no-geoip"]),
      { width: 80, height: 24, env: { NO_COLOR: "1", XDG_CONFIG_HOME: config } },
    );
    const rates = (s: string) =>
      ENTRIES.map((e) => s.split("\n").find((l) => l.includes(` ${e.src} `))?.trimEnd().at(-1));
    // Rated from the second dump on (the first only finds them): 0 then, and at every refresh.
    await term.waitFor((s) => rates(s).every((r) => r === "0"), { what: "rates of 0" });
    for (let k = 0; k < 6; k++) {
      await new Promise((r) => setTimeout(r, 250));
      const screen = await term.capture();
      assertEquals(rates(screen), ENTRIES.map(() => "0"), `refresh ${k}:\n${screen}`);
    }
  } finally {
    await Deno.remove(config, { recursive: true }).catch(() => {});
  }
});
