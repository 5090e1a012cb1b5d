/**
 * Writes a recording (format in format.ts) while the UI runs: the header, each batch and
 * warning as it arrives, and the end line on close.
 *
 * It must never slow the UI down or lose the bytes it was handed: a batch is encoded at once,
 * synchronously (the model may adopt or change the batch's buffers right after), and the line
 * is queued on a stream that writes it when the disk is ready. A slow disk grows the queue; a
 * failed write is remembered, shown by the UI, and later lines are dropped.
 *
 * conntop records as root to a path a user names, maybe in a directory others can write (/tmp):
 * a name planted there (a link to /etc/shadow) must never be followed, nor a file overwritten.
 * So the recording is always a new file, created exclusively (O_CREAT|O_EXCL refuses anything
 * at the name, a link too, dangling or not) and private (mode 0600: it holds the whole table).
 * The monitor creates it before it takes the terminal ({@linkcode createRecordingFile}) and
 * starts the recording once the collector is ready ({@linkcode Recorder.start}).
 *
 * Requires `--allow-write` (and `--allow-sys` for the host name, which is left empty without
 * it).
 *
 * @example
 * ```ts
 * import { Recorder } from "./recorder.ts";
 *
 * // Refused when the file exists: a recording never overwrites one.
 * const recorder = await Recorder.open("/tmp/conntop.ndjson.gz", {
 *   intervalMs: 1000,
 *   netns: null,
 *   ready: { warnings: [], flowtables: false },
 * });
 * // for each batch, before the model applies it: recorder.writeBatch(batch);
 * await recorder.close();
 * ```
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import { CHUNK_RECORDS } from "../core/mod.ts";
import { RECORD_SIZE } from "../conntrack/mod.ts";
import { ConntopError, errorReason, ExitCode } from "../errors.ts";
import { VERSION } from "../version.ts";
import {
  encodeBatch,
  encodeEnd,
  encodeHeader,
  encodeWarning,
  type RecordingReady,
} from "./format.ts";

/** What the header says about the run being recorded. */
export interface RecordingMeta {
  /** The refresh interval in milliseconds. */
  intervalMs: number;
  /** The network namespace monitored, or null for conntop's own. */
  netns: string | null;
  /** What the collector's ready message said. */
  ready: RecordingReady;
  /** The host recorded (default: this one; a server's name with --connect). */
  host?: string;
}

const encoder = new TextEncoder();

/** Options of {@linkcode Recorder.open}. */
export interface RecorderOptions {
  /**
   * Called once, at the first failed write, with the reason as a phrase starting with a capital
   * ("No space left on device"), so the UI can show it at once rather than at close.
   */
  onError?(reason: string): void;
}

/** An open recording being written. Gzip-compressed when the path ends in `.gz`. */
export class Recorder {
  /** The recording's path. */
  readonly path: string;
  #file: Deno.FsFile;
  #writer: WritableStreamDefaultWriter<Uint8Array<ArrayBuffer>>;
  /** Settles when compressed bytes have all reached the file (resolved when not compressing). */
  #piped: Promise<void>;
  #error: string | undefined;
  #cause: unknown;
  #closing: Promise<void> | undefined;
  #onError: ((reason: string) => void) | undefined;

  private constructor(path: string, file: Deno.FsFile, options: RecorderOptions) {
    this.path = path;
    this.#file = file;
    this.#onError = options.onError;
    const sink = fileSink(file);
    if (path.endsWith(".gz")) {
      const gzip = new CompressionStream("gzip");
      this.#piped = gzip.readable.pipeTo(sink).catch((err) => this.#fail(err));
      this.#writer = gzip.writable.getWriter();
    } else {
      this.#piped = Promise.resolve();
      this.#writer = sink.getWriter();
    }
  }

  /**
   * Creates the recording at `path` ({@linkcode createRecordingFile}) and queues its header.
   * Throws a {@linkcode ConntopError} (exit code 2) naming the path when it exists or cannot be
   * created.
   */
  static async open(
    path: string,
    meta: RecordingMeta,
    options: RecorderOptions = {},
  ): Promise<Recorder> {
    return Recorder.start(path, await createRecordingFile(path), meta, options);
  }

  /**
   * Starts a recording in `file`, open for writing (made by {@linkcode createRecordingFile}),
   * and queues its header; `path` names it in messages and `.gz` asks for gzip. The recorder
   * owns `file` from now on and closes it.
   */
  static start(
    path: string,
    file: Deno.FsFile,
    meta: RecordingMeta,
    options: RecorderOptions = {},
  ): Recorder {
    const recorder = new Recorder(path, file, options);
    recorder.#enqueue(encodeHeader({
      recordSize: RECORD_SIZE,
      chunkRecords: CHUNK_RECORDS,
      created: new Date().toISOString(),
      host: meta.host ?? hostname(),
      conntop: VERSION,
      intervalMs: meta.intervalMs,
      netns: meta.netns,
      ready: { warnings: [...meta.ready.warnings], flowtables: meta.ready.flowtables },
    }));
    return recorder;
  }

  /**
   * Encodes `batch` now, synchronously, so its buffers may be adopted or changed as soon as this
   * returns, and queues the line. Never waits for the disk. Ignored after a write error or
   * {@linkcode close}.
   */
  writeBatch(batch: BatchMessage): void {
    if (this.#error !== undefined || this.#closing !== undefined) return;
    this.#enqueue(encodeBatch(batch));
  }

  /** Queues a collector warning, stamped `timeMs` (now by default). */
  writeWarning(message: string, timeMs: number = Date.now()): void {
    if (this.#error !== undefined || this.#closing !== undefined) return;
    this.#enqueue(encodeWarning(message, timeMs));
  }

  /**
   * Writes the end line, waits for everything queued to reach the file (with the gzip trailer)
   * and closes it. Safe to call more than once: every call returns the same promise. Rejects
   * with a {@linkcode ConntopError} when any write failed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#finish();
    return this.#closing;
  }

  /** Closes the recording (see {@linkcode close}). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The first write error, as a line for the user, or undefined while all is well. */
  get error(): string | undefined {
    return this.#error;
  }

  #enqueue(line: string | Uint8Array<ArrayBuffer>): void {
    // The stream queues without limit; the rejection is the only way a failure shows up.
    const bytes = typeof line === "string" ? encoder.encode(line) : line;
    this.#writer.write(bytes).catch((err) => this.#fail(err));
  }

  #fail(err: unknown): void {
    if (this.#error !== undefined) return;
    const reason = errorReason(err);
    this.#error = `Cannot write recording '${this.path}': ${reason}`;
    this.#cause = err;
    this.#onError?.(reason.charAt(0).toUpperCase() + reason.slice(1));
  }

  async #finish(): Promise<void> {
    if (this.#error === undefined) this.#enqueue(encodeEnd(Date.now()));
    try {
      await this.#writer.close();
    } catch (err) {
      this.#fail(err);
    }
    await this.#piped;
    try {
      // Closing the sink closes the file, except when a write failed.
      this.#file.close();
    } catch (err) {
      if (!(err instanceof Deno.errors.BadResource)) this.#fail(err);
    }
    if (this.#error !== undefined) {
      throw new ConntopError(this.#error, ExitCode.FAILURE, { cause: this.#cause });
    }
  }
}

/**
 * Creates the file for a recording at `path`: exclusively, so an existing file is never
 * overwritten and no link is followed (a link at `path`, dangling or not, counts as existing),
 * and private (mode 0600, less with the umask). Throws a {@linkcode ConntopError} with exit
 * code 2, like any bad option value refused before the monitor starts:
 * `Cannot create recording 'P': it already exists (conntop never overwrites a file)`.
 */
export async function createRecordingFile(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  } catch (err) {
    // Deno refuses devices and /proc without --allow-all, and its hint names that flag,
    // which the user cannot give the binary: say what conntop writes to instead.
    const reason = err instanceof Deno.errors.AlreadyExists
      ? "it already exists (conntop never overwrites a file)"
      : err instanceof Deno.errors.NotCapable
      ? "conntop records to files, not to devices or /proc"
      : errorReason(err);
    throw new ConntopError(`Cannot create recording '${path}': ${reason}`, ExitCode.USAGE, {
      cause: err,
    });
  }
}

/**
 * Closes `file`, made by {@linkcode createRecordingFile} at `path` for a recording that never
 * started (the run ended before the collector was ready), and removes it, so the next run may
 * use the name. Only when `path` still names that very file (same device and inode, not a
 * link): a name swapped meanwhile is left alone. Errors are ignored (the run's own error is the
 * one to report).
 */
export function discardRecordingFile(path: string, file: Deno.FsFile): void {
  try {
    const mine = file.statSync();
    const now = Deno.lstatSync(path);
    if (now.isFile && now.dev === mine.dev && now.ino === mine.ino && mine.size === 0) {
      Deno.removeSync(path);
    }
  } catch {
    // Gone already, or not ours to remove.
  } finally {
    try {
      file.close();
    } catch {
      // Closed already.
    }
  }
}

/**
 * A stream writing to `file` that closes it when closed.
 *
 * Not `file.writable`: in Deno 2.9 its writes of less than 64 KiB report success even when the
 * write fails (seen with ENOSPC on /dev/full), and a full disk must not go unnoticed.
 */
function fileSink(file: Deno.FsFile): WritableStream<Uint8Array<ArrayBuffer>> {
  return new WritableStream({
    async write(chunk) {
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
    },
    close() {
      file.close();
    },
  });
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    // No --allow-sys: the recording is still useful without it.
    return "";
  }
}
