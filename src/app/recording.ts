/**
 * The monitor's `--record FILE`: the file is made before the terminal is taken (a path that
 * exists — a file, a planted link — is refused with one line, exit 2, and nothing is touched),
 * the recording begins once the source's start-up facts are known (its header carries them),
 * and a run that ends before that removes the empty file it made. It never writes through a
 * file it did not create, and a write that fails never stops the monitor: it is reported and
 * the run exits 1.
 *
 * Requires `--allow-write` for the file.
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import {
  createRecordingFile,
  discardRecordingFile,
  Recorder,
  type RecordingMeta,
} from "../record/mod.ts";

/** A recording being made by the monitor. */
export class MonitorRecording {
  #path: string;
  #file: Deno.FsFile;
  #recorder: Recorder | undefined;

  private constructor(path: string, file: Deno.FsFile) {
    this.#path = path;
    this.#file = file;
  }

  /** Creates `path` (exclusively); rejects with the error to report when it cannot. */
  static async create(path: string): Promise<MonitorRecording> {
    return new MonitorRecording(path, await createRecordingFile(path));
  }

  /**
   * Begins the recording with the source's start-up facts; `onError` hears, once, why writing
   * failed (monitoring goes on).
   */
  start(meta: RecordingMeta, onError: (reason: string) => void): void {
    this.#recorder = Recorder.start(this.#path, this.#file, meta, { onError });
  }

  /** Records a batch (before its buffers go to the engine). */
  writeBatch(batch: BatchMessage): void {
    this.#recorder?.writeBatch(batch);
  }

  /** Records a warning. */
  writeWarning(message: string): void {
    this.#recorder?.writeWarning(message);
  }

  /**
   * Ends the recording (or, when it never began, removes the empty file); resolves with the
   * error that writing or closing it met, if any.
   */
  async close(): Promise<unknown> {
    if (this.#recorder === undefined) {
      discardRecordingFile(this.#path, this.#file);
      return undefined;
    }
    try {
      await this.#recorder.close();
      return undefined;
    } catch (err) {
      return err;
    }
  }
}
