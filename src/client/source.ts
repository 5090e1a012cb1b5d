/**
 * A server as a data source: the remote counterpart of app/session.ts's runSession. It
 * connects, hands over batches and warnings, reports the connection's state, and after a lost
 * connection tries again with exponential backoff, as far as its {@linkcode RetryPolicy}
 * allows. Errors trying again cannot fix (wrong token, another protocol version, an untrusted
 * certificate) are never retried.
 *
 * The first batch of every connection is a snapshot (`reset: true`): it replaces whatever the
 * receiver had, so a reconnection needs nothing more from the receiver than applying it.
 *
 * Requires `--allow-net`, and `--allow-read` for {@linkcode connectOptions}' files.
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import type { RemoteOptions } from "../core/mod.ts";
import { EnvironmentError } from "../errors.ts";
import {
  PEM_FILE_MAX_BYTES,
  readSmallFile,
  SmallFileError,
  type SmallFileOptions,
  TOKEN_FILE_MAX_BYTES,
} from "../files/mod.ts";
import type { Banner, Welcome } from "../protocol/mod.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { type ConnectOptions, ServerConnection } from "./connection.ts";
import { RemoteError } from "./errors.ts";

/** Where a remote source stands. */
export type RemoteState =
  /** Connecting; `attempt` counts attempts since the last connection that worked, from 1. */
  | { kind: "connecting"; attempt: number }
  /** Past the handshake. */
  | { kind: "connected"; banner: Banner; welcome: Welcome }
  /** Waiting to try again at `atMs` (ms since the epoch) after `error`. */
  | { kind: "reconnecting"; attempt: number; atMs: number; error: RemoteError }
  /** Given up: `error` is final (or the policy allows no retry). */
  | { kind: "failed"; error: RemoteError }
  /** Ended from this side. */
  | { kind: "closed" };

/**
 * When to try again after a retryable error: `always`; `after-connected`: only once a
 * connection has worked (a first failure is reported at once); `never`.
 */
export type RetryPolicy = "always" | "after-connected" | "never";

/** What a remote source does with what it receives. */
export interface RemoteHandlers {
  /**
   * After each handshake, before that connection's first batch (`first`: the first
   * connection that got this far). Batches wait while the promise it returns is pending.
   */
  onWelcome?(welcome: Welcome, first: boolean): Promise<void> | void;
  /** A whole batch (the first of each connection is a snapshot); return true to end. */
  onBatch(batch: BatchMessage): boolean | void;
  /** A warning from the server (its collector's start-up warnings once, then as they come). */
  onWarning?(message: string): void;
  onState?(state: RemoteState): void;
}

/** How a remote source runs. */
export interface RemoteRunOptions {
  retry: RetryPolicy;
  /** Ends the source (the server gets `bye user`); runRemote then resolves. */
  signal?: AbortSignal;
  backoff?: BackoffOptions;
  /**
   * Give up (reject with a `network` {@linkcode RemoteError}) when no whole batch has come
   * within this long, ms, from the start: bounds a run against a server that trickles bytes
   * slowly enough never to count as silent.
   */
  deadlineMs?: number;
}

/**
 * Runs a remote source until `signal` aborts or a handler ends it (resolves), or until an
 * error is final under `run.retry` (rejects with that {@linkcode RemoteError}, after the
 * `failed` state). An exception thrown by a handler ends it too, and is rethrown.
 */
export async function runRemote(
  opts: ConnectOptions,
  handlers: RemoteHandlers,
  run: RemoteRunOptions,
): Promise<void> {
  const backoff = new Backoff(run.backoff);
  let late: RemoteError | undefined;
  const deadline = new AbortController();
  const timer = run.deadlineMs === undefined ? undefined : setTimeout(() => {
    late = new RemoteError(
      "network",
      `Server ${opts.display} sent no table within ${
        Math.round(run.deadlineMs! / 100) / 10
      } s (--deadline)`,
      { brief: "no table in time" },
    );
    deadline.abort();
  }, run.deadlineMs);
  const signal = run.signal === undefined
    ? deadline.signal
    : AbortSignal.any([run.signal, deadline.signal]);
  try {
    await runConnections(opts, handlers, { ...run, signal }, backoff, () => clearTimeout(timer));
  } finally {
    clearTimeout(timer);
  }
  if (late !== undefined) {
    handlers.onState?.({ kind: "failed", error: late });
    throw late;
  }
}

async function runConnections(
  opts: ConnectOptions,
  handlers: RemoteHandlers,
  run: RemoteRunOptions,
  backoff: Backoff,
  onTable: () => void,
): Promise<void> {
  const { signal } = run;
  const warned = new Set<string>();
  let connectedOnce = false;
  let attempt = 0;
  for (;;) {
    if (signal?.aborted) return closed(handlers);
    attempt++;
    handlers.onState?.({ kind: "connecting", attempt });
    let conn: ServerConnection | undefined;
    let error: RemoteError;
    const onAbort = () => void conn?.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      conn = await ServerConnection.open(opts, signal);
      const { banner, welcome } = conn;
      handlers.onState?.({ kind: "connected", banner, welcome });
      for (const w of welcome.ready.warnings) {
        if (warned.has(w)) continue;
        warned.add(w);
        handlers.onWarning?.(w);
      }
      await handlers.onWelcome?.(welcome, !connectedOnce);
      connectedOnce = true;
      if (signal?.aborted) return closed(handlers);
      await conn.run({
        onBatch: (b) => {
          // A snapshot proves the connection works: the next loss starts the backoff afresh.
          if (b.reset === true) {
            backoff.reset();
            attempt = 0;
          }
          onTable();
          return handlers.onBatch(b);
        },
        onWarning: (m) => handlers.onWarning?.(m),
      }, opts.silenceMs);
      return closed(handlers);
    } catch (err) {
      if (signal?.aborted) return closed(handlers);
      if (!(err instanceof RemoteError)) throw err;
      error = err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await conn?.close();
    }
    const again = error.retryable &&
      (run.retry === "always" || (run.retry === "after-connected" && connectedOnce));
    if (!again) {
      handlers.onState?.({ kind: "failed", error });
      throw error;
    }
    const delay = Math.max(backoff.next(), error.minDelayMs);
    handlers.onState?.({
      kind: "reconnecting",
      attempt: attempt + 1,
      atMs: Date.now() + delay,
      error,
    });
    await sleep(delay, signal);
  }
}

function closed(handlers: RemoteHandlers): void {
  handlers.onState?.({ kind: "closed" });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * The connection options for --connect's `remote`: reads the token file (once; a trailing
 * newline is dropped) and the --tls-ca file now, through the bounded reader of
 * files/small_file.ts (regular files only, at most 4 KiB and 1 MiB); `warn` gets a line when
 * the token file is readable by group or others. Throws {@linkcode EnvironmentError} (exit
 * code 2) naming the file when one cannot be read or holds nothing usable; never quotes the
 * token.
 *
 * Requires `--allow-read` for those files and `--allow-sys` for the default name (the
 * hostname).
 */
export function connectOptions(
  remote: RemoteOptions,
  warn?: (line: string) => void,
): ConnectOptions {
  const opts: ConnectOptions = {
    server: remote.server,
    display: remote.display,
    tls: remote.tls,
    name: clientName(remote.name),
  };
  if (remote.tokenFile !== undefined) opts.token = readToken(remote.tokenFile, warn);
  if (remote.tlsCa !== undefined) opts.caCerts = [readCa(remote.tlsCa)];
  return opts;
}

function readToken(path: string, warn?: (line: string) => void): string {
  const text = readFile(path, {
    what: "token file",
    maxBytes: TOKEN_FILE_MAX_BYTES,
    private: true,
  }, warn);
  const token = text.replace(/\r?\n$/, "");
  if (!/^[\x21-\x7e]{1,1024}$/.test(token)) {
    throw new EnvironmentError(
      `Token file '${path}' holds no usable token: expected 1 to 1024 printable ASCII ` +
        "characters without spaces, on one line",
    );
  }
  return token;
}

function readCa(path: string): string {
  const text = readFile(path, { what: "--tls-ca file", maxBytes: PEM_FILE_MAX_BYTES });
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new EnvironmentError(
      `File '${path}' given to --tls-ca holds no PEM certificate ` +
        "(expected '-----BEGIN CERTIFICATE-----')",
    );
  }
  return text;
}

/** A small file through the shared bounded reader; its refusal becomes exit code 2. */
function readFile(path: string, opts: SmallFileOptions, warn?: (line: string) => void): string {
  try {
    const f = readSmallFile(path, opts);
    if (f.warning !== undefined) warn?.(f.warning);
    return f.text;
  } catch (err) {
    if (!(err instanceof SmallFileError)) throw err;
    throw new EnvironmentError(err.message, { cause: err.cause });
  }
}

function clientName(name: string | undefined): string {
  if (name !== undefined) return name;
  let host = "";
  try {
    host = Deno.hostname();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable)) throw err;
  }
  // The protocol carries any text (the server's log shows it printable); only the length is
  // bounded, to the schema's 255 characters, without splitting a surrogate pair.
  host = Array.from(host).slice(0, 255).join("");
  return host === "" ? "conntop" : host;
}
