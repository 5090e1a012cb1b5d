// Tests of scripts/_screenshot/svg.ts. Screens come from parseScreen (tested on its own in
// screenshot_ansi_test.ts); every expected coordinate and colour is worked out by hand from the
// small metrics below.

import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";
import { parseScreen } from "../../tools/screen.ts";
import {
  colorHex,
  escapeXml,
  mixHex,
  renderSvg,
  type SvgOptions,
  type SvgTheme,
} from "../../scripts/_screenshot/svg.ts";

/** The VGA colours, on a near-black background. */
const THEME: SvgTheme = {
  foreground: "#c0c0c0",
  background: "#101010",
  palette: [
    "#000000",
    "#aa0000",
    "#00aa00",
    "#aa5500",
    "#0000aa",
    "#aa00aa",
    "#00aaaa",
    "#aaaaaa",
    "#555555",
    "#ff5555",
    "#55ff55",
    "#ffff55",
    "#5555ff",
    "#ff55ff",
    "#55ffff",
    "#ffffff",
  ],
};

// Cells 6 × 12 px; the glyph box is 0.8 + 0.2 = 1.0 × 10 px, centred in the row's 12 px: the
// baseline is 1 + 8 = 9 px below the row's top.
const SMALL: SvgOptions = {
  fontSize: 10,
  cellWidth: 6,
  lineHeight: 12,
  padding: 0,
  radius: 0,
  font: { family: "mono", advance: 0.6, ascent: 0.8, descent: 0.2 },
  theme: THEME,
};

function svgOf(text: string, width: number, height = 1, options: SvgOptions = SMALL): string {
  return renderSvg(parseScreen(text, { width, height }), options);
}

Deno.test("colorHex() resolves default, basic, 256-colour and truecolor values", async (t) => {
  await t.step("the defaults by role, the 16 basic ones from the theme", () => {
    assertEquals(colorHex(0, "fg", THEME), "#c0c0c0");
    assertEquals(colorHex(0, "bg", THEME), "#101010");
    assertEquals(colorHex(0x2000001, "fg", THEME), "#aa0000");
    assertEquals(colorHex(0x200000f, "bg", THEME), "#ffffff");
  });
  await t.step("the xterm cube (16..231) and grey ramp (232..255)", () => {
    assertEquals(colorHex(0x2000000 | 16, "fg", THEME), "#000000");
    assertEquals(colorHex(0x2000000 | 21, "fg", THEME), "#0000ff");
    assertEquals(colorHex(0x2000000 | 196, "fg", THEME), "#ff0000");
    assertEquals(colorHex(0x2000000 | 208, "fg", THEME), "#ff8700");
    assertEquals(colorHex(0x2000000 | 231, "fg", THEME), "#ffffff");
    assertEquals(colorHex(0x2000000 | 232, "fg", THEME), "#080808");
    assertEquals(colorHex(0x2000000 | 244, "fg", THEME), "#808080");
    assertEquals(colorHex(0x2000000 | 255, "fg", THEME), "#eeeeee");
  });
  await t.step("truecolor as it is", () => {
    assertEquals(colorHex(0x1010203, "fg", THEME), "#010203");
    assertEquals(colorHex(0x1fa8000, "bg", THEME), "#fa8000");
  });
});

Deno.test("mixHex() averages each channel, rounding half up", () => {
  assertEquals(mixHex("#ffffff", "#000000"), "#808080");
  assertEquals(mixHex("#aaaaaa", "#101010"), "#5d5d5d");
  assertEquals(mixHex("#102030", "#102030"), "#102030");
});

Deno.test("escapeXml() escapes the characters XML reserves in text and attributes", () => {
  assertEquals(escapeXml(`a<b & "c"> 'd'`), "a&lt;b &amp; &quot;c&quot;&gt; 'd'");
});

Deno.test("renderSvg() draws backgrounds as rects and text as tspans on the cell grid", () => {
  // Cells: a b (bold red) | space, c (default) | space, d (on green).
  const svg = svgOf("\x1b[1;31mab\x1b[0m c\x1b[42m d\x1b[0m", 6);
  assertEquals(
    svg,
    [
      `<svg xmlns="http://www.w3.org/2000/svg" width="36" height="12" viewBox="0 0 36 12">`,
      `<rect width="36" height="12" rx="0" fill="#101010"/>`,
      `<g shape-rendering="crispEdges">`,
      `<rect x="24" y="0" width="12" height="12" fill="#00aa00"/>`,
      `</g>`,
      `<g font-family="mono" font-size="10" fill="#c0c0c0">`,
      `<text y="9"><tspan x="0" textLength="12" fill="#aa0000" font-weight="bold">ab</tspan>` +
      `<tspan x="18">c</tspan><tspan x="30">d</tspan></text>`,
      `</g>`,
      `<g shape-rendering="crispEdges">`,
      `</g>`,
      `</svg>`,
      ``,
    ].join("\n"),
  );
});

Deno.test("renderSvg() places rows one line height apart, with padding around them", () => {
  const svg = svgOf("a\n\x1b[44m b", 2, 2, { ...SMALL, padding: 5, radius: 3 });
  assertStringIncludes(svg, `width="22" height="34" viewBox="0 0 22 34"`);
  assertStringIncludes(svg, `<rect width="22" height="34" rx="3" fill="#101010"/>`);
  // Row 1 starts at 5 + 12 = 17; its blue run covers both cells.
  assertStringIncludes(svg, `<rect x="5" y="17" width="12" height="12" fill="#0000aa"/>`);
  assertStringIncludes(svg, `<text y="14"><tspan x="5">a</tspan></text>`);
  assertStringIncludes(svg, `<text y="26"><tspan x="11">b</tspan></text>`);
});

Deno.test("renderSvg() swaps the colours of reversed cells, defaults included", () => {
  const svg = svgOf("\x1b[7mX\x1b[31mY", 2);
  assertStringIncludes(svg, `<rect x="0" y="0" width="6" height="12" fill="#c0c0c0"/>`);
  assertStringIncludes(svg, `<rect x="6" y="0" width="6" height="12" fill="#aa0000"/>`);
  // Both glyphs take the default background's colour: one run.
  assertStringIncludes(
    svg,
    `<text y="9"><tspan x="0" textLength="12" fill="#101010">XY</tspan></text>`,
  );
});

Deno.test("renderSvg() draws dim text half-way to the background, italic as italic", () => {
  const svg = svgOf("\x1b[2;37mX\x1b[22;3mY", 2);
  assertStringIncludes(svg, `<tspan x="0" fill="#5d5d5d">X</tspan>`);
  assertStringIncludes(svg, `<tspan x="6" fill="#aaaaaa" font-style="italic">Y</tspan>`);
});

Deno.test("renderSvg() underlines and strikes through across spaces, and hides hidden text", () => {
  // Underline 1 px below the baseline (9 + 1); strikethrough 2.8 px above it (9 - 2.8).
  const svg = svgOf("\x1b[4;32mA B\x1b[0m \x1b[9mC\x1b[0m \x1b[8mD", 7);
  assertStringIncludes(svg, `<rect x="0" y="10" width="18" height="1" fill="#00aa00"/>`);
  assertStringIncludes(svg, `<rect x="24" y="6.2" width="6" height="1" fill="#c0c0c0"/>`);
  assert(!svg.includes(">D<"), "hidden text is not drawn");
});

Deno.test("renderSvg() gives wide and non-ASCII glyphs a tspan of their own", () => {
  const svg = svgOf("漢x▼AB", 6);
  assertStringIncludes(
    svg,
    `<text y="9"><tspan x="0">漢</tspan><tspan x="12">x</tspan>` +
      `<tspan x="18">▼</tspan><tspan x="24" textLength="12">AB</tspan></text>`,
  );
});

Deno.test("renderSvg() escapes text and the title", () => {
  const svg = svgOf("<&>", 3, 1, { ...SMALL, title: `a "b" & <c>` });
  // textLength counts the characters shown, not the bytes of their escapes.
  assertStringIncludes(svg, `<tspan x="0" textLength="18">&lt;&amp;&gt;</tspan>`);
  assertStringIncludes(svg, `<title>a &quot;b&quot; &amp; &lt;c&gt;</title>`);
});

Deno.test("renderSvg() leaves out rows without text and colours equal to the background", () => {
  const svg = svgOf("\n\x1b[48;2;16;16;16m  ", 2, 2);
  assert(!svg.includes("<text"), svg);
  assert(!svg.includes("<rect x="), svg);
});

Deno.test("renderSvg() sizes cells from DejaVu Sans Mono's advance by default", () => {
  // 14 px × 1233/2048 = 8.4287… px per cell, 1.2 × 14 = 16.8 px per row, 12 px of padding.
  const svg = renderSvg(parseScreen("", { width: 10, height: 2 }));
  assertStringIncludes(svg, `width="108.29" height="57.6"`);
  assertStringIncludes(svg, `font-family="'DejaVu Sans Mono', monospace" font-size="14"`);
});
