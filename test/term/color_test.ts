/**
 * Colour depth detection from the environment and colour downgrading, against known xterm
 * palette values.
 *
 * @module
 */

import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import {
  detectColorDepth,
  downgrade,
  paletteRgb,
  rgbTo16,
  rgbTo256,
} from "../../src/term/color.ts";
import { type ColorDepth, DEFAULT, palette, rgb } from "../../src/term/style.ts";

Deno.test("detectColorDepth() follows the documented order of precedence", () => {
  const cases: [Record<string, string | undefined>, boolean | undefined, ColorDepth][] = [
    [{}, undefined, "16"],
    [{ TERM: "xterm" }, undefined, "16"],
    [{ TERM: "linux" }, false, "16"],
    [{ TERM: "xterm-256color" }, undefined, "256"],
    [{ TERM: "screen-256color" }, undefined, "256"],
    [{ TERM: "xterm-256color", COLORTERM: "truecolor" }, undefined, "truecolor"],
    [{ TERM: "xterm", COLORTERM: "24bit" }, undefined, "truecolor"],
    [{ TERM: "xterm", COLORTERM: "TrueColor" }, undefined, "truecolor"],
    [{ TERM: "xterm", COLORTERM: "yes" }, undefined, "16"],
    [{ TERM: "dumb" }, undefined, "none"],
    [{ TERM: "dumb", COLORTERM: "truecolor" }, undefined, "none"],
    [{ TERM: "xterm-256color", NO_COLOR: "1" }, undefined, "none"],
    [{ TERM: "xterm-256color", NO_COLOR: "" }, undefined, "256"],
    [{ TERM: "xterm-256color", COLORTERM: "truecolor" }, true, "none"],
    [{ TERM: "dumb", CONNTOP_COLOR: "256" }, undefined, "256"],
    [{ TERM: "xterm", CONNTOP_COLOR: "truecolor" }, undefined, "truecolor"],
    [{ TERM: "xterm", COLORTERM: "truecolor", CONNTOP_COLOR: "16" }, undefined, "16"],
    [{ TERM: "xterm-256color", CONNTOP_COLOR: "none" }, undefined, "none"],
    [{ TERM: "xterm-256color", CONNTOP_COLOR: "TRUECOLOR" }, undefined, "truecolor"],
    [{ TERM: "xterm-256color", CONNTOP_COLOR: "lots" }, undefined, "256"],
    [{ NO_COLOR: "x", CONNTOP_COLOR: "truecolor" }, undefined, "none"],
    [{ CONNTOP_COLOR: "truecolor" }, true, "none"],
  ];
  for (const [env, noColor, want] of cases) {
    assertEquals(detectColorDepth(env, noColor), want, JSON.stringify({ env, noColor }));
  }
});

Deno.test("rgbTo256() picks the nearest cube colour or grey", () => {
  assertEquals(rgbTo256(255, 0, 0), 196);
  assertEquals(rgbTo256(0, 0, 0), 16);
  assertEquals(rgbTo256(255, 255, 255), 231);
  assertEquals(rgbTo256(0, 95, 135), 24);
  assertEquals(rgbTo256(95, 95, 95), 59);
  assertEquals(rgbTo256(128, 128, 128), 244);
  assertEquals(rgbTo256(8, 8, 8), 232);
  assertEquals(rgbTo256(238, 238, 238), 255);
  assertEquals(rgbTo256(250, 5, 5), 196);
  assertEquals(rgbTo256(100, 100, 105), 241);
});

Deno.test("rgbTo256() maps every palette colour from 16 to 255 back to itself", () => {
  for (let n = 16; n < 256; n++) {
    const v = paletteRgb(n);
    assertEquals(rgbTo256(v >> 16, (v >> 8) & 0xff, v & 0xff), n);
  }
});

Deno.test("rgbTo16() picks the nearest standard xterm colour, pure red being bright red", () => {
  assertEquals(rgbTo16(255, 0, 0), 9);
  assertEquals(rgbTo16(205, 0, 0), 1);
  assertEquals(rgbTo16(0, 0, 0), 0);
  assertEquals(rgbTo16(255, 255, 255), 15);
  assertEquals(rgbTo16(0, 0, 238), 4);
  assertEquals(rgbTo16(92, 92, 255), 12);
  assertEquals(rgbTo16(128, 128, 128), 8);
  assertEquals(rgbTo16(200, 200, 200), 7);
  assertEquals(rgbTo16(0, 180, 0), 2);
  for (let n = 0; n < 16; n++) {
    const v = paletteRgb(n);
    assertEquals(rgbTo16(v >> 16, (v >> 8) & 0xff, v & 0xff), n);
  }
});

Deno.test("paletteRgb() knows the basic colours, the cube and the grey ramp", () => {
  assertEquals(paletteRgb(1), 0xcd0000);
  assertEquals(paletteRgb(9), 0xff0000);
  assertEquals(paletteRgb(16), 0x000000);
  assertEquals(paletteRgb(24), 0x005f87);
  assertEquals(paletteRgb(196), 0xff0000);
  assertEquals(paletteRgb(231), 0xffffff);
  assertEquals(paletteRgb(232), 0x080808);
  assertEquals(paletteRgb(255), 0xeeeeee);
});

Deno.test("downgrade() maps colours to what each depth can show", async (t) => {
  const red = rgb(255, 0, 0);
  await t.step("the default colour stays default", () => {
    for (const d of ["none", "16", "256", "truecolor"] as const) {
      assertEquals(downgrade(DEFAULT, d), DEFAULT);
    }
  });
  await t.step("truecolor keeps everything", () => {
    assertEquals(downgrade(red, "truecolor"), red);
    assertEquals(downgrade(palette(200), "truecolor"), palette(200));
  });
  await t.step("256 turns truecolor into an index and keeps indices", () => {
    assertEquals(downgrade(red, "256"), palette(196));
    assertEquals(downgrade(rgb(8, 8, 8), "256"), palette(232));
    assertEquals(downgrade(palette(200), "256"), palette(200));
    assertEquals(downgrade(palette(3), "256"), palette(3));
  });
  await t.step("16 turns truecolor and high indices into a basic colour", () => {
    assertEquals(downgrade(red, "16"), palette(9));
    assertEquals(downgrade(palette(200), "16"), palette(13));
    assertEquals(downgrade(palette(232), "16"), palette(0));
    assertEquals(downgrade(palette(231), "16"), palette(15));
    assertEquals(downgrade(palette(3), "16"), palette(3));
  });
  await t.step("none drops every colour", () => {
    assertEquals(downgrade(red, "none"), DEFAULT);
    assertEquals(downgrade(palette(3), "none"), DEFAULT);
  });
});

Deno.test("rgb() packs channels and clamps them to 0..255", () => {
  assertEquals(rgb(0x12, 0x34, 0x56), 0x1123456);
  assertEquals(rgb(300, -5, 12.6), 0x1ff000d);
  assertEquals(rgb(0, 0, 0), 0x1000000);
});

Deno.test("palette() packs an index and rejects values outside 0..255", () => {
  assertEquals(palette(0), 0x2000000);
  assertEquals(palette(255), 0x20000ff);
  assertThrows(
    () => palette(256),
    RangeError,
    "Failed to make a palette colour: expected 0..255, got '256'",
  );
  assertThrows(() => palette(-1), RangeError, "got '-1'");
  assertThrows(() => palette(1.5), RangeError, "got '1.5'");
});
