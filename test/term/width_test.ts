/**
 * Display widths of code points and strings, and truncation and padding to a column count.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { codePointWidth, fit, stringWidth, truncate } from "../../src/term/width.ts";

Deno.test("stringWidth() counts ASCII one column a character", () => {
  assertEquals(stringWidth(""), 0);
  assertEquals(stringWidth("conntop"), 7);
  assertEquals(stringWidth("10.0.0.1:443 -> 192.168.1.2:51234"), 33);
});

Deno.test("stringWidth() counts CJK, Hangul, kana and fullwidth forms two columns", () => {
  assertEquals(stringWidth("漢字"), 4);
  assertEquals(stringWidth("한국어"), 6);
  assertEquals(stringWidth("カタカナ"), 8);
  assertEquals(stringWidth("ＡＢＣ"), 6);
  assertEquals(stringWidth("例え.jp"), 7);
  assertEquals(stringWidth("\u{20000}"), 2);
});

Deno.test("stringWidth() counts emoji shown as emoji two columns", () => {
  assertEquals(stringWidth("😀"), 2);
  assertEquals(stringWidth("🚀"), 2);
  assertEquals(stringWidth("🤖"), 2);
  assertEquals(stringWidth("a😀b"), 4);
  assertEquals(stringWidth("⌚"), 2);
  assertEquals(stringWidth("❤\ufe0f"), 1); // text-presentation heart; the selector adds nothing
  assertEquals(stringWidth("\u{1F321}"), 1); // thermometer: text presentation by default
  assertEquals(stringWidth("🇩🇪"), 2); // two regional indicators of one column each
});

Deno.test("stringWidth() gives combining marks and format characters no column", () => {
  assertEquals(stringWidth("e\u0301"), 1);
  assertEquals(stringWidth("e\u0301tat"), 4);
  assertEquals(stringWidth("\u1100\u1161\u11a8"), 2); // conjoining jamo of one syllable
  assertEquals(stringWidth("a\u200bb"), 2);
  assertEquals(stringWidth("\u200d"), 0);
  assertEquals(stringWidth("กิ"), 1); // Thai consonant + vowel sign
  assertEquals(stringWidth("क्ष"), 2); // Devanagari virama is a mark
  assertEquals(stringWidth("Ж\u0489"), 1);
  assertEquals(stringWidth("\u05d0\u05b8"), 1);
});

Deno.test("stringWidth() gives control characters no column", () => {
  assertEquals(stringWidth("a\tb\n"), 2);
  assertEquals(stringWidth("\x1b\x7f\x9b"), 0);
});

Deno.test("codePointWidth() follows the range boundaries", () => {
  const cases: [number, number][] = [
    [0x00, 0],
    [0x1f, 0],
    [0x20, 1],
    [0x7e, 1],
    [0x7f, 0],
    [0x80, 0],
    [0x9f, 0],
    [0xa0, 1],
    [0xad, 1],
    [0x2ff, 1],
    [0x300, 0],
    [0x36f, 0],
    [0x370, 1],
    [0x483, 0],
    [0x489, 0],
    [0x591, 0],
    [0x5bd, 0],
    [0x610, 0],
    [0x61a, 0],
    [0x64b, 0],
    [0x65f, 0],
    [0x900, 0],
    [0x902, 0],
    [0x903, 1],
    [0xe31, 0],
    [0xe34, 0],
    [0xe3a, 0],
    [0x10ff, 1],
    [0x1100, 2],
    [0x115f, 2],
    [0x1160, 0],
    [0x11ff, 0],
    [0x1200, 1],
    [0x200b, 0],
    [0x200f, 0],
    [0x20d0, 0],
    [0x20ff, 1],
    [0x20f0, 0],
    [0x2e80, 2],
    [0x3000, 2],
    [0x302a, 0],
    [0x303e, 2],
    [0x303f, 1],
    [0x3041, 2],
    [0x3099, 0],
    [0x33ff, 2],
    [0x3400, 2],
    [0x4dbf, 2],
    [0x4dc0, 1],
    [0x4e00, 2],
    [0x9fff, 2],
    [0xa000, 2],
    [0xa4c6, 2],
    [0xac00, 2],
    [0xd7a3, 2],
    [0xd7a4, 1],
    [0xf900, 2],
    [0xfaff, 2],
    [0xfe00, 0],
    [0xfe0f, 0],
    [0xfe20, 0],
    [0xfe2f, 0],
    [0xfe30, 2],
    [0xfe4f, 2],
    [0xff00, 1],
    [0xff01, 2],
    [0xff60, 2],
    [0xff61, 1],
    [0xffe0, 2],
    [0xffe6, 2],
    [0xffe7, 1],
    [0x1f300, 2],
    [0x1f64f, 2],
    [0x1f650, 1],
    [0x1f680, 2],
    [0x1f90c, 2],
    [0x1f9ff, 2],
    [0x1f1e6, 1],
    [0x20000, 2],
    [0x2fffd, 2],
    [0x30000, 2],
    [0x3fffd, 2],
    [0xe0001, 0],
    [0xe0100, 0],
    [0xe01ef, 0],
    [0xe01f0, 1],
    [0x10ffff, 1],
  ];
  for (const [cp, w] of cases) {
    assertEquals(codePointWidth(cp), w, `U+${cp.toString(16).toUpperCase()}`);
  }
});

Deno.test("truncate() cuts to a column count without splitting characters", async (t) => {
  await t.step("text that fits is returned as is", () => {
    assertEquals(truncate("hello", 5), "hello");
    assertEquals(truncate("hello", 9, "…"), "hello");
    assertEquals(truncate("漢字", 4, "…"), "漢字");
  });
  await t.step("narrow text is cut at the limit", () => {
    assertEquals(truncate("hello", 3), "hel");
    assertEquals(truncate("hello", 0), "");
    assertEquals(truncate("hello", -2), "");
  });
  await t.step("a wide character that would cross the limit is left out", () => {
    assertEquals(truncate("漢字漢", 3), "漢");
    assertEquals(truncate("a漢", 2), "a");
    assertEquals(truncate("漢", 1), "");
  });
  await t.step("combining marks stay with their base", () => {
    assertEquals(truncate("e\u0301tat", 1), "e\u0301");
    assertEquals(truncate("e\u0301\u0302x", 1), "e\u0301\u0302");
  });
  await t.step("the ellipsis ends a cut text and still fits", () => {
    assertEquals(truncate("hello", 4, "…"), "hel…");
    assertEquals(truncate("漢字", 3, "…"), "漢…");
    assertEquals(truncate("漢字漢", 4, "…"), "漢…");
    assertEquals(truncate("hello", 3, "..."), "...");
    assertEquals(truncate("hello", 1, "..."), "h");
  });
});

Deno.test("fit() pads or truncates to exactly the width", () => {
  assertEquals(fit("ab", 4), "ab  ");
  assertEquals(fit("ab", 4, "right"), "  ab");
  assertEquals(fit("abcdef", 4, "left", "…"), "abc…");
  assertEquals(fit("abcdef", 4, "right"), "abcd");
  assertEquals(fit("漢字", 3), "漢 ");
  assertEquals(fit("漢字", 3, "right"), " 漢");
  assertEquals(fit("", 2), "  ");
  assertEquals(fit("abc", 0), "");
  assertEquals(fit("abc", -1), "");
});

Deno.test("truncate() and fit() keep their width promise on random text", () => {
  const pool = ["a", "Z", " ", "漢", "字", "한", "😀", "e\u0301", "\u200d", "Ｆ", "\u0e34", "…"];
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let k = 0; k < 500; k++) {
    let s = "";
    for (let n = rand(12); n > 0; n--) s += pool[rand(pool.length)];
    const w = rand(10);
    const t = truncate(s, w, rand(2) ? "…" : undefined);
    assert(stringWidth(t) <= w, `${JSON.stringify(s)} to ${w}: ${JSON.stringify(t)}`);
    assert(stringWidth(s) > w || t === s);
    assertEquals(stringWidth(fit(s, w, rand(2) ? "left" : "right", "…")), w);
  }
});
