/**
 * The escape sequences, byte for byte: constants, cursor moves and SGR at every colour depth.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import {
  ALT_SCREEN_OFF,
  ALT_SCREEN_ON,
  AUTOWRAP_OFF,
  AUTOWRAP_ON,
  CLEAR_SCREEN,
  CSI,
  CURSOR_HIDE,
  CURSOR_HOME,
  CURSOR_SHOW,
  cursorTo,
  ESC,
  MOUSE_OFF,
  MOUSE_ON,
  PASTE_OFF,
  PASTE_ON,
  sgr,
  SGR_RESET,
} from "../../src/term/ansi.ts";
import { Attr, type ColorDepth, DEFAULT, palette, rgb } from "../../src/term/style.ts";

const DEPTHS: ColorDepth[] = ["none", "16", "256", "truecolor"];

Deno.test("ansi constants are the documented xterm sequences", () => {
  assertEquals(ESC, "\x1b");
  assertEquals(CSI, "\x1b[");
  assertEquals(ALT_SCREEN_ON, "\x1b[?1049h");
  assertEquals(ALT_SCREEN_OFF, "\x1b[?1049l");
  assertEquals(CURSOR_HIDE, "\x1b[?25l");
  assertEquals(CURSOR_SHOW, "\x1b[?25h");
  assertEquals(MOUSE_ON, "\x1b[?1000h\x1b[?1002h\x1b[?1006h");
  assertEquals(MOUSE_OFF, "\x1b[?1006l\x1b[?1002l\x1b[?1000l");
  assertEquals(PASTE_ON, "\x1b[?2004h");
  assertEquals(PASTE_OFF, "\x1b[?2004l");
  assertEquals(CLEAR_SCREEN, "\x1b[2J");
  assertEquals(CURSOR_HOME, "\x1b[H");
  assertEquals(SGR_RESET, "\x1b[0m");
  assertEquals(AUTOWRAP_OFF, "\x1b[?7l");
  assertEquals(AUTOWRAP_ON, "\x1b[?7h");
});

Deno.test("cursorTo() turns 0-based column and row into a 1-based CUP", () => {
  assertEquals(cursorTo(0, 0), "\x1b[1;1H");
  assertEquals(cursorTo(3, 2), "\x1b[3;4H");
  assertEquals(cursorTo(2, 0), "\x1b[1;3H");
  assertEquals(cursorTo(249, 59), "\x1b[60;250H");
});

Deno.test("sgr() gives a bare reset for an empty style at every depth", () => {
  for (const d of DEPTHS) {
    assertEquals(sgr({}, d), "\x1b[0m");
    assertEquals(sgr({ fg: DEFAULT, bg: DEFAULT, attrs: 0 }, d), "\x1b[0m");
  }
});

Deno.test("sgr() writes the attributes in order 1, 2, 3, 4, 7", async (t) => {
  await t.step("each alone", () => {
    assertEquals(sgr({ attrs: Attr.BOLD }, "16"), "\x1b[0;1m");
    assertEquals(sgr({ attrs: Attr.DIM }, "16"), "\x1b[0;2m");
    assertEquals(sgr({ attrs: Attr.ITALIC }, "16"), "\x1b[0;3m");
    assertEquals(sgr({ attrs: Attr.UNDERLINE }, "16"), "\x1b[0;4m");
    assertEquals(sgr({ attrs: Attr.REVERSE }, "16"), "\x1b[0;7m");
  });
  await t.step("all together, at every depth", () => {
    const all = Attr.BOLD | Attr.DIM | Attr.ITALIC | Attr.UNDERLINE | Attr.REVERSE;
    for (const d of DEPTHS) assertEquals(sgr({ attrs: all }, d), "\x1b[0;1;2;3;4;7m");
  });
});

Deno.test("sgr() writes the basic 16 colours as 30-37, 90-97, 40-47 and 100-107", () => {
  for (const d of ["16", "256", "truecolor"] as const) {
    assertEquals(sgr({ fg: palette(0) }, d), "\x1b[0;30m");
    assertEquals(sgr({ fg: palette(1) }, d), "\x1b[0;31m");
    assertEquals(sgr({ fg: palette(7) }, d), "\x1b[0;37m");
    assertEquals(sgr({ fg: palette(8) }, d), "\x1b[0;90m");
    assertEquals(sgr({ fg: palette(15) }, d), "\x1b[0;97m");
    assertEquals(sgr({ bg: palette(0) }, d), "\x1b[0;40m");
    assertEquals(sgr({ bg: palette(4) }, d), "\x1b[0;44m");
    assertEquals(sgr({ bg: palette(12) }, d), "\x1b[0;104m");
    assertEquals(sgr({ bg: palette(15) }, d), "\x1b[0;107m");
  }
});

Deno.test("sgr() at truecolor keeps 24-bit colours and palette indices", () => {
  assertEquals(
    sgr({ fg: rgb(255, 0, 0), bg: palette(236), attrs: Attr.BOLD }, "truecolor"),
    "\x1b[0;1;38;2;255;0;0;48;5;236m",
  );
  assertEquals(
    sgr({ fg: rgb(1, 2, 3), bg: rgb(4, 5, 6) }, "truecolor"),
    "\x1b[0;38;2;1;2;3;48;2;4;5;6m",
  );
  assertEquals(sgr({ fg: palette(16) }, "truecolor"), "\x1b[0;38;5;16m");
});

Deno.test("sgr() at 256 downgrades truecolor to the nearest palette index", () => {
  assertEquals(sgr({ fg: rgb(255, 0, 0), bg: palette(236) }, "256"), "\x1b[0;38;5;196;48;5;236m");
  assertEquals(sgr({ fg: rgb(128, 128, 128) }, "256"), "\x1b[0;38;5;244m");
  assertEquals(sgr({ bg: rgb(0, 95, 135), attrs: Attr.UNDERLINE }, "256"), "\x1b[0;4;48;5;24m");
  assertEquals(sgr({ fg: rgb(255, 0, 0) }, "256"), "\x1b[0;38;5;196m");
});

Deno.test("sgr() at 16 downgrades truecolor and 256 colours to the basic 16", () => {
  assertEquals(sgr({ fg: rgb(255, 0, 0), bg: palette(236) }, "16"), "\x1b[0;91;40m");
  assertEquals(sgr({ fg: rgb(205, 0, 0) }, "16"), "\x1b[0;31m");
  assertEquals(sgr({ fg: palette(200), bg: rgb(0, 0, 238) }, "16"), "\x1b[0;95;44m");
  assertEquals(sgr({ fg: rgb(255, 255, 255), attrs: Attr.REVERSE }, "16"), "\x1b[0;7;97m");
});

Deno.test("sgr() at none drops the colours and keeps the attributes", () => {
  assertEquals(sgr({ fg: rgb(255, 0, 0), bg: palette(4) }, "none"), "\x1b[0m");
  assertEquals(
    sgr({ fg: palette(1), bg: rgb(1, 2, 3), attrs: Attr.BOLD | Attr.REVERSE }, "none"),
    "\x1b[0;1;7m",
  );
});
