/**
 * `conntop --stream`: every change the collector reports, as it is collected — one NDJSON
 * object (or CSV line) per new, updated or destroyed connection, with an `event` field and the
 * refresh time. Short-lived connections appear as a `new` followed by a `destroy` carrying their
 * final counters.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import { ConnectionModel, isEmptyFilter, matches, toConnection } from "../model/mod.ts";
import { Kind, OFF } from "../conntrack/mod.ts";
import { csvHeader, csvLine, formatNdjsonLine } from "../output/mod.ts";
import { runSession } from "./session.ts";

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
  const model = new ConnectionModel();
  const empty = isEmptyFilter(opts.filter);
  let batches = 0;
  if (opts.format === "csv") out(csvHeader(["event", "time"]));
  return runSession(opts, {
    onBatch: (b) => {
      // The destroyed connections' extras are dropped by apply(): read them first.
      const extras = new Map(b.extras);
      const time = new Date(b.timeMs).toISOString();
      for (const view of model.apply(b)) {
        let text = "";
        for (let i = 0; i < view.count; i++) {
          if (!empty && !matches(opts.filter, view, i)) continue;
          const slot = view.u32At(i, OFF.SLOT);
          const c = toConnection(view, i, extras.get(slot) ?? model.extra(slot), b.timeMs);
          const event = EVENT_NAMES[view.u8At(i, OFF.KIND)] ?? "update";
          text += opts.format === "csv"
            ? csvLine(c, [event, time])
            : formatNdjsonLine(c, { event, time });
          if (text.length > FLUSH_AT) {
            out(text);
            text = "";
          }
        }
        if (text !== "") out(text);
      }
      batches++;
      return opts.count > 0 && batches >= opts.count;
    },
    onWarning: warn,
  });
}
