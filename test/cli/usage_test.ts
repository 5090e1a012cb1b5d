/**
 * The `--help` and `--version` texts of conntop and conntopd fit an 80-column terminal, where
 * help is read: no line is wider than 79 columns (GNU's rule, so that the last column stays
 * free and nothing wraps mid-word), measured as the terminal counts them. The option lists keep
 * one description column.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { USAGE, versionText } from "../../src/cli/usage.ts";
import { SERVER_USAGE, serverVersionText } from "../../src/server/usage.ts";
import { stringWidth } from "../../src/term/width.ts";

/** The widest line a --help or --version text may have. */
const MAX_WIDTH = 79;

const TEXTS: readonly [string, string][] = [
  ["conntop --help", USAGE],
  ["conntopd --help", SERVER_USAGE],
  // Without the lines about the shared libraries: they hold the paths the linker found.
  ["conntop --version", versionText()],
  ["conntopd --version", serverVersionText()],
];

/** The lines of `text` wider than {@linkcode MAX_WIDTH}, as "width: line". */
function wideLines(text: string): string[] {
  return text.split("\n").filter((l) => stringWidth(l) > MAX_WIDTH).map((l) =>
    `${stringWidth(l)}: ${l}`
  );
}

Deno.test("wideLines() counts columns, not bytes or UTF-16 units", () => {
  assertEquals(wideLines(`${"x".repeat(79)}\n${"é".repeat(79)}\n${"…".repeat(79)}`), []);
  assertEquals(wideLines(`${"x".repeat(80)}\nok`), [`80: ${"x".repeat(80)}`]);
  assertEquals(wideLines(`${"x".repeat(78)}漢`), [`80: ${"x".repeat(78)}漢`]);
});

for (const [name, text] of TEXTS) {
  Deno.test(`every line of ${name} fits in ${MAX_WIDTH} columns`, () => {
    assert(text.split("\n").length >= 3, `${name} has few lines`);
    assertEquals(wideLines(text), [], `lines of ${name} wider than ${MAX_WIDTH} columns`);
  });
}

/**
 * An option line: indented by two, a short and/or a long option with its argument, then (after
 * two or more spaces) the description, or nothing when the description starts on the next line.
 */
const OPTION_LINE = /^( {2}(?:-\w, | {4})--[\w-]+(?: \S+)?)(?:( {2,})(\S.*))?$/;

/** The columns (0-based) where the descriptions of an option list start, with a line each. */
function descriptionColumns(text: string): Map<number, string> {
  const columns = new Map<number, string>();
  for (const line of text.split("\n")) {
    const option = OPTION_LINE.exec(line);
    if (option !== null) {
      if (option[3] !== undefined) columns.set(option[1]!.length + option[2]!.length, line);
      continue;
    }
    // A continuation line: deeper than any option (prose and subheadings are indented by two).
    const indent = /^ {8,}(?=\S)/.exec(line);
    if (indent !== null) columns.set(indent[0].length, line);
  }
  return columns;
}

Deno.test("descriptionColumns() finds option descriptions and continuation lines", () => {
  const text = [
    "Modes:",
    "  -1, --once                print once",
    "                            and exit",
    "      --handshake-timeout S",
    "                            drop a client",
    "      --no-events           dumps only",
    "  A lost server is retried",
    "  server:",
  ].join("\n");
  assertEquals([...descriptionColumns(text).keys()], [28]);
  assertEquals(
    [...descriptionColumns("      --port PORT  port\n                 x\n").keys()],
    [19, 17],
  );
});

for (const [name, text] of TEXTS.slice(0, 2)) {
  Deno.test(`the options of ${name} have one description column`, () => {
    const columns = descriptionColumns(text);
    assert(columns.size > 0, `no option descriptions found in ${name}`);
    assertEquals(
      [...columns].map(([column, line]) => `${column}: ${line}`),
      [...columns].slice(0, 1).map(([column, line]) => `${column}: ${line}`),
      `${name}: descriptions start at different columns (one line shown for each)`,
    );
  });
}

for (const [name, text] of TEXTS.slice(0, 2)) {
  Deno.test(`the options of ${name} are followed by two spaces or a line break`, () => {
    // Also prose: test/docs/man_test.ts takes a line indented by 1-7 with a dash for an option.
    const options = text.split("\n").filter((l) => /^ {1,7}-/.test(l));
    assert(options.length >= 15, `few options found in ${name}`);
    assertEquals(options.filter((l) => !OPTION_LINE.test(l)), [], name);
  });
}

Deno.test("conntop --help and conntopd --help use the same description column", () => {
  assertEquals(
    [...descriptionColumns(USAGE).keys()].slice(0, 1),
    [...descriptionColumns(SERVER_USAGE).keys()].slice(0, 1),
  );
});
