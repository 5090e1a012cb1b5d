import { encodeMessage, FrameTooLongError, LineReader } from "../../src/protocol/mod.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const texts = (lines: Uint8Array[]) => lines.map((l) => dec.decode(l));

Deno.test("LineReader cuts lines across chunk boundaries and keeps the rest", () => {
  const r = new LineReader(100);
  assertEquals(texts(r.push(enc.encode('{"a":1}\n{"b"'))), ['{"a":1}']);
  assertEquals(r.pending, 4);
  assertEquals(texts(r.push(enc.encode(":2}\n\n{}"))), ['{"b":2}', ""]);
  assertEquals(texts(r.push(enc.encode("\n"))), ["{}"]);
  assertEquals(r.pending, 0);
});

Deno.test("LineReader: a line of exactly the limit (newline included) passes, one more byte fails", () => {
  const ok = new LineReader(10);
  assertEquals(texts(ok.push(enc.encode("123456789\n"))), ["123456789"]);
  const long = new LineReader(10);
  assertThrows(() => long.push(enc.encode("1234567890\n")), FrameTooLongError);
});

Deno.test("LineReader fails as soon as an unfinished line cannot fit, without buffering it", () => {
  const r = new LineReader(1024);
  r.push(new Uint8Array(1000).fill(0x41));
  assertThrows(() => r.push(new Uint8Array(100).fill(0x41)), FrameTooLongError);
  // A megabyte without a newline in one chunk is refused at once too.
  assertThrows(() => new LineReader(1024).push(new Uint8Array(1 << 20)), FrameTooLongError);
});

Deno.test("LineReader returns copies: reusing the input buffer does not change a line", () => {
  const r = new LineReader(100);
  const buf = enc.encode("abc\n");
  const [line] = r.push(buf);
  buf.fill(0x7a);
  assertEquals(dec.decode(line), "abc");
});

Deno.test("encodeMessage makes one newline-terminated JSON line", () => {
  const bytes = encodeMessage({ type: "ping", id: 3, text: "a\nb" });
  const text = dec.decode(bytes);
  assertEquals(text.endsWith("\n"), true);
  assertEquals(text.indexOf("\n"), text.length - 1);
  assertEquals(JSON.parse(text), { type: "ping", id: 3, text: "a\nb" });
});
