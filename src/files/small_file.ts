/**
 * The one reader for the small files an operator names on the command line: the token file
 * (client and server), the client's --tls-ca, and the server's --tls-cert and --tls-key. Each
 * is read whole at start-up, so each must be a regular file of bounded size: a FIFO would hang
 * start-up until some writer came along, and /dev/zero (or a link to it) would be read until
 * memory ran out.
 *
 * The file is checked with stat before it is opened (so opening never blocks on a FIFO or a
 * device), checked again on the open file (the same regular file: a path swapped between the
 * two is refused), and read to at most its limit plus one byte (a file growing meanwhile is
 * still caught). It never reads a byte past the limit and never quotes the file's content in a
 * message (it may be a secret).
 *
 * Requires `--allow-read` for the file.
 *
 * @example
 * ```ts ignore
 * import { readSmallFile, TOKEN_FILE_MAX_BYTES } from "./small_file.ts";
 *
 * const { text, warning } = readSmallFile("/etc/conntop/token", {
 *   what: "token file",
 *   maxBytes: TOKEN_FILE_MAX_BYTES,
 *   private: true,
 * });
 * ```
 *
 * @module
 */

import { errorReason } from "../errors.ts";

/** Largest token file: a token is at most 1,024 characters; room for comments is not needed. */
export const TOKEN_FILE_MAX_BYTES = 4096;

/** Largest PEM file (a certificate chain or a key): 1 MiB. */
export const PEM_FILE_MAX_BYTES = 1 << 20;

/** How to read one file. */
export interface SmallFileOptions {
  /** What the file is, for messages: "token file", "--tls-ca file", "TLS key". */
  what: string;
  /** Refuse a file larger than this many bytes. */
  maxBytes: number;
  /** The file holds a secret: warn when group or others may read it. */
  private?: boolean;
}

/** A file read whole. */
export interface SmallFile {
  /** Its content, as UTF-8 (invalid bytes replaced). */
  text: string;
  /** One line to show the user (a secret readable by others), or undefined. */
  warning?: string;
}

/** A file that cannot be used: one line naming the file and why. */
export class SmallFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SmallFileError";
  }
}

/**
 * Reads `path` whole. Throws {@linkcode SmallFileError} ("Cannot read token file 'P': not a
 * regular file (a FIFO)") when it cannot be read, is not a regular file (after following
 * links), or is larger than `opts.maxBytes`; rethrows `Deno.errors.NotCapable` as it is.
 */
export function readSmallFile(path: string, opts: SmallFileOptions): SmallFile {
  const fail = (why: string, cause?: unknown) =>
    new SmallFileError(`Cannot read ${opts.what} '${path}': ${why}`, { cause });
  let before: Deno.FileInfo;
  try {
    before = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) throw err;
    throw fail(errorReason(err), err);
  }
  // Before opening: opening a FIFO for reading blocks until a writer opens it.
  if (!before.isFile) throw fail(`not a regular file (${kindOf(before)})`);
  if (before.size > opts.maxBytes) throw fail(tooLarge(opts.maxBytes));
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) throw err;
    throw fail(errorReason(err), err);
  }
  try {
    const info = file.statSync();
    // The path may have been swapped for something else between the stat and the open.
    if (!info.isFile || info.ino !== before.ino || info.dev !== before.dev) {
      throw fail("it changed while being opened");
    }
    const buf = new Uint8Array(opts.maxBytes + 1);
    let len = 0;
    for (;;) {
      let n: number | null;
      try {
        n = file.readSync(buf.subarray(len));
      } catch (err) {
        throw fail(errorReason(err), err);
      }
      if (n === null) break;
      len += n;
      if (len > opts.maxBytes) throw fail(tooLarge(opts.maxBytes));
    }
    const text = new TextDecoder().decode(buf.subarray(0, len));
    const shared = info.mode === null ? 0 : info.mode & 0o044;
    if (opts.private !== true || shared === 0) return { text };
    const mode = (info.mode! & 0o777).toString(8).padStart(4, "0");
    return {
      text,
      warning: `The ${opts.what} '${path}' is readable by ${
        shared === 0o044 ? "group and others" : shared === 0o040 ? "its group" : "others"
      } (mode ${mode}): make it private with 'chmod 600 ${path}'`,
    };
  } finally {
    file.close();
  }
}

function tooLarge(max: number): string {
  return `larger than ${max >= 1 << 20 ? `${max >> 20} MiB` : `${max} bytes`}`;
}

function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a file";
}
