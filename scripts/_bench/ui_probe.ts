/**
 * conntop's frame probe (`CONNTOP_PROBE`, src/app/probe.ts) as the UI benchmark reads it, and
 * where a key's time went: matching the keys sent from outside with the frames they caused.
 * Pure functions: no I/O.
 *
 * @module
 */

import { median } from "./stats.ts";

/** One line of the probe (ms of conntop's own clock). */
export interface ProbeFrame {
  cause: string;
  /** When the input was read (the frame's start for other causes). */
  input: number;
  start: number;
  /** Time recomputing the rows — of the last recompute, which may be an earlier frame's. */
  rows: number;
  /** Rows (when recomputed in this frame) + drawing the cell buffer. */
  render: number;
  /** Diff and write. */
  diff: number;
  written: number;
  bytes: number;
}

/** The probe file's frames. */
export function parseProbe(text: string): ProbeFrame[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as ProbeFrame);
}

/**
 * Whether the rows were recomputed for this frame (in it, or while handling the key that caused
 * it): the probe's `rows` is 0 otherwise.
 */
export function rowsRecomputed(f: ProbeFrame): boolean {
  return f.rows > 0;
}

/** One key followed from outside into conntop. */
export interface KeyTrace {
  key: string;
  /** Key sent → effect captured (outside), ms. */
  outerMs: number;
  /** conntop read the key → its frame written (probe), ms. */
  internalMs: number;
  /**
   * Key sent → conntop read it, ms: tmux's delivery and the wait while the UI thread was busy.
   * Estimated through the clock offset below, so it also carries the median of tmux's share on
   * the way back.
   */
  queuedMs: number;
  /** Of `queuedMs`, time the UI thread spent drawing refresh frames (cause "batch"), ms. */
  refreshMs: number;
}

/** The keys traced, and the clock offset used (this process's clock − conntop's), ms. */
export interface KeyTraces {
  offsetMs: number;
  keys: KeyTrace[];
}

/** A key as sent: its latency (null if its effect never showed) and when it was sent. */
export interface SentKey {
  key: string;
  ms: number | null;
  sentAt: number;
}

/**
 * Matches `keys` one to one with the key frames among `frames` (the probe lines of the same
 * phase, in order). Every key was sent only once the previous one's effect showed, so each
 * caused exactly one frame; when a key's effect never showed, or the counts differ, nothing is
 * matched and null is returned. The two clocks are aligned on the median of (effect captured
 * − frame written).
 */
export function traceKeys(
  keys: readonly SentKey[],
  frames: readonly ProbeFrame[],
): KeyTraces | null {
  const keyFrames = frames.filter((f) => f.cause === "key");
  if (keyFrames.length !== keys.length || keys.some((k) => k.ms === null)) return null;
  const offsetMs = median(keys.map((k, i) => k.sentAt + k.ms! - keyFrames[i]!.written));
  const batches = frames.filter((f) => f.cause === "batch");
  const traced = keys.map((k, i): KeyTrace => {
    const f = keyFrames[i]!;
    const sent = k.sentAt - offsetMs;
    let refreshMs = 0;
    for (const b of batches) {
      const overlap = Math.min(b.written, f.input) - Math.max(b.start, sent);
      if (overlap > 0) refreshMs += overlap;
    }
    return {
      key: k.key,
      outerMs: k.ms!,
      internalMs: f.written - f.input,
      queuedMs: f.input - sent,
      refreshMs,
    };
  });
  return { offsetMs, keys: traced };
}
