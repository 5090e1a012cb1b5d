// Tests of tools/screen.ts (the SGR screen reader). Colours are written as conntop packs them (see
// src/term/style.ts): 0 is the default, 0x2000000 | n palette index n, 0x1000000 | 0xrrggbb
// a truecolor value.

import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import { type Cell, parseScreen, screenText } from "../../tools/screen.ts";

const BOLD = 1, DIM = 2, ITALIC = 4, UNDERLINE = 8, REVERSE = 16, HIDDEN = 32, STRIKE = 64;

/** The cells of row `y`, as [text, fg, bg, attrs, width]. */
function row(
  text: string,
  width: number,
  height = 1,
  y = 0,
): [string, number, number, number, number][] {
  const screen = parseScreen(text, { width, height });
  return screen.cells.slice(y * width, (y + 1) * width)
    .map((c: Cell) => [c.text, c.fg, c.bg, c.attrs, c.width]);
}

Deno.test("parseScreen() puts each character in its cell and leaves the rest blank", () => {
  const screen = parseScreen("ab\nc", { width: 3, height: 3 });
  assertEquals(screen.cells.map((c) => c.text).join(""), "ab c     ");
  assertEquals(screen.cells[2], { text: " ", fg: 0, bg: 0, attrs: 0, width: 1 });
  assertEquals(screenText(screen), "ab\nc\n\n");
});

Deno.test("parseScreen() follows the attributes and their resets", async (t) => {
  await t.step("each attribute on, then 22, 23, 24, 27, 28, 29 off", () => {
    assertEquals(row("\x1b[1;2;3;4;7;8;9mA\x1b[22mB\x1b[23;24mC\x1b[27;28;29mD", 4), [
      ["A", 0, 0, BOLD | DIM | ITALIC | UNDERLINE | REVERSE | HIDDEN | STRIKE, 1],
      ["B", 0, 0, ITALIC | UNDERLINE | REVERSE | HIDDEN | STRIKE, 1],
      ["C", 0, 0, REVERSE | HIDDEN | STRIKE, 1],
      ["D", 0, 0, 0, 1],
    ]);
  });
  await t.step("0 and an empty sequence reset everything, colours included", () => {
    assertEquals(row("\x1b[1;31;42mA\x1b[0mB\x1b[4;33mC\x1b[mD", 4), [
      ["A", 0x2000001, 0x2000002, BOLD, 1],
      ["B", 0, 0, 0, 1],
      ["C", 0x2000003, 0, UNDERLINE, 1],
      ["D", 0, 0, 0, 1],
    ]);
  });
  await t.step("a reset inside a sequence drops only what came before it", () => {
    assertEquals(row("\x1b[1;0;32mA", 1), [["A", 0x2000002, 0, 0, 1]]);
  });
  await t.step("4:0 ends underline, 4:3 (curly) is an underline, 21 too", () => {
    assertEquals(row("\x1b[4mA\x1b[4:0mB\x1b[4:3mC\x1b[24;21mD", 4), [
      ["A", 0, 0, UNDERLINE, 1],
      ["B", 0, 0, 0, 1],
      ["C", 0, 0, UNDERLINE, 1],
      ["D", 0, 0, UNDERLINE, 1],
    ]);
  });
});

Deno.test("parseScreen() reads 16, bright, 256 and truecolor colours and the defaults", () => {
  const text = "\x1b[31;42mA\x1b[91;102mB\x1b[38;5;208;48;5;17mC" +
    "\x1b[38;2;1;2;3;48;2;250;128;0mD\x1b[39mE\x1b[49mF\x1b[37;40mG\x1b[97;107mH";
  assertEquals(row(text, 8), [
    ["A", 0x2000001, 0x2000002, 0, 1],
    ["B", 0x2000009, 0x200000a, 0, 1],
    ["C", 0x20000d0, 0x2000011, 0, 1],
    ["D", 0x1010203, 0x1fa8000, 0, 1],
    ["E", 0, 0x1fa8000, 0, 1],
    ["F", 0, 0, 0, 1],
    ["G", 0x2000007, 0x2000000, 0, 1],
    ["H", 0x200000f, 0x200000f, 0, 1],
  ]);
});

Deno.test("parseScreen() reads the colon forms of extended colours", () => {
  const text = "\x1b[38:2::10:20:30mA\x1b[38:2:40:50:60mB\x1b[48:5:99mC";
  assertEquals(row(text, 3), [
    ["A", 0x10a141e, 0, 0, 1],
    ["B", 0x128323c, 0, 0, 1],
    ["C", 0x128323c, 0x2000063, 0, 1],
  ]);
});

Deno.test("parseScreen() ignores a bad extended colour and applies the parameters after it", () => {
  // 38;5;300 is out of range; 58 (underline colour) takes its values with it.
  assertEquals(row("\x1b[31m\x1b[38;5;300;1mA\x1b[58;2;1;2;3;4mB", 2), [
    ["A", 0x2000001, 0, BOLD, 1],
    ["B", 0x2000001, 0, BOLD | UNDERLINE, 1],
  ]);
});

Deno.test("parseScreen() carries the style from one line to the next, as tmux writes it", () => {
  // capture-pane -e writes a sequence only where the style changes.
  const screen = parseScreen("\x1b[7;36mab\ncd\x1b[0me", { width: 3, height: 2 });
  assertEquals(screen.cells.map((c) => [c.text, c.fg, c.attrs]), [
    ["a", 0x2000006, REVERSE],
    ["b", 0x2000006, REVERSE],
    [" ", 0, 0], // after the end of a captured line: blank, default style
    ["c", 0x2000006, REVERSE],
    ["d", 0x2000006, REVERSE],
    ["e", 0, 0],
  ]);
});

Deno.test("parseScreen() gives a wide character two cells and a combining mark none", () => {
  assertEquals(row("\x1b[32m漢a\u0301b", 5), [
    ["漢", 0x2000002, 0, 0, 2],
    ["", 0x2000002, 0, 0, 0],
    ["a\u0301", 0x2000002, 0, 0, 1],
    ["b", 0x2000002, 0, 0, 1],
    [" ", 0, 0, 0, 1],
  ]);
  const screen = parseScreen("漢字\n", { width: 5, height: 1 });
  assertEquals(screenText(screen), "漢字\n");
});

Deno.test("parseScreen() leaves the last column blank when a wide character does not fit", () => {
  assertEquals(row("ab漢c", 3).map((c) => c[0]), ["a", "b", " "]);
});

Deno.test("parseScreen() drops what lies past the last column and the last row", () => {
  const screen = parseScreen("abcdef\nghi\njkl\n", { width: 3, height: 2 });
  assertEquals(screenText(screen), "abc\nghi\n");
});

Deno.test("parseScreen() skips other escape sequences and control characters", () => {
  const text = "\x1b]0;a title\x07A\x1b[2J\x1b[5;5HB\x1b(BC\x1b]8;;http://x\x1b\\D\r\x07E";
  assertEquals(screenText(parseScreen(text, { width: 8, height: 1 })), "ABCDE\n");
});

Deno.test("parseScreen() expands a tab to the next multiple of eight", () => {
  assertEquals(
    screenText(parseScreen("ab\tc\td", { width: 20, height: 1 })),
    "ab      c       d\n",
  );
});

Deno.test("parseScreen() rejects a size that is not a positive integer", () => {
  assertThrows(() => parseScreen("", { width: 0, height: 1 }), RangeError);
  assertThrows(() => parseScreen("", { width: 80, height: 2.5 }), RangeError);
});

Deno.test("screenText() trims trailing blanks, coloured ones too, and keeps blank rows", () => {
  const screen = parseScreen("\x1b[42mab  \x1b[0m\n\n c ", { width: 6, height: 4 });
  assertEquals(screenText(screen), "ab\n\n c\n\n");
});
