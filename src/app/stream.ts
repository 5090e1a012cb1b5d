/**
 * `conntop --stream`: every change the collector reports, as it is collected — one NDJSON
 * object (or CSV line) per new, updated or destroyed connection, with an `event` field and the
 * refresh time. Short-lived connections appear as a `new` followed by a `destroy` carrying their
 * final counters. With `--connect` the changes are a server's; after a reconnection, only what
 * changed meanwhile is reported (see `resync`).
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import { diffTables } from "../client/mod.ts";
import type { BatchMessage } from "../core/mod.ts";
import type { Owner } from "../core/mod.ts";
import { type Extra, Kind, OFF, RecordView } from "../conntrack/mod.ts";
import { toConnection } from "../core/mod.ts";
import { isEmptyFilter, matches } from "../core/mod.ts";
import { ConnectionModel } from "../model/mod.ts";
import { csvHeader, csvLine, formatNdjsonLine } from "../output/mod.ts";
import { runSession, type SessionHandlers } from "./session.ts";
import { runRemoteSession, stateNotes } from "./remote.ts";

/** Characters of output gathered before writing: keeps a huge first refresh out of memory. */
const FLUSH_AT = 1 << 16;

const EVENT_NAMES: Record<number, string> = {
  [Kind.NEW]: "new",
  [Kind.UPDATE]: "update",
  [Kind.DESTROY]: "destroy",
};

/** Runs --stream, writing synchronously to `out`; resolves with the exit code. */
export function runStream(
  opts: Options,
  out: (text: string) => void,
  warn: (line: string) => void,
): Promise<number> {
  let model = new ConnectionModel();
  const empty = isEmptyFilter(opts.filter);
  let batches = 0;
  if (opts.format === "csv") out(csvHeader(["event", "time"]));
  let text = "";
  const emit: Emit = (view, i, extra, owner, event, b) => {
    if (!empty && !matches(opts.filter, view, i)) return;
    const c = toConnection(view, i, extra, b.timeMs, owner);
    const time = new Date(b.timeMs).toISOString();
    text += opts.format === "csv"
      ? csvLine(c, [event, time])
      : formatNdjsonLine(c, { event, time });
    if (text.length > FLUSH_AT) {
      out(text);
      text = "";
    }
  };
  const handlers: SessionHandlers = {
    onBatch: (b) => {
      if (b.reset === true) {
        model = resync(model, b, emit);
      } else {
        // apply() forgets a destroyed connection's extras and owner: keep them for its event.
        const gone = destroyed(model, b);
        const extras = new Map(b.extras);
        for (const view of model.apply(b)) {
          for (let i = 0; i < view.count; i++) {
            const slot = view.u32At(i, OFF.SLOT);
            const event = EVENT_NAMES[view.u8At(i, OFF.KIND)] ?? "update";
            const kept = gone.get(slot);
            if (kept === undefined) {
              emit(view, i, model.extra(slot), model.owner(slot), event, b);
            } else {
              emit(view, i, extras.get(slot) ?? kept.extra, kept.owner, event, b);
            }
          }
        }
      }
      if (text !== "") out(text);
      text = "";
      batches++;
      return opts.count > 0 && batches >= opts.count;
    },
    onWarning: warn,
  };
  if (opts.remote === undefined) return runSession(opts, handlers);
  // A lost server is retried once it has worked (a first failure ends the stream at once).
  return runRemoteSession(
    opts,
    { ...handlers, onState: stateNotes(opts.remote, warn) },
    "after-connected",
  );
}

type Batch = BatchMessage;
type Emit = (
  view: RecordView,
  i: number,
  extra: Extra | undefined,
  owner: Owner | undefined,
  event: string,
  b: Batch,
) => void;

/** The extras and owners `model` holds for the connections `b` destroys, by slot. */
function destroyed(
  model: ConnectionModel,
  b: Batch,
): Map<number, { extra: Extra | undefined; owner: Owner | undefined }> {
  const out = new Map<number, { extra: Extra | undefined; owner: Owner | undefined }>();
  for (const buffer of b.records) {
    const view = new RecordView(buffer);
    for (let i = 0; i < view.count; i++) {
      if (view.u8At(i, OFF.KIND) !== Kind.DESTROY) continue;
      const slot = view.u32At(i, OFF.SLOT);
      out.set(slot, { extra: model.extra(slot), owner: model.owner(slot) });
    }
  }
  return out;
}

// A snapshot replaces the table (a server's first batch, or its batch after a reconnection):
// only the differences with the table known before it are reported, so a reconnection prints
// what happened while away — not the whole table again as new. Returns the new table.
function resync(before: ConnectionModel, b: Batch, emit: Emit): ConnectionModel {
  const after = new ConnectionModel();
  after.apply(b);
  const { gone, added, changed } = diffTables(before, after);
  for (const s of gone) {
    emit(before.page(s), before.index(s), before.extra(s), before.owner(s), "destroy", b);
  }
  const events = new Map<number, string>();
  for (const s of added) events.set(s, "new");
  for (const s of changed) events.set(s, "update");
  for (const s of [...events.keys()].sort((x, y) => x - y)) {
    emit(after.page(s), after.index(s), after.extra(s), after.owner(s), events.get(s)!, b);
  }
  return after;
}
