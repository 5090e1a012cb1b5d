import { assertEquals } from "../_helpers/assert.ts";
import { isPrintable, printable } from "../../src/text/printable.ts";

Deno.test("printable() replaces every C0 control, DEL and every C1 control by one '?'", () => {
  for (let c = 0; c <= 0x9f; c++) {
    const ch = String.fromCharCode(c);
    const control = c < 0x20 || c >= 0x7f;
    assertEquals(printable(`a${ch}b`), control ? "a?b" : `a${ch}b`, `U+${c.toString(16)}`);
    assertEquals(isPrintable(ch), !control, `U+${c.toString(16)}`);
  }
});

Deno.test("printable() replaces the bidi controls and marks", () => {
  const bidi = [0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e];
  bidi.push(0x2066, 0x2067, 0x2068, 0x2069);
  for (const c of bidi) {
    assertEquals(printable(`x${String.fromCharCode(c)}y`), "x?y", `U+${c.toString(16)}`);
  }
  // Neighbours of those ranges are ordinary text.
  for (const c of [0x00a0, 0x200d, 0x2029, 0x202f, 0x2065, 0x206a]) {
    const s = `x${String.fromCharCode(c)}y`;
    assertEquals(printable(s), s, `U+${c.toString(16)}`);
  }
});

Deno.test("printable() keeps letters, wide characters and emoji, and replaces lone surrogates", () => {
  const text = "Zürich 東京 🦕 ñ";
  assertEquals(printable(text) === text, true);
  assertEquals(printable("a\ud800b"), "a?b");
  assertEquals(printable("a\udc00b"), "a?b");
  assertEquals(printable("\ud83e"), "?");
});

Deno.test("printable() defuses a terminal title escape and keeps the length", () => {
  const evil = "\x1b]0;PWNED\x07\u009b2J\t\r\n";
  const out = printable(evil);
  assertEquals(out, "?]0;PWNED??2J???");
  assertEquals(out.length, evil.length);
  assertEquals(isPrintable(out), true);
});
