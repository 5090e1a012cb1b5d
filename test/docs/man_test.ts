/**
 * The man pages man/conntop.8 and man/conntopd.8: groff and man-db format them without a
 * warning, every option hyphen is escaped, and they document exactly the options each program's
 * `--help` lists (with their short forms) and every key of the monitor's help screen.
 *
 * The options are read from both sides independently: from the `--help` text the real program
 * prints, and from the tags of the `.TP` paragraphs in the page's OPTIONS section.
 *
 * Requires groff and man-db (scripts/setup.sh installs groff-base and man-db), and
 * `--allow-run --allow-read`.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { HELP_LINES } from "../../src/ui/help.ts";

const ROOT = new URL("../../", import.meta.url);

/** Each page and the program whose `--help` it must agree with. */
const PAGES = [
  { name: "conntop", page: "man/conntop.8", main: "main.ts" },
  { name: "conntopd", page: "man/conntopd.8", main: "src/conntopd.ts" },
] as const;

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` in the repository's root, killed after 30 s; `env` replaces the environment. */
async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<Output> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: env !== undefined,
    env,
    signal: AbortSignal.timeout(30_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** man-db's environment: no pager, 80 columns, a UTF-8 locale, nothing inherited. */
function manEnv(): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    MANPAGER: "cat",
    PAGER: "cat",
    MANWIDTH: "80",
    LC_ALL: "C.UTF-8",
  };
}

function readPage(page: string): string {
  return Deno.readTextFileSync(new URL(page, ROOT));
}

// --- --help --------------------------------------------------------------------------------

/**
 * The options of a --help text, as "-x, --long" or "--long": the lines that start (indented by
 * at most 7 spaces; descriptions continue deeper) with a short and/or a long option.
 */
function helpOptions(text: string): Set<string> {
  const found = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^ {1,7}(?:-([A-Za-z0-9])(?=[ ,]|$),? ?)?(?:--([a-z0-9][a-z0-9-]*))?/.exec(line);
    if (m === null || (m[1] === undefined && m[2] === undefined)) continue;
    found.add(optionName(m[1], m[2]));
  }
  return found;
}

function optionName(short: string | undefined, long: string | undefined): string {
  if (long === undefined) return `-${short}`;
  return short === undefined ? `--${long}` : `-${short}, --${long}`;
}

// --- roff ----------------------------------------------------------------------------------

/** Splits macro arguments: words, or double-quoted strings (`""` is a quote inside one). */
function macroArgs(text: string): string[] {
  const args: string[] = [];
  for (const m of text.matchAll(/"((?:[^"]|"")*)"?|(\S+)/g)) {
    args.push(m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]!);
  }
  return args;
}

/** Text of the escapes the pages use; font changes and zero-width escapes vanish. */
function unescape(text: string): string {
  return text.replace(
    /\\(f(?:\[[^\]]*\]|\(..|.)|\((..)|\[([^\]]*)\]|.)/g,
    (all, what: string, two?: string, named?: string) => {
      if (what.startsWith("f")) return "";
      const glyph = two ?? named;
      if (glyph !== undefined) {
        const glyphs: Record<string, string> = { aq: "'", em: "—", lq: "“", rq: "”", bu: "•" };
        return glyphs[glyph] ?? all;
      }
      switch (what) {
        case "-":
          return "-";
        case "e":
          return "\\";
        case "&":
        case "c":
          return "";
        case " ":
          return " ";
        default:
          return all;
      }
    },
  );
}

/** The text a roff line shows (font macros joined as troff joins them); "" for requests. */
function lineText(line: string): string {
  const m = /^\.(B|I|SM|BR|RB|BI|IB|IR|RI)(?:\s+(.*))?$/.exec(line);
  if (m !== null) {
    const args = macroArgs(m[2] ?? "");
    // .B and .I set their arguments in one font, spaced; the others alternate fonts, unspaced.
    return unescape(args.join(m[1]!.length === 1 || m[1] === "SM" ? " " : ""));
  }
  if (line.startsWith(".") || line.startsWith("'")) return "";
  return unescape(line);
}

/** The tags of the `.TP` paragraphs of section `name` (a `.SH` heading) of a page. */
function tags(source: string, name: string): string[] {
  const lines = source.split("\n").filter((l) => !/^\.\s*\\"/.test(l));
  const out: string[] = [];
  let inSection = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const sh = /^\.SH\s+(.*)$/.exec(line);
    if (sh !== null) {
      inSection = macroArgs(sh[1]!).map(unescape).join(" ") === name;
      continue;
    }
    if (inSection && /^\.TP\b/.test(line) && i + 1 < lines.length) {
      out.push(lineText(lines[i + 1]!).trim());
    }
  }
  return out;
}

/** The options of the tags of a page's OPTIONS section, as {@linkcode helpOptions} names them. */
function pageOptions(source: string): Set<string> {
  const found = new Set<string>();
  for (const tag of tags(source, "OPTIONS")) {
    const m = /^(?:-([A-Za-z0-9])(?=[ ,]|$),? ?)?(?:--([a-z0-9][a-z0-9-]*))?/.exec(tag);
    if (m === null || (m[1] === undefined && m[2] === undefined)) continue;
    found.add(optionName(m[1], m[2]));
  }
  return found;
}

/**
 * The single keys of a key list as the help screen writes it: "Up/Down, k/j" → Up, Down, k, j;
 * "F3, /" → F3, /; "< >" → <, >.
 */
function keyNames(keys: string): string[] {
  return keys.split(/,?\s+/).flatMap((k) => k.length > 1 && k.includes("/") ? k.split("/") : [k])
    .filter((k) => k !== "");
}

/** Keys of one character are case-sensitive (s and S differ); names are not (Enter, mouse). */
function keyId(key: string): string {
  return key.length === 1 ? key : key.toLowerCase();
}

function difference(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).sort();
}

// --- tests ---------------------------------------------------------------------------------

for (const { name, page } of PAGES) {
  Deno.test(`groff formats ${page} without a warning`, async () => {
    const out = await run("groff", ["-man", "-Tutf8", "-ww", "-z", page]);
    assertEquals(out.stderr, "", `groff warned about ${page}`);
    assertEquals(out.code, 0, `groff failed on ${page}`);
  });

  Deno.test(`man shows ${page} without a warning, NAME line included`, async () => {
    const out = await run("man", ["--warnings", "-l", page], manEnv());
    assertEquals(out.stderr, "", `man warned about ${page}`);
    assertEquals(out.code, 0, `man failed on ${page}`);
    assert(
      new RegExp(`^NAME\\n +${name} - \\S`, "m").test(out.stdout),
      `man's output of ${page} has no NAME line '${name} - …':\n${out.stdout.slice(0, 400)}`,
    );
  });

  Deno.test(`${page} escapes every option hyphen as \\-`, () => {
    const bad = readPage(page).split("\n").flatMap((line, i) => {
      if (/^\.\s*\\"/.test(line)) return [];
      // With every \- gone, a hyphen that starts a word is one left unescaped.
      const rest = line.replaceAll("\\-", "");
      return /(?:^|[\s(\[|"=,/`'])-{1,2}[A-Za-z0-9]/.test(rest) ? [`${i + 1}: ${line}`] : [];
    });
    assertEquals(bad, [], `${page} has option hyphens without a backslash`);
  });
}

for (const { name, page, main } of PAGES) {
  Deno.test(`${page} documents exactly the options of '${name} --help'`, async () => {
    const help = await run(Deno.execPath(), ["run", "--allow-all", main, "--help"]);
    assertEquals(help.code, 0, `'${name} --help' failed: ${help.stderr}`);
    const fromHelp = helpOptions(help.stdout);
    const fromPage = pageOptions(readPage(page));
    // Guards against a parser that finds nothing on either side (two empty sets are equal).
    assert(
      fromHelp.has("-h, --help") && fromHelp.size >= 15,
      `few options in --help: ${[...fromHelp]}`,
    );
    assert(fromPage.has("-h, --help"), `no -h, --help in ${page}'s OPTIONS: ${[...fromPage]}`);
    const onlyHelp = difference(fromHelp, fromPage);
    const onlyPage = difference(fromPage, fromHelp);
    assert(
      onlyHelp.length === 0 && onlyPage.length === 0,
      `${page} OPTIONS and '${name} --help' differ:\n` +
        `  only in --help: ${onlyHelp.join("; ") || "(none)"}\n` +
        `  only in ${page}: ${onlyPage.join("; ") || "(none)"}`,
    );
  });
}

Deno.test("man/conntop.8 documents every key of the help screen in KEYS", () => {
  const documented = new Set(
    tags(readPage("man/conntop.8"), "KEYS").flatMap(keyNames).map(keyId),
  );
  const listed = HELP_LINES.filter(([keys]) => keys !== "").flatMap(([keys]) => keyNames(keys));
  assert(listed.length >= 20, `few keys read from HELP_LINES: ${listed}`);
  const missing = listed.filter((k) => !documented.has(keyId(k)));
  assertEquals(missing, [], "keys of HELP_LINES missing from the KEYS section of man/conntop.8");
});

Deno.test("the test's parsers read options, tags and keys as intended", () => {
  assertEquals(
    [...helpOptions(
      "Usage: x\n  -i, --interval S  every\n      --netns NAME  ns\n" +
        "                         --record); continued\n  -1, --once  once\n  completions SHELL\n",
    )],
    ["-i, --interval", "--netns", "-1, --once"],
  );
  const page = [
    ".SH OPTIONS",
    ".TP",
    '.BR \\-o ", " \\-\\-format " \\fIformat\\fR"',
    "text about \\-\\-other",
    ".TP",
    '.BI \\-\\-netns " name"',
    ".SH KEYS",
    ".TP",
    ".B F3, /",
    ".TP",
    ".B \\e",
  ].join("\n");
  assertEquals([...pageOptions(page)], ["-o, --format", "--netns"]);
  assertEquals(tags(page, "KEYS"), ["F3, /", "\\"]);
  assertEquals(keyNames("Up/Down, k/j"), ["Up", "Down", "k", "j"]);
  assertEquals(keyNames("F3, /"), ["F3", "/"]);
  assertEquals(keyNames("+ -"), ["+", "-"]);
});
