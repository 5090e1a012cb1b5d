/**
 * The interactive monitor: wires a data source (src/app/source.ts: the live collector, a
 * recording, or a server), the engine in the worker, the UI controller, the screen
 * (src/app/screen.ts), the settings file and the recording together, and makes sure the
 * terminal is restored on every way out — quit keys, SIGINT/SIGTERM/SIGHUP, an uncaught error,
 * the collector dying — before any error is printed.
 *
 * Losing the terminal (SSH dropped, window closed, tmux session killed) is a hang-up: the read
 * fails with EIO or sees end of input, or a write fails. It ends the run like SIGHUP does, with
 * the kernel restored and exit code 129, instead of an error thrown from a timer killing the
 * process with the sysctls and the --track table still changed.
 *
 * The loop (as trippy's): a batch or a key arrives → the controller updates its state → the
 * screen draws a frame and writes what changed. This module never draws or collects itself:
 * it connects the parts, turns keys into saves and quits, and decides the exit code.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import { ConntopError, EnvironmentError, errorReason, ExitCode } from "../errors.ts";
import { isHangUp } from "../term/mod.ts";
import { Flag, MONO_THEME, UiApp } from "../ui/mod.ts";
import { startEnrichment } from "./enrichment.ts";
import { HANGUP_EXIT_CODE, onUncaughtError, uncaughtMessage } from "../signals.ts";
import { WorkerTable } from "./table.ts";
import { printable } from "../text/mod.ts";
import { openSource, type SourceSink } from "./source.ts";
import { colorDepth, Screen } from "./screen.ts";
import { MonitorSettings } from "./settings_file.ts";
import { fixMallocThresholds } from "../malloc.ts";
import type { MonitorRecording } from "./recording.ts";

/** Runs the interactive monitor; resolves with the exit code. */
export async function runMonitor(opts: Options): Promise<number> {
  // Before the worker starts: large freed buffers go back to the kernel (src/malloc.ts).
  fixMallocThresholds();
  if (!Deno.stdout.isTerminal() || !Deno.stdin.isTerminal()) {
    throw new EnvironmentError(
      "The interactive monitor needs a terminal; use --once or --stream for pipes and files",
    );
  }
  const config = new MonitorSettings();
  const source = await openSource(opts);
  const depth = colorDepth(opts.color);
  const quit = new AbortController();
  let exitCode = 0;
  // Set by an uncaught error outside a live session (which reports its own); thrown at the end.
  let uncaught: ConntopError | undefined;
  const hangUp = () => {
    exitCode = HANGUP_EXIT_CODE;
    quit.abort();
  };
  // Enrichment starts now and loads in the background; answers repaint as they come.
  const enrichment = startEnrichment(opts, {
    onChange: () => screen.schedule("enrich"),
    onWarning: (m) => {
      app.onWarning(m);
      screen.schedule("enrich");
    },
  });
  // The table lives in the worker thread, beside the collector (which must start after this,
  // to run in the same thread) or fed with the recording's or the server's batches.
  let firstWindow = true;
  const table = new WorkerTable({
    forward: opts.record !== undefined,
    enrich: true,
    live: source.live,
  }, {
    onWindow: (id, w) => {
      app.onWindow(id, w);
      // Deno may clear a progress line on a terminal stderr while the worker loads, which
      // erases the bottom of the screen behind the diff's back: repaint all once data flows.
      if (firstWindow && w.totals !== undefined) {
        firstWindow = false;
        screen.invalidate();
      }
      screen.schedule("window");
    },
    onFatal: (m) => {
      uncaught ??= new ConntopError(`The engine failed: ${m}`, ExitCode.FAILURE);
      quit.abort();
    },
  });
  const app = new UiApp({
    table,
    settings: config.settings,
    filter: opts.filter,
    host: source.host,
    source: source.label,
    theme: depth === "none" ? MONO_THEME : undefined,
    replay: source.replay,
    remote: source.remote,
    recording: opts.record,
    enrich: enrichment.store,
    emptyHint: source.emptyHint,
  });
  for (const n of config.notes) app.onWarning(n);
  const screen = new Screen(app, {
    depth,
    // Ask the worker about the addresses this frame needed.
    afterFrame: () => enrichment.store.flush(),
    onHangUp: hangUp,
  });
  let recording: MonitorRecording | undefined;
  if (opts.record !== undefined) {
    try {
      // Loaded only for --record: the recording writer stays out of the heap otherwise.
      const { MonitorRecording } = await import("./recording.ts");
      recording = await MonitorRecording.create(opts.record);
    } catch (err) {
      enrichment.close();
      table.close();
      screen.close();
      throw err;
    }
  }
  const onEvents = (events: Parameters<UiApp["handle"]>[0]) => {
    const inputAt = performance.now();
    const flags = app.handle(events);
    if (flags & Flag.SAVE) config.save(app.state.settings, (m) => app.onWarning(m));
    if (flags & Flag.QUIT) {
      quit.abort();
      return;
    }
    if (flags & Flag.REPAINT) screen.invalidate();
    if (flags & (Flag.REDRAW | Flag.ROWS)) screen.paint("key", inputAt);
  };

  screen.enter();
  const reading = screen.read(onEvents, quit.signal).then((end) => {
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
    screen.paint("start");
    const code = await source.run(sinkFor(app, screen, recording), quit.signal);
    result = exitCode !== 0 ? exitCode : code;
  } finally {
    quit.abort();
    enrichment.close();
    table.close();
    removeUncaught();
    screen.restore();
    await Promise.race([reading, new Promise((r) => setTimeout(r, 20))]);
    // Ended before the source was ready: no recording began, so the empty file goes.
    const recordError = await recording?.close();
    screen.close();
    // Notes and a recording's damage may quote text from outside (a server, a file).
    for (const n of config.notes) printError(n);
    if (config.failure !== undefined) printError(config.failure);
    for (const n of source.closingNotes) printError(n);
    if (recordError !== undefined) {
      printError(recordError instanceof Error ? recordError.message : String(recordError));
      // A recording that could not be written is a runtime failure (exit code 1), as documented.
      if (result === ExitCode.OK) result = ExitCode.FAILURE;
    }
  }
  if (uncaught !== undefined) throw uncaught;
  return result;
}

/**
 * What the monitor does with what its source says: batches and warnings go to the recording
 * (encoded before the buffers go to the engine) and the controller, and each schedules a
 * frame named for its cause (the frame probe's and the benchmark's).
 */
function sinkFor(app: UiApp, screen: Screen, recording: MonitorRecording | undefined): SourceSink {
  return {
    batch: (b) => {
      recording?.writeBatch(b);
      app.onBatch(b);
      screen.schedule("batch");
    },
    warning: (w) => {
      app.onWarning(w);
      recording?.writeWarning(w);
      screen.schedule("warning");
    },
    clearWarning: (m) => app.clearWarning(m),
    notify: (text, error) => {
      app.notify(text, error);
      screen.schedule("message");
    },
    changed: (cause) => screen.schedule(cause),
    // The recording's header carries the source's start-up facts, so it opens once they are
    // known. A write that fails is shown at once; monitoring goes on, and the run exits 1.
    ready: (meta) =>
      recording?.start(meta, (reason) => {
        app.onRecordingError(reason);
        screen.schedule("record");
      }),
  };
}

/** One line on stderr, which may be the terminal that just hung up: then it is lost. */
function printError(line: string): void {
  try {
    console.error(`conntop: ${printable(line)}`);
  } catch {
    // No terminal left to tell.
  }
}
