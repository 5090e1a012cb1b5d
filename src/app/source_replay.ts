/**
 * A recording played back as the monitor's source (--replay), loaded only for --replay: the
 * recording reader stays out of a live monitor's heap.
 *
 * @module
 */

import { Replay } from "../record/mod.ts";
import type { ReplayControl } from "../ui/mod.ts";
import { onExitSignal } from "../signals.ts";
import { localHostname, type Source, type SourceSink } from "./source.ts";

/**
 * The recording at `path`, opened (a missing or foreign file is refused here, before the
 * terminal is taken), to play at `speed`.
 */
export async function openReplaySource(path: string, speed: number): Promise<Source> {
  const replay = await Replay.open(path);
  replay.setSpeed(speed);
  return new ReplaySource(path, replay);
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
    this.host = replay.header.host ?? localHostname();
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
