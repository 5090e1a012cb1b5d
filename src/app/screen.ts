/**
 * The monitor's screen: the terminal, the two cell buffers and the paint loop (as ratatui's):
 * the controller draws a frame into the next buffer, only the cells that differ from the last
 * frame are written, in one write, and the buffers swap. Paints are scheduled (many batches
 * and answers in one tick make one frame), a message on screen is taken down when it expires,
 * a resize repaints every cell, and the frame probe (`CONNTOP_PROBE`) hears of each frame.
 *
 * A write that fails because the terminal is gone (EIO: SSH dropped, window closed) is a
 * hang-up, passed on to the monitor to end the run as SIGHUP does; it is never thrown from a
 * timer. This module decides nothing about the data shown and never quits by itself.
 *
 * @module
 */

import { CellBuffer, type ColorDepth, detectColorDepth, diff, isHangUp, Tty } from "../term/mod.ts";
import type { InputEvent } from "../term/mod.ts";
import type { UiApp } from "../ui/mod.ts";
import { FrameProbe } from "./probe.ts";

/** How a screen draws, and what it tells the monitor. */
export interface ScreenOptions {
  /** The colour depth to draw in ({@linkcode colorDepth}). */
  depth: ColorDepth;
  /** A frame was written (the enrichment store asks about the addresses it needed). */
  afterFrame(): void;
  /** The terminal is gone: end the run as a hang-up. */
  onHangUp(): void;
  /** The terminal (tests give one on a fake io); default stdin and stdout. */
  tty?: Tty;
}

/** The terminal the monitor draws on. */
export class Screen {
  #app: UiApp;
  #depth: ColorDepth;
  #handlers: ScreenOptions;
  #tty: Tty;
  #probe = FrameProbe.fromEnv();
  #prev: CellBuffer | undefined;
  #next = new CellBuffer(1, 1);
  #paintTimer: ReturnType<typeof setTimeout> | undefined;
  #messageTimer: ReturnType<typeof setTimeout> | undefined;
  #unresize = () => {};

  /** A screen for `app`; the terminal is taken by {@linkcode enter}. */
  constructor(app: UiApp, options: ScreenOptions) {
    this.#app = app;
    this.#depth = options.depth;
    this.#handlers = options;
    this.#tty = options.tty ?? new Tty();
  }

  /** Takes the terminal (raw mode, the alternate screen) and repaints on every resize. */
  enter(): void {
    this.#tty.enter();
    this.#unresize = this.#tty.onResize(() => {
      this.#prev = undefined;
      this.paint("resize");
    });
  }

  /** Reads input events for `onEvents` until `signal` aborts or the terminal closes. */
  read(
    onEvents: (events: InputEvent[]) => void,
    signal: AbortSignal,
  ): ReturnType<Tty["readEvents"]> {
    return this.#tty.readEvents(onEvents, signal);
  }

  /** Draws a frame now; `cause` and `inputAt` (when the key was read) go to the frame probe. */
  paint(cause: string, inputAt?: number): void {
    const tty = this.#tty;
    if (!tty.active) return;
    const app = this.#app;
    const t0 = performance.now();
    const { columns, rows } = tty.size();
    app.resize(columns, rows);
    this.#next = app.frame(this.#next);
    const t1 = performance.now();
    const out = diff(this.#prev, this.#next, this.#depth);
    try {
      if (out !== "") tty.write(out);
    } catch (err) {
      if (!isHangUp(err)) throw err;
      return this.#handlers.onHangUp();
    }
    const t2 = performance.now();
    [this.#prev, this.#next] = [this.#next, this.#prev ?? new CellBuffer(columns, rows)];
    this.#handlers.afterFrame();
    this.#probe?.frame(cause, inputAt ?? t0, t0, app.lastRowsMs, t1 - t0, t2 - t1, t2, out.length);
    const until = app.messageUntil;
    clearTimeout(this.#messageTimer);
    if (until !== undefined) {
      this.#messageTimer = setTimeout(
        () => this.paint("message"),
        Math.max(10, until - Date.now() + 5),
      );
    }
  }

  /** Draws a frame soon: whatever else arrives in this tick is in it. */
  schedule(cause: string): void {
    if (this.#paintTimer !== undefined) return;
    this.#paintTimer = setTimeout(() => {
      this.#paintTimer = undefined;
      this.paint(cause);
    }, 0);
  }

  /** Makes the next frame write every cell (Ctrl-L, or something else wrote on the screen). */
  invalidate(): void {
    this.#prev = undefined;
  }

  /** Stops painting and gives the terminal back as it was. Safe to call twice. */
  restore(): void {
    clearTimeout(this.#paintTimer);
    clearTimeout(this.#messageTimer);
    this.#unresize();
    this.#unresize = () => {};
    this.#tty.restore();
  }

  /** Closes the frame probe (after {@linkcode restore}). */
  close(): void {
    this.#probe?.close();
  }
}

/** The colour depth to draw in (`color`: false for --no-color). */
export function colorDepth(color: boolean): ColorDepth {
  // Only the variables detectColorDepth reads (the binary may read only named ones).
  const env: Record<string, string | undefined> = {};
  for (const name of ["NO_COLOR", "CONNTOP_COLOR", "TERM", "COLORTERM"]) {
    env[name] = Deno.env.get(name);
  }
  return detectColorDepth(env, !color);
}
