/**
 * The server's log: one line per event, `2025-01-31T12:00:00.000Z LEVEL message`, to stderr or
 * appended to --log-file. Lines at a level quieter than the configured one are dropped.
 *
 * Writes are synchronous, so a line is out before the process exits on a signal. Nothing that
 * reaches the log may hold a token: callers pass only what a client may see itself.
 *
 * Requires `--allow-write` for the log file, when there is one.
 *
 * @module
 */

import { LOG_LEVELS, type LogLevel } from "../cli/remote.ts";
import { ConntopError, errorReason, ExitCode } from "../errors.ts";
import { printable } from "../text/printable.ts";

/** Where log lines go. */
export interface LogSink {
  writeSync(p: Uint8Array): number;
}

/** A leveled, line-oriented logger. */
export class Logger {
  #sink: LogSink;
  #level: number;
  #close: (() => void) | undefined;
  #encoder = new TextEncoder();

  /** Logs lines at `level` and louder into `sink`; `close` runs on {@linkcode Logger.close}. */
  constructor(sink: LogSink, level: LogLevel, close?: () => void) {
    this.#sink = sink;
    this.#level = LOG_LEVELS.indexOf(level);
    this.#close = close;
  }

  /** Whether lines at `level` are written. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.#level;
  }

  /** Something failed that ends the server or a client for a reason of the server's own. */
  error(message: string): void {
    this.#write("error", message);
  }

  /** Something an operator should look at. */
  warning(message: string): void {
    this.#write("warning", message);
  }

  /** Clients coming and going, the server starting and stopping. */
  info(message: string): void {
    this.#write("info", message);
  }

  /** Details for debugging (--verbose). */
  debug(message: string): void {
    this.#write("debug", message);
  }

  /** Closes the log file, if any; safe to call twice. */
  close(): void {
    this.#close?.();
    this.#close = undefined;
  }

  #write(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    // One line each, whatever the message holds: it may quote a client's name, a collector
    // error or kernel text, so nothing in it reaches the log raw.
    const text = printable(message);
    const bytes = this.#encoder.encode(
      `${new Date().toISOString()} ${level.toUpperCase()} ${text}\n`,
    );
    try {
      let off = 0;
      while (off < bytes.length) off += this.#sink.writeSync(bytes.subarray(off));
    } catch {
      // A log that cannot be written must not take the server down.
    }
  }
}

/**
 * The logger for `level`: appending to `file` (created if missing, mode 0640) or to stderr.
 * Throws {@linkcode ConntopError} (exit 2) when the file cannot be opened.
 */
export function openLogger(level: LogLevel, file?: string): Logger {
  if (file === undefined) return new Logger(Deno.stderr, level);
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(file, { append: true, create: true, mode: 0o640 });
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) throw err;
    throw new ConntopError(
      `Cannot open log file '${file}': ${errorReason(err)}`,
      ExitCode.USAGE,
      { cause: err },
    );
  }
  return new Logger(f, level, () => f.close());
}
