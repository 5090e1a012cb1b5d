import { assertEquals, assertMatch } from "../_helpers/assert.ts";
import { Logger, openLogger } from "../../src/server/log.ts";

function sink() {
  const out: string[] = [];
  return { out, writeSync: (p: Uint8Array) => (out.push(new TextDecoder().decode(p)), p.length) };
}

Deno.test("Logger writes one line per call with the ISO time and level, at its level and louder", () => {
  const s = sink();
  const log = new Logger(s, "info");
  log.debug("hidden");
  log.info("client #1 connected");
  log.warning("two\nlines");
  log.error("bad");
  assertEquals(s.out.length, 3);
  assertMatch(s.out[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO client #1 connected\n$/);
  assertMatch(s.out[1]!, / WARNING two\?lines\n$/);
  assertMatch(s.out[2]!, / ERROR bad\n$/);
});

Deno.test("Logger at error level writes errors only; at debug, everything", () => {
  const quiet = sink();
  const q = new Logger(quiet, "error");
  q.warning("w");
  q.error("e");
  assertEquals(quiet.out.length, 1);
  const loud = sink();
  const l = new Logger(loud, "debug");
  l.debug("d");
  assertEquals(loud.out.length, 1);
});

Deno.test("openLogger() appends to --log-file", async () => {
  const path = await Deno.makeTempFile({ prefix: "conntopd-log-" });
  try {
    await Deno.writeTextFile(path, "earlier\n");
    const log = openLogger("info", path);
    log.info("started");
    log.close();
    log.close();
    const text = await Deno.readTextFile(path);
    assertMatch(text, /^earlier\n.* INFO started\n$/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("Logger writes text from outside printable: every control, C1 and bidi character is '?'", () => {
  const s = sink();
  const log = new Logger(s, "info");
  log.info("client 'e\t\r\x1b]0;PWNED\x07\x7f\u0085\u009b\u061c\u202e\u2066\ud800z' left");
  assertEquals(s.out.length, 1);
  assertMatch(s.out[0]!, / INFO client 'e\?\?\?\]0;PWNED\?\?\?\?\?\?\?\?z' left\n$/);
});
