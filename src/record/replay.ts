/**
 * Plays a recording (format in format.ts) back as the stream of batches the UI received, at
 * the recorded pace times a speed, with pause. Playing needs no root and touches no kernel
 * interface: it only reads the file.
 *
 * The file is streamed, never loaded whole: a recording of a large table runs to gigabytes.
 * A damaged recording (cut short, corrupt line, broken gzip) plays up to the damage, then says
 * where it is.
 *
 * Requires `--allow-read`.
 *
 * @example
 * ```ts
 * import { Replay } from "./replay.ts";
 *
 * const replay = await Replay.open("/tmp/conntop.ndjson.gz");
 * replay.setSpeed(4);
 * await replay.run({
 *   onBatch: (batch) => console.log(batch.seq, batch.count),
 *   onEnd: ({ batches, damaged }) => console.log(damaged ?? `${batches} batches`),
 * }, AbortSignal.timeout(60_000));
 * ```
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import { RECORD_SIZE } from "../conntrack/mod.ts";
import { ConntopError, errorReason, ExitCode } from "../errors.ts";
import { localListProblem } from "../conntrack/mod.ts";
import {
  MAX_BATCH_EXTRAS,
  MAX_BATCH_OWNERS,
  MAX_BATCH_RECORDS,
  MAX_SERVER_MESSAGE_BYTES,
} from "../protocol/mod.ts";
import {
  DamagedRecordingError,
  decodeBatch,
  decodeLine,
  type EndLine,
  headerProblem,
  RECORDING_TYPE,
  type RecordingHeader,
  type WarningLine,
} from "./format.ts";

/** The slowest and fastest playback speeds. */
export const MIN_SPEED = 1 / 16;
/** See {@linkcode MIN_SPEED}. */
export const MAX_SPEED = 64;
/** The longest gap in recorded time played as it was; longer gaps are shortened to this. */
export const MAX_GAP_MS = 5000;

/** Longest header line, newline excluded: the protocol's largest message (4 MiB). */
export const MAX_HEADER_LINE_BYTES = MAX_SERVER_MESSAGE_BYTES;

/**
 * Longest line after the header, newline excluded: 256 MiB, a batch of about 1.4 million
 * connections. A recording holds each batch whole on one line, so this is the bound of what
 * playing holds at once (reading a line takes about four times its size).
 */
export const MAX_RECORDING_LINE_BYTES = 256 << 20;

/** One line of a recording as {@linkcode readRecording} yields it. */
export interface RecordingEntry {
  /** The 1-based line number in the (decompressed) file. */
  line: number;
  /** The line: the header, a batch as the collector sent it, a warning, or the end. */
  value: RecordingHeader | BatchMessage | WarningLine | EndLine;
}

/** What {@linkcode Replay.run} calls as it plays. */
export interface ReplayHandlers {
  /** A batch, with its records as ArrayBuffers of the original chunk sizes. */
  onBatch(batch: BatchMessage): void;
  /** A collector warning, in its place among the batches. */
  onWarning?(message: string): void;
  /**
   * Playback ended: complete, or damaged, with a line for the user: "Recording '<path>' is
   * damaged at line N: <detail>; played N batches up to it", or "Recording '<path>' is cut
   * short after N batches (no end line)".
   */
  onEnd?(result: { batches: number; damaged?: string }): void;
}

/**
 * Reads the recording at `path` line by line, streaming (gunzipping when the name ends in
 * `.gz`), and yields each line decoded: the header first, then batches (records as
 * ArrayBuffers) and warnings, and last the end line, after which it stops.
 *
 * Throws a {@linkcode ConntopError} (exit code 1) when the file cannot be opened, and a
 * {@linkcode DamagedRecordingError} at the first damage: a first line that is not a header, a
 * line that is not valid JSON or of no known type, a batch whose records do not decode to whole
 * records, a broken gzip stream, or the end of the file without an end line (`cutShort`).
 * Everything before the damage has been yielded. Header versions and record sizes are not
 * checked here (see {@linkcode headerProblem}); batches are decoded with the header's record
 * size.
 *
 * Breaking out of the loop closes the file.
 */
export async function* readRecording(path: string): AsyncGenerator<RecordingEntry, void, void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    throw new ConntopError(
      `Cannot open recording '${path}': ${errorReason(err)}`,
      ExitCode.FAILURE,
      { cause: err },
    );
  }
  const gzip = path.endsWith(".gz");
  const stream = gzip ? file.readable.pipeThrough(new DecompressionStream("gzip")) : file.readable;
  let header: RecordingHeader | undefined;
  const lines = splitLines(
    stream,
    () => header === undefined ? MAX_HEADER_LINE_BYTES : MAX_RECORDING_LINE_BYTES,
  );
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  let lineNo = 0;
  let batches = 0;
  const damage = (detail: string, cause?: unknown) =>
    new DamagedRecordingError(path, Math.max(lineNo, 1), detail, { cause });
  try {
    while (true) {
      let next: IteratorResult<{ bytes: Uint8Array; terminated: boolean }>;
      try {
        next = await lines.next();
      } catch (err) {
        lineNo++;
        if (err instanceof LineTooLongError) {
          const what = `line ${lineNo} is longer than ${err.limit >> 20} MiB`;
          throw damage(
            header === undefined
              ? `not a conntop recording (${what})`
              : `the ${what.replace(/^line \d+/, "line")}`,
          );
        }
        const detail = gzip
          ? `cannot decompress (${errorReason(err)})`
          : `cannot read (${errorReason(err)})`;
        throw damage(detail, err);
      }
      if (next.done) break;
      lineNo++;
      const { bytes, terminated } = next.value;
      if (bytes.length === 0) continue; // a blank line carries nothing to lose
      let value;
      try {
        value = decodeLine(utf8.decode(bytes));
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        if (header === undefined) throw damage(`not a conntop recording (${why})`, err);
        throw damage(terminated ? why : "the line is cut short", err);
      }
      if (header === undefined) {
        if (value.type !== RECORDING_TYPE) {
          throw damage(`not a conntop recording (first line is of type '${value.type}')`);
        }
        header = value;
        yield { line: lineNo, value };
        continue;
      }
      switch (value.type) {
        case RECORDING_TYPE:
          throw damage("a second header");
        case "batch": {
          let batch: BatchMessage;
          try {
            batch = decodeBatch(value, header.recordSize);
          } catch (err) {
            throw damage(err instanceof Error ? err.message : String(err), err);
          }
          const over = batchProblem(batch);
          if (over !== undefined) throw damage(over);
          batches++;
          yield { line: lineNo, value: batch };
          break;
        }
        case "warning":
          yield { line: lineNo, value };
          break;
        case "end":
          yield { line: lineNo, value };
          return;
      }
    }
    if (header === undefined) throw damage("not a conntop recording (the file is empty)");
    throw new DamagedRecordingError(
      path,
      lineNo + 1,
      `cut short after ${countBatches(batches)} (no end line)`,
      { cutShort: true },
    );
  } finally {
    await lines.return(undefined);
    try {
      file.close();
    } catch {
      // The stream closed it already.
    }
  }
}

/**
 * A recording opened for playback. {@linkcode Replay.open} checks the header;
 * {@linkcode Replay.run} plays the batches to handlers, controlled meanwhile by speed and pause.
 */
export class Replay {
  /** The recording's path. */
  readonly path: string;
  /** The recording's header. */
  readonly header: RecordingHeader;
  #speed = 1;
  #paused = false;
  #positionMs: number;
  #batches = 0;
  #ended = false;
  #running = false;
  /** Wakes the current wait when the pause or the speed changes. */
  #wake: (() => void) | undefined;

  private constructor(path: string, header: RecordingHeader) {
    this.path = path;
    this.header = header;
    this.#positionMs = startMs(header);
  }

  /**
   * Opens the recording at `path` and reads its header, then closes it until
   * {@linkcode run}. Throws a {@linkcode ConntopError} with exit code 2 naming the file when it
   * is missing or unreadable, not a conntop recording, of an unsupported version, or of another
   * record size.
   */
  static async open(path: string): Promise<Replay> {
    let header: RecordingHeader | undefined;
    try {
      for await (const entry of readRecording(path)) {
        header = entry.value as RecordingHeader; // readRecording yields the header first
        break;
      }
    } catch (err) {
      if (err instanceof DamagedRecordingError) {
        throw new ConntopError(`Cannot replay '${path}': ${err.detail}`, ExitCode.USAGE, {
          cause: err,
        });
      }
      if (err instanceof ConntopError) {
        throw new ConntopError(err.message, ExitCode.USAGE, { cause: err.cause });
      }
      throw err;
    }
    if (header === undefined) {
      throw new ConntopError(`Cannot replay '${path}': not a conntop recording`, ExitCode.USAGE);
    }
    const problem = headerProblem(header, RECORD_SIZE);
    if (problem !== undefined) {
      throw new ConntopError(`Cannot replay '${path}': ${problem}`, ExitCode.USAGE);
    }
    return new Replay(path, header);
  }

  /** Playback speed as a multiple of the recorded pace, within [1/16, 64]; default 1. */
  get speed(): number {
    return this.#speed;
  }

  set speed(s: number) {
    this.setSpeed(s);
  }

  /** Sets the speed (clamped to [1/16, 64]; not a number is ignored), for the current wait too. */
  setSpeed(s: number): void {
    if (Number.isNaN(s)) return;
    this.#speed = Math.min(MAX_SPEED, Math.max(MIN_SPEED, s));
    this.#wake?.();
  }

  /** Whether playback is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Stops the clock: nothing is delivered until {@linkcode resume}. */
  pause(): void {
    this.#paused = true;
    this.#wake?.();
  }

  /** Restarts the clock where it stopped. */
  resume(): void {
    this.#paused = false;
    this.#wake?.();
  }

  /** Pauses or resumes; returns the new paused state. */
  togglePause(): boolean {
    if (this.#paused) this.resume();
    else this.pause();
    return this.#paused;
  }

  /** The recorded time (ms since the epoch) of the last batch delivered, or the header's time. */
  get positionMs(): number {
    return this.#positionMs;
  }

  /** Batches delivered so far. */
  get batches(): number {
    return this.#batches;
  }

  /** Whether playback reached its end (complete or damaged). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Plays the recording from its start: the first batch at once, each next one after its
   * recorded delay divided by the speed (a gap longer than {@linkcode MAX_GAP_MS} counts as
   * that long), warnings in their place. Pausing stops the clock; changing the speed takes
   * effect at once. Resolves after `onEnd`, or early, without `onEnd`, when `signal` aborts.
   * Rejects when a handler throws, or when already running.
   */
  async run(handlers: ReplayHandlers, signal: AbortSignal): Promise<void> {
    if (this.#running) {
      throw new ConntopError(`Cannot replay '${this.path}': it is already playing`);
    }
    this.#running = true;
    this.#batches = 0;
    this.#ended = false;
    this.#positionMs = startMs(this.header);
    /** Recorded time of the last thing delivered; undefined before the first batch. */
    let clock: number | undefined;
    const entries = readRecording(this.path);
    try {
      while (!signal.aborted) {
        let next: IteratorResult<RecordingEntry>;
        try {
          next = await entries.next();
        } catch (err) {
          if (!(err instanceof DamagedRecordingError)) throw err;
          this.#end(handlers, damageLine(err, this.#batches));
          return;
        }
        if (next.done) break;
        const value = next.value.value;
        switch (value.type) {
          case RECORDING_TYPE:
            break;
          case "warning":
            if (!await this.#wait(clock === undefined ? 0 : value.timeMs - clock, signal)) return;
            if (clock !== undefined) clock = Math.max(clock, value.timeMs);
            handlers.onWarning?.(value.message);
            break;
          case "batch":
            if (!await this.#wait(clock === undefined ? 0 : value.timeMs - clock, signal)) return;
            clock = value.timeMs;
            this.#positionMs = value.timeMs;
            this.#batches++;
            handlers.onBatch(value);
            break;
          case "end":
            this.#end(handlers, undefined);
            return;
        }
      }
    } finally {
      await entries.return(undefined);
      this.#running = false;
    }
  }

  #end(handlers: ReplayHandlers, damaged: string | undefined): void {
    this.#ended = true;
    handlers.onEnd?.(
      damaged === undefined ? { batches: this.#batches } : { batches: this.#batches, damaged },
    );
  }

  /**
   * Waits `recordedMs` of recorded time at the current speed, stopping the clock while paused
   * (even for a wait of zero). False when `signal` aborted it.
   */
  async #wait(recordedMs: number, signal: AbortSignal): Promise<boolean> {
    let remaining = Math.min(Math.max(recordedMs, 0), MAX_GAP_MS);
    while (!signal.aborted && (this.#paused || remaining > 0)) {
      const paused = this.#paused;
      const speed = this.#speed;
      const started = performance.now();
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          this.#wake = undefined;
          resolve();
        };
        const timer = paused ? undefined : setTimeout(done, remaining / speed);
        signal.addEventListener("abort", done);
        this.#wake = done;
      });
      if (!paused) remaining -= (performance.now() - started) * speed;
    }
    return !signal.aborted;
  }
}

/** The line for the user about a damaged recording, counting the batches played. */
function damageLine(err: DamagedRecordingError, batches: number): string {
  if (err.cutShort) return `Recording '${err.path}' is ${err.detail}`;
  return `${err.message}; played ${countBatches(batches)} up to it`;
}

/** The protocol's limits on one batch (protocol/messages.ts), which a recording keeps too. */
function batchProblem(b: BatchMessage): string | undefined {
  if (b.count > MAX_BATCH_RECORDS) return `batch holds more than ${MAX_BATCH_RECORDS} records`;
  if (b.extras.length > MAX_BATCH_EXTRAS) {
    return `batch holds more than ${MAX_BATCH_EXTRAS} extras`;
  }
  if ((b.owners?.length ?? 0) > MAX_BATCH_OWNERS) {
    return `batch holds more than ${MAX_BATCH_OWNERS} owners`;
  }
  return b.local === undefined ? undefined : localListProblem(b.local);
}

/** A line longer than splitLines' limit. */
class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`line longer than ${limit} bytes`);
    this.name = "LineTooLongError";
  }
}

/** "1 batch", "2 batches". */
function countBatches(n: number): string {
  return n === 1 ? "1 batch" : `${n} batches`;
}

/** The header's creation time in ms since the epoch, or 0 when it does not parse. */
function startMs(header: RecordingHeader): number {
  const ms = Date.parse(header.created);
  return Number.isNaN(ms) ? 0 : ms;
}

/**
 * Splits a byte stream into lines at "\n". Yields each line's bytes without the newline, and
 * whether a newline ended it (only the last line of a file may lack one). Throws
 * {@linkcode LineTooLongError} as soon as a line passes `limit()` bytes, never holding more.
 */
async function* splitLines(
  stream: ReadableStream<Uint8Array>,
  limit: () => number,
): AsyncGenerator<{ bytes: Uint8Array; terminated: boolean }, void, void> {
  // A batch of a large table is one line of tens of megabytes: gather its pieces and join
  // them once, rather than growing a buffer chunk by chunk.
  let pending: Uint8Array[] = [];
  let pendingLength = 0;
  const take = (tail: Uint8Array): Uint8Array => {
    if (pending.length === 0) return tail;
    const out = new Uint8Array(pendingLength + tail.length);
    let off = 0;
    for (const piece of pending) {
      out.set(piece, off);
      off += piece.length;
    }
    out.set(tail, off);
    pending = [];
    pendingLength = 0;
    return out;
  };
  const reader = stream.getReader();
  let settled = false;
  try {
    while (true) {
      let chunk: Uint8Array;
      try {
        const next = await reader.read();
        if (next.done) break;
        chunk = next.value;
      } catch (err) {
        settled = true;
        throw err;
      }
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(0x0a, start);
        const max = limit();
        if (nl < 0) {
          if (pendingLength + chunk.length - start > max) {
            settled = true;
            reader.cancel().catch(() => {});
            throw new LineTooLongError(max);
          }
          const rest = chunk.slice(start); // the stream may reuse its chunk
          pending.push(rest);
          pendingLength += rest.length;
          break;
        }
        if (pendingLength + nl - start > max) {
          settled = true;
          reader.cancel().catch(() => {});
          throw new LineTooLongError(max);
        }
        yield { bytes: take(chunk.subarray(start, nl)), terminated: true };
        start = nl + 1;
      }
    }
    settled = true;
  } finally {
    // Stopped early: cancel the stream, which closes the file. Not through `for await`: with
    // Deno 2.9, its cancel raced with a failing gunzip and left a rejection unhandled, which
    // ends the process.
    if (!settled) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  if (pendingLength > 0) yield { bytes: take(new Uint8Array(0)), terminated: false };
}
