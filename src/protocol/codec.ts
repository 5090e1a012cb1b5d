/**
 * Batches on the wire: {@linkcode encodeBatch} splits a collector batch into `batch` parts
 * that each fit in one message; {@linkcode BatchAssembler} puts the parts back together on the
 * client, checking their order and their records, and hands over a batch the model can apply.
 *
 * @module
 */

import { type Extra, RECORD_SIZE } from "../conntrack/mod.ts";
import type { BatchMessage } from "../core/mod.ts";
import type { Owner } from "../core/mod.ts";
import { base64Length, encodeBatchLine } from "./batch_line.ts";
import { localListProblem } from "../conntrack/mod.ts";
import {
  CHUNK_RECORDS,
  MAX_BATCH_EXTRAS,
  MAX_BATCH_OTHER_BYTES,
  MAX_BATCH_OWNERS,
  MAX_BATCH_RECORDS,
  MAX_SERVER_MESSAGE_BYTES,
} from "./messages.ts";
import type { BatchPart } from "./messages.ts";
import { type Checked, checkRecords, MAX_SLOT } from "./validate.ts";

/** Room kept in each part for its fixed fields. */
const HEADROOM = 1024;
/** Largest number of extras or owners in one part (the schema's limit). */
const MAX_ENTRIES = 8192;

/** A part being laid out: its fixed fields, its records, its extras and owners. */
interface PartPlan {
  n: number;
  count: number;
  /** Which chunk of records it carries (-1: none). */
  chunk: number;
  extras: BatchPart["extras"];
  owners: BatchPart["owners"];
}

/**
 * A batch's records given chunk by chunk, for {@linkcode encodeBatchFrom}: `chunkRecords[i]`
 * records in chunk i, whose bytes `chunk(i)` gives when asked: in order 0, 1, 2… by
 * {@linkcode encodeBatchFrom}, in any order by {@linkcode planBatch}'s lines (each is read
 * before the next is asked for, so it may be the same scratch buffer every time).
 */
export interface RecordChunks {
  chunkRecords: readonly number[];
  chunk(i: number): Uint8Array;
}

/**
 * The lines (newline included) of `batch` as `kind` parts: one part per chunk of records,
 * extras and owners spread over the parts by size, and the refresh's time, totals and status
 * in the last one. Chunks larger than {@linkcode CHUNK_RECORDS} records are split. Every line
 * stays within {@linkcode MAX_SERVER_MESSAGE_BYTES}. Reads the records now: the batch's buffers
 * may change once this returns. Each line is written straight into its bytes (batch_line.ts),
 * the records as base64 without a string in between.
 */
export function encodeBatch(batch: BatchMessage, kind: BatchPart["kind"]): Uint8Array[] {
  const chunkBytes = CHUNK_RECORDS * RECORD_SIZE;
  const views: Uint8Array[] = [];
  for (const buf of batch.records) {
    for (let at = 0; at < buf.byteLength; at += chunkBytes) {
      views.push(new Uint8Array(buf, at, Math.min(buf.byteLength, at + chunkBytes) - at));
    }
  }
  return encodeBatchFrom(batch, kind, {
    chunkRecords: views.map((v) => v.length / RECORD_SIZE),
    chunk: (i) => views[i]!,
  });
}

/**
 * {@linkcode encodeBatch} with the records read from `records` instead of `batch.records`
 * (which is ignored): a snapshot is encoded from the table chunk by chunk through one scratch
 * buffer, never as a second copy of the whole table.
 */
export function encodeBatchFrom(
  batch: BatchMessage,
  kind: BatchPart["kind"],
  records: RecordChunks,
): Uint8Array[] {
  const plan = planBatch(batch, kind, records);
  const lines: Uint8Array[] = [];
  for (let i = 0; i < plan.length; i++) lines.push(plan.line(i));
  return lines;
}

/** A batch's lines, each encoded only when asked for ({@linkcode planBatch}). */
export interface BatchLines {
  /** How many lines (parts). */
  readonly length: number;
  /**
   * Encodes line `i` now (newline included), reading its chunk through `records.chunk`; the
   * bytes equal {@linkcode encodeBatchFrom}'s line `i` as long as the records have not changed.
   */
  line(i: number): Uint8Array;
}

/**
 * The lay-out of {@linkcode encodeBatchFrom}'s lines without encoding any: which part carries
 * which chunk, extras and owners. A server sends a large batch line by line as each client reads,
 * so only the lines being written exist (a whole 200k snapshot is 45 MB of lines). `records`
 * must give its chunks in any order when asked.
 */
export function planBatch(
  batch: BatchMessage,
  kind: BatchPart["kind"],
  records: RecordChunks,
): BatchLines {
  const parts: PartPlan[] = [];
  const sizes: number[] = [];
  const empty = (): PartPlan => ({
    n: parts.length,
    count: 0,
    chunk: -1,
    extras: [],
    owners: [],
  });
  records.chunkRecords.forEach((count, i) => {
    parts.push({ ...empty(), count, chunk: i });
    sizes.push(base64Length(count * RECORD_SIZE) + HEADROOM);
  });
  if (parts.length === 0) {
    parts.push(empty());
    sizes.push(HEADROOM);
  }
  // The last part's fixed fields.
  const tail = {
    ...(batch.local === undefined ? {} : { local: batch.local }),
    timeMs: batch.timeMs,
    startedMs: batch.startedMs,
    totals: batch.totals,
    status: batch.status,
  };
  sizes[sizes.length - 1]! += JSON.stringify(tail).length;
  let p = 0;
  const place = (size: number, put: (x: PartPlan) => number) => {
    while (
      sizes[p]! + size > MAX_SERVER_MESSAGE_BYTES || put(parts[p]!) >= MAX_ENTRIES
    ) {
      if (++p === parts.length) {
        parts.push(empty());
        sizes.push(HEADROOM);
      }
    }
    sizes[p]! += size;
  };
  for (const e of batch.extras) {
    place(JSON.stringify(e).length + 1, (x) => x.extras.length);
    parts[p]!.extras.push(e);
  }
  for (const o of batch.owners ?? []) {
    place(JSON.stringify(o).length + 1, (x) => x.owners.length);
    parts[p]!.owners.push(o);
  }
  const lastN = parts.length - 1;
  // The field order of every part: type, kind, seq, part, last, count, records, extras, owners,
  // then (last part) local, timeMs, startedMs, totals, status.
  return {
    length: parts.length,
    line: (i) => {
      const x = parts[i]!;
      return encodeBatchLine(
        { type: "batch", kind, seq: batch.seq, part: x.n, last: x.n === lastN, count: x.count },
        x.chunk < 0 ? [] : [records.chunk(x.chunk)],
        x.n === lastN
          ? { extras: x.extras, owners: x.owners, ...tail }
          : { extras: x.extras, owners: x.owners },
      );
    },
  };
}

/**
 * Puts batch parts back together. Checks that parts come in order (0, 1, … within one `seq`),
 * that a delta follows the batch before it (`seq` + 1) and that the first batch is a snapshot,
 * and checks every record; a snapshot may start at any time and drops an unfinished batch.
 * The assembled batch of a snapshot has `reset: true`.
 */
export class BatchAssembler {
  /** The batch being put together: its seq and kind, and how many parts came. */
  #open: { seq: number; kind: BatchPart["kind"]; parts: number } | undefined;
  #records: ArrayBuffer[] = [];
  #count = 0;
  #extras: [number, Extra][] = [];
  #owners: [number, Owner | null][] = [];
  /** Bytes of the batch's lines outside their records so far. */
  #otherBytes = 0;
  /** The seq of the last whole batch (-1 before the first snapshot). */
  #lastSeq = -1;
  #maxRecords: number;

  /** `maxRecords`: the most records one batch may hold (bounds a client's memory). */
  constructor(maxRecords = MAX_BATCH_RECORDS) {
    this.#maxRecords = maxRecords;
  }

  /** The seq of the last complete batch, or -1. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Forgets everything (a new connection starts with a snapshot again). */
  reset(): void {
    this.#drop();
    this.#lastSeq = -1;
  }

  /**
   * Takes one part, whose line was `lineBytes` long (newline included; 0 when unknown); returns
   * the whole batch when `part` was its last, undefined while more are to come, or the reason
   * the part breaks the protocol. Every batch stays within the limits in messages.ts
   * ({@linkcode MAX_BATCH_RECORDS}, {@linkcode MAX_BATCH_EXTRAS}, {@linkcode MAX_BATCH_OWNERS},
   * {@linkcode MAX_BATCH_OTHER_BYTES}).
   */
  push(p: BatchPart, lineBytes = 0): Checked<BatchMessage | undefined> {
    const open = this.#open;
    if (p.part === 0) {
      if (open !== undefined && p.kind !== "snapshot") {
        return fail(`batch ${p.seq} began before batch ${open.seq} ended`);
      }
      this.#drop();
      if (p.kind === "delta") {
        if (this.#lastSeq < 0) return fail("a delta came before the first snapshot");
        if (p.seq !== this.#lastSeq + 1) {
          return fail(`delta ${p.seq} does not follow batch ${this.#lastSeq}`);
        }
      }
    } else if (
      open === undefined || p.seq !== open.seq || p.kind !== open.kind || p.part !== open.parts
    ) {
      return fail(`part ${p.part} of batch ${p.seq} is out of order`);
    }
    const recordText = p.records.length > 0 ? p.records[0]!.length : 0;
    this.#otherBytes += Math.max(0, lineBytes - recordText);
    if (this.#otherBytes > MAX_BATCH_OTHER_BYTES) {
      return fail(
        `batch ${p.seq} holds more than ${MAX_BATCH_OTHER_BYTES >> 20} MiB of extras and owners`,
      );
    }
    if (this.#extras.length + p.extras.length > MAX_BATCH_EXTRAS) {
      return fail(`batch ${p.seq} holds more than ${MAX_BATCH_EXTRAS} extras`);
    }
    if (this.#owners.length + p.owners.length > MAX_BATCH_OWNERS) {
      return fail(`batch ${p.seq} holds more than ${MAX_BATCH_OWNERS} owners`);
    }
    if (p.records.length > 0) {
      if (this.#count + p.count > this.#maxRecords) {
        return fail(`batch ${p.seq} holds too many records (more than ${this.#maxRecords})`);
      }
      const r = checkRecords(p.records[0]!, p.count, p.kind === "snapshot");
      if (!r.ok) return r;
      this.#records.push(r.value);
      this.#count += p.count;
    } else if (p.count !== 0) {
      return fail(`part ${p.part} of batch ${p.seq} counts records it does not hold`);
    }
    for (const e of p.extras) {
      if (e[0] > MAX_SLOT) return fail("an extra's slot is out of range");
      this.#extras.push(e);
    }
    for (const o of p.owners) {
      if (o[0] > MAX_SLOT) return fail("an owner's slot is out of range");
      this.#owners.push(o);
    }
    if (p.local !== undefined) {
      const bad = localListProblem(p.local);
      if (bad !== undefined) return fail(bad);
    }
    this.#open = { seq: p.seq, kind: p.kind, parts: p.part + 1 };
    if (!p.last) return { ok: true, value: undefined };
    if (
      p.timeMs === undefined || p.startedMs === undefined || p.totals === undefined ||
      p.status === undefined
    ) {
      return fail(`the last part of batch ${p.seq} lacks its time, totals or status`);
    }
    const batch: BatchMessage = {
      type: "batch",
      seq: p.seq,
      timeMs: p.timeMs,
      startedMs: p.startedMs,
      records: this.#records,
      count: this.#count,
      extras: this.#extras,
      owners: this.#owners,
      ...(p.local === undefined ? {} : { local: p.local }),
      totals: p.totals,
      status: p.status,
      ...(p.kind === "snapshot" ? { reset: true } : {}),
    };
    this.#lastSeq = p.seq;
    this.#records = [];
    this.#extras = [];
    this.#owners = [];
    this.#drop();
    return { ok: true, value: batch };
  }

  #drop(): void {
    this.#open = undefined;
    this.#records = [];
    this.#count = 0;
    this.#extras = [];
    this.#owners = [];
    this.#otherBytes = 0;
  }
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
