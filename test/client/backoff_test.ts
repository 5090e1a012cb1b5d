import { assert, assertEquals } from "../_helpers/assert.ts";
import { Backoff } from "../../src/client/mod.ts";

Deno.test("Backoff doubles from 0.5 s up to 10 s, and starts over after reset()", () => {
  const b = new Backoff({ random: () => 0.5 }); // no jitter at the midpoint
  const delays = Array.from({ length: 8 }, () => b.next());
  assertEquals(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  assertEquals(b.attempts, 8);
  b.reset();
  assertEquals([b.next(), b.next()], [500, 1000]);
});

Deno.test("Backoff's jitter stays within ±20 % and never passes the maximum", () => {
  const low = new Backoff({ random: () => 0 });
  const high = new Backoff({ random: () => 0.999999 });
  assertEquals([low.next(), low.next()], [400, 800]);
  assertEquals([high.next(), high.next()], [600, 1200]);
  for (let i = 0; i < 10; i++) high.next();
  assertEquals(high.next(), 10_000);
  // Many clients of one restarted server spread out.
  const spread = new Set(Array.from({ length: 20 }, () => new Backoff().next()));
  assert(spread.size > 1);
  for (const d of spread) assert(d >= 400 && d <= 600, `delay ${d}`);
});
