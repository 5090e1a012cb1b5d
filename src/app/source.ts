/**
 * Where the monitor's data comes from, behind one interface: the live collector (this host's
 * table, or a namespace's), a recording played back, or a conntop server (--connect). Each
 * tells a {@linkcode SourceSink} about batches, warnings, passing messages, its start-up facts
 * (which a recording's header keeps) and header changes, and runs until the user quits or a
 * signal arrives, resolving with the exit code the signal asks for (0 otherwise).
 *
 * A source owns its SIGINT/SIGTERM/SIGHUP handling for as long as it runs, and restores what
 * it changed (the collector's sysctls and --track table) before its run settles. It never
 * touches the terminal, the screen or the settings: the monitor does (src/app/monitor.ts).
 *
 * A recording's and a server's sources are loaded only when named (source_replay.ts,
 * source_remote.ts): a live monitor holds no recording reader, protocol codec or client code.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import type { BatchMessage } from "../core/mod.ts";
import type { RecordingMeta } from "../record/mod.ts";
import type { RemoteControl, ReplayControl } from "../ui/mod.ts";
import { emptyTableHint } from "./hints.ts";
import { runSession } from "./session.ts";

/** What a source tells the monitor as it runs. */
export interface SourceSink {
  /** A batch for the table (and the recording). */
  batch(batch: BatchMessage): void;
  /** A warning for the header (and the recording). */
  warning(message: string): void;
  /** Takes back a warning whose cause has passed (a lost connection, once it is back). */
  clearWarning(message: string): void;
  /** A passing message for the screen. */
  notify(text: string, error: boolean): void;
  /** Something the header shows changed: draw it (`cause` is for the frame probe). */
  changed(cause: string): void;
  /**
   * The source's start-up facts, as a recording's header keeps them, before its first batch
   * (the monitor opens its recording here). A recording played back has none to give.
   */
  ready(meta: RecordingMeta): Promise<void> | void;
}

/** A source of batches for the monitor. */
export interface Source {
  /** Where the data comes from, for the header ("live", "netns x", "replay FILE", "remote"). */
  readonly label: string;
  /** The host name for the header (a server's own replaces it once it has said it). */
  readonly host: string;
  /** Whether the collector runs beside the engine in the worker (it gives it its batches). */
  readonly live: boolean;
  /** What the list says when the table is empty (as --once says it), if anything. */
  readonly emptyHint: string | undefined;
  /** Playback controls, for a recording. */
  readonly replay?: ReplayControl;
  /** The connection's state, for a server. */
  readonly remote?: RemoteControl;
  /** Lines for after the terminal is restored (a recording's damage), once the run ended. */
  readonly closingNotes: readonly string[];
  /** Feeds `sink` until `signal` aborts (the quit key) or a signal arrives. */
  run(sink: SourceSink, signal: AbortSignal): Promise<number>;
}

/**
 * The source `opts` names. A recording is opened here, so a missing or foreign file is
 * refused before the terminal is taken.
 */
export async function openSource(opts: Options): Promise<Source> {
  if (opts.replay !== undefined) {
    const { openReplaySource } = await import("./source_replay.ts");
    return await openReplaySource(opts.replay, opts.speed);
  }
  if (opts.remote !== undefined) {
    const { RemoteSource } = await import("./source_remote.ts");
    return new RemoteSource(opts, opts.remote);
  }
  return new LiveSource(opts);
}

/** This host's table (or a namespace's), from the collector in the worker thread. */
class LiveSource implements Source {
  readonly label: string;
  readonly host = localHostname();
  readonly live = true;
  readonly emptyHint: string | undefined;
  readonly closingNotes: readonly string[] = [];
  #opts: Options;

  constructor(opts: Options) {
    this.#opts = opts;
    this.label = opts.netns !== undefined ? `netns ${opts.netns}` : "live";
    // Not with --track, which makes the kernel track.
    this.emptyHint = opts.track ? undefined : emptyTableHint(opts.netns);
  }

  run(sink: SourceSink, signal: AbortSignal): Promise<number> {
    const opts = this.#opts;
    return runSession(opts, {
      signal,
      onWarning: (w) => sink.warning(w),
      onBatch: (b) => sink.batch(b),
      onReady: (ready) =>
        sink.ready({
          intervalMs: opts.intervalMs,
          netns: opts.netns ?? null,
          ready: { warnings: ready.warnings, flowtables: ready.flowtables },
        }),
    });
  }
}

/** This host's name for the header ("localhost" when it cannot be read). */
export function localHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}
