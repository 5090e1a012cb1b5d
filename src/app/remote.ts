/**
 * `--connect`: the modes on a server's table instead of this host's. The same handlers the
 * local modes give runSession are fed from a conntop server (src/client), so --once, --stream
 * and the monitor stay one code each; this module adds what only a remote source has — the
 * connection's state in the header, reconnecting, and the exit code of a failed connection.
 *
 * Exit codes (also in `conntop --help`): 2 when trying again cannot help (wrong or missing
 * token, no protocol version in common, not a conntop server, untrusted TLS certificate, an
 * unreadable --token-file or --tls-ca), 1 for network errors (unreachable, refused, lost,
 * protocol violations, the server full or stopping), 130/143/129 on SIGINT/SIGTERM/SIGHUP.
 *
 * Requires `--allow-net` and `--allow-read`.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import { endpointText, type RemoteOptions } from "../core/mod.ts";
import type { BatchMessage } from "../core/mod.ts";
import type { ReadyMessage } from "../collector/mod.ts";
import {
  connectOptions,
  RemoteError,
  type RemoteState,
  type RetryPolicy,
  runRemote,
  stateText,
} from "../client/mod.ts";
import type { Welcome } from "../protocol/mod.ts";
import type { RecordingMeta } from "../record/mod.ts";
import type { RemoteControl } from "../ui/mod.ts";
import type { SessionHandlers } from "./session.ts";
import { onExitSignal } from "../signals.ts";

/** What a remote session tells its caller beyond runSession's handlers. */
export interface RemoteSessionHandlers extends SessionHandlers {
  /** After each handshake (`first`: the first connection), before its snapshot. */
  onWelcome?(welcome: Welcome, first: boolean): Promise<void> | void;
  onState?(state: RemoteState): void;
}

/**
 * runSession for a server: runs until a handler ends it or a signal arrives and resolves with
 * the exit code a signal asks for (0 otherwise). Rejects with the {@linkcode RemoteError} that
 * ended it when `retry` does not allow another attempt, or when no table came within
 * `deadlineMs` (--once's --deadline). `onReady` gets the server's start-up
 * facts at the first welcome; `onBatch` gets them with each batch.
 */
export async function runRemoteSession(
  opts: Options,
  handlers: RemoteSessionHandlers,
  retry: RetryPolicy,
  deadlineMs?: number,
): Promise<number> {
  const remote = opts.remote;
  if (remote === undefined) throw new TypeError("runRemoteSession() needs --connect's options");
  const connect = connectOptions(remote, (w) => handlers.onWarning?.(w));
  const stop = new AbortController();
  let exitCode = 0;
  const removeSignals = onExitSignal((code) => {
    exitCode = code;
    stop.abort();
  });
  const signal = handlers.signal === undefined
    ? stop.signal
    : AbortSignal.any([stop.signal, handlers.signal]);
  let ready: ReadyMessage | undefined;
  try {
    await runRemote(connect, {
      onWelcome: async (welcome, first) => {
        ready = readyOf(welcome);
        if (first) await handlers.onReady?.(ready);
        await handlers.onWelcome?.(welcome, first);
      },
      onBatch: (b: BatchMessage) => handlers.onBatch(b, ready!),
      onWarning: (m) => handlers.onWarning?.(m),
      onState: (s) => handlers.onState?.(s),
    }, { retry, signal, deadlineMs });
    return exitCode;
  } catch (err) {
    // The reader went away (`conntop --connect … --stream | head`): a normal end.
    if (err instanceof Deno.errors.BrokenPipe) return 0;
    throw err;
  } finally {
    removeSignals();
  }
}

/** The collector's ready message as a server's welcome reports it. */
function readyOf(welcome: Welcome): ReadyMessage {
  return {
    type: "ready",
    warnings: welcome.ready.warnings,
    changed: [],
    trackTable: null,
    flowtables: welcome.ready.flowtables,
  };
}

/**
 * Notes for a log (--stream's stderr) as the state changes: the loss of a connection, each
 * new reason a reconnection fails, and the reconnection. Returns the onState handler.
 */
export function stateNotes(
  remote: RemoteOptions,
  note: (line: string) => void,
): (state: RemoteState) => void {
  let connected = false;
  let lastError = "";
  return (s: RemoteState): void => {
    if (s.kind === "connected") {
      if (lastError !== "") note(`Reconnected to ${remote.display}`);
      connected = true;
      lastError = "";
    } else if (s.kind === "reconnecting") {
      const secs = Math.max(0, Math.round((s.atMs - Date.now()) / 100) / 10);
      if (connected || s.error.message !== lastError) {
        note(`${s.error.message}; trying again in ${secs} s`);
      }
      connected = false;
      lastError = s.error.message;
    }
  };
}

/**
 * The server connection as the monitor's header shows it: the server's name, its address and
 * the state, and whether the table on screen is stale (its connection is gone and no fresh
 * snapshot has replaced it yet).
 */
export class RemoteLink implements RemoteControl {
  #remote: RemoteOptions;
  #address: string;
  #name: string | undefined;
  #state: RemoteState = { kind: "connecting", attempt: 1 };
  #hasTable = false;
  #stale = false;

  constructor(remote: RemoteOptions) {
    this.#remote = remote;
    this.#address = endpointText(remote.server);
  }

  /** The server's name (its welcome's), or the address given before the first welcome. */
  get host(): string {
    return this.#name ?? this.#remote.display;
  }

  /** The state last reported. */
  get state(): RemoteState {
    return this.#state;
  }

  /** Whether the table on screen is stale. */
  get stale(): boolean {
    return this.#stale;
  }

  /** "remote ADDRESS · STATE" as of `nowMs`, and how it should look. */
  status(nowMs: number): { text: string; level: "ok" | "warn" | "error" } {
    const s = stateText(this.#state, nowMs);
    const text = `remote ${this.#address} · ${s.text}`;
    // Connected again, but still showing the old table until the snapshot arrives.
    return { text, level: this.#stale && s.level === "ok" ? "warn" : s.level };
  }

  /** Takes a new state. */
  update(state: RemoteState): void {
    this.#state = state;
    if (state.kind === "connected") this.#name = state.welcome.name;
    else if (this.#hasTable && state.kind !== "connecting") this.#stale = true;
  }

  /** Takes a batch about to be shown (a snapshot makes the table fresh). */
  onBatch(batch: BatchMessage): void {
    if (batch.reset === true) {
      this.#hasTable = true;
      this.#stale = false;
    }
  }
}

/** What the monitor gives {@linkcode runRemoteMonitor}. */
export interface RemoteMonitorHandlers {
  /** The monitor's quit key. */
  signal: AbortSignal;
  onBatch(batch: BatchMessage): void;
  /** A warning for the header (and the recording). */
  onWarning(message: string): void;
  /** Takes back a warning whose cause has passed (a lost connection, once it is back). */
  clearWarning(message: string): void;
  /** A passing message for the screen. */
  notify(text: string, error: boolean): void;
  /**
   * The server's start-up facts, as a recording's header keeps them, at the first handshake
   * (before its snapshot: the monitor opens its recording here).
   */
  onReady(meta: RecordingMeta): Promise<void> | void;
  /** The header changed (the state, or its countdown): draw it. */
  repaint(): void;
}

/**
 * Feeds the monitor from the server in `link` until the user quits (resolves with 0, or the
 * exit code of a signal). Lost connections are retried for as long as the monitor runs, the
 * last table staying on screen, marked stale. An error that trying again cannot fix is shown,
 * the last table stays, and once the user quits it is thrown (for its message and exit code).
 */
export async function runRemoteMonitor(
  opts: Options,
  link: RemoteLink,
  handlers: RemoteMonitorHandlers,
): Promise<number> {
  let ticker: ReturnType<typeof setInterval> | undefined;
  let wasConnected = false;
  let failure: RemoteError | undefined;
  let lost: string | undefined;
  const onState = (s: RemoteState) => {
    link.update(s);
    // A countdown to show while waiting.
    clearInterval(ticker);
    ticker = undefined;
    if (s.kind === "reconnecting" || s.kind === "connecting") {
      ticker = setInterval(() => handlers.repaint(), 1000);
    }
    if (s.kind === "reconnecting" && wasConnected) {
      lost = s.error.message;
      handlers.onWarning(lost);
      handlers.notify(
        `Connection to ${link.host} lost (${s.error.brief}): the table shown is stale until it is back`,
        true,
      );
    } else if (s.kind === "connected" && link.stale) {
      handlers.notify(`Reconnected to ${link.host}`, false);
    } else if (s.kind === "failed") {
      handlers.onWarning(s.error.message);
      handlers.notify(s.error.message, true);
    }
    if (s.kind === "connected") wasConnected = true;
    else if (s.kind !== "connecting") wasConnected = false;
    handlers.repaint();
  };
  try {
    return await runRemoteSession(opts, {
      signal: handlers.signal,
      onWelcome: async (w, first) => {
        if (!first) return;
        await handlers.onReady({
          host: w.name,
          intervalMs: w.intervalMs,
          netns: w.netns,
          ready: w.ready,
        });
      },
      onBatch: (b) => {
        link.onBatch(b);
        if (b.reset === true && lost !== undefined) {
          handlers.clearWarning(lost);
          lost = undefined;
        }
        handlers.onBatch(b);
      },
      onWarning: (m) => handlers.onWarning(m),
      onState,
    }, "always");
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    failure = err;
  } finally {
    clearInterval(ticker);
  }
  // Final: the last table stays on screen with the error until the user quits.
  let quit = () => {};
  let exitCode = 0;
  const removeSignals = onExitSignal((code) => {
    exitCode = code;
    quit();
  });
  try {
    if (!handlers.signal.aborted) {
      await new Promise<void>((resolve) => {
        quit = resolve;
        handlers.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  } finally {
    removeSignals();
  }
  if (exitCode !== 0) return exitCode;
  throw failure;
}
