/**
 * The terminal session: raw mode, the alternate screen, mouse and bracketed paste on entry, all
 * of it undone on exit, and the input loop. This is the only module in `src/term/` that does
 * I/O, and it does it through a {@linkcode TtyIO} so tests can swap in a fake.
 *
 * It must never leave the user's terminal broken: `restore()` is idempotent and never throws,
 * and a last-chance restore runs on `unload`, uncaught errors and unhandled rejections.
 *
 * Requires a terminal on stdin and stdout; `onResize` requires a platform with SIGWINCH.
 *
 * @example
 * ```ts ignore
 * import { Tty } from "./tty.ts";
 *
 * const tty = new Tty();
 * tty.enter();
 * try {
 *   tty.write("hello, press q");
 *   const stop = new AbortController();
 *   await tty.readEvents((events) => {
 *     if (events.some((e) => e.type === "key" && e.name === "q")) stop.abort();
 *   }, stop.signal);
 * } finally {
 *   tty.restore();
 * }
 * ```
 *
 * @module
 */

import {
  ALT_SCREEN_OFF,
  ALT_SCREEN_ON,
  AUTOWRAP_OFF,
  AUTOWRAP_ON,
  CLEAR_SCREEN,
  CURSOR_HIDE,
  CURSOR_HOME,
  CURSOR_SHOW,
  MOUSE_OFF,
  MOUSE_ON,
  PASTE_OFF,
  PASTE_ON,
  SGR_RESET,
} from "./ansi.ts";
import { InputDecoder, type InputEvent } from "./input.ts";

/**
 * How {@linkcode Tty.readEvents} ended: `"aborted"` by its signal, `"closed"` when the terminal
 * gave end of input (a hang-up: the terminal is gone).
 */
export type ReadEnd = "aborted" | "closed";

/**
 * How long a lone ESC waits for the rest of a sequence before it is the Esc key, ms. A terminal
 * writes a key's sequence at once, so its bytes come in one read, or in two a moment apart; the
 * wait only matters when they are split, and it delays every Esc press. 10 ms is tmux's own
 * `escape-time` since 3.5 (it was 500), the same choice for the same question; 30 ms put closing
 * a dialog with Esc at 35-40 ms from the key to the screen, beside 5-15 ms for any other key.
 */
export const ESC_TIMEOUT_MS = 10;
export { isHangUp } from "./hangup.ts";

/** The size used when the terminal cannot say. */
const FALLBACK_SIZE = { columns: 80, rows: 24 };

/** The terminal operations a {@linkcode Tty} uses; injectable for tests. */
export interface TtyIO {
  /** Writes some of `bytes`, returning how many were written (like `Deno.stdout.writeSync`). */
  write(bytes: Uint8Array): number;
  /** Reads into `buf`, returning the byte count or null at end of input (like `Deno.stdin.read`). */
  read(buf: Uint8Array): Promise<number | null>;
  /** Turns raw mode on or off. */
  setRaw(on: boolean): void;
  /** The terminal size in cells. */
  size(): { columns: number; rows: number };
  /** Whether input and output are a terminal. */
  isTerminal(): boolean;
}

/**
 * The real terminal: `Deno.stdin` and `Deno.stdout`. Raw mode is full raw (`cbreak: false`), so
 * Ctrl-C arrives as a key rather than SIGINT; `isTerminal()` requires both stdin and stdout.
 */
export function denoTtyIO(): TtyIO {
  return {
    write: (bytes) => Deno.stdout.writeSync(bytes),
    read: (buf) => Deno.stdin.read(buf),
    setRaw: (on) => Deno.stdin.setRaw(on, { cbreak: false }),
    size: () => Deno.consoleSize(),
    isTerminal: () => Deno.stdin.isTerminal() && Deno.stdout.isTerminal(),
  };
}

/** Options for {@linkcode Tty}. */
export interface TtyOptions {
  /** Report mouse clicks, drags and the wheel; default true. */
  mouse?: boolean;
  /** The terminal to use; default {@linkcode denoTtyIO}. */
  io?: TtyIO;
}

/** A full-screen terminal session. */
export class Tty {
  #io: TtyIO;
  #mouse: boolean;
  #active = false;
  #encoder = new TextEncoder();
  /** The last-chance restore, while registered on globalThis. */
  #lastChance: (() => void) | null = null;

  /** A session on `options.io` (default: stdin and stdout); nothing happens until enter(). */
  constructor(options: TtyOptions = {}) {
    this.#io = options.io ?? denoTtyIO();
    this.#mouse = options.mouse ?? true;
  }

  /**
   * Raw mode, alternate screen, hidden cursor, autowrap off, mouse and bracketed paste on,
   * clear. Registers a last-chance restore on globalThis "unload", "error" and
   * "unhandledrejection" events (removed by restore()).
   *
   * Does nothing when already active. Throws, changing nothing, when the io is not a terminal;
   * if a later step fails, what was done is undone before the error is rethrown.
   */
  enter(): void {
    if (this.#active) return;
    if (!this.#io.isTerminal()) {
      throw new Error("Failed to start the full-screen display: stdin or stdout is not a terminal");
    }
    this.#io.setRaw(true);
    this.#active = true;
    const lastChance = () => this.restore();
    this.#lastChance = lastChance;
    globalThis.addEventListener("unload", lastChance);
    globalThis.addEventListener("error", lastChance);
    globalThis.addEventListener("unhandledrejection", lastChance);
    try {
      this.write(
        ALT_SCREEN_ON + CURSOR_HIDE + AUTOWRAP_OFF + PASTE_ON + (this.#mouse ? MOUSE_ON : "") +
          CLEAR_SCREEN + CURSOR_HOME,
      );
    } catch (err) {
      this.restore();
      throw err;
    }
  }

  /**
   * Undo everything enter() did, in reverse order (mouse off, paste off, autowrap on, SGR
   * reset, cursor shown, alt screen off, raw off). Idempotent; safe before enter(); never
   * throws.
   */
  restore(): void {
    if (!this.#active) return;
    this.#active = false;
    const lastChance = this.#lastChance;
    if (lastChance !== null) {
      globalThis.removeEventListener("unload", lastChance);
      globalThis.removeEventListener("error", lastChance);
      globalThis.removeEventListener("unhandledrejection", lastChance);
      this.#lastChance = null;
    }
    // Not active any more, so write() swallows errors: the terminal may be gone already.
    this.write(
      (this.#mouse ? MOUSE_OFF : "") + PASTE_OFF + AUTOWRAP_ON + SGR_RESET + CURSOR_SHOW +
        ALT_SCREEN_OFF,
    );
    try {
      this.#io.setRaw(false);
    } catch {
      // Nothing more can be done for a terminal that refuses; restore() must not throw.
    }
  }

  /** Whether enter() has run and restore() has not. */
  get active(): boolean {
    return this.#active;
  }

  /**
   * One write of the whole string, looping until every byte is out. Write errors are thrown
   * while active, and ignored when not: after restore() (or before enter()) the output may be
   * a closed pipe, and there is nothing left to repair.
   */
  write(s: string): void {
    const bytes = this.#encoder.encode(s);
    let at = 0;
    try {
      while (at < bytes.length) {
        let n: number;
        try {
          n = this.#io.write(bytes.subarray(at));
        } catch (err) {
          if (err instanceof Deno.errors.Interrupted) continue;
          throw err;
        }
        if (n <= 0) {
          throw new Error(`Failed to write to the terminal: ${bytes.length - at} bytes left`);
        }
        at += n;
      }
    } catch (err) {
      if (this.#active) throw err;
    }
  }

  /**
   * The size in cells; 80x24 when the terminal cannot say, and never below 1x1. A dimension of
   * 0 counts as "cannot say" too: it is what a pty whose size was never set reports.
   */
  size(): { columns: number; rows: number } {
    let size: { columns: number; rows: number };
    try {
      size = this.#io.size();
    } catch {
      return { ...FALLBACK_SIZE };
    }
    return {
      columns: dimension(size.columns, FALLBACK_SIZE.columns),
      rows: dimension(size.rows, FALLBACK_SIZE.rows),
    };
  }

  /**
   * SIGWINCH listener; returns an unsubscribe function (safe to call twice). Uses
   * Deno.addSignalListener("SIGWINCH", ...).
   */
  onResize(cb: () => void): () => void {
    const listener = () => cb();
    Deno.addSignalListener("SIGWINCH", listener);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      Deno.removeSignalListener("SIGWINCH", listener);
    };
  }

  /**
   * Reads input until `signal` aborts or stdin ends, decoding with InputDecoder; calls
   * onEvents with each decoded batch; after a read leaves the decoder pending, waits
   * escTimeoutMs (default {@linkcode ESC_TIMEOUT_MS}) for more bytes and then flushes (so a lone
   * Esc key works).
   * Resolves with how it ended: `"closed"` at end of input (the caller treats it as a hang-up,
   * as it does a read error for which {@linkcode isHangUp} holds), `"aborted"` otherwise.
   *
   * Only one read is ever outstanding: a read that loses the race against the Esc timer is
   * kept for the next round, and one still pending at abort is left behind (a read cannot be
   * cancelled; its bytes are lost, which is fine for a program about to exit or restore). A
   * read error rejects the returned promise, unless the signal has aborted.
   */
  async readEvents(
    onEvents: (events: InputEvent[]) => void,
    signal: AbortSignal,
    escTimeoutMs = ESC_TIMEOUT_MS,
  ): Promise<ReadEnd> {
    if (signal.aborted) return "aborted";
    const decoder = new InputDecoder();
    const buf = new Uint8Array(4096);
    let onAbort = () => {};
    const aborted = new Promise<{ kind: "abort" }>((resolve) => {
      onAbort = () => resolve({ kind: "abort" });
      signal.addEventListener("abort", onAbort, { once: true });
    });
    const emit = (events: InputEvent[]) => {
      if (events.length > 0 && !signal.aborted) onEvents(events);
    };
    let read: Promise<{ kind: "read"; n: number | null }> | null = null;
    try {
      while (!signal.aborted) {
        read ??= this.#io.read(buf).then((n) => ({ kind: "read" as const, n }));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const contenders: Promise<
          { kind: "abort" } | { kind: "read"; n: number | null } | { kind: "timeout" }
        >[] = [read, aborted];
        if (decoder.pending) {
          contenders.push(
            new Promise((resolve) => {
              timer = setTimeout(() => resolve({ kind: "timeout" }), escTimeoutMs);
            }),
          );
        }
        let next;
        try {
          next = await Promise.race(contenders);
        } catch (err) {
          if (signal.aborted) return "aborted";
          throw err;
        } finally {
          clearTimeout(timer);
        }
        if (next.kind === "abort") return "aborted";
        if (next.kind === "timeout") {
          emit(decoder.flush());
          continue;
        }
        read = null;
        if (next.n === null) {
          emit(decoder.flush());
          return "closed";
        }
        emit(decoder.feed(buf.subarray(0, next.n)));
      }
      return "aborted";
    } finally {
      signal.removeEventListener("abort", onAbort);
      // A read left pending may still fail (the terminal closes at exit); nobody awaits it.
      read?.catch(() => {});
    }
  }
}

/** A reported size in cells made usable: `fallback` when unknown (0 or not a number), else >= 1. */
function dimension(n: number, fallback: number): number {
  if (!Number.isFinite(n) || n === 0) return fallback;
  return Math.max(1, Math.floor(n));
}
