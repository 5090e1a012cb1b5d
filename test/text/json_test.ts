import { assertEquals } from "../_helpers/assert.ts";
import { printableJson } from "../../src/text/json.ts";
import { isPrintable } from "../../src/text/printable.ts";

const hex = (c: number) => c.toString(16).padStart(4, "0");

/** JSON's own short escapes (RFC 8259) for the C0 controls that have one. */
const SHORT: Record<number, string> = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" };

Deno.test("printableJson() escapes C0, DEL, C1 and the bidi controls and marks as \\uXXXX", () => {
  const escaped = [
    ...Array.from({ length: 0x20 }, (_, c) => c),
    ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i),
    0x061c,
    0x200e,
    0x200f,
    0x202a,
    0x202b,
    0x202c,
    0x202d,
    0x202e,
    0x2066,
    0x2067,
    0x2068,
    0x2069,
  ];
  for (const c of escaped) {
    const want = SHORT[c] ?? `\\u${hex(c)}`;
    assertEquals(printableJson(`a${String.fromCharCode(c)}b`), `"a${want}b"`, `U+${hex(c)}`);
  }
  // Lone surrogates too (JSON.stringify does that itself since ES2019).
  assertEquals(printableJson("a\ud800b\udfffc"), '"a\\ud800b\\udfffc"');
});

Deno.test("printableJson() output holds no raw control and parses back to the exact value", () => {
  // deno-lint-ignore no-control-regex
  const raw = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
  for (let c = 0; c <= 0xffff; c++) {
    const value = { name: `x${String.fromCharCode(c)}y`, list: [String.fromCharCode(c)] };
    const text = printableJson(value);
    assertEquals(raw.test(text), false, `U+${hex(c)}: ${text}`);
    assertEquals(JSON.parse(text), value, `U+${hex(c)}`);
  }
});

Deno.test("printableJson() keeps ordinary text and JSON.stringify's layout", () => {
  const value = { a: ["Zürich 東京 🦕", 1, null], b: { c: true } };
  assertEquals(printableJson(value), JSON.stringify(value));
  assertEquals(printableJson(value, 2), JSON.stringify(value, null, 2));
  assertEquals(
    printableJson({ a: ["\u202e"] }, 2),
    '{\n  "a": [\n    "\\u202e"\n  ]\n}',
  );
});

Deno.test("printableJson() escapes exactly what printable() replaces, no more", () => {
  for (let c = 0; c <= 0xffff; c++) {
    const ch = String.fromCharCode(c);
    if (ch === '"' || ch === "\\") continue; // JSON's own escapes
    const raw = printableJson(ch).slice(1, -1) === ch;
    assertEquals(raw, isPrintable(ch), `U+${hex(c)}`);
  }
});
