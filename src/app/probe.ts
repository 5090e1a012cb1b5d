/**
 * The frame probe: when `CONNTOP_PROBE=FILE` is set, the monitor appends one NDJSON line per
 * frame with what caused it and where the time went. The UI benchmark reads it to measure
 * keypress-to-screen latency and frame time without timing anything from outside.
 *
 * Line fields (milliseconds, from `performance.now()` of the conntop process):
 * `cause` ("key", "batch", "resize", …), `input` (when the input was read), `start`,
 * `rows` (recomputing the rows for this frame, in it or while handling its key; 0 when they
 * were current), `render` (rows + drawing the cell buffer), `diff` (diff and
 * write), `written` (when the write returned), `bytes` (escape bytes written).
 *
 * @module
 */

/** Appends frame timings to a file. */
export class FrameProbe {
  #file: Deno.FsFile;
  #enc = new TextEncoder();

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** A probe writing to `$CONNTOP_PROBE`, or undefined when it is not set. */
  static fromEnv(): FrameProbe | undefined {
    const path = Deno.env.get("CONNTOP_PROBE");
    if (path === undefined || path === "") return undefined;
    return new FrameProbe(Deno.openSync(path, { append: true, create: true }));
  }

  /** Records one frame. */
  frame(
    cause: string,
    input: number,
    start: number,
    rows: number,
    render: number,
    diff: number,
    written: number,
    bytes: number,
  ): void {
    const line = JSON.stringify({ cause, input, start, rows, render, diff, written, bytes });
    try {
      this.#file.writeSync(this.#enc.encode(line + "\n"));
    } catch {
      // A probe must never break the UI.
    }
  }

  /** Closes the file. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}
