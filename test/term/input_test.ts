/**
 * Tests of the terminal input decoder, against the exact bytes terminals send, whole, one byte
 * at a time and in random splits.
 *
 * @module
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import {
  InputDecoder,
  type InputEvent,
  type KeyEvent,
  type MouseEvent,
} from "../../src/term/input.ts";
import { prng } from "../../tools/prng.ts";

const enc = new TextEncoder();

/** Bytes from a string whose code units are all below 0x100 (one byte each), for raw input. */
function raw(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Everything `input` decodes to in one feed, then a flush. */
function decode(input: string | Uint8Array): InputEvent[] {
  const d = new InputDecoder();
  const bytes = typeof input === "string" ? enc.encode(input) : input;
  return [...d.feed(bytes), ...d.flush()];
}

/** The expected key event. */
function k(
  name: string,
  opts: { char?: string; ctrl?: boolean; alt?: boolean; shift?: boolean } = {},
): KeyEvent {
  const ev: KeyEvent = {
    type: "key",
    name,
    ctrl: opts.ctrl ?? false,
    alt: opts.alt ?? false,
    shift: opts.shift ?? false,
  };
  if (opts.char !== undefined) ev.char = opts.char;
  return ev;
}

/** The expected printable key. */
function ch(c: string, opts: { alt?: boolean } = {}): KeyEvent {
  return k(c, { char: c, ...opts });
}

/** The expected mouse event. */
function m(
  action: MouseEvent["action"],
  button: number,
  x: number,
  y: number,
  opts: { ctrl?: boolean; alt?: boolean; shift?: boolean } = {},
): MouseEvent {
  return {
    type: "mouse",
    action,
    button,
    x,
    y,
    ctrl: opts.ctrl ?? false,
    alt: opts.alt ?? false,
    shift: opts.shift ?? false,
  };
}

Deno.test("InputDecoder names printable characters by themselves, including any UTF-8", () => {
  assertEquals(decode("qQ1~é漢😀"), [
    ch("q"),
    ch("Q"),
    ch("1"),
    ch("~"),
    ch("é"),
    ch("漢"),
    ch("😀"),
  ]);
  assertEquals(decode(" "), [k("space", { char: " " })]);
});

Deno.test("InputDecoder decodes enter, tab, backspace and control letters", () => {
  assertEquals(decode("\r\n\t\x7f\x08"), [
    k("enter"),
    k("enter"),
    k("tab"),
    k("backspace"),
    k("backspace"),
  ]);
  assertEquals(decode("\x01\x03\x1a"), [
    k("a", { ctrl: true }),
    k("c", { ctrl: true }),
    k("z", { ctrl: true }),
  ]);
  assertEquals(decode("\x00"), [k("space", { ctrl: true })]);
  assertEquals(decode("\x1c\x1f"), [k("\\", { ctrl: true }), k("_", { ctrl: true })]);
});

Deno.test("InputDecoder turns ESC followed by a key into alt", () => {
  assertEquals(decode("\x1bq"), [ch("q", { alt: true })]);
  assertEquals(decode("\x1bé"), [ch("é", { alt: true })]);
  assertEquals(decode("\x1b\x03"), [k("c", { ctrl: true, alt: true })]);
  assertEquals(decode("\x1b\x7f"), [k("backspace", { alt: true })]);
  assertEquals(decode("\x1b\x1b"), [k("escape", { alt: true })]);
  assertEquals(decode("\x1b\x1bq"), [k("escape", { alt: true }), ch("q")]);
  assertEquals(decode("\x1b\x1b[A"), [k("up", { alt: true })]);
  assertEquals(decode("\x1b\x1bOB"), [k("down", { alt: true })]);
});

Deno.test("InputDecoder decodes cursor keys in CSI and SS3 form", () => {
  const names: Record<string, string> = {
    A: "up",
    B: "down",
    C: "right",
    D: "left",
    H: "home",
    F: "end",
  };
  for (const [final, name] of Object.entries(names)) {
    assertEquals(decode(`\x1b[${final}`), [k(name)], `CSI ${final}`);
    assertEquals(decode(`\x1bO${final}`), [k(name)], `SS3 ${final}`);
  }
});

Deno.test("InputDecoder decodes the xterm modifier parameter as a bitmask", async (t) => {
  const cases: [number, { shift?: boolean; alt?: boolean; ctrl?: boolean }][] = [
    [1, {}],
    [2, { shift: true }],
    [3, { alt: true }],
    [4, { shift: true, alt: true }],
    [5, { ctrl: true }],
    [6, { shift: true, ctrl: true }],
    [7, { alt: true, ctrl: true }],
    [8, { shift: true, alt: true, ctrl: true }],
  ];
  for (const [mod, mods] of cases) {
    await t.step(`modifier ${mod} on CSI 1;${mod}A, CSI 3;${mod}~ and CSI 15;${mod}~`, () => {
      assertEquals(decode(`\x1b[1;${mod}A`), [k("up", mods)]);
      assertEquals(decode(`\x1b[1;${mod}D`), [k("left", mods)]);
      assertEquals(decode(`\x1b[3;${mod}~`), [k("delete", mods)]);
      assertEquals(decode(`\x1b[15;${mod}~`), [k("f5", mods)]);
      assertEquals(decode(`\x1b[1;${mod}P`), [k("f1", mods)]);
    });
  }
  assertEquals(decode("\x1bO5C"), [k("right", { ctrl: true })]);
  assertEquals(decode("\x1bO1;2P"), [k("f1", { shift: true })]);
});

Deno.test("InputDecoder decodes the VT220 and xterm tilde keys", () => {
  const cases: [string, string][] = [
    ["1", "home"],
    ["2", "insert"],
    ["3", "delete"],
    ["4", "end"],
    ["5", "pageup"],
    ["6", "pagedown"],
    ["7", "home"],
    ["8", "end"],
    ["11", "f1"],
    ["12", "f2"],
    ["13", "f3"],
    ["14", "f4"],
    ["15", "f5"],
    ["17", "f6"],
    ["18", "f7"],
    ["19", "f8"],
    ["20", "f9"],
    ["21", "f10"],
    ["23", "f11"],
    ["24", "f12"],
  ];
  for (const [code, name] of cases) assertEquals(decode(`\x1b[${code}~`), [k(name)], code);
  assertEquals(decode("\x1b[15;5~"), [k("f5", { ctrl: true })]);
  assertEquals(decode("\x1b[6;2~"), [k("pagedown", { shift: true })]);
});

Deno.test("InputDecoder decodes F1-F4 in SS3, xterm CSI and Linux console form", () => {
  for (const [final, name] of [["P", "f1"], ["Q", "f2"], ["R", "f3"], ["S", "f4"]]) {
    assertEquals(decode(`\x1bO${final}`), [k(name!)], `SS3 ${final}`);
    assertEquals(decode(`\x1b[${final}`), [k(name!)], `CSI ${final}`);
  }
  assertEquals(decode("\x1b[1;2P"), [k("f1", { shift: true })]);
  assertEquals(decode("\x1b[[A\x1b[[B\x1b[[C\x1b[[D\x1b[[E"), [
    k("f1"),
    k("f2"),
    k("f3"),
    k("f4"),
    k("f5"),
  ]);
});

Deno.test("InputDecoder decodes shift-tab and the rxvt modified keys", () => {
  assertEquals(decode("\x1b[Z"), [k("tab", { shift: true })]);
  assertEquals(decode("\x1b[a\x1b[d"), [k("up", { shift: true }), k("left", { shift: true })]);
  assertEquals(decode("\x1bOb\x1bOc"), [k("down", { ctrl: true }), k("right", { ctrl: true })]);
  assertEquals(decode("\x1b[5^\x1b[3$\x1b[7@"), [
    k("pageup", { ctrl: true }),
    k("delete", { shift: true }),
    k("home", { ctrl: true, shift: true }),
  ]);
});

Deno.test("InputDecoder decodes the application keypad as typed characters", () => {
  assertEquals(decode("\x1bOM\x1bOk\x1bOp\x1bOy"), [k("enter"), ch("+"), ch("0"), ch("9")]);
});

Deno.test("InputDecoder decodes SGR mouse reports with 0-based cells", () => {
  assertEquals(decode("\x1b[<0;1;1M"), [m("press", 0, 0, 0)]);
  assertEquals(decode("\x1b[<0;10;5m"), [m("release", 0, 9, 4)]);
  assertEquals(decode("\x1b[<1;3;4M"), [m("press", 1, 2, 3)]);
  assertEquals(decode("\x1b[<2;300;200M"), [m("press", 2, 299, 199)]);
  assertEquals(decode("\x1b[<32;7;8M"), [m("drag", 0, 6, 7)]);
  assertEquals(decode("\x1b[<34;7;8M"), [m("drag", 2, 6, 7)]);
  assertEquals(decode("\x1b[<64;2;3M"), [m("wheelup", 4, 1, 2)]);
  assertEquals(decode("\x1b[<65;2;3M"), [m("wheeldown", 5, 1, 2)]);
  assertEquals(decode("\x1b[<4;1;1M"), [m("press", 0, 0, 0, { shift: true })]);
  assertEquals(decode("\x1b[<8;1;1M"), [m("press", 0, 0, 0, { alt: true })]);
  assertEquals(decode("\x1b[<16;1;1M"), [m("press", 0, 0, 0, { ctrl: true })]);
  assertEquals(decode("\x1b[<81;1;1M"), [m("wheeldown", 5, 0, 0, { ctrl: true })]);
  assertEquals(decode("\x1b[<0;1M\x1b[<66;1;1Mx"), [ch("x")], "malformed and horizontal wheel");
});

Deno.test("InputDecoder decodes legacy X10 mouse reports", () => {
  // Button byte b+32, then x+33 and y+33: the cell (0, 0) is "!!".
  assertEquals(decode(raw("\x1b[M !!")), [m("press", 0, 0, 0)]);
  assertEquals(decode(raw("\x1b[M\x22\x2a\x25")), [m("press", 2, 9, 4)]);
  assertEquals(decode(raw("\x1b[M#*%")), [m("release", 0, 9, 4)]);
  assertEquals(decode(raw("\x1b[M@*%")), [m("drag", 0, 9, 4)]);
  assertEquals(decode(raw("\x1b[M`!!\x1b[Ma!!")), [m("wheelup", 4, 0, 0), m("wheeldown", 5, 0, 0)]);
  assertEquals(decode(raw("\x1b[M0!!")), [m("press", 0, 0, 0, { ctrl: true })]);
  // Coordinates above 94 are raw bytes above 0x7f, not UTF-8.
  assertEquals(decode(raw("\x1b[M \xff\xc3")), [m("press", 0, 222, 162)]);
});

Deno.test("InputDecoder delivers a bracketed paste as one event", async (t) => {
  await t.step("in one feed, with escape sequences and line breaks inside", () => {
    assertEquals(decode("a\x1b[200~hi\x1b[A\r\nthere\x1b[201~b"), [
      ch("a"),
      { type: "paste", text: "hi\x1b[A\r\nthere" },
      ch("b"),
    ]);
  });
  await t.step("over several feeds, split inside the markers and a character", () => {
    const d = new InputDecoder();
    const bytes = enc.encode("\x1b[200~über\x1b[201~");
    const out: InputEvent[] = [];
    const cuts: [number, number][] = [[0, 3], [3, 8], [8, 9], [9, 14], [14, 17], [
      17,
      bytes.length,
    ]];
    for (const [from, to] of cuts) {
      out.push(...d.feed(bytes.subarray(from, to)));
      if (to < bytes.length) assert(d.pending, `pending after byte ${to}`);
    }
    assertEquals(out, [{ type: "paste", text: "über" }]);
    assert(!d.pending);
  });
  await t.step("kept open by flush, so a slow paste never turns into keys", () => {
    const d = new InputDecoder();
    assertEquals(d.feed(enc.encode("\x1b[200~q")), []);
    assertEquals(d.flush(), []);
    assertEquals(d.feed(enc.encode("x\x1b[201~")), [{ type: "paste", text: "qx" }]);
  });
  await t.step("empty", () => {
    assertEquals(decode("\x1b[200~\x1b[201~"), [{ type: "paste", text: "" }]);
  });
});

Deno.test("InputDecoder consumes unknown CSI sequences whole and drops them", () => {
  for (
    const seq of [
      "\x1b[?1;2c", // device attributes
      "\x1b[>0;95;0c", // secondary device attributes
      "\x1b[I", // focus in
      "\x1b[O", // focus out
      "\x1b[27;5;9~", // modifyOtherKeys
      "\x1b[99~",
      "\x1b[97;5u", // kitty keyboard protocol
      "\x1b[201~", // stray paste end
      "\x1b[1 q",
      "\x1b[?12;2$y", // DEC private mode report: "$" is an intermediate here
    ]
  ) {
    assertEquals(decode(`${seq}x`), [ch("x")], JSON.stringify(seq));
  }
});

Deno.test("InputDecoder drops a CSI sequence cut short by a control byte and goes on from it", () => {
  assertEquals(decode("\x1b[1;\x1b[A"), [k("up")]);
  assertEquals(decode("\x1b[12\r"), [k("enter")]);
});

Deno.test("InputDecoder turns invalid UTF-8 into U+FFFD keys", () => {
  const fffd = ch("\uFFFD");
  assertEquals(decode(Uint8Array.of(0xff)), [fffd]);
  assertEquals(decode(Uint8Array.of(0x80, 0x61)), [fffd, ch("a")]);
  assertEquals(decode(Uint8Array.of(0xc3, 0x28)), [fffd, ch("(")]);
  assertEquals(decode(Uint8Array.of(0xc0, 0xaf)), [fffd, fffd]);
  assertEquals(decode(Uint8Array.of(0xed, 0xa0, 0x80)), [fffd, fffd, fffd]);
  assertEquals(decode(Uint8Array.of(0xe6, 0xbc)), [fffd], "truncated, resolved by flush");
});

Deno.test("InputDecoder decodes text exactly as TextDecoder does, for random bytes", () => {
  const rand = prng(7);
  for (let round = 0; round < 200; round++) {
    // Printable bytes only (no controls, ESC or DEL), so every event is a character key.
    const bytes = Uint8Array.from(
      { length: 1 + Math.floor(rand() * 40) },
      () => 0x21 + Math.floor(rand() * 0xdf),
    ).map((b) => (b === 0x7f ? 0x7e : b));
    const text = decode(bytes).map((e) => (e.type === "key" ? e.char : "?")).join("");
    assertEquals(text, new TextDecoder().decode(bytes), `bytes ${bytes.join(",")}`);
  }
});

Deno.test("InputDecoder holds back what may start a sequence until flush resolves it", async (t) => {
  const cases: [string, InputEvent[]][] = [
    ["\x1b", [k("escape")]],
    ["\x1b\x1b", [k("escape", { alt: true })]],
    ["\x1b[", [ch("[", { alt: true })]],
    ["\x1bO", [ch("O", { alt: true })]],
    ["\x1b[1;5", []],
    ["\x1b[<0;3", []],
    ["\x1b[M !", []],
    ["\x1b[[", []],
  ];
  for (const [input, expected] of cases) {
    await t.step(JSON.stringify(input), () => {
      const d = new InputDecoder();
      assertEquals(d.feed(enc.encode(input)), []);
      assert(d.pending);
      assertEquals(d.flush(), expected);
      assert(!d.pending);
    });
  }
  await t.step("a partial UTF-8 character", () => {
    const d = new InputDecoder();
    assertEquals(d.feed(Uint8Array.of(0xe6, 0xbc)), []);
    assert(d.pending);
    assertEquals(d.feed(Uint8Array.of(0xa2)), [ch("漢")]);
    assert(!d.pending);
  });
  await t.step("ESC then a key in the next feed, with no flush in between, is alt", () => {
    const d = new InputDecoder();
    assertEquals(d.feed(enc.encode("\x1b")), []);
    assertEquals(d.feed(enc.encode("q")), [ch("q", { alt: true })]);
  });
  await t.step("nothing pending after a complete sequence", () => {
    const d = new InputDecoder();
    assertEquals(d.feed(enc.encode("\x1b[A")), [k("up")]);
    assert(!d.pending);
    assertEquals(d.flush(), []);
  });
});

/** One of everything, as the bytes a terminal sends. */
const MIXED: Uint8Array[] = [
  enc.encode("q"),
  enc.encode("é漢😀"),
  enc.encode(" \r\n\t\x7f\x08\x00\x01\x03\x1a"),
  enc.encode("\x1bq\x1b\x1b[A"),
  enc.encode("\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F"),
  enc.encode("\x1bOA\x1bOB\x1bOC\x1bOD\x1bOH\x1bOF"),
  enc.encode("\x1b[1;2A\x1b[1;3B\x1b[1;5C\x1b[1;6D\x1b[1;4H\x1b[1;7F\x1b[1;8A"),
  enc.encode("\x1b[1~\x1b[2~\x1b[3~\x1b[4~\x1b[5~\x1b[6~\x1b[7~\x1b[8~"),
  enc.encode("\x1b[11~\x1b[12~\x1b[13~\x1b[14~\x1b[15~\x1b[17~\x1b[18~\x1b[19~"),
  enc.encode("\x1b[20~\x1b[21~\x1b[23~\x1b[24~\x1b[15;5~\x1b[3;2~"),
  enc.encode("\x1bOP\x1bOQ\x1bOR\x1bOS\x1b[P\x1b[Q\x1b[R\x1b[S\x1b[1;2P"),
  enc.encode("\x1b[3$\x1b[5^\x1b[7@\x1b[a\x1bOd\x1bOM\x1bOp"),
  enc.encode("\x1b[[A\x1b[[B\x1b[[C\x1b[[D\x1b[[E\x1b[Z"),
  enc.encode("\x1b[<0;1;1M\x1b[<0;10;5m\x1b[<32;7;8M\x1b[<64;2;3M\x1b[<65;2;3M\x1b[<28;4;4M"),
  raw("\x1b[M !!\x1b[M#*%\x1b[M`!!\x1b[M \xff\xc3"),
  enc.encode("\x1b[200~pasted \x1b[A text ✓\r\n\x1b[201~"),
  enc.encode("\x1b[?1;2c\x1b[I\x1b[27;5;9~"),
  Uint8Array.of(0xff, 0xc3, 0x28, 0x80),
  enc.encode("z"),
];

Deno.test("InputDecoder decodes a mixed stream identically however the reads are split", async (t) => {
  // Repeat in a shuffled order so every item follows every other in some split.
  const rand = prng(1);
  const items: Uint8Array[] = [];
  for (let r = 0; r < 20; r++) {
    for (const item of MIXED) items.splice(Math.floor(rand() * (items.length + 1)), 0, item);
  }
  const total = items.reduce((n, b) => n + b.length, 0);
  const stream = new Uint8Array(total);
  let at = 0;
  for (const item of items) {
    stream.set(item, at);
    at += item.length;
  }

  const whole = decode(stream);
  const expectedOne = MIXED.flatMap((b) => decode(b));
  await t.step("every item decodes to something, nothing dropped by accident", () => {
    assertEquals(whole.length, expectedOne.length * 20);
    // The stream ends with items whose own decoding needs no flush.
    for (const item of MIXED) {
      const d = new InputDecoder();
      d.feed(item);
      assert(!d.pending, `pending after ${JSON.stringify(String.fromCharCode(...item))}`);
    }
  });

  await t.step("one byte at a time", () => {
    const d = new InputDecoder();
    const out: InputEvent[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.feed(stream.subarray(i, i + 1)));
    assert(!d.pending);
    assertEquals(out, whole);
  });

  for (const seed of [2, 3, 5, 8, 13, 21, 34, 55]) {
    await t.step(`random splits with seed ${seed}`, () => {
      const split = prng(seed);
      const d = new InputDecoder();
      const out: InputEvent[] = [];
      let i = 0;
      while (i < stream.length) {
        const n = 1 + Math.floor(split() * split() * 64);
        out.push(...d.feed(stream.slice(i, i + n)));
        i += n;
      }
      assert(!d.pending);
      assertEquals(out, whole);
    });
  }
});

Deno.test("InputDecoder takes a CSI or SS3 sequence of 200,000 parameter bytes without overflowing the stack", () => {
  // Once spread into String.fromCharCode: "Maximum call stack size exceeded" on a long paste.
  for (const lead of [[0x1b, 0x5b], [0x1b, 0x4f]]) {
    const bytes = new Uint8Array(200_002).fill(0x31);
    bytes.set(lead, 0);
    const d = new InputDecoder();
    d.feed(bytes);
    const events = [...d.feed(raw("A")), ...d.flush()];
    assert(events.length >= 1, JSON.stringify(events));
  }
});
