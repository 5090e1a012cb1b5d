/**
 * Recording the stream of batches the UI receives, and playing it back without root: the
 * file format, the recorder and the replay.
 *
 * @module
 */

export {
  type BatchLine,
  DamagedRecordingError,
  type EndLine,
  RECORDING_TYPE,
  RECORDING_VERSION,
  type RecordingHeader,
  type RecordingLine,
  type RecordingReady,
  type WarningLine,
} from "./format.ts";
export {
  createRecordingFile,
  discardRecordingFile,
  Recorder,
  type RecordingMeta,
} from "./recorder.ts";
export {
  MAX_GAP_MS,
  MAX_SPEED,
  MIN_SPEED,
  readRecording,
  type RecordingEntry,
  Replay,
  type ReplayHandlers,
} from "./replay.ts";
