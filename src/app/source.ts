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
 * @module
 */

import type { Options } from "../cli/mod.ts";
import type { BatchMessage, RemoteOptions } from "../core/mod.ts";
import { type RecordingMeta, Replay } from "../record/mod.ts";
import type { RemoteControl, ReplayControl } from "../ui/mod.ts";
import { onExitSignal } from "../signals.ts";
import { emptyTableHint } from "./hints.ts";
import { RemoteLink, runRemoteMonitor } from "./remote.ts";
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
    const replay = await Replay.open(opts.replay);
    replay.setSpeed(opts.speed);
    return new ReplaySource(opts.replay, replay);
  }
  if (opts.remote !== undefined) return new RemoteSource(opts, opts.remote);
  return new LiveSource(opts);
}

/** This host's table (or a namespace's), from the collector in the worker thread. */
class LiveSource implements Source {
  readonly label: string;
  readonly host = hostname();
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

/** A conntop server's table (--connect), reconnecting for as long as the monitor runs. */
class RemoteSource implements Source {
  readonly label = "remote";
  readonly host = hostname();
  readonly live = false;
  readonly emptyHint: string | undefined;
  readonly closingNotes: readonly string[] = [];
  readonly remote: RemoteLink;
  #opts: Options;

  constructor(opts: Options, remote: RemoteOptions) {
    this.#opts = opts;
    // The header shows the server and the connection's state instead of the host and label.
    this.remote = new RemoteLink(remote);
    this.emptyHint = opts.track ? undefined : emptyTableHint(undefined, remote.display);
  }

  run(sink: SourceSink, signal: AbortSignal): Promise<number> {
    return runRemoteMonitor(this.#opts, this.remote, {
      signal,
      onBatch: (b) => sink.batch(b),
      onWarning: (m) => sink.warning(m),
      clearWarning: (m) => sink.clearWarning(m),
      notify: (text, error) => sink.notify(text, error),
      repaint: () => sink.changed("remote"),
      onReady: (meta) => sink.ready(meta),
    });
  }
}

/** A recording played back; once it is over, the last state stays until the user quits. */
class ReplaySource implements Source {
  readonly label: string;
  readonly host: string;
  readonly live = false;
  readonly emptyHint = undefined;
  readonly replay: ReplayControl;
  #replay: Replay;
  /** How playback ended, once it has. */
  #end: { damaged?: string } = {};

  constructor(path: string, replay: Replay) {
    this.label = `replay ${path}`;
    this.host = replay.header.host ?? hostname();
    this.#replay = replay;
    const end = this.#end;
    this.replay = {
      get speed() {
        return replay.speed;
      },
      setSpeed: (s) => replay.setSpeed(s),
      get paused() {
        return replay.paused;
      },
      togglePause: () => replay.togglePause(),
      get positionMs() {
        return replay.positionMs;
      },
      get ended() {
        return replay.ended;
      },
      get damaged() {
        return end.damaged;
      },
    };
  }

  get closingNotes(): readonly string[] {
    const damaged = this.#end.damaged;
    return damaged === undefined ? [] : [damaged];
  }

  async run(sink: SourceSink, signal: AbortSignal): Promise<number> {
    let exitCode = 0;
    const stop = new AbortController();
    const removeSignals = onExitSignal((code) => {
      exitCode = code;
      stop.abort();
    });
    const ended = AbortSignal.any([signal, stop.signal]);
    try {
      await this.#replay.run({
        onBatch: (b) => sink.batch(b),
        onWarning: (m) => sink.warning(m),
        onEnd: (r) => {
          this.#end.damaged = r.damaged;
          sink.changed("end"); // (first: the end is the frame's cause)
          if (r.damaged !== undefined) sink.warning(r.damaged);
        },
      }, ended);
      // The recording is over: the last state stays on screen until the user quits.
      if (!ended.aborted) {
        await new Promise((resolve) => ended.addEventListener("abort", resolve));
      }
      return exitCode;
    } finally {
      removeSignals();
    }
  }
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}
