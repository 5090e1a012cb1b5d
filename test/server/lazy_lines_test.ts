import { assert, assertEquals } from "../_helpers/assert.ts";
import { LazyLines } from "../../src/server/lazy_lines.ts";
import type { BatchLines } from "../../src/protocol/mod.ts";

// A plan whose line i is the current text of `source[i]`: it shows when a line was encoded.
function plan(source: string[]): BatchLines & { calls: number[] } {
  const calls: number[] = [];
  return {
    length: source.length,
    calls,
    line: (i) => {
      calls.push(i);
      return new TextEncoder().encode(source[i]!);
    },
  };
}

const text = (
  b: Uint8Array | undefined,
) => (b === undefined ? undefined : new TextDecoder().decode(b));

Deno.test("LazyLines encodes a line when first read and shares it with a reader at the same point", () => {
  const p = plan(["a", "b", "c"]);
  const l = new LazyLines(p);
  assertEquals(p.calls, [], "nothing encoded before anyone reads");
  const r1 = l.open(), r2 = l.open();
  assertEquals([text(r1.next()), text(r2.next())], ["a", "a"]);
  assertEquals([text(r1.next()), text(r2.next())], ["b", "b"]);
  assertEquals([text(r1.next()), text(r1.next())], ["c", undefined]);
  assertEquals(text(r2.next()), "c");
  assertEquals(p.calls, [0, 1, 2], "one encoding per line for both readers");
  r1.close();
  r2.close();
  assertEquals(l.readers, 0);
});

Deno.test("LazyLines.freeze() keeps the bytes of the time for readers, encoding only what they still need", () => {
  const src = ["a0", "b0", "c0", "d0"];
  const p = plan(src);
  let idle = 0;
  const l = new LazyLines(p, () => idle++);
  const ahead = l.open(), behind = l.open();
  assertEquals([text(ahead.next()), text(behind.next())], ["a0", "a0"]);
  assertEquals([text(ahead.next()), text(ahead.next())], ["b0", "c0"]);
  l.freeze();
  // The records change after the freeze: readers still get the lines of before.
  src.fill("changed");
  assertEquals(p.calls, [0, 1, 2, 3], "line 3 encoded at the freeze, 1 and 2 taken from the cache");
  assertEquals(text(ahead.next()), "d0");
  assertEquals([text(behind.next()), text(behind.next()), text(behind.next())], ["b0", "c0", "d0"]);
  assertEquals(text(behind.next()), undefined);
  assertEquals(p.calls.length, 4, "nothing encoded after the freeze");
  ahead.close();
  assertEquals(idle, 0);
  behind.close();
  behind.close();
  assertEquals(idle, 1, "told once when the last reader closed");
  // A reader opened after the freeze finds nothing (the hub never offers frozen lines).
  assert(l.frozen);
  assertEquals(text(l.open().next()), undefined);
});
