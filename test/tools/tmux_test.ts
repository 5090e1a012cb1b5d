// Tests of tools/tmux.ts's waiting: a frame that reaches the terminal in two pieces.

import { assert, assertStringIncludes } from "../_helpers/assert.ts";
import { Tmux } from "../../tools/tmux.ts";

// The first piece, then 400 ms later the second, then nothing more for a while.
const TWO_PIECES = ["/bin/sh", "-c", "printf 'TOP\\n'; sleep 0.4; printf 'BOTTOM\\n'; sleep 30"];

Deno.test("Tmux.waitFor() without settleMs returns the first screen that matches, half a frame", async () => {
  await using term = await Tmux.start(TWO_PIECES, { width: 40, height: 5 });
  const screen = await term.waitFor((s) => s.includes("TOP"), { what: "TOP" });
  assert(!screen.includes("BOTTOM"), screen);
});

Deno.test("Tmux.waitFor() with settleMs returns a matching screen only once it stops changing", async () => {
  await using term = await Tmux.start(TWO_PIECES, { width: 40, height: 5 });
  const screen = await term.waitFor((s) => s.includes("TOP"), { what: "TOP", settleMs: 600 });
  assertStringIncludes(screen, "BOTTOM");
});
