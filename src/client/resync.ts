/**
 * What a fresh snapshot changed against the table known before it — for `--stream` after a
 * reconnection, which must report only real differences (the connections that ended while it
 * was away, the ones that began, the ones that changed), not the whole table as new.
 *
 * Connections are matched by what names one across a server restart (docs/protocol.md):
 * the kernel's id with the original tuple and zone — never the slot, which a restarted server
 * hands out afresh. "Changed" means what it means to the collector (collector/table.ts): any
 * field but the slot, the rates, the reference count and the timeout, or an expiry that moved
 * by more than the timeout's rounding.
 *
 * @module
 */

import { Has, OFF, RECORD_SIZE, type RecordView } from "../conntrack/mod.ts";
import type { ConnectionModel } from "../model/mod.ts";

/** The differences between two tables, as slots of each. */
export interface TableDiff {
  /** Slots of the old table whose connections are not in the new one, in slot order. */
  gone: number[];
  /** Slots of the new table whose connections the old one did not have, in slot order. */
  added: number[];
  /** Slots of the new table whose connections changed, in slot order. */
  changed: number[];
}

/** Same as the collector's: timeouts are whole seconds sampled at slightly different times. */
const EXPIRY_SLACK_MS = 1500;

/** The key that names a connection across slots and server restarts. */
export function connectionKey(v: RecordView, i: number): string {
  const at = i * RECORD_SIZE;
  const u8 = v.u8;
  let key = "";
  // family, L4 protocol
  for (let k = at + OFF.FAMILY; k <= at + OFF.L4; k++) key += String.fromCharCode(u8[k]!);
  // kernel id
  for (let k = at + OFF.ID; k < at + OFF.ID + 4; k++) key += String.fromCharCode(u8[k]!);
  // zone
  for (let k = at + OFF.ZONE; k < at + OFF.ZONE + 2; k++) key += String.fromCharCode(u8[k]!);
  // original ports (or ICMP id, type, code)
  for (let k = at + OFF.ORIG_SPORT; k < at + OFF.ORIG_DPORT + 2; k++) {
    key += String.fromCharCode(u8[k]!);
  }
  // original addresses
  for (let k = at + OFF.ORIG_SRC; k < at + OFF.REPLY_SRC; k++) key += String.fromCharCode(u8[k]!);
  return key;
}

/** The differences between `before` and `after` (see {@linkcode TableDiff}). */
export function diffTables(before: ConnectionModel, after: ConnectionModel): TableDiff {
  const old = new Map<string, number>();
  for (const s of before.slots()) old.set(connectionKey(before.page(s), before.index(s)), s);
  const added: number[] = [];
  const changed: number[] = [];
  for (const s of after.slots()) {
    const v = after.page(s), i = after.index(s);
    const key = connectionKey(v, i);
    const was = old.get(key);
    if (was === undefined) {
      added.push(s);
      continue;
    }
    old.delete(key);
    if (differs(before.page(was), before.index(was), v, i)) changed.push(s);
  }
  const gone = [...old.values()].sort((a, b) => a - b);
  return { gone, added, changed };
}

// Bytes a change of which is a change of the connection: everything before the rates but the
// kind, the slot, the timeout, the reference count and the presence bits (the collector's
// rule; the presence bits are compared apart).
const SKIP: ReadonlySet<number> = new Set([
  OFF.KIND,
  ...range(OFF.SLOT, 4),
  ...range(OFF.TIMEOUT, 4),
  ...range(OFF.USE, 4),
  ...range(OFF.HAS, 2),
]);
const COMPARED: readonly number[] = range(0, OFF.TX_BPS).filter((k) => !SKIP.has(k));

function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, k) => from + k);
}

function differs(a: RecordView, i: number, b: RecordView, j: number): boolean {
  const x = i * RECORD_SIZE, y = j * RECORD_SIZE;
  for (const k of COMPARED) if (a.u8[x + k] !== b.u8[y + k]) return true;
  // Presence bits, but for "rates computed", which says nothing about the connection.
  if (((a.u16At(i, OFF.HAS) ^ b.u16At(j, OFF.HAS)) & ~Has.RATES) !== 0) return true;
  const expiry = (v: RecordView, n: number) =>
    v.f64At(n, OFF.SAMPLED_MS) + v.u32At(n, OFF.TIMEOUT) * 1000;
  return Math.abs(expiry(a, i) - expiry(b, j)) > EXPIRY_SLACK_MS;
}
