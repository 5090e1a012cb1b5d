/**
 * Why a connection to a conntop server failed or ended, as one error class whose `kind` says
 * whether trying again can help and which exit code `--once`/`--stream` leave with:
 *
 * | kind       | retried by the monitor | exit code |
 * | ---------- | ---------------------- | --------- |
 * | `network`  | yes                    | 1         |
 * | `protocol` | yes                    | 1         |
 * | `server`   | yes (see `minDelayMs`) | 1         |
 * | `auth`     | no                     | 2         |
 * | `version`  | no                     | 2         |
 * | `tls`      | no                     | 2         |
 *
 * Messages are one line, name the server as the user gave it, and never contain the token.
 *
 * @module
 */

import { ConntopError, ExitCode } from "../errors.ts";

/** What went wrong with a server connection (see the module's table). */
export type RemoteErrorKind = "network" | "protocol" | "server" | "auth" | "version" | "tls";

/** Options of {@linkcode RemoteError}. */
export interface RemoteErrorOptions extends ErrorOptions {
  /** Wait at least this long before trying again (a server that asked for patience). */
  minDelayMs?: number;
  /** A few words for the monitor's header, e.g. "connection refused" (default: the message). */
  brief?: string;
}

/** A failed or lost connection to a server. */
export class RemoteError extends ConntopError {
  /** What went wrong. */
  readonly kind: RemoteErrorKind;
  /** Wait at least this long before trying again (0: the usual backoff). */
  readonly minDelayMs: number;
  /** A few words for the monitor's header, e.g. "connection refused". */
  readonly brief: string;

  constructor(kind: RemoteErrorKind, message: string, options?: RemoteErrorOptions) {
    super(message, FINAL_KINDS.has(kind) ? ExitCode.USAGE : ExitCode.FAILURE, options);
    this.name = "RemoteError";
    this.kind = kind;
    this.minDelayMs = options?.minDelayMs ?? 0;
    this.brief = options?.brief ?? message;
  }

  /** Whether connecting again may work (false: the same thing would happen again). */
  get retryable(): boolean {
    return !FINAL_KINDS.has(this.kind);
  }
}

/** Kinds that trying again cannot fix without the user changing something. */
const FINAL_KINDS: ReadonlySet<RemoteErrorKind> = new Set(["auth", "version", "tls"]);

/**
 * Text from a server (names, warnings, bye messages) is shown through the project's one
 * sanitiser; re-exported here for the client's modules.
 */
export { printable } from "../text/mod.ts";
