/**
 * The interactive UI as a person uses it: conntop runs full-screen in a real terminal (a private
 * tmux server, see tools/tmux.ts) on a test namespace's table, keys are typed, and what the screen
 * shows is read back.
 *
 * conntop runs inside a small shell wrapper that saves `stty -g` before and after it, records
 * its pid and exit code, prints a marker, and then stays (so the terminal can be inspected after
 * conntop left it). Every session gets its own `XDG_CONFIG_HOME`, and `NO_COLOR`, so the cursor
 * bar is plain reverse video.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { runCommand } from "../../tools/run.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { conntopCommand, runConntop } from "./_conntop.ts";
import { COLUMNS } from "../../src/ui/columns.ts";
import { startDnsmasq, startSilentDns } from "../../tools/dns.ts";
import { Tmux } from "../../tools/tmux.ts";
import { CellAttr, parseLines, stripSgr } from "../../tools/screen.ts";

const WIDTH = 120;
const HEIGHT = 30;
/** List rows at 120x30: 3 header lines, the column titles and the footer take 5. */
const PAGE = HEIGHT - 5;
const DONE = "UI-TEST-WRAPPER-DONE";

/** Runs conntop (the arguments after the wrapper's first) and leaves traces in `$1`. */
const WRAPPER = `
dir=$1
shift
stty -g > "$dir/stty.before"
sh -c 'echo $$ > "$0/pid"; exec "$@"' "$dir" "$@"
code=$?
stty -g > "$dir/stty.after"
echo "$code" > "$dir/code"
echo "conntop exit code: $code"
echo "${DONE}"
exec sleep 600
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- the table loaded into the namespace ---

/** One connection loaded with `conntrack -I`. */
interface Entry {
  proto: "tcp" | "udp";
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

/**
 * `count` connections with distinct addresses and ports: every fourth is UDP, every tenth
 * (i = 7, 17, …) goes to 192.168.77.x (for the filter), source ports are distinct and not in
 * the order of the sources. `net` is the second octet of the sources, to load a second batch.
 */
function table(count: number, net = 1): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    proto: i % 4 === 3 ? "udp" : "tcp",
    src: `10.${net}.${i}.${100 + i}`,
    sport: 30000 + ((i * 37) % 61) * 13 + net,
    dst: i % 10 === 7 ? `192.168.77.${100 + i}` : `10.2.${i}.${100 + i}`,
    dport: 8000 + i,
  }));
}

function insertLine(e: Entry): string {
  return `-I -t 600 -p ${e.proto} -s ${e.src} -d ${e.dst} --sport ${e.sport} --dport ${e.dport}` +
    (e.proto === "tcp" ? " --state ESTABLISHED" : "");
}

async function namespaceWith(entries: Entry[]): Promise<Netns> {
  const ns = await Netns.create("ui");
  try {
    await loadConntrack(ns, entries.map(insertLine));
  } catch (err) {
    await ns.close();
    throw err;
  }
  return ns;
}

const keyOf = (e: Entry) => `${e.proto} ${e.src}:${e.sport} ${e.dst}:${e.dport}`;

function ipNumber(addr: string): number {
  return addr.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

// --- reading the screen ---

function lines(screen: string): string[] {
  return screen.replace(/\n$/, "").split("\n");
}

const ROW =
  /^(tcp|udp)\s+(?:ESTABLISHED\s+)?(\d+\.\d+\.\d+\.\d+)\s+(\d+)\s+(\d+\.\d+\.\d+\.\d+)\s+(\d+)\b/;

/** The connection rows on the screen, top to bottom, as a person reads them. */
function listRows(screen: string): Entry[] {
  const rows: Entry[] = [];
  for (const line of lines(screen)) {
    const m = ROW.exec(line);
    if (m === null) continue;
    rows.push({
      proto: m[1] as Entry["proto"],
      src: m[2]!,
      sport: Number(m[3]),
      dst: m[4]!,
      dport: Number(m[5]),
    });
  }
  return rows;
}

/** The "Conns N" of the header's first line, or undefined. */
function conns(screen: string): number | undefined {
  const m = /\bConns (\d+)/.exec(lines(screen)[0] ?? "");
  return m === null ? undefined : Number(m[1]);
}

/** The sorted column's title and arrow, from the column title row (4th line at 120x30). */
function sortedColumn(screen: string): string | undefined {
  const m = /([▲▼])([A-Za-z/…]+)|([A-Za-z/…]+)([▲▼])/.exec(lines(screen)[3] ?? "");
  if (m === null) return undefined;
  return m[1] !== undefined ? `${m[1]}${m[2]}` : `${m[3]}${m[4]}`;
}

/** The plain text of a line captured with escapes. */
function plain(line: string): string {
  return stripSgr(line);
}

/**
 * The connection rows drawn as the cursor bar (reverse video with NO_COLOR), as plain text.
 * capture-pane writes a sequence only where the attributes change, so a line may start in the
 * reverse video the line above left on: the screen reader follows the state across lines.
 */
function cursorRows(screenWithEscapes: string): string[] {
  return parseLines(lines(screenWithEscapes))
    .filter((l) => l.first !== null && (l.first.attrs & CellAttr.REVERSE) !== 0)
    .map((l) => l.text)
    .filter((text) => /^(tcp|udp)\s/.test(text));
}

// --- conntop in a terminal ---

/** What the wrapper saw when conntop ended. */
interface Exit {
  code: number;
  sttyBefore: string;
  sttyAfter: string;
  /** The terminal after conntop left it (wrapped lines joined). */
  screen: string;
}

/** Options of {@linkcode Ui.start}. */
interface UiOptions {
  /** `XDG_CONFIG_HOME`; default a fresh directory removed with the session. */
  configHome?: string;
  /** Settings written to the config file before conntop starts. */
  config?: Record<string, unknown>;
  /** More environment for conntop. */
  env?: Record<string, string>;
  /** Runs conntop under this command (e.g. `ip netns exec NS`, for the namespace's resolver). */
  prefix?: string[];
}

/**
 * A screen is taken as a whole frame once it has not changed for this long, ms: conntop writes a
 * frame in one go, but tmux may take it in pieces, and the help's title can be on screen while
 * the rest of the frame is not yet (seen in CI: the help's top over the list's bottom).
 */
const FRAME_SETTLE_MS = 60;

/** conntop running full-screen in a 120x30 terminal. */
class Ui implements AsyncDisposable {
  readonly term: Tmux;
  readonly dir: string;

  private constructor(term: Tmux, dir: string) {
    this.term = term;
    this.dir = dir;
  }

  static async start(args: string[], options: UiOptions = {}): Promise<Ui> {
    const dir = await Deno.makeTempDir({ prefix: "conntop-ui-" });
    try {
      await Deno.writeTextFile(`${dir}/wrapper.sh`, WRAPPER);
      const configHome = options.configHome ?? `${dir}/config`;
      if (options.config !== undefined) {
        await Deno.mkdir(`${configHome}/conntop`, { recursive: true });
        await Deno.writeTextFile(
          `${configHome}/conntop/config.json`,
          JSON.stringify(options.config),
        );
      }
      const term = await Tmux.start(
        ["/bin/sh", `${dir}/wrapper.sh`, dir, ...(options.prefix ?? []), ...conntopCommand(args)],
        {
          width: WIDTH,
          height: HEIGHT,
          env: { XDG_CONFIG_HOME: configHome, NO_COLOR: "1", ...options.env },
        },
      );
      return new Ui(term, dir);
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  screen(): Promise<string> {
    return this.term.capture();
  }

  /** Waits for a whole frame that meets `predicate` (see {@linkcode FRAME_SETTLE_MS}). */
  waitFor(what: string, predicate: (screen: string) => boolean, timeoutMs = 10_000) {
    return this.term.waitFor(predicate, { what, timeoutMs, settleMs: FRAME_SETTLE_MS });
  }

  /** Waits until the header counts `n` connections and the list shows them (a page at most). */
  waitReady(n: number, page = PAGE): Promise<string> {
    return this.waitFor(
      `'Conns ${n}' and ${Math.min(n, page)} rows`,
      (s) => conns(s) === n && listRows(s).length === Math.min(n, page),
      15_000,
    );
  }

  /** Sends one key and waits until the screen changes accordingly. */
  async press(key: string, what: string, predicate: (screen: string) => boolean): Promise<string> {
    await this.term.sendKeys(key);
    return await this.waitFor(what, predicate);
  }

  /** The pid of conntop itself. */
  async pid(): Promise<number> {
    return Number((await Deno.readTextFile(`${this.dir}/pid`)).trim());
  }

  /** Waits until conntop has exited and the wrapper printed its marker. */
  async exited(): Promise<Exit> {
    const screen = await this.term.waitFor((s) => s.includes(DONE), {
      what: "conntop to exit",
      join: true,
    });
    const read = (name: string) => Deno.readTextFile(`${this.dir}/${name}`);
    return {
      code: Number((await read("code")).trim()),
      sttyBefore: (await read("stty.before")).trim(),
      sttyAfter: (await read("stty.after")).trim(),
      screen,
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.term.close();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Ends conntop with `key` (or waits for whatever already ends it) and checks it left the
 * terminal as it found it: the exit code, the tty modes, the primary screen back, the cursor
 * shown, autowrap on, mouse reporting off.
 */
async function expectCleanExit(ui: Ui, key: string | null, code = 0): Promise<Exit> {
  if (key !== null) await ui.term.sendKeys(key);
  const exit = await ui.exited();
  assertEquals(exit.code, code, `exit code; the terminal showed:\n${exit.screen}`);
  assertEquals(exit.sttyAfter, exit.sttyBefore, "the terminal modes (stty -g) are restored");
  assertStringIncludes(exit.screen, `conntop exit code: ${code}\n${DONE}`);
  assert(!exit.screen.includes(" conntop@"), `the UI is gone from the screen:\n${exit.screen}`);
  const modes = await ui.term.format(
    "alt=#{alternate_on} cursor=#{cursor_flag} wrap=#{wrap_flag} " +
      "mouse=#{mouse_any_flag}#{mouse_button_flag}#{mouse_all_flag}#{mouse_sgr_flag}" +
      "#{mouse_standard_flag}",
  );
  assertEquals(modes, "alt=0 cursor=1 wrap=1 mouse=00000", "the terminal's modes");
  return exit;
}

/**
 * Presses `key` until the list is sorted by `title`; returns the screen. Every column on the way
 * must be on screen, since each step waits for the arrow to move.
 */
async function sortTo(ui: Ui, key: "<" | ">", title: string): Promise<string> {
  let screen = await ui.screen();
  for (let i = 0; i < 25; i++) {
    const now = sortedColumn(screen);
    if (now?.replace(/[▲▼]/, "") === title) return screen;
    screen = await ui.press(key, `the sort to move on from ${now}`, (s) => {
      const next = sortedColumn(s);
      return next !== undefined && next !== now;
    });
  }
  throw new Error(`Failed to sort by ${title} with '${key}': the screen was:\n${screen}`);
}

/**
 * Asserts `rows` are a full page of `order`, consecutive: the cursor stays on its connection when
 * the sort changes, so the page shown is the one around it, not necessarily the first.
 */
function assertPageOf(rows: Entry[], order: string[], msg: string): void {
  const keys = rows.map(keyOf);
  assertEquals(keys.length, PAGE, `${msg}: a full page`);
  const at = order.indexOf(keys[0]!);
  assertEquals(keys, order.slice(at, at + PAGE), msg);
}

/** A temporary directory removed at the end of the block. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "conntop-ui-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

// Port numbers, not service names (-P): the rows are read back as numbers.
const live = (ns: Netns, ...more: string[]) => [
  "--netns",
  ns.name,
  "--interval",
  "0.2",
  "-P",
  ...more,
];

// --- the tests ---

Deno.test("The UI starts with the header counting the table and rows of what was loaded", async () => {
  const entries = table(40);
  await using ns = await namespaceWith(entries);
  await using ui = await Ui.start(live(ns));
  const screen = await ui.waitReady(entries.length);
  assertEquals(await ui.term.format("#{pane_width}x#{pane_height}"), `${WIDTH}x${HEIGHT}`);
  const all = lines(screen);
  assertEquals(all.length, HEIGHT);
  assertMatch(all[0]!, new RegExp(`^ conntop@\\S+  netns ${ns.name}   Conns 40 tcp 30 udp 10\\b`));
  assertMatch(all[3]!, /^PROTO\s+STATE\s+SOURCE\s+SPORT\s+DESTINATION\s+DPORT\s/);
  const loaded = new Set(entries.map(keyOf));
  const rows = listRows(screen).map(keyOf);
  assertEquals(rows.length, PAGE);
  assertEquals(new Set(rows).size, PAGE, "no row is shown twice");
  for (const row of rows) assert(loaded.has(row), `'${row}' was loaded`);
  assertEquals(all.slice(4, 4 + PAGE).map((l) => ROW.test(l)), Array(PAGE).fill(true));
  assertMatch(
    all[HEIGHT - 1]!,
    /^F1Help\s+F2Setup\s+F3Search/,
    "the key bar is drawn from the start",
  );
  await expectCleanExit(ui, "q");
});

Deno.test("The UI sorts by the column chosen with < and >, and I inverts the order", async () => {
  const entries = table(40);
  await using ns = await namespaceWith(entries);
  // Start from a known sort, two columns right of SPORT, whatever the defaults become.
  await using ui = await Ui.start(live(ns), { config: { sort: { column: "dport", desc: false } } });
  const start = await ui.waitReady(entries.length);
  assertEquals(sortedColumn(start), "▲DPORT");
  const by = (f: (e: Entry) => number) => entries.toSorted((a, b) => f(a) - f(b)).map(keyOf);

  let screen = await sortTo(ui, "<", "SPORT");
  assertEquals(sortedColumn(screen), "▲SPORT");
  const bySport = by((e) => e.sport);
  assertPageOf(listRows(screen), bySport, "ports ascending");

  screen = await ui.press("I", "▼SPORT", (s) => sortedColumn(s) === "▼SPORT");
  assertPageOf(listRows(screen), bySport.toReversed(), "ports descending");
  const highest = Math.max(...entries.map((e) => e.sport));
  screen = await ui.press("Home", "the top", (s) => listRows(s)[0]?.sport === highest);
  assertEquals(listRows(screen).map(keyOf), bySport.toReversed().slice(0, PAGE));

  // One to the right is DESTINATION; addresses sort as numbers, not as text.
  screen = await ui.press(">", "DESTINATION", (s) => sortedColumn(s)?.includes("DEST") ?? false);
  assertEquals(sortedColumn(screen), "DESTINATION▲");
  assertPageOf(listRows(screen), by((e) => ipNumber(e.dst)), "destinations ascending");
  await expectCleanExit(ui, "q");
});

Deno.test("The UI holds the list while paused with Space and shows what came meanwhile after", async () => {
  const first = table(10);
  const later = table(5, 3);
  await using ns = await namespaceWith(first);
  await using ui = await Ui.start(live(ns));
  await ui.waitReady(first.length);
  await ui.press("Space", "PAUSED", (s) => /\bPAUSED\s*$/.test(lines(s)[0]!));
  await loadConntrack(ns, later.map(insertLine));
  await sleep(1200); // six refreshes
  const paused = await ui.screen();
  assertMatch(lines(paused)[0]!, /\bPAUSED\s*$/);
  assertEquals(conns(paused), 15, "the header keeps counting while the list is frozen");
  assertEquals(
    listRows(paused).map(keyOf).toSorted(),
    first.map(keyOf).toSorted(),
    "the list shows none of the rows added while paused",
  );
  const resumed = await ui.press(
    "Z",
    "the new rows",
    (s) => !lines(s)[0]!.includes("PAUSED") && listRows(s).length === 15,
  );
  assertEquals(conns(resumed), 15);
  assertEquals(
    listRows(resumed).map(keyOf).toSorted(),
    [...first, ...later].map(keyOf).toSorted(),
  );
  await expectCleanExit(ui, "q");
});

Deno.test("The UI shows the selected connection's details with Enter and Esc closes them", async () => {
  const entries = table(40);
  await using ns = await namespaceWith(entries);
  await using ui = await Ui.start(live(ns));
  await ui.waitReady(entries.length);
  await ui.term.sendKeys("Home");
  const marked = await ui.term.waitFor(
    (s) => cursorRows(s).length === 1 && cursorRows(s)[0] === plain(lines(s)[4]!),
    { what: "the cursor bar on the first row", escapes: true },
  );
  const [selected] = listRows(cursorRows(marked)[0]!);
  assert(selected !== undefined, "a first row");
  const screen = await ui.press(
    "Enter",
    "the details dialog",
    (s) => s.includes("Original direction"),
  );
  const { proto, src, sport, dst, dport } = selected;
  assertStringIncludes(screen, `${proto} ${src}:${sport} → ${dst}:${dport}`, "the dialog title");
  assertMatch(screen, new RegExp(`Original direction[^\\n]*\\n[^\\n]*Source +${src}:${sport} `));
  await ui.press("Escape", "the dialog to close", (s) => !s.includes("Original direction"));
  const after = await ui.waitReady(entries.length);
  assertEquals(listRows(after).length, PAGE);
  await expectCleanExit(ui, "q");
});

Deno.test("The UI shows the help with F1 and ? and Esc closes it", async () => {
  const entries = table(30);
  await using ns = await namespaceWith(entries);
  await using ui = await Ui.start(live(ns));
  await ui.waitReady(entries.length);
  for (const key of ["F1", "?"]) {
    const help = await ui.press(key, `help after ${key}`, (s) => s.includes("Help — conntop keys"));
    assertStringIncludes(help, "Moving around");
    await ui.press("Escape", "the help to close", (s) => !s.includes("Help — conntop keys"));
  }
  await ui.waitReady(entries.length);
  await expectCleanExit(ui, "q");
});

Deno.test("The UI search jumps to a row off the page and marks it under the cursor", async () => {
  const entries = table(40);
  await using ns = await namespaceWith(entries);
  await using ui = await Ui.start(live(ns));
  const start = await ui.waitReady(entries.length);
  const shown = new Set(listRows(start).map(keyOf));
  const target = entries.find((e) => !shown.has(keyOf(e)))!;
  const needle = target.src;

  await ui.press("/", "the search line", (s) => lines(s).at(-1)!.startsWith("Search:"));
  await ui.term.sendText(needle);
  const found = await ui.term.waitFor(
    (s) => cursorRows(s).length === 1 && cursorRows(s)[0]!.includes(needle),
    { what: `the cursor on the row of ${needle}`, escapes: true },
  );
  assertMatch(plain(lines(found).at(-1)!), new RegExp(`^Search: ${needle.replaceAll(".", "\\.")}`));
  const row = lines(found).find((l) => plain(l).includes(needle))!;
  assertEquals(listRows(plain(row)).map(keyOf), [keyOf(target)]);
  assertMatch(
    row,
    new RegExp(`\\x1b\\[(?:[\\d;]*;)?4(?:;[\\d;]*)?m${needle.replaceAll(".", "\\.")}`),
  );

  await ui.term.sendKeys("Enter");
  const kept = await ui.term.waitFor((s) => !plain(lines(s).at(-1)!).startsWith("Search:"), {
    what: "the search line to close",
    escapes: true,
  });
  const cursor = cursorRows(kept);
  assertEquals(cursor.length, 1);
  assertStringIncludes(cursor[0]!, needle, "the found row stays under the cursor");
  await expectCleanExit(ui, "q");
});

Deno.test("The UI filter shows only matching rows and Esc in it clears it", async () => {
  const entries = table(40);
  const matching = entries.filter((e) => e.dst.startsWith("192.168.77."));
  assertEquals(matching.length, 4);
  await using ns = await namespaceWith(entries);
  await using ui = await Ui.start(live(ns));
  await ui.waitReady(entries.length);
  await ui.press("\\", "the filter line", (s) => lines(s).at(-1)!.startsWith("Filter:"));
  await ui.term.sendText("192.168.77.");
  const filtered = await ui.waitFor("only the matching rows", (s) => listRows(s).length === 4);
  assertEquals(listRows(filtered).map(keyOf).toSorted(), matching.map(keyOf).toSorted());
  assertMatch(lines(filtered)[0]!, /FILTER: 192\.168\.77\.\s*$/);
  assertMatch(lines(filtered).at(-1)!, /^Filter: 192\.168\.77\./);

  const cleared = await ui.press("Escape", "every row back", (s) => listRows(s).length === PAGE);
  assert(!cleared.includes("FILTER"), "the FILTER flag is gone");
  assert(!lines(cleared).at(-1)!.startsWith("Filter:"), "the filter line is closed");
  await expectCleanExit(ui, "q");
});

Deno.test("The UI redraws at once when the terminal is resized, down to 40x10", async () => {
  const entries = table(40);
  await using ns = await namespaceWith(entries);
  // A slow refresh, so only the resize itself can redraw within the waits below.
  await using ui = await Ui.start(["--netns", ns.name, "--interval", "10", "-P"]);
  await ui.waitReady(entries.length);
  const redrawn = async (width: number, height: number, rows: number, header: RegExp) => {
    await ui.term.resize(width, height);
    assertEquals(await ui.term.format("#{pane_width}x#{pane_height}"), `${width}x${height}`);
    const screen = await ui.term.waitFor(
      (s) =>
        header.test(lines(s)[0]!) && lines(s).filter((l) => /^(tcp|udp) /.test(l)).length === rows,
      { what: `the frame at ${width}x${height}`, timeoutMs: 2000 },
    );
    const all = lines(screen);
    assertEquals(all.length, height, `${height} lines`);
    for (const l of all) assert([...l].length <= width, `'${l}' fits in ${width} columns`);
    assertMatch(all.at(-1)!, /^F1Help /, "the function key bar is on the last line");
    return all;
  };
  let all = await redrawn(60, 15, 15 - 5, /^ conntop@/);
  assertMatch(all[3]!, /^PROTO\s+STATE/);
  all = await redrawn(40, 10, 10 - 3, /^ 40 conns {2}TX /);
  assertMatch(all[1]!, /^PROTO\s+STATE/);
  all = await redrawn(WIDTH, HEIGHT, PAGE, /\bConns 40\b/);
  assertMatch(all[3]!, /^PROTO\s+STATE/);
  await expectCleanExit(ui, "q");
});

Deno.test("The UI leaves the terminal as it found it when quit with q, F10 or Ctrl-C", async (t) => {
  const entries = table(30);
  await using ns = await namespaceWith(entries);
  for (const [key, name] of [["q", "q"], ["F10", "F10"], ["C-c", "Ctrl-C"]] as const) {
    await t.step(`with ${name}`, async () => {
      await using ui = await Ui.start(live(ns));
      await ui.waitReady(entries.length);
      await expectCleanExit(ui, key, 0);
    });
  }
});

Deno.test("The UI restores the terminal on SIGTERM and exits with 143", async () => {
  const entries = table(30);
  await using ns = await namespaceWith(entries);
  await using ui = await Ui.start(live(ns));
  await ui.waitReady(entries.length);
  Deno.kill(await ui.pid(), "SIGTERM");
  // A shell reports 143 for a process killed by SIGTERM too; that conntop caught it shows in the
  // restored terminal (raw mode off, primary screen back), which an unhandled signal leaves.
  await expectCleanExit(ui, null, 143);
});

Deno.test("The UI restores the terminal on SIGHUP and exits with 129", async () => {
  const entries = table(10);
  await using ns = await namespaceWith(entries);
  await using ui = await Ui.start(live(ns));
  await ui.waitReady(entries.length);
  Deno.kill(await ui.pid(), "SIGHUP");
  await expectCleanExit(ui, null, 129);
});

Deno.test("The UI restores the terminal when the collector fails, then prints the error", async () => {
  await using ns = await namespaceWith(table(5));
  await using ui = await Ui.start(live(ns), {
    env: { CONNTOP_LIBNFCT: "/nonexistent/libnfct.so" },
  });
  const exit = await expectCleanExit(ui, null, 2);
  assertStringIncludes(exit.screen, "conntop: Cannot load '/nonexistent/libnfct.so'");
});

Deno.test("The UI keeps the sort in config.json and backs up a corrupt one", async () => {
  const entries = table(40);
  await using ns = await namespaceWith(entries);
  await using config = await tempDir();
  const file = `${config.path}/conntop/config.json`;
  const bySport = entries.toSorted((a, b) => a.sport - b.sport).map(keyOf);
  {
    await using ui = await Ui.start(live(ns), { configHome: config.path });
    await ui.waitReady(entries.length);
    // The sort dialog lists every column; k goes up to the first (PROTO), j down to SPORT.
    await ui.press("s", "the sort dialog", (s) => s.includes("Sort by"));
    await ui.term.sendKeys(...Array(25).fill("k"), "j", "j", "j", "Enter");
    await ui.waitFor("SPORT marked as the sort", (s) => /│ 1▲ SPORT /.test(s));
    await ui.press("Escape", "the dialog to close", (s) => sortedColumn(s) === "▲SPORT");
    await ui.press("I", "▼SPORT", (s) => sortedColumn(s) === "▼SPORT");
    await expectCleanExit(ui, "q");
  }
  const saved = JSON.parse(await Deno.readTextFile(file)) as { sort: unknown };
  assertEquals(saved.sort, { column: "sport", desc: true });
  {
    await using ui = await Ui.start(live(ns), { configHome: config.path });
    const screen = await ui.waitReady(entries.length);
    assertEquals(sortedColumn(screen), "▼SPORT", "the saved sort is back");
    assertEquals(listRows(screen).map(keyOf), bySport.toReversed().slice(0, PAGE));
    await expectCleanExit(ui, "q");
  }

  const corrupt = "{ this is not JSON";
  await Deno.writeTextFile(file, corrupt);
  {
    await using ui = await Ui.start(live(ns), { configHome: config.path });
    const screen = await ui.waitReady(entries.length);
    assertNotEquals(sortedColumn(screen), "▼SPORT", "the defaults are used");
    const exit = await expectCleanExit(ui, "q");
    assertStringIncludes(exit.screen, `conntop: Config file '${file}' is not valid JSON`);
    assertStringIncludes(exit.screen, `kept a copy as '${file}.bad-`);
  }
  const backups = [...Deno.readDirSync(`${config.path}/conntop`)]
    .map((e) => e.name)
    .filter((name) => name.startsWith("config.json.bad-"));
  assertEquals(backups.length, 1, `one backup: ${backups}`);
  assertEquals(await Deno.readTextFile(`${config.path}/conntop/${backups[0]}`), corrupt);
});

Deno.test("The UI replays a recording without the namespace, and says when one is cut short", async () => {
  const entries = table(40);
  await using work = await tempDir();
  const recording = `${work.path}/rec.ndjson.gz`;
  let nsName: string;
  {
    await using ns = await namespaceWith(entries);
    nsName = ns.name;
    await using ui = await Ui.start(live(ns, "--record", recording));
    const started = Date.now();
    const screen = await ui.waitReady(entries.length);
    assertMatch(lines(screen)[0]!, /\bREC\s*$/);
    await sleep(3000 - (Date.now() - started));
    await expectCleanExit(ui, "q");
  }
  const { stdout: namespaces } = await runCommand(["ip", "netns", "list"]);
  assert(!namespaces.includes(nsName), "the recorded namespace is gone");
  assert((await Deno.stat(recording)).size > 0, "the recording was written");

  await replayShowsTable(recording, entries);

  // The first half of the lines: the header and some batches, no end line.
  const text = await new Response(
    (await Deno.open(recording)).readable.pipeThrough(new DecompressionStream("gzip")),
  ).text();
  const all = text.split("\n").filter((l) => l !== "");
  assert(all.length >= 6, `${all.length} lines recorded`);
  const cut = `${work.path}/cut.ndjson`;
  await Deno.writeTextFile(cut, all.slice(0, Math.floor(all.length / 2)).join("\n") + "\n");
  {
    await using ui = await Ui.start(["--replay", cut, "-P"]);
    const screen = await ui.waitFor(
      "the replay to say it is cut short",
      (s) => conns(s) === entries.length && lines(s)[2]!.includes("is cut short"),
    );
    assertEquals(listRows(screen).length, PAGE, "what was recorded before the cut plays");
    const exit = await expectCleanExit(ui, "q");
    assertStringIncludes(exit.screen, `conntop: Recording '${cut}' is cut short after `);
  }
});

/** Replays `recording` and checks it shows the table `entries`. */
async function replayShowsTable(recording: string, entries: Entry[]): Promise<void> {
  await using ui = await Ui.start(["--replay", recording, "-P"]);
  const screen = await ui.waitReady(entries.length);
  assertStringIncludes(lines(screen)[0]!, `replay ${recording}`);
  assertMatch(lines(screen)[2]!, /^ Replay ×1 /);
  const loaded = new Set(entries.map(keyOf));
  for (const row of listRows(screen).map(keyOf)) assert(loaded.has(row), `'${row}' was loaded`);
  await expectCleanExit(ui, "q");
}

// --- what an empty list says, where the cursor is, text cut at 80x24 ---

Deno.test("The UI says why an empty table is empty, as --once does, and why a filter shows nothing", async () => {
  await using ns = await Netns.create("ui");
  const listed = await runCommand(["ip", "netns", "exec", ns.name, "conntrack", "-L"]);
  assertEquals(listed.stdout.trim(), "", "conntrack -L lists nothing in the namespace");
  const once = await runConntop(["--once", "--netns", ns.name]);
  assertEquals(once.code, 0);
  const hint = /The conntrack table[^\n]*/.exec(once.stderr)?.[0];
  assert(hint !== undefined, `--once printed no hint: ${once.stderr}`);
  await using ui = await Ui.start(live(ns));
  const empty = await ui.waitFor("the hint in the list area", (s) => s.includes("is empty"));
  // The hint is wrapped to the list area: its lines joined give what --once printed.
  const text = lines(empty).slice(4, HEIGHT - 1).map((l) => l.trim()).filter((l) => l !== "");
  assertEquals(text.join(" "), hint);
  assertEquals(conns(empty), 0);

  const entries = table(3);
  await loadConntrack(ns, entries.map(insertLine));
  await ui.waitReady(entries.length);
  await ui.press("\\", "the filter line", (s) => lines(s).at(-1)!.startsWith("Filter:"));
  await ui.term.sendText("no-such-thing");
  const none = await ui.waitFor("the filter's message", (s) => s.includes("No connection matches"));
  assertStringIncludes(none, "No connection matches the filter 'no-such-thing' (3 hidden");
  assert(!none.includes("is empty"), "the table is not called empty");
  await ui.press(
    "Enter",
    "the filter line to close",
    (s) => !lines(s).at(-1)!.startsWith("Filter:"),
  );
  await expectCleanExit(ui, "q");
});

Deno.test("At 80x24 the key bar keeps whole labels, every cut ends in '…', help and setup scroll", async () => {
  const entries = table(40);
  await using ns = await namespaceWith(entries);
  await using ui = await Ui.start(live(ns));
  await ui.waitReady(entries.length);
  await ui.term.resize(80, 24);
  // tmux cuts the old frame to the new size at once; conntop's own frame follows: wait for it.
  const bar = /^F1Help F2Setup F3Search F4Filter F6SortBy F10Quit +row 1 of 40\s*$/;
  const screen = await ui.waitFor(
    "the frame at 80x24",
    (s) => lines(s).length === 24 && bar.test(lines(s).at(-1)!),
  );
  assertMatch(lines(screen).at(-1)!, bar);
  const moved = await ui.press("Down", "row 2", (s) => / row 2 of 40\s*$/.test(lines(s).at(-1)!));
  assertEquals(lines(moved).length, 24);

  // The help: more follows below, PgDn and End scroll to its last line.
  const help = await ui.press("F1", "the help", (s) => s.includes("Help — conntop keys"));
  assertStringIncludes(help, "↓ more");
  assert(!help.includes("↑ more"));
  const page = await ui.press("PageDown", "the next page", (s) => s.includes("↑ more"));
  assert(page !== help);
  const end = await ui.press("End", "the end", (s) => s.includes("F10, q, Ctrl-C"));
  assert(!end.includes("↓ more"), "nothing more below the last line");
  for (const line of lines(end)) {
    // Every help line is whole: wrapped, never cut.
    assert(!/\S…\s*│/.test(line), `a help line was cut: '${line}'`);
  }
  await ui.press("Escape", "the help to close", (s) => !s.includes("Help — conntop keys"));

  // The columns dialog: whole titles; a description that does not fit ends in "…".
  const titles = new Set(Object.values(COLUMNS).map((c) => c.title));
  const setup = await ui.press("F2", "the columns dialog", (s) => s.includes(" Columns "));
  const last = await ui.press("End", "the last column", (s) => s !== setup);
  for (const screen of [setup, last]) {
    for (const line of lines(screen)) {
      const m = /│ \[[x ]\] (\S+) +\d+ {2}(.*?) *│/.exec(line);
      if (m === null) continue;
      assert(titles.has(m[1]!), `a title was cut: '${line}'`);
      const described = Object.values(COLUMNS).some((c) => c.description === m[2]);
      assert(described || m[2]!.endsWith("…"), `a description cut without '…': '${line}'`);
    }
  }
  assertStringIncludes(last, "SORGANISATION");
  await ui.press("Escape", "the dialog to close", (s) => !s.includes(" Columns "));
  await expectCleanExit(ui, "q");
});

Deno.test("The UI shows the top of the list again when a filter is cleared from the first row", async () => {
  const entries = table(40);
  await using ns = await namespaceWith(entries);
  await using ui = await Ui.start(live(ns), { config: { sort: { column: "src", desc: false } } });
  const start = await ui.waitReady(entries.length);
  const top = listRows(start).map(keyOf);
  const bySrc = entries.toSorted((a, b) => ipNumber(a.src) - ipNumber(b.src)).map(keyOf);
  assertEquals(top, bySrc.slice(0, PAGE));
  // A filter that keeps only a row far down the list, then cleared: the top shows again.
  const far = entries[35]!;
  await ui.press("\\", "the filter line", (s) => lines(s).at(-1)!.startsWith("Filter:"));
  await ui.term.sendText(far.src);
  await ui.waitFor("the one row", (s) => listRows(s).length === 1);
  await ui.term.sendKeys("Escape");
  const back = await ui.waitFor("every row back", (s) => listRows(s).length === PAGE);
  assertEquals(listRows(back).map(keyOf), bySrc.slice(0, PAGE), "the top of the list shows");
  assertMatch(lines(back).at(-1)!, / row 1 of 40\s*$/);
  await expectCleanExit(ui, "q");
});

// --- enrichment ---

Deno.test("The UI shows hostnames from the system resolver, and addresses again with H", async () => {
  const entries = table(12);
  await using ns = await namespaceWith(entries);
  // Names for two destinations; the rest get NXDOMAIN and stay addresses.
  const named = [entries[0]!, entries[5]!];
  await using dns = await startDnsmasq(ns, {
    records: named.map((e, i) => ({ address: e.dst, name: `host${i}.conntop.test` })),
  });
  await using ui = await Ui.start(live(ns), { prefix: ["ip", "netns", "exec", ns.name] });
  // Not waitReady(): its rows are rows of addresses, and the names may come first.
  await ui.waitFor("'Conns 12'", (s) => conns(s) === entries.length, 15_000);
  // DESTINATION is 16 cells wide by default: the names show as "host0.conntop.t…".
  const screen = await ui.waitFor(
    "both names",
    (s) => s.includes("host0.conntop.t…") && s.includes("host1.conntop.t…"),
  );
  // A name takes the address's place in DESTINATION; the other rows keep their addresses.
  const rows = lines(screen).slice(4, 4 + entries.length);
  assert(rows.some((l) => l.includes(`${named[0]!.src} `) && l.includes("host0.conntop.t…")));
  assert(rows.some((l) => l.includes(entries[1]!.dst)), "an address without a name stays");
  const asked = dns.queries();
  assert(asked.length > 0, "the names came from the test's DNS server");
  const back = await ui.press("H", "addresses", (s) => !s.includes("host0.conntop"));
  assertStringIncludes(back, named[0]!.dst);
  await expectCleanExit(ui, "q");
});

Deno.test("With a DNS server that never answers, the UI stays usable and quits at once", async () => {
  const entries = table(12);
  await using ns = await namespaceWith(entries);
  // glibc would wait 5 s x 2 attempts for each lookup.
  await using silent = await startSilentDns(ns, { resolvOptions: ["timeout:5", "attempts:2"] });
  await using ui = await Ui.start(live(ns), { prefix: ["ip", "netns", "exec", ns.name] });
  await ui.waitReady(entries.length);
  await ui.waitFor("the resolver to ask", () => silent.received() > 0);
  // Keys work while every lookup hangs: sort, open the details.
  await sortTo(ui, "<", "DPORT");
  const details = await ui.press("Enter", "the details", (s) => s.includes("Destination host"));
  assertMatch(details, /Destination host\s+\((resolving…|lookup timed out)\)/);
  await ui.waitFor(
    "the lookup to time out (the resolver's 2 s, not glibc's 10 s)",
    (s) => /Destination host\s+\(lookup timed out\)/.test(s),
    6000,
  );
  await ui.press("Escape", "the details to close", (s) => !s.includes("Destination host"));
  const t0 = performance.now();
  await expectCleanExit(ui, "q");
  const quitMs = performance.now() - t0;
  // Lookups are still running in the C library; quitting must not wait for them.
  assert(quitMs < 3000, `quit took ${Math.round(quitMs)} ms with lookups in flight`);
});
