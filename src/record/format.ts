/**
 * The recording format: the stream of batches the UI received, written so it can be played
 * back later, elsewhere, without root. This module holds the types, the version, and the
 * encoding and decoding of single lines; it does no I/O.
 *
 * A recording is NDJSON, one JSON object per line, gzip-compressed when the file name ends in
 * `.gz`. Text from outside in it (process names, kernel text, warnings) is kept exact, with
 * every control, C1 and bidi character escaped (`printableJson`), so that a recording shown
 * on a terminal cannot drive it:
 *
 * 1. The header:
 *    `{"type":"conntop-recording","version":1,"recordSize":168,"chunkRecords":8192,
 *    "created":"<ISO 8601>","host":"<hostname>","conntop":"<version>","intervalMs":1000,
 *    "netns":null,"ready":{"warnings":[],"flowtables":false}}`
 * 2. Any number of, in the order the collector sent them:
 *    - a batch, the collector's {@linkcode BatchMessage} as it is, except that each chunk of
 *      `records` is the base64 of its bytes (layout in conntrack/record.ts; chunk boundaries
 *      are kept, since the model may adopt a full chunk as a page):
 *      `{"type":"batch","seq":1,"timeMs":…,"startedMs":…,"count":2,"records":["<base64>"],
 *      "extras":[[slot,{…}]],"owners":[[slot,{"pid":1,"name":"sshd"}]],"local":{…},
 *      "totals":{…},"status":{…}}` (`owners` and `local` are optional: older recordings
 *      lack them). A batch that replaces the table (a server's snapshot, recorded with
 *      --connect) has `"reset":true`; other batches have no `reset`.
 *    - a collector warning: `{"type":"warning","timeMs":…,"message":"…"}`
 * 3. The end, written by a clean close: `{"type":"end","timeMs":…}`. A recording without it
 *    was cut short.
 *
 * Times are milliseconds since the epoch. A reader rejects a version it does not know and a
 * `recordSize` other than its own (the record layout is not converted).
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import type { Extra } from "../conntrack/mod.ts";
import { ConntopError, ExitCode } from "../errors.ts";
import { printableJson } from "../text/mod.ts";
import { encodeBatchLine } from "../protocol/mod.ts";

/** The `type` of a recording's first line. */
export const RECORDING_TYPE = "conntop-recording";

/** The format version this conntop writes and reads. */
export const RECORDING_VERSION = 1;

/** What the collector's ready message said, as kept in the header. */
export interface RecordingReady {
  /** Things the user should know about the kernel's state, one line each. */
  warnings: string[];
  /** Whether flowtables were in use. */
  flowtables: boolean;
}

/** The first line of a recording. */
export interface RecordingHeader {
  type: typeof RECORDING_TYPE;
  version: number;
  /** Bytes per record (conntrack/record.ts's RECORD_SIZE when written). */
  recordSize: number;
  /** Records per full chunk (collector's CHUNK_RECORDS when written). */
  chunkRecords: number;
  /** When the recording began, ISO 8601. */
  created: string;
  /** The host recorded. */
  host: string;
  /** The conntop version that wrote it. */
  conntop: string;
  /** The refresh interval in milliseconds. */
  intervalMs: number;
  /** The network namespace monitored, or null for conntop's own. */
  netns: string | null;
  ready: RecordingReady;
}

/** A batch as written: a {@linkcode BatchMessage} whose record chunks are base64. */
export interface BatchLine {
  type: "batch";
  seq: number;
  timeMs: number;
  startedMs: number;
  count: number;
  /** Base64 of each chunk of records. */
  records: string[];
  extras: [number, Extra][];
  /** Owning processes (absent in recordings of conntop before 0.2). */
  owners?: BatchMessage["owners"];
  /** Interface addresses, when they changed. */
  local?: BatchMessage["local"];
  totals: BatchMessage["totals"];
  status: BatchMessage["status"];
  /** The batch replaces the table (absent: it changes it). */
  reset?: true;
}

/** A collector warning as written. */
export interface WarningLine {
  type: "warning";
  timeMs: number;
  message: string;
}

/** The last line of a complete recording. */
export interface EndLine {
  type: "end";
  timeMs: number;
}

/** Any line of a recording, as parsed (batches still in base64). */
export type RecordingLine = RecordingHeader | BatchLine | WarningLine | EndLine;

/**
 * A recording that stops being readable part-way: the line (1-based) and what is wrong with
 * it. Everything before that line was read.
 */
export class DamagedRecordingError extends ConntopError {
  /** The recording's path. */
  readonly path: string;
  /** The 1-based number of the line where the damage is. */
  readonly line: number;
  /** What is wrong, without the path or line number. */
  readonly detail: string;
  /** True when the only damage is a missing end line (the file ends on a line boundary). */
  readonly cutShort: boolean;
  constructor(
    path: string,
    line: number,
    detail: string,
    options?: ErrorOptions & { cutShort?: boolean },
  ) {
    super(`Recording '${path}' is damaged at line ${line}: ${detail}`, ExitCode.FAILURE, options);
    this.name = "DamagedRecordingError";
    this.path = path;
    this.line = line;
    this.detail = detail;
    this.cutShort = options?.cutShort ?? false;
  }
}

/** The header line (with its newline) for a recording made now. */
export function encodeHeader(header: Omit<RecordingHeader, "type" | "version">): string {
  const line: RecordingHeader = { type: RECORDING_TYPE, version: RECORDING_VERSION, ...header };
  return printableJson(line) + "\n";
}

/**
 * A batch's line (with its newline), as bytes. The record bytes are read now, so the batch's
 * buffers may be changed or adopted as soon as this returns. The line is written by the
 * protocol's batch-line encoder (the one NDJSON batch codec), the record chunks base64-encoded
 * straight into it; it is the {@linkcode BatchLine} of `batch` through `printableJson`.
 */
export function encodeBatch(batch: BatchMessage): Uint8Array<ArrayBuffer> {
  return encodeBatchLine(
    {
      type: "batch",
      seq: batch.seq,
      timeMs: batch.timeMs,
      startedMs: batch.startedMs,
      count: batch.count,
    },
    batch.records.map((chunk) => new Uint8Array(chunk)),
    {
      extras: batch.extras,
      owners: batch.owners,
      local: batch.local,
      totals: batch.totals,
      status: batch.status,
      ...(batch.reset === true ? { reset: true } : {}),
    },
    printableJson,
  );
}

/** A collector warning's line (with its newline). */
export function encodeWarning(message: string, timeMs: number): string {
  const line: WarningLine = { type: "warning", timeMs, message };
  return printableJson(line) + "\n";
}

/** The end line (with its newline). */
export function encodeEnd(timeMs: number): string {
  const line: EndLine = { type: "end", timeMs };
  return printableJson(line) + "\n";
}

/**
 * Parses one line (without its newline). Throws a `TypeError` with a short, lowercase
 * description when it is not valid JSON or not a line of this format; the header is checked for
 * shape only (see {@linkcode headerProblem} for whether it can be played).
 */
export function decodeLine(text: string): RecordingLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TypeError(`not valid JSON (${err instanceof Error ? err.message : err})`, {
      cause: err,
    });
  }
  if (!isObject(value)) throw new TypeError("not a JSON object");
  switch (value.type) {
    case RECORDING_TYPE:
      return checkHeader(value);
    case "batch":
      return checkBatch(value);
    case "warning":
      need(typeof value.timeMs === "number", "warning", "timeMs");
      need(typeof value.message === "string", "warning", "message");
      return value as unknown as WarningLine;
    case "end":
      need(typeof value.timeMs === "number", "end", "timeMs");
      return value as unknown as EndLine;
    default:
      if (value.type === undefined) throw new TypeError("line has no type");
      throw new TypeError(`unknown line type '${String(value.type)}'`);
  }
}

/**
 * Why a header cannot be played by this conntop (unknown version, other record size), or
 * undefined when it can.
 */
export function headerProblem(header: RecordingHeader, recordSize: number): string | undefined {
  if (header.version !== RECORDING_VERSION) {
    const ours = RECORDING_VERSION;
    return `unsupported version ${header.version} (this conntop reads version ${ours})`;
  }
  if (header.recordSize !== recordSize) {
    return `records of ${header.recordSize} bytes (this conntop reads ${recordSize})`;
  }
  return undefined;
}

/**
 * Turns a batch line back into the message the collector sent: each base64 chunk becomes an
 * ArrayBuffer of its original size. Throws a `TypeError` when a chunk is not base64, not a
 * whole number of `recordSize` records, or the chunks do not add up to `count`.
 */
export function decodeBatch(line: BatchLine, recordSize: number): BatchMessage {
  let total = 0;
  const records = line.records.map((text, i) => {
    const chunk = fromBase64(text, i);
    if (chunk.byteLength % recordSize !== 0) {
      throw new TypeError(
        `records chunk ${i + 1} is ${chunk.byteLength} bytes, not a multiple of ${recordSize}`,
      );
    }
    total += chunk.byteLength / recordSize;
    return chunk;
  });
  if (total !== line.count) {
    throw new TypeError(`batch holds ${total} records but its count is ${line.count}`);
  }
  return {
    type: "batch",
    seq: line.seq,
    timeMs: line.timeMs,
    startedMs: line.startedMs,
    records,
    count: line.count,
    extras: line.extras,
    ...(line.owners === undefined ? {} : { owners: line.owners }),
    ...(line.local === undefined ? {} : { local: line.local }),
    totals: line.totals,
    status: line.status,
    ...(line.reset === true ? { reset: true } : {}),
  };
}

function fromBase64(text: string, index: number): ArrayBuffer {
  // Uint8Array.fromBase64, not node:buffer (which would load Node's compatibility layer into
  // the monitor); it skips white space, so check the length the text should decode to as well.
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  let u8: Uint8Array<ArrayBuffer> | undefined;
  try {
    u8 = Uint8Array.fromBase64(text);
  } catch {
    u8 = undefined;
  }
  if (u8 === undefined || text.length % 4 !== 0 || u8.length !== (text.length / 4) * 3 - pad) {
    throw new TypeError(`records chunk ${index + 1} is not valid base64`);
  }
  return u8.buffer;
}

function checkHeader(v: Record<string, unknown>): RecordingHeader {
  const what = "header";
  need(typeof v.version === "number", what, "version");
  need(
    typeof v.recordSize === "number" && Number.isInteger(v.recordSize) && v.recordSize > 0,
    what,
    "recordSize",
  );
  need(typeof v.chunkRecords === "number", what, "chunkRecords");
  need(typeof v.created === "string", what, "created");
  need(typeof v.host === "string", what, "host");
  need(typeof v.conntop === "string", what, "conntop");
  need(typeof v.intervalMs === "number", what, "intervalMs");
  need(v.netns === null || typeof v.netns === "string", what, "netns");
  need(
    isObject(v.ready) && Array.isArray(v.ready.warnings) &&
      v.ready.warnings.every((w) => typeof w === "string") &&
      typeof v.ready.flowtables === "boolean",
    what,
    "ready",
  );
  return v as unknown as RecordingHeader;
}

function checkBatch(v: Record<string, unknown>): BatchLine {
  const what = "batch";
  for (const key of ["seq", "timeMs", "startedMs", "count"]) {
    need(typeof v[key] === "number", what, key);
  }
  need(
    Array.isArray(v.records) && v.records.every((r) => typeof r === "string"),
    what,
    "records",
  );
  need(
    Array.isArray(v.extras) &&
      v.extras.every((e) => Array.isArray(e) && typeof e[0] === "number" && isObject(e[1])),
    what,
    "extras",
  );
  need(
    v.owners === undefined ||
      (Array.isArray(v.owners) &&
        v.owners.every((e) =>
          Array.isArray(e) && typeof e[0] === "number" &&
          (e[1] === null ||
            (isObject(e[1]) && typeof e[1].pid === "number" && typeof e[1].name === "string"))
        )),
    what,
    "owners",
  );
  need(
    v.local === undefined ||
      (isObject(v.local) &&
        ["v4", "v6", "broadcast"].every((k) => {
          const list = (v.local as Record<string, unknown>)[k];
          return Array.isArray(list) && list.every((a) => typeof a === "string");
        })),
    what,
    "local",
  );
  need(isObject(v.totals), what, "totals");
  need(isObject(v.status), what, "status");
  need(v.reset === undefined || v.reset === true, what, "reset");
  return v as unknown as BatchLine;
}

function need(ok: boolean, what: string, field: string): void {
  if (!ok) throw new TypeError(`${what} line has a missing or malformed '${field}'`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
