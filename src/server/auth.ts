/**
 * The shared secret clients must send in their hello when the server has --token-file.
 *
 * The file is read once at start-up (files/small_file.ts: a regular file, at most 4 KiB); its trailing newline (or CRLF) is not part of the token. A
 * file that is empty or all white space is refused: a server that meant to require a token must
 * not silently require nothing. Comparison takes the same steps whatever the token and the
 * candidate hold: both are laid out in arrays of the longest token's size and compared in full,
 * so neither the content nor the length leaks through timing. (It spares `node:crypto`, whose
 * compatibility layer costs a small server about 6 MB.) The token is never logged, echoed in a
 * `bye`, or included in an error message.
 *
 * Requires `--allow-read` for the token file.
 *
 * @module
 */

import { ConntopError, ExitCode } from "../errors.ts";
import { readSmallFile, SmallFileError, TOKEN_FILE_MAX_BYTES } from "../files/mod.ts";

/** What the schema allows in a hello's token: 1 to 1,024 printable ASCII characters. */
const TOKEN_RE = /^[\x21-\x7e]{1,1024}$/;
/** The longest token (TOKEN_RE, and the schema's limit for a hello's token). */
const MAX_TOKEN = 1024;

/** A token to check hellos against. */
export class Token {
  #units: Uint16Array;

  /** A token with the text `secret` (already trimmed). */
  constructor(secret: string) {
    this.#units = layout(secret);
  }

  /** Whether `candidate` is the token, in time independent of the token. */
  matches(candidate: string | undefined): boolean {
    // Lay out even a missing token, so a hello without one takes as long as a wrong one.
    const other = layout(candidate ?? "");
    const mine = this.#units;
    let diff = candidate === undefined ? 1 : 0;
    for (let i = 0; i < mine.length; i++) diff |= mine[i]! ^ other[i]!;
    return diff === 0;
  }

  /** Never the secret: a Token that reaches a log or a message shows as this. */
  toString(): string {
    return "[token]";
  }

  /** Same as {@linkcode Token.toString}, for JSON.stringify. */
  toJSON(): string {
    return "[token]";
  }
}

/**
 * `text` as a fixed-size array: its length, then its UTF-16 code units, zeros after. Text longer
 * than {@linkcode MAX_TOKEN} (never a token: the schema refuses it) is marked by a length no
 * token has.
 */
function layout(text: string): Uint16Array {
  const out = new Uint16Array(MAX_TOKEN + 1);
  const n = Math.min(text.length, MAX_TOKEN);
  out[0] = text.length > MAX_TOKEN ? 0xffff : n;
  for (let i = 0; i < n; i++) out[i + 1] = text.charCodeAt(i);
  return out;
}

/**
 * Reads the token from `path` through the bounded reader (a regular file of at most 4 KiB; `warn`
 * gets a line when group or others may read it). Throws {@linkcode ConntopError} (exit 2) when
 * the file cannot be used, is empty or white space only, or holds characters a hello cannot
 * carry.
 */
export async function readToken(
  path: string,
  warn?: (line: string) => void,
): Promise<Token> {
  // The read is synchronous (a few KiB at start-up); callers await a promise either way.
  await Promise.resolve();
  let text: string;
  try {
    const f = readSmallFile(path, {
      what: "token file",
      maxBytes: TOKEN_FILE_MAX_BYTES,
      private: true,
    });
    if (f.warning !== undefined) warn?.(f.warning);
    text = f.text;
  } catch (err) {
    if (!(err instanceof SmallFileError)) throw err;
    throw new ConntopError(err.message, ExitCode.USAGE, { cause: err.cause });
  }
  const secret = text.replace(/\r?\n$/, "");
  if (secret.trim() === "") {
    throw new ConntopError(
      `Token file '${path}' is empty: put a secret of 1 to 1024 printable characters in it`,
      ExitCode.USAGE,
    );
  }
  if (!TOKEN_RE.test(secret)) {
    // Say what is wrong without quoting any of the secret.
    throw new ConntopError(
      `Token file '${path}' holds ${
        secret.length > 1024
          ? "more than 1024 characters"
          : "spaces, control or non-ASCII characters"
      }: a token is 1 to 1024 printable ASCII characters without spaces`,
      ExitCode.USAGE,
    );
  }
  return new Token(secret);
}
