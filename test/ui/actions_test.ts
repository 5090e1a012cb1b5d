/**
 * The main screen's actions that the other UI tests do not press: playback speed, the display
 * mode, horizontal scrolling and Esc on a finished search, each driven through its keys as a
 * terminal would send them.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { Flag, type ReplayControl } from "../../src/ui/mod.ts";
import { fixtureApp, key, typed } from "./_fixture.ts";

/** Playback controls that only remember what they were told. */
function playback(): ReplayControl & { speed: number } {
  return {
    speed: 1,
    setSpeed(s: number) {
      this.speed = s;
    },
    paused: false,
    togglePause: () => false,
    positionMs: 0,
    ended: false,
  };
}

Deno.test("+ and = double a recording's playback speed, - halves it; live they do nothing", () => {
  const replay = playback();
  const app = fixtureApp(100, 20, { replay });
  assertEquals(app.handle([key("+")]), Flag.REDRAW);
  assertEquals(replay.speed, 2);
  app.handle([key("=")]);
  assertEquals(replay.speed, 4);
  assertEquals(app.handle([key("-")]), Flag.REDRAW);
  app.handle([key("-"), key("-"), key("-")]);
  assertEquals(replay.speed, 0.25);

  const live = fixtureApp();
  assertEquals(live.handle([key("+")]), Flag.NONE);
  assertEquals(live.handle([key("-")]), Flag.NONE);
});

Deno.test("F7 and F8 step through the display modes, say which, and save it", () => {
  const app = fixtureApp();
  for (const k of ["f8", "f7"]) {
    const flags = app.handle([key(k)]);
    assert(flags & Flag.SAVE, k);
    assertEquals(app.state.message?.text, "Mode 1/1: connections", k);
    assertEquals(app.state.settings.mode, "connections", k);
  }
});

Deno.test("Right scrolls the list 8 columns at a time up to its end, Left back to 0", () => {
  const app = fixtureApp(40, 20);
  const seen = [app.state.hscroll];
  for (let i = 0; i < 100; i++) {
    app.handle([key("right")]);
    const at = app.state.hscroll;
    if (at === seen[seen.length - 1]) break;
    seen.push(at);
  }
  assert(seen.length > 2, `a 40-column screen scrolls: ${seen}`);
  for (let i = 1; i < seen.length - 1; i++) assertEquals(seen[i], 8 * i);
  const end = seen[seen.length - 1]!;
  assert(end > 8 * (seen.length - 3) && end <= 8 * (seen.length - 1), `${seen}`);
  app.handle([key("left")]);
  assertEquals(app.state.hscroll, Math.max(0, end - 8));
  for (let i = 0; i < seen.length; i++) app.handle([key("left")]);
  assertEquals(app.state.hscroll, 0);
});

Deno.test("Esc clears a finished search, and does nothing when there is none", () => {
  const app = fixtureApp();
  app.handle([key("/"), ...typed("tcp"), key("enter")]);
  assertEquals(app.state.search, "tcp");
  assertEquals(app.handle([key("escape")]), Flag.REDRAW);
  assertEquals(app.state.search, "");
  assertEquals(app.handle([key("escape")]), Flag.NONE);
});
