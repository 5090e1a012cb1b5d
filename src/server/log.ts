/**
 * The server's log: one line per event, `2025-01-31T12:00:00.000Z LEVEL message`, to stderr or
 * appended to --log-file. Lines at a level quieter than the configured one are dropped.
 *
 * Writes are synchronous, so a line is out before the process exits on a signal. Nothing that
 * reaches the log may hold a token: callers pass only what a client may see itself.
 *
 * The log file is opened as root at a path an operator names, maybe in a directory others can
 * write: it is appended to only when it is a regular file, and never through a symbolic link (a
 * planted `conntopd.log` → /etc/shadow must not grow server lines).
 *
 * Requires `--allow-write` for the log file, when there is one (checked here: the file is opened
 * through the C library, which Deno's own checks do not see), and `--allow-ffi`.
 *
 * @module
 */

import {
  AT_FDCWD,
  closeFd,
  Errno,
  O_APPEND,
  O_CREAT,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_WRONLY,
  openAt,
  OsError,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  statAt,
  strerror,
  writeAll,
} from "../../ffi/libc.ts";
import { LOG_LEVELS, type LogLevel } from "../core/mod.ts";
import { ConntopError, errorReason, ExitCode } from "../errors.ts";
import { printable } from "../text/mod.ts";

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
 * Throws {@linkcode ConntopError} (exit 2) when the file cannot be opened, is a symbolic link
 * or is not a regular file, and `Deno.errors.NotCapable` without `--allow-write` for it.
 */
export function openLogger(level: LogLevel, file?: string): Logger {
  if (file === undefined) return new Logger(Deno.stderr, level);
  const fd = openLogFile(file);
  const sink = {
    writeSync(p: Uint8Array): number {
      writeAll(fd, p);
      return p.length;
    },
  };
  return new Logger(sink, level, () => closeFd(fd));
}

/**
 * Opens `file` for appending and returns its descriptor, through openat(2) with O_NOFOLLOW:
 * Deno.open has no such flag, and a check with lstat before Deno.open could be raced (a link
 * swapped in between is followed, and with `create` a file made where it points). O_NOFOLLOW
 * refuses a link at the last component in the same call that opens (or creates) the file, a
 * dangling link too (ELOOP); O_NONBLOCK keeps a FIFO from blocking start-up (ENXIO without a
 * reader), and the open file's own status refuses anything but a regular file.
 */
function openLogFile(file: string): number {
  const fail = (reason: string, cause?: unknown) =>
    new ConntopError(`Cannot open log file '${file}': ${reason}`, ExitCode.USAGE, { cause });
  if (Deno.permissions.querySync({ name: "write", path: file }).state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Requires write access to "${file}", run again with the --allow-write flag`,
    );
  }
  let fd: number;
  try {
    fd = openAt(AT_FDCWD, file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o640);
  } catch (err) {
    if (!(err instanceof OsError)) throw fail(errorReason(err), err);
    if (err.errno === Errno.ELOOP) throw fail("it is a symbolic link", err);
    if (err.errno === Errno.ENXIO) throw fail("it is not a regular file", err);
    throw fail(lowerFirst(strerror(err.errno)), err);
  }
  try {
    const type = statAt(fd).mode & S_IFMT;
    if (type === S_IFDIR) throw fail("it is a directory");
    if (type !== S_IFREG) throw fail("it is not a regular file");
    return fd;
  } catch (err) {
    closeFd(fd);
    if (err instanceof ConntopError) throw err;
    throw fail(err instanceof OsError ? lowerFirst(strerror(err.errno)) : errorReason(err), err);
  }
}

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}
