/**
 * The client-server protocol (docs/protocol.md), shared by src/server and src/client: message
 * types, framing, validation of what is received, and batches on the wire. No I/O.
 *
 * @module
 */

export * from "./messages.ts";
export { encodeMessage, FrameTooLongError, LineReader } from "./framing.ts";
export {
  type Checked,
  checkRecords,
  MAX_SLOT,
  parseClientMessage,
  parseServerMessage,
} from "./validate.ts";
export { BatchAssembler, encodeBatch } from "./codec.ts";
export { DEFAULT_PORT, PROTOCOL_VERSION, type WarningMessage } from "./messages.ts";
export {
  MAX_BATCH_EXTRAS,
  MAX_BATCH_OWNERS,
  MAX_BATCH_RECORDS,
  MAX_SERVER_MESSAGE_BYTES,
} from "./messages.ts";
export { type BatchLines, encodeBatchFrom, planBatch, type RecordChunks } from "./codec.ts";
export { encodeBatchLine } from "./batch_line.ts";
