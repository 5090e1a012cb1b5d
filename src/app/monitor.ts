/**
 * The interactive monitor: wires a data source (the live collector, or a recording), the UI
 * controller, the terminal and the config file together, and makes sure the terminal is
 * restored on every way out — quit keys, SIGINT/SIGTERM/SIGHUP, an uncaught error, the
 * collector dying — before any error is printed.
 *
 * Losing the terminal (SSH dropped, window closed, tmux session killed) is a hang-up: the read
 * fails with EIO or sees end of input, or a write fails. It ends the run like SIGHUP does, with
 * the kernel restored and exit code 129, instead of an error thrown from a timer killing the
 * process with the sysctls and the --track table still changed.
 *
 * The loop (as trippy's): a batch or a key arrives → the controller updates its state → a
 * frame is rendered into a cell buffer → only the cells that differ from the last frame are
 * written, in one write.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import type { BatchMessage } from "../core/mod.ts";
import { ConfigFile, configLocation } from "../config/mod.ts";
import { ConntopError, EnvironmentError, errorReason, ExitCode } from "../errors.ts";
import {
  createRecordingFile,
  discardRecordingFile,
  Recorder,
  type RecordingMeta,
  Replay,
} from "../record/mod.ts";
import { CellBuffer, diff } from "../term/mod.ts";
import { detectColorDepth } from "../term/mod.ts";
import { isHangUp, Tty } from "../term/mod.ts";
import {
  defaultSettings,
  Flag,
  MONO_THEME,
  type ReplayControl,
  settingsFromJson,
  settingsToJson,
  UiApp,
} from "../ui/mod.ts";
import { runSession } from "./session.ts";
import { startEnrichment } from "./enrichment.ts";
import { FrameProbe } from "./probe.ts";
import { emptyTableHint } from "./hints.ts";
import { HANGUP_EXIT_CODE, onExitSignal, onUncaughtError, uncaughtMessage } from "../signals.ts";
import { RemoteLink, runRemoteMonitor } from "./remote.ts";
import { WorkerTable } from "./table.ts";
import { printable } from "../text/mod.ts";

/** Runs the interactive monitor; resolves with the exit code. */
export async function runMonitor(opts: Options): Promise<number> {
  if (!Deno.stdout.isTerminal() || !Deno.stdin.isTerminal()) {
    throw new EnvironmentError(
      "The interactive monitor needs a terminal; use --once or --stream for pipes and files",
    );
  }
  const notes: string[] = []; // printed after the terminal is restored
  const where = configLocation(Deno.env);
  const config = where === undefined ? undefined : new ConfigFile(where);
  let writable = config !== undefined;
  let settings = defaultSettings();
  if (config !== undefined) {
    const loaded = config.load();
    writable = loaded.writable;
    if (loaded.warning !== undefined) notes.push(loaded.warning);
    if (loaded.data !== undefined) {
      const r = settingsFromJson(loaded.data);
      settings = r.settings;
      notes.push(...r.warnings);
    }
    // This run's own settings: saves write what its user changes, not what another run saved.
    config.start(settingsToJson(settings));
  }
  const replay = opts.replay === undefined ? undefined : await Replay.open(opts.replay);
  if (replay !== undefined) replay.setSpeed(opts.speed);
  let damaged: string | undefined;
  const control: ReplayControl | undefined = replay === undefined ? undefined : {
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
      return damaged;
    },
  };
  const depth = detectColorDepth(colorEnv(), !opts.color);
  const host = replay?.header.host ?? hostname();
  // With --connect, the header shows the server and the connection's state instead.
  const link = opts.remote === undefined ? undefined : new RemoteLink(opts.remote);
  const source = replay !== undefined
    ? `replay ${opts.replay}`
    : link !== undefined
    ? "remote"
    : opts.netns !== undefined
    ? `netns ${opts.netns}`
    : "live";
  // Enrichment starts now and loads in the background; answers repaint as they come.
  let onEnrich = () => {};
  const enrichment = startEnrichment(opts, {
    onChange: () => onEnrich(),
    onWarning: (m) => {
      app.onWarning(m);
      onEnrich();
    },
  });
  // The table lives in the worker thread, beside the collector (which must start after this,
  // to run in the same thread) or fed with the recording's or the server's batches.
  let firstWindow = true;
  const table = new WorkerTable({
    forward: opts.record !== undefined,
    enrich: true,
    live: replay === undefined && link === undefined,
  }, {
    onWindow: (id, w) => {
      app.onWindow(id, w);
      // Deno may clear a progress line on a terminal stderr while the worker loads, which
      // erases the bottom of the screen behind the diff's back: repaint all once data flows.
      if (firstWindow && w.totals !== undefined) {
        firstWindow = false;
        prev = undefined;
      }
      schedule("window");
    },
    onFatal: (m) => {
      uncaught ??= new ConntopError(`The engine failed: ${m}`, ExitCode.FAILURE);
      quit.abort();
    },
  });
  const app = new UiApp({
    table,
    settings,
    filter: opts.filter,
    host,
    source,
    theme: depth === "none" ? MONO_THEME : undefined,
    replay: control,
    remote: link,
    recording: opts.record,
    enrich: enrichment.store,
    // As --once says it; not for a recording, nor with --track, which makes the kernel track.
    emptyHint: replay !== undefined || opts.track
      ? undefined
      : emptyTableHint(opts.remote === undefined ? opts.netns : undefined, opts.remote?.display),
  });
  for (const n of notes) app.onWarning(n);

  const tty = new Tty();
  const probe = FrameProbe.fromEnv();
  const quit = new AbortController();
  let exitCode = 0;
  let prev: CellBuffer | undefined;
  let next = new CellBuffer(1, 1);
  let paintTimer: ReturnType<typeof setTimeout> | undefined;
  let messageTimer: ReturnType<typeof setTimeout> | undefined;
  let recorder: Recorder | undefined;
  let saveWarned = false;
  // Set by an uncaught error outside a live session (which reports its own); thrown at the end.
  let uncaught: ConntopError | undefined;
  const hangUp = () => {
    exitCode = HANGUP_EXIT_CODE;
    quit.abort();
  };

  const paint = (cause: string, inputAt?: number) => {
    if (!tty.active) return;
    const t0 = performance.now();
    const { columns, rows } = tty.size();
    app.resize(columns, rows);
    next = app.frame(next);
    const t1 = performance.now();
    const out = diff(prev, next, depth);
    try {
      if (out !== "") tty.write(out);
    } catch (err) {
      if (!isHangUp(err)) throw err;
      return hangUp();
    }
    const t2 = performance.now();
    [prev, next] = [next, prev ?? new CellBuffer(columns, rows)];
    // Ask the worker about the addresses this frame needed.
    enrichment.store.flush();
    probe?.frame(cause, inputAt ?? t0, t0, app.lastRowsMs, t1 - t0, t2 - t1, t2, out.length);
    const until = app.messageUntil;
    clearTimeout(messageTimer);
    if (until !== undefined) {
      messageTimer = setTimeout(() => paint("message"), Math.max(10, until - Date.now() + 5));
    }
  };
  const schedule = (cause: string) => {
    if (paintTimer !== undefined) return;
    paintTimer = setTimeout(() => {
      paintTimer = undefined;
      paint(cause);
    }, 0);
  };
  onEnrich = () => schedule("enrich");
  // The last save that failed, repeated after the terminal is restored so it is not missed.
  let saveFailure: string | undefined;
  const save = () => {
    if (config === undefined || !writable) {
      if (!saveWarned && config !== undefined) {
        saveWarned = true;
        const path = config.location.path;
        app.onWarning(`Settings are not saved: ${path} could not be read, so it is left alone`);
      }
      return;
    }
    try {
      const warning = config.save(settingsToJson(app.state.settings));
      if (warning !== undefined) app.onWarning(warning);
      saveFailure = undefined;
    } catch (err) {
      saveFailure = err instanceof Error ? err.message : String(err);
      app.onWarning(saveFailure);
    }
  };
  const onEvents = (events: Parameters<UiApp["handle"]>[0]) => {
    const inputAt = performance.now();
    const flags = app.handle(events);
    if (flags & Flag.SAVE) save();
    if (flags & Flag.QUIT) {
      quit.abort();
      return;
    }
    if (flags & Flag.REPAINT) prev = undefined;
    if (flags & (Flag.REDRAW | Flag.ROWS)) paint("key", inputAt);
  };

  let removeSignals = () => {};
  // The recording's file is made now, before the terminal is taken: a --record path that
  // exists (a file, a planted link) is refused with one line, exit 2, and nothing is touched.
  let recordFile: Deno.FsFile | undefined;
  if (opts.record !== undefined) {
    try {
      recordFile = await createRecordingFile(opts.record);
    } catch (err) {
      enrichment.close();
      table.close();
      probe?.close();
      throw err;
    }
  }
  tty.enter();
  const unresize = tty.onResize(() => {
    prev = undefined;
    paint("resize");
  });
  const reading = tty.readEvents(onEvents, quit.signal).then((end) => {
    if (end === "closed") hangUp();
  }, (err) => {
    if (isHangUp(err)) return hangUp();
    uncaught ??= new ConntopError(
      `Cannot read the terminal: ${errorReason(err)}`,
      ExitCode.FAILURE,
    );
    quit.abort();
  });
  const removeUncaught = onUncaughtError((err) => {
    uncaught ??= new ConntopError(uncaughtMessage(err), ExitCode.FAILURE, { cause: err });
    quit.abort();
  });
  let result = ExitCode.OK as number;
  try {
    paint("start");
    if (replay !== undefined) {
      // (Live and remote runs get theirs from runSession or runRemoteSession.)
      removeSignals = onExitSignal((code) => {
        exitCode = code;
        quit.abort();
      });
      await replay.run({
        onBatch: (b) => {
          app.onBatch(b);
          schedule("batch");
        },
        onWarning: (m) => {
          app.onWarning(m);
          schedule("warning");
        },
        onEnd: (r) => {
          damaged = r.damaged;
          if (r.damaged !== undefined) app.onWarning(r.damaged);
          schedule("end");
        },
      }, quit.signal);
      // The recording is over: the last state stays on screen until the user quits.
      if (!quit.signal.aborted) {
        await new Promise((resolve) => quit.signal.addEventListener("abort", resolve));
      }
      result = exitCode;
    } else {
      const onWarning = (w: string) => {
        app.onWarning(w);
        recorder?.writeWarning(w);
        schedule("warning");
      };
      const onBatch = (b: BatchMessage) => {
        // Encoded before the buffers go to the engine.
        recorder?.writeBatch(b);
        app.onBatch(b);
        schedule("batch");
      };
      // The recording's header carries the collector's start-up facts, so it opens once they
      // are known.
      const openRecorder = (meta: RecordingMeta) => {
        if (opts.record === undefined || recordFile === undefined) return;
        recorder = Recorder.start(opts.record, recordFile, meta, {
          // Shown at once; monitoring goes on, and the run exits 1 (see below).
          onError: (reason) => {
            app.onRecordingError(reason);
            schedule("record");
          },
        });
      };
      const code = link !== undefined
        ? await runRemoteMonitor(opts, link, {
          signal: quit.signal,
          onBatch,
          onWarning,
          clearWarning: (m) => app.clearWarning(m),
          notify: (text, error) => {
            app.notify(text, error);
            schedule("message");
          },
          repaint: () => schedule("remote"),
          onReady: openRecorder,
        })
        : await runSession(opts, {
          signal: quit.signal,
          onWarning,
          onBatch,
          onReady: (ready) =>
            openRecorder({
              intervalMs: opts.intervalMs,
              netns: opts.netns ?? null,
              ready: { warnings: ready.warnings, flowtables: ready.flowtables },
            }),
        });
      result = exitCode !== 0 ? exitCode : code;
    }
  } finally {
    quit.abort();
    enrichment.close();
    table.close();
    clearTimeout(paintTimer);
    clearTimeout(messageTimer);
    unresize();
    removeSignals();
    removeUncaught();
    tty.restore();
    await Promise.race([reading, new Promise((r) => setTimeout(r, 20))]);
    let recordError: unknown;
    try {
      await recorder?.close();
    } catch (err) {
      recordError = err;
    }
    // Ended before the collector was ready: no recording began, so the empty file goes.
    if (recorder === undefined && recordFile !== undefined && opts.record !== undefined) {
      discardRecordingFile(opts.record, recordFile);
    }
    probe?.close();
    // Notes and a recording's damage may quote text from outside (a server, a file).
    for (const n of notes) printError(n);
    if (saveFailure !== undefined) printError(saveFailure);
    if (damaged !== undefined) printError(damaged);
    if (recordError !== undefined) {
      printError(recordError instanceof Error ? recordError.message : String(recordError));
      // A recording that could not be written is a runtime failure (exit code 1), as documented.
      if (result === ExitCode.OK) result = ExitCode.FAILURE;
    }
  }
  if (uncaught !== undefined) throw uncaught;
  return result;
}

/** One line on stderr, which may be the terminal that just hung up: then it is lost. */
function printError(line: string): void {
  try {
    console.error(`conntop: ${printable(line)}`);
  } catch {
    // No terminal left to tell.
  }
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/** The variables {@linkcode detectColorDepth} reads (the binary may read only named ones). */
function colorEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of ["NO_COLOR", "CONNTOP_COLOR", "TERM", "COLORTERM"]) {
    env[name] = Deno.env.get(name);
  }
  return env;
}
