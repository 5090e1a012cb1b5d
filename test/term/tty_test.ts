/**
 * Tests of the terminal session: exact bytes and raw-mode calls against a fake terminal, the
 * input loop's Esc timeout against scripted reads, and raw mode on a real pty (util-linux
 * `script` gives the child one; the test fails if `script` or `stty` is missing).
 *
 * Requires `--allow-all` (a child process, a temporary file, a signal to this process).
 *
 * @module
 */
import { assert, assertEquals, assertMatch, assertThrows } from "../_helpers/assert.ts";
import type { InputEvent, KeyEvent } from "../../src/term/input.ts";
import { isHangUp, Tty, type TtyIO } from "../../src/term/tty.ts";

const ENTER_BYTES = "\x1b[?1049h" + // alternate screen
  "\x1b[?25l" + // hide cursor
  "\x1b[?7l" + // autowrap off
  "\x1b[?2004h" + // bracketed paste on
  "\x1b[?1000h\x1b[?1002h\x1b[?1006h" + // mouse on
  "\x1b[2J\x1b[H"; // clear, home

const RESTORE_BYTES = "\x1b[?1006l\x1b[?1002l\x1b[?1000l" + // mouse off
  "\x1b[?2004l" + // bracketed paste off
  "\x1b[?7h" + // autowrap on
  "\x1b[0m" + // SGR reset
  "\x1b[?25h" + // show cursor
  "\x1b[?1049l"; // main screen

/** One scripted read: `data` (null = end of input) after `delay` ms; "hang" never resolves. */
type ReadStep = { delay: number; data: string | null } | "hang";

/** A terminal that records what is written and replays scripted reads. */
class FakeIO implements TtyIO {
  written: number[] = [];
  raw: boolean[] = [];
  terminal = true;
  /** At most this many bytes accepted per write call. */
  writeLimit = Infinity;
  failWrites: Error | null = null;
  failSetRaw: Error | null = null;
  sizeValue: { columns: number; rows: number } | Error = { columns: 100, rows: 40 };
  reads: ReadStep[] = [];
  readCalls = 0;
  outstanding = 0;
  maxOutstanding = 0;

  write(bytes: Uint8Array): number {
    if (this.failWrites !== null) throw this.failWrites;
    const n = Math.min(bytes.length, this.writeLimit);
    this.written.push(...bytes.subarray(0, n));
    return n;
  }

  read(buf: Uint8Array): Promise<number | null> {
    this.readCalls++;
    this.outstanding++;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
    const step = this.reads.shift() ?? "hang";
    if (step === "hang") return new Promise(() => {});
    return new Promise((resolve) => {
      setTimeout(() => {
        this.outstanding--;
        if (step.data === null) return resolve(null);
        const bytes = new TextEncoder().encode(step.data);
        buf.set(bytes);
        resolve(bytes.length);
      }, step.delay);
    });
  }

  setRaw(on: boolean): void {
    if (this.failSetRaw !== null) throw this.failSetRaw;
    this.raw.push(on);
  }

  size(): { columns: number; rows: number } {
    if (this.sizeValue instanceof Error) throw this.sizeValue;
    return this.sizeValue;
  }

  isTerminal(): boolean {
    return this.terminal;
  }

  /** Everything written so far, as text; clears the record. */
  take(): string {
    const s = new TextDecoder().decode(Uint8Array.from(this.written));
    this.written = [];
    return s;
  }
}

/** The expected key event without modifiers. */
function key(name: string, char?: string): KeyEvent {
  const ev: KeyEvent = { type: "key", name, ctrl: false, alt: false, shift: false };
  if (char !== undefined) ev.char = char;
  return ev;
}

/** Runs readEvents over `reads` until the batches seen satisfy `done`, then aborts. */
async function collect(
  reads: ReadStep[],
  done: (batches: InputEvent[][]) => boolean,
  escTimeoutMs?: number,
): Promise<{ batches: InputEvent[][]; io: FakeIO }> {
  const io = new FakeIO();
  io.reads = reads;
  const tty = new Tty({ io });
  const stop = new AbortController();
  const batches: InputEvent[][] = [];
  const finished = tty.readEvents(
    (events) => {
      batches.push(events);
      if (done(batches)) stop.abort();
    },
    stop.signal,
    escTimeoutMs,
  );
  await finished;
  return { batches, io };
}

Deno.test("Tty.enter() sets raw mode and writes the exact setup bytes", () => {
  const io = new FakeIO();
  const tty = new Tty({ io });
  assert(!tty.active);
  tty.enter();
  try {
    assert(tty.active);
    assertEquals(io.raw, [true]);
    assertEquals(io.take(), ENTER_BYTES);
    tty.enter();
    assertEquals([io.raw, io.take()], [[true], ""], "a second enter() does nothing");
  } finally {
    tty.restore();
  }
});

Deno.test("Tty.restore() writes the reverse and turns raw mode off, and twice is harmless", () => {
  const io = new FakeIO();
  const tty = new Tty({ io });
  tty.enter();
  io.take();
  tty.restore();
  assert(!tty.active);
  assertEquals(io.take(), RESTORE_BYTES);
  assertEquals(io.raw, [true, false]);
  tty.restore();
  assertEquals([io.take(), io.raw], ["", [true, false]]);
});

Deno.test("Tty with mouse: false leaves mouse reporting alone", () => {
  const io = new FakeIO();
  const tty = new Tty({ io, mouse: false });
  tty.enter();
  tty.restore();
  assertEquals(
    io.take(),
    ENTER_BYTES.replace("\x1b[?1000h\x1b[?1002h\x1b[?1006h", "") +
      RESTORE_BYTES.replace("\x1b[?1006l\x1b[?1002l\x1b[?1000l", ""),
  );
});

Deno.test("Tty.restore() before enter() does nothing", () => {
  const io = new FakeIO();
  new Tty({ io }).restore();
  assertEquals([io.take(), io.raw], ["", []]);
});

Deno.test("Tty.restore() never throws, even when the terminal is gone", () => {
  const io = new FakeIO();
  const tty = new Tty({ io });
  tty.enter();
  io.failWrites = new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  io.failSetRaw = new Deno.errors.BadResource("Bad resource ID");
  tty.restore();
  assert(!tty.active);
});

Deno.test("Tty.enter() refuses a non-terminal without changing anything", () => {
  const io = new FakeIO();
  io.terminal = false;
  const tty = new Tty({ io });
  assertThrows(() => tty.enter(), Error, "not a terminal");
  assert(!tty.active);
  assertEquals([io.take(), io.raw], ["", []]);
});

Deno.test("Tty.enter() undoes raw mode when the setup write fails", () => {
  const io = new FakeIO();
  io.failWrites = new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  const tty = new Tty({ io });
  assertThrows(() => tty.enter(), Deno.errors.BrokenPipe);
  assert(!tty.active);
  assertEquals(io.raw, [true, false]);
});

Deno.test("Tty restores the terminal as a last chance", async (t) => {
  const events: [string, () => Event][] = [
    [
      "an error event",
      () => new ErrorEvent("error", { message: "boom", error: new Error("boom") }),
    ],
    ["an unhandledrejection event", () => {
      const promise = Promise.reject(new Error("boom"));
      promise.catch(() => {});
      return new PromiseRejectionEvent("unhandledrejection", { promise, reason: "boom" });
    }],
    ["an unload event", () => new Event("unload")],
  ];
  for (const [what, make] of events) {
    await t.step(`on ${what} dispatched on globalThis`, () => {
      const io = new FakeIO();
      const tty = new Tty({ io });
      tty.enter();
      io.take();
      globalThis.dispatchEvent(make());
      assert(!tty.active);
      assertEquals(io.take(), RESTORE_BYTES);
      assertEquals(io.raw, [true, false]);
    });
  }
});

Deno.test("Tty.restore() removes the last-chance listeners enter() added", () => {
  const added: string[] = [];
  const removed: string[] = [];
  const add = globalThis.addEventListener;
  const remove = globalThis.removeEventListener;
  globalThis.addEventListener = (
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ) => {
    added.push(type);
    add.call(globalThis, type, listener, options);
  };
  globalThis.removeEventListener = (
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ) => {
    removed.push(type);
    remove.call(globalThis, type, listener, options);
  };
  try {
    const tty = new Tty({ io: new FakeIO() });
    tty.enter();
    tty.restore();
    tty.restore();
  } finally {
    globalThis.addEventListener = add;
    globalThis.removeEventListener = remove;
  }
  assertEquals(added.sort(), ["error", "unhandledrejection", "unload"]);
  assertEquals(removed.sort(), ["error", "unhandledrejection", "unload"]);
});

Deno.test("Tty.write() writes the whole string, looping over short writes", () => {
  const io = new FakeIO();
  io.writeLimit = 3;
  const tty = new Tty({ io });
  tty.write("héllo, 漢字 world");
  assertEquals(io.take(), "héllo, 漢字 world");
});

Deno.test("Tty.write() retries an interrupted write", () => {
  const io = new FakeIO();
  let interrupts = 2;
  const write = io.write.bind(io);
  io.write = (bytes) => {
    if (interrupts-- > 0) throw new Deno.errors.Interrupted("Interrupted system call");
    return write(bytes);
  };
  new Tty({ io }).write("ok");
  assertEquals(io.take(), "ok");
});

Deno.test("Tty.write() throws while active and ignores errors when not", () => {
  const io = new FakeIO();
  const tty = new Tty({ io });
  tty.enter();
  io.failWrites = new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  try {
    assertThrows(() => tty.write("x"), Deno.errors.BrokenPipe);
  } finally {
    tty.restore();
  }
  tty.write("x");
  const stuck = new FakeIO();
  const active = new Tty({ io: stuck });
  active.enter();
  stuck.write = () => 0;
  try {
    assertThrows(() => active.write("x"), Error, "Failed to write to the terminal");
  } finally {
    active.restore();
  }
});

Deno.test("Tty.size() reports the terminal size, 80x24 when unknown, never below 1x1", () => {
  const io = new FakeIO();
  const tty = new Tty({ io });
  assertEquals(tty.size(), { columns: 100, rows: 40 });
  io.sizeValue = new Deno.errors.NotConnected("not a terminal");
  assertEquals(tty.size(), { columns: 80, rows: 24 });
  io.sizeValue = { columns: 0, rows: 0 };
  assertEquals(tty.size(), { columns: 80, rows: 24 });
  io.sizeValue = { columns: -3, rows: 0.5 };
  assertEquals(tty.size(), { columns: 1, rows: 1 });
  io.sizeValue = { columns: NaN, rows: 7 };
  assertEquals(tty.size(), { columns: 80, rows: 7 });
});

Deno.test("Tty.onResize() calls back on SIGWINCH until unsubscribed", async () => {
  const tty = new Tty({ io: new FakeIO() });
  let calls = 0;
  let resolveCalled = () => {};
  const called = new Promise<void>((resolve) => (resolveCalled = resolve));
  const off = tty.onResize(() => {
    calls++;
    resolveCalled();
  });
  // A signal listener does not keep the event loop alive; this timer does, and bounds the wait.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("No resize callback within 2 s")), 2000);
  });
  try {
    Deno.kill(Deno.pid, "SIGWINCH");
    await Promise.race([called, timeout]);
    assertEquals(calls, 1);
  } finally {
    clearTimeout(timer);
    off();
  }
  off();
});

Deno.test("Tty.readEvents() turns a lone ESC into an escape key after the timeout", async () => {
  // The escape arrives in a batch of its own, before the "q" read of 100 ms later completes:
  // the Esc timer (ESC_TIMEOUT_MS) flushed it, not the next read.
  const { batches } = await collect(
    [{ delay: 0, data: "\x1b" }, { delay: 100, data: "q" }, "hang"],
    (b) => b.length === 2,
  );
  assertEquals(batches, [[key("escape")], [key("q", "q")]]);
});

Deno.test("Tty.readEvents() joins ESC and the rest of a sequence arriving within 5 ms", async () => {
  const { batches, io } = await collect(
    [{ delay: 0, data: "\x1b" }, { delay: 5, data: "[A" }, "hang"],
    (b) => b.length === 1,
  );
  assertEquals(batches, [[key("up")]]);
  assertEquals(io.maxOutstanding, 1);
});

Deno.test("Tty.readEvents() never starts a second read while one is pending", async () => {
  // The Esc timer fires while the second read still pends; the same read is awaited again.
  const { batches, io } = await collect(
    [{ delay: 0, data: "\x1b" }, { delay: 80, data: "x" }, "hang"],
    (b) => b.length === 2,
    10,
  );
  assertEquals(batches, [[key("escape")], [key("x", "x")]]);
  // The ESC read, then the "x" read, started once and awaited across the timeout; the abort
  // in the callback comes before a third.
  assertEquals(io.readCalls, 2);
  assertEquals(io.maxOutstanding, 1);
});

Deno.test("Tty.readEvents() decodes sequences split over reads", async () => {
  const { batches } = await collect(
    [
      { delay: 0, data: "a\x1b[1;" },
      { delay: 2, data: "5A\x1b[<0;3" },
      { delay: 2, data: ";4M" },
      "hang",
    ],
    (b) => b.flat().length === 3,
  );
  assertEquals(batches.flat(), [
    key("a", "a"),
    { type: "key", name: "up", ctrl: true, alt: false, shift: false },
    {
      type: "mouse",
      action: "press",
      button: 0,
      x: 2,
      y: 3,
      ctrl: false,
      alt: false,
      shift: false,
    },
  ]);
});

Deno.test("Tty.readEvents() resolves at end of input, flushing what is held", async () => {
  const io = new FakeIO();
  io.reads = [{ delay: 0, data: "\x1b" }, { delay: 0, data: null }];
  const batches: InputEvent[][] = [];
  const end = await new Tty({ io }).readEvents(
    (e) => batches.push(e),
    new AbortController().signal,
    1000,
  );
  assertEquals(batches, [[key("escape")]]);
  assertEquals(end, "closed", "end of input is a hang-up");
});

Deno.test("Tty.readEvents() resolves promptly on abort, leaving the pending read", async () => {
  const io = new FakeIO();
  io.reads = ["hang"];
  const stop = new AbortController();
  const done = new Tty({ io }).readEvents(() => {}, stop.signal);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const start = performance.now();
  stop.abort();
  assertEquals(await done, "aborted");
  assert(performance.now() - start < 100, "readEvents() resolved late after abort");
  assertEquals(io.readCalls, 1);

  const before = new FakeIO();
  await new Tty({ io: before }).readEvents(() => {}, AbortSignal.abort());
  assertEquals(before.readCalls, 0, "no read once already aborted");
});

Deno.test("Tty.readEvents() rejects on a read error", async () => {
  const io = new FakeIO();
  io.read = () => Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
  let failed = false;
  try {
    await new Tty({ io }).readEvents(() => {}, new AbortController().signal);
  } catch (err) {
    failed = err instanceof Deno.errors.BadResource;
  }
  assert(failed, "expected BadResource");
});

Deno.test("isHangUp() holds for EIO, EPIPE and ECONNRESET, not for other errors", () => {
  const eio = Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" });
  assertEquals(isHangUp(eio), true);
  assertEquals(isHangUp(new Deno.errors.BrokenPipe("Broken pipe")), true);
  assertEquals(isHangUp(new Deno.errors.ConnectionReset("reset")), true);
  assertEquals(isHangUp(new Deno.errors.BadResource("Bad resource ID")), false);
  assertEquals(isHangUp(new Error("Input/output error")), false);
  assertEquals(isHangUp("EIO"), false);
});

/** The child run on a real pty: the terminal settings before, during and after a session. */
const PTY_CHILD = `
import { Tty } from ${JSON.stringify(import.meta.resolve("../../src/term/tty.ts"))};
async function stty(arg: string): Promise<string> {
  const out = await new Deno.Command("stty", { args: [arg], stdin: "inherit" }).output();
  if (!out.success) throw new Error("stty " + arg + " failed");
  return new TextDecoder().decode(out.stdout).trim();
}
const before = await stty("-g");
const tty = new Tty();
tty.enter();
const during = await stty("-a");
const active = tty.active;
tty.restore();
const after = await stty("-g");
console.log("RESULT:" + JSON.stringify({ before, during, active, after }));
`;

Deno.test("Tty enters raw mode on a real pty and restores the exact settings", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conntop_tty_test_" });
  try {
    const child = `${dir}/child.ts`;
    await Deno.writeTextFile(child, PTY_CHILD);
    // util-linux script: -q quiet, -f flush, -e child's exit code, -c command; the typescript
    // file is /dev/null and the child's output comes on script's stdout.
    const command = `${Deno.execPath()} run --allow-all --no-prompt ${child}`;
    const out = await new Deno.Command("script", {
      args: ["-qfec", command, "/dev/null"],
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert(out.success, `script failed (${out.code}): ${stdout}${stderr}`);
    const m = /RESULT:(\{.*\})/.exec(stdout);
    assert(m !== null, `no result in ${JSON.stringify(stdout)}`);
    const result = JSON.parse(m[1]!) as {
      before: string;
      during: string;
      active: boolean;
      after: string;
    };
    assert(result.active);
    assertEquals(result.after, result.before);
    // Raw: no line editing, no echo, no signal keys, no CR/LF or flow-control translation of
    // input. (Deno's raw mode keeps output processing, opost, on.)
    for (const flag of ["-icanon", "-echo", "-isig", "-iexten", "-icrnl", "-ixon"]) {
      assertMatch(result.during, new RegExp(`(^|\\s)${flag}(\\s|$)`), flag);
    }
    // The session's own bytes reached the terminal: setup, then the restore.
    const enterAt = stdout.indexOf(ENTER_BYTES);
    const restoreAt = stdout.indexOf(RESTORE_BYTES);
    assert(enterAt >= 0 && restoreAt > enterAt, `escape sequences ${JSON.stringify(stdout)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
