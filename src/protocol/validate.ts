/**
 * Checks every received line before anything acts on it: UTF-8, JSON, then the schema
 * (schema/protocol.schema.json, through the validators generated from it into _validate.js),
 * and for connection records, their bytes (see {@linkcode checkRecords}). Each check gives a
 * short, lowercase reason for the `bye` and the log; none of them throws on bad input.
 *
 * @module
 */

import { Kind, OFF, RECORD_SIZE } from "../conntrack/mod.ts";
// @ts-types="./_validate.d.ts"
import { validateClientMessage, validateServerMessage } from "./_validate.js";
import type { ClientMessage, ServerMessage } from "./messages.ts";

/** Highest slot number a record may carry: bounds the table a client builds (4 Mi slots). */
export const MAX_SLOT = (1 << 22) - 1;

/** The result of a check: the value, or why it was refused. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A line from a server, checked. */
export function parseServerMessage(line: Uint8Array): Checked<ServerMessage> {
  return parse(line, validateServerMessage);
}

/** A line from a client, checked. */
export function parseClientMessage(line: Uint8Array): Checked<ClientMessage> {
  return parse(line, validateClientMessage);
}

interface Validator {
  (value: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

function parse<T>(line: Uint8Array, validate: Validator): Checked<T> {
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return { ok: false, reason: "not UTF-8" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  if (!validate(value)) {
    const e = validate.errors?.[0];
    const type = typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>).type
      : undefined;
    const what = typeof type === "string" && /^[a-z_]{1,16}$/.test(type) ? `'${type}'` : "message";
    return {
      ok: false,
      reason: `invalid ${what}: ${e?.instancePath || "/"} ${e?.message ?? "is not valid"}`,
    };
  }
  return { ok: true, value: value as T };
}

/**
 * Decodes one base64 chunk of records and checks that it holds `count` whole records whose
 * kind suits the batch (a snapshot holds only new records), whose family is IPv4 or IPv6, and
 * whose slot is at most {@linkcode MAX_SLOT}.
 */
export function checkRecords(
  text: string,
  count: number,
  snapshot: boolean,
): Checked<ArrayBuffer> {
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  if (text.length % 4 !== 0) return { ok: false, reason: "records are not base64" };
  const bytes = (text.length / 4) * 3 - pad;
  if (bytes !== count * RECORD_SIZE) {
    return { ok: false, reason: `records hold ${bytes} bytes, not ${count} records` };
  }
  // Uint8Array.fromBase64, not node:buffer: Buffer would load Node's compatibility layer into
  // every thread that reads the protocol (and skips bad characters instead of failing).
  let u8: Uint8Array<ArrayBuffer>;
  try {
    u8 = Uint8Array.fromBase64(text);
  } catch {
    return { ok: false, reason: "records are not base64" };
  }
  if (u8.length !== bytes) return { ok: false, reason: "records are not base64" };
  const out = u8.buffer;
  const dv = new DataView(out);
  for (let i = 0, at = 0; i < count; i++, at += RECORD_SIZE) {
    const kind = u8[at + OFF.KIND]!;
    if (snapshot ? kind !== Kind.NEW : kind < Kind.NEW || kind > Kind.DESTROY) {
      return { ok: false, reason: `record ${i}: kind ${kind} does not belong here` };
    }
    const family = u8[at + OFF.FAMILY]!;
    if (family !== 2 && family !== 10) {
      return { ok: false, reason: `record ${i}: address family ${family}` };
    }
    if (dv.getUint32(at + OFF.SLOT, true) > MAX_SLOT) {
      return { ok: false, reason: `record ${i}: slot out of range` };
    }
  }
  return { ok: true, value: out };
}
