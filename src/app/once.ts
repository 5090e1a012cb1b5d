/**
 * `conntop --once`: prints the table once, like `conntrack -L`, in a format for people or
 * scripts. With `--interval S` it samples twice, S seconds apart, so rates are filled. With
 * `--connect` it prints a server's table: the snapshot it sends first, as the server has it.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import { isEmptyFilter } from "../core/mod.ts";
import { ConnectionModel } from "../model/mod.ts";
import type { Connection } from "../core/mod.ts";
import { csvHeader, csvLine, formatJson, formatNdjsonLine, formatTable } from "../output/mod.ts";
import { runSession, type SessionHandlers } from "./session.ts";
import { runRemoteSession } from "./remote.ts";
import { emptyTableHint } from "./hints.ts";
import { type Enrichment, startEnrichment } from "./enrichment.ts";

/** Runs --once, writing to `out`; resolves with the exit code. */
export async function runOnce(
  opts: Options,
  out: (text: string) => Promise<void>,
  warn: (line: string) => void,
): Promise<number> {
  const model = new ConnectionModel();
  const warnings: string[] = [];
  const note = (w: string) => {
    warnings.push(w);
    warn(w);
  };
  // Enrichment loads while the table is read.
  using enrichment = startEnrichment(opts, { onWarning: note }, { maxQueue: 1 << 20 });
  const wanted = opts.intervalGiven ? 2 : 1;
  let seen = 0;
  let flowtables = false;
  let netns = opts.netns ?? null;
  const handlers: SessionHandlers = {
    onBatch: (b, ready) => {
      flowtables = ready.flowtables;
      model.apply(b);
      return ++seen >= wanted;
    },
    onWarning: note,
  };
  // A server's first batch is its whole table: one is all it takes.
  const code = opts.remote === undefined
    ? await runSession(opts, handlers)
    : await runRemoteSession(
      opts,
      {
        ...handlers,
        onWelcome: (w) => void (netns = w.netns),
      },
      "never",
      opts.remote.deadlineMs,
    );
  if (code !== 0) return code;
  const totals = model.totals!;
  if (totals.count === 0 && !opts.track) {
    note(emptyTableHint(netns ?? undefined, opts.remote?.display));
  }
  if (totals.offloaded > 0 && !flowtables) {
    note(
      `${totals.offloaded} connections are offloaded to a flowtable: their counters may stand still`,
    );
  }
  const now = model.timeMs;
  const conns: Connection[] = [];
  const empty = isEmptyFilter(opts.filter);
  for (const s of model.slots()) {
    if (empty || model.matches(opts.filter, s)) conns.push(model.connection(s, now));
  }
  conns.sort((a, b) => a.protonum - b.protonum || a.id - b.id);
  await enrich(enrichment, conns, model, opts.hostnames);
  switch (opts.format) {
    case "json":
      await out(formatJson({
        format_version: 1,
        time: new Date(now).toISOString(),
        netns,
        accounting: totals.accounting,
        timestamps: totals.timestamps,
        totals,
        status: model.status!,
        warnings,
        connections: conns,
      }));
      break;
    case "ndjson":
      await writeChunked(out, conns, (c) => formatNdjsonLine(c));
      break;
    case "csv":
      await out(csvHeader());
      await writeChunked(out, conns, (c) => csvLine(c));
      break;
    default:
      await out(formatTable(conns));
  }
  return 0;
}

/** Longest wait for hostnames in --once, ms: lookups not answered by then stay null. */
const ONCE_DNS_DEADLINE_MS = 5000;

// Fills the enrichment fields: asks for everything at once, waits for the answers (GeoIP is
// quick; hostnames until the deadline), then fills again with what arrived.
async function enrich(
  e: Enrichment,
  conns: Connection[],
  model: ConnectionModel,
  hosts: boolean,
): Promise<void> {
  await e.ready;
  e.store.setLocal(model.local);
  for (const c of conns) e.store.fill(c, hosts);
  e.store.flush();
  const deadline = Date.now() + ONCE_DNS_DEADLINE_MS;
  while (e.store.pending > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const c of conns) e.store.fill(c, false);
}

async function writeChunked<T>(
  out: (text: string) => Promise<void>,
  items: T[],
  fmt: (x: T) => string,
): Promise<void> {
  let buf = "";
  for (const x of items) {
    buf += fmt(x);
    if (buf.length > 1 << 16) {
      await out(buf);
      buf = "";
    }
  }
  if (buf !== "") await out(buf);
}
