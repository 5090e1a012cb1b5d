/**
 * The monitor's screen on a fake terminal: it writes only what changed between frames, many
 * scheduled paints in one tick make one frame, a write the terminal refuses with EIO is a
 * hang-up passed on (never thrown), and nothing is written once the terminal is given back.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { Screen } from "../../src/app/screen.ts";
import { Tty, type TtyIO } from "../../src/term/tty.ts";
import { defaultSettings, UiApp } from "../../src/ui/mod.ts";

/** A 60x12 terminal that keeps what was written, and fails writes with `fail` when set. */
function fakeTerminal(): TtyIO & { out: string[]; fail?: Error } {
  const dec = new TextDecoder();
  const io: TtyIO & { out: string[]; fail?: Error } = {
    out: [],
    write(bytes) {
      if (io.fail !== undefined) throw io.fail;
      io.out.push(dec.decode(bytes));
      return bytes.length;
    },
    read: () => new Promise(() => {}),
    setRaw: () => {},
    size: () => ({ columns: 60, rows: 12 }),
    isTerminal: () => true,
  };
  return io;
}

function setup() {
  const io = fakeTerminal();
  const app = new UiApp({ settings: defaultSettings(), host: "router", source: "live" });
  const seen = { frames: 0, hangUps: 0 };
  const screen = new Screen(app, {
    depth: "256",
    afterFrame: () => seen.frames++,
    onHangUp: () => seen.hangUps++,
    tty: new Tty({ io, mouse: false }),
  });
  return { io, app, screen, seen };
}

Deno.test("Screen writes the whole frame first, then only what changed", () => {
  const { io, app, screen } = setup();
  screen.enter();
  try {
    io.out.length = 0;
    screen.paint("start");
    const first = io.out.join("");
    assert(first.includes("router"), "the header names the host");
    io.out.length = 0;
    screen.paint("batch");
    assertEquals(io.out.join(""), "", "an unchanged frame writes nothing");
    app.notify("hello there");
    screen.paint("message");
    const changed = io.out.join("");
    assert(changed.includes("hello there"), "the message is written");
    assert(changed.length < first.length, "a change writes less than the whole frame");
    io.out.length = 0;
    screen.invalidate();
    screen.paint("key");
    assert(io.out.join("").includes("router"), "after invalidate() every cell is written again");
  } finally {
    screen.restore();
  }
});

Deno.test("Screen makes one frame of the paints scheduled in one tick", async () => {
  const { screen, seen } = setup();
  screen.enter();
  try {
    screen.schedule("batch");
    screen.schedule("window");
    screen.schedule("enrich");
    assertEquals(seen.frames, 0, "nothing is drawn before the tick ends");
    await new Promise((r) => setTimeout(r, 20));
    assertEquals(seen.frames, 1);
  } finally {
    screen.restore();
  }
});

Deno.test("Screen passes a write failing with EIO on as a hang-up, and throws other errors", () => {
  const { io, screen, seen } = setup();
  screen.enter();
  try {
    io.fail = Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" });
    screen.paint("start");
    assertEquals(seen.hangUps, 1);
    assertEquals(seen.frames, 0, "no frame counts as written");
    io.fail = new Error("something else");
    assertThrows(() => screen.paint("start"), Error, "something else");
    assertEquals(seen.hangUps, 1);
  } finally {
    io.fail = undefined;
    screen.restore();
  }
});

Deno.test("Screen writes nothing after restore(), and restore() may run twice", async () => {
  const { io, screen, seen } = setup();
  screen.enter();
  screen.schedule("batch");
  screen.restore();
  screen.restore();
  io.out.length = 0;
  screen.paint("key");
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(io.out, []);
  assertEquals(seen.frames, 0, "the scheduled paint was cancelled");
  screen.close();
});
