/**
 * The collector: a Web Worker that owns every FFI call of conntop's monitor. It dumps the
 * conntrack table at each refresh, listens to conntrack events in between (so connections
 * shorter than one refresh are seen, with their final counters), merges both into its
 * {@linkcode CtTable}, and posts one batch of changed records per refresh to the main thread.
 *
 * When a screen attaches one, it hosts the engine (src/engine/serve.ts): the batches go to it
 * instead of the main thread, which asks for the window it draws; a dump then lets the worker's
 * event loop turn every few milliseconds, so that a query is answered mid-dump.
 *
 * It also hosts the enrichment service (src/enrich/service.ts) when the main thread hands it a
 * port: one isolate for collecting and resolving, as the design has it. That module is loaded
 * only then, by a computed URL, so that conntopd, which never asks for it, holds no GeoIP or
 * resolver code (its build `--include`s it for conntop; see scripts/_build/commands.ts).
 *
 * It never touches the terminal. Everything it changes in the kernel (sysctls, the --track
 * table) it restores when told to stop, or when it fails.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import {
  NLM_F_DUMP_INTR,
  NLMSG_DONE,
  NLMSG_ERROR,
  protoName,
  RecordView,
} from "../conntrack/mod.ts";
import { enterNetns, Errno, OsError, strerror } from "../../ffi/libc.ts";
import { LIBNFCT_SONAME, LibraryLoadError } from "../../ffi/conntrack.ts";
import { ALL_EVENTS, CtSocket } from "./netlink.ts";
import { CtTable } from "./table.ts";
import {
  addTrackTable,
  deleteTrackTable,
  hasCapNetAdmin,
  hasFlowtables,
  readSysctl,
  readSysctlNumber,
  restoreSysctls,
  setSysctl,
  TRACK_TABLE,
  trackTableExists,
} from "./kernel.ts";
import { Journal, JournalError, netnsKey } from "./journal.ts";
import { deleteOrphanTable, recover, type Recovery } from "./recovery.ts";
import type {
  CollectorOptions,
  CollectorStatus,
  FromCollector,
  SysctlChange,
  ToCollector,
  Totals,
} from "./messages.ts";
import { ExitCode } from "../errors.ts";
import { netnsPath } from "./netns.ts";
import { OwnerTracker } from "./attribution.ts";
import { SocketOwners } from "./owners.ts";
import type { BatchMessage, LocalAddressList } from "./messages.ts";
import type { Owner } from "../enrich/types.ts";
import type { EnrichService } from "../enrich/messages.ts";

const EXIT_USAGE = ExitCode.USAGE;
/** Longest wait for events before looking at "collect"/"stop" requests again. */
const POLL_SLICE_MS = 50;
/** With a screen attached, a dump lets the event loop turn this often (ms). */
const YIELD_EVERY_MS = 4;

let stopping = false;
let collectNow = false;
/** Set by "pause" (a server with no client): no dumps and no event socket until "resume". */
let paused = false;
let wake: (() => void) | undefined;

function post(msg: FromCollector, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

// Computed, not a literal: a literal would put GeoIP and the resolver in conntopd's graph.
const ENRICH_SERVICE = new URL("../enrich/service.ts", import.meta.url).href;
/** The enrichment hosted here, once a client attached: code in this worker may call it. */
let enrichment: EnrichService | undefined;
/** The host's addresses as last read, handed to the enrichment when it attaches. */
let lastLocal: LocalAddressList | undefined;

// Computed, not a literal: conntopd and --once never load the engine.
const ENGINE_SERVE = new URL("../engine/serve.ts", import.meta.url).href;
/** The engine as this worker drives it (src/engine/serve.ts; not imported: see above). */
interface EngineServer {
  readonly setup: { forward: boolean };
  apply(batch: BatchMessage): void;
  /** Reads the records from this table in place (no second copy). */
  bind(table: CtTable): void;
}

/** The engine a screen attached, and its loading. */
let engine: EngineServer | undefined;
let engineLoading: Promise<void> | undefined;

function hostEngine(port: MessagePort): void {
  engineLoading = (async () => {
    try {
      const mod = await import(ENGINE_SERVE) as {
        serveEngine(p: MessagePort, s: () => EnrichService | undefined): Promise<EngineServer>;
      };
      engine = await mod.serveEngine(port, () => enrichment);
    } catch (err) {
      port.postMessage({
        type: "fatal",
        message: err instanceof Error ? err.message : String(err),
      });
    }
  })();
}

/** Lets queued messages (a screen's queries) run, when a screen is attached. */
let turnedAt = 0;
async function turn(): Promise<void> {
  if (engine === undefined) return;
  const t = performance.now();
  if (t - turnedAt < YIELD_EVERY_MS) return;
  await new Promise((resolve) => setTimeout(resolve, 0));
  turnedAt = performance.now();
}

async function hostEnrichment(port: MessagePort): Promise<void> {
  try {
    const mod = await import(ENRICH_SERVICE) as {
      serve(port: MessagePort): Promise<EnrichService>;
    };
    const service = await mod.serve(port);
    if (lastLocal !== undefined) service.setLocal(lastLocal);
    enrichment = service;
  } catch (err) {
    port.postMessage({ type: "fatal", message: err instanceof Error ? err.message : String(err) });
  }
}

self.onmessage = (e: MessageEvent<ToCollector>) => {
  const msg = e.data;
  if (msg.type === "start") {
    run(msg.options).finally(() => post({ type: "stopped" }));
  } else if (msg.type === "collect") {
    collectNow = true;
    wake?.();
  } else if (msg.type === "stop") {
    stopping = true;
    wake?.();
  } else if (msg.type === "pause") {
    paused = true;
    wake?.();
  } else if (msg.type === "resume") {
    paused = false;
    wake?.();
  } else if (msg.type === "enrich") {
    hostEnrichment(msg.port);
  } else if (msg.type === "engine") {
    hostEngine(msg.port);
  }
};

const now = (): number => performance.timeOrigin + performance.now();

class Fatal extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

async function run(opts: CollectorOptions): Promise<void> {
  const changed: SysctlChange[] = [];
  let trackTable: string | null = null;
  let journal: Journal | undefined;
  let dumpSock: CtSocket | undefined;
  // The event socket, replaced while paused (closed) and on resume (reopened).
  const events: { sock: CtSocket | undefined } = { sock: undefined };
  try {
    if (opts.netns !== undefined) {
      const path = netnsPath(opts.netns);
      try {
        enterNetns(path);
      } catch (err) {
        throw new Fatal(
          `Cannot enter network namespace '${opts.netns}' (${path}): ${(err as Error).message}`,
          EXIT_USAGE,
        );
      }
    }
    if (!hasCapNetAdmin()) throw privilegeError();
    const warnings: string[] = [];
    // What earlier runs, killed before they could restore, left changed here is undone first.
    const where = opts.netns === undefined
      ? "this network namespace"
      : `network namespace '${opts.netns}'`;
    const changing = opts.enableAcct || opts.track;
    const key = netnsKey();
    let recovery: Recovery = { restored: [], failed: [], running: [], liveTrack: false };
    try {
      recovery = recover(key, where);
    } catch (err) {
      if (!(err instanceof JournalError)) throw err;
      // A run that changes nothing goes on without looking; one that changes the kernel
      // refuses a directory that looks tampered with (and says below when it merely cannot
      // keep a journal); --restore cannot do its job either way.
      if (opts.restoreOnly || (changing && err.unsafe)) throw journalFatal(err);
    }
    if (opts.restoreOnly) {
      const orphan = deleteOrphanTable(recovery, where);
      post({
        type: "restored",
        restored: orphan === null ? recovery.restored : [...recovery.restored, orphan],
        failed: recovery.failed,
        running: recovery.running.map((e) => e.pid),
      });
      return;
    }
    warnings.push(...recovery.restored, ...recovery.failed);
    if (changing) {
      try {
        journal = Journal.create(key, opts.netns ?? null);
      } catch (err) {
        if (!(err instanceof JournalError) || err.unsafe) throw journalFatal(err);
        // Out of reach (a sandboxed service's read-only /run, no permission): the changes are
        // still undone on every way out but SIGKILL, and --restore deletes a leftover table.
        warnings.push(
          `${err.message}: if conntop is killed (SIGKILL), what --enable-acct and --track changed stays changed`,
        );
      }
    }
    try {
      dumpSock = CtSocket.open(0, 1 << 16);
    } catch (err) {
      throw classify(err);
    }
    let eventsEnabled = opts.events;
    if (opts.events) {
      try {
        events.sock = openEvents(opts);
      } catch (err) {
        const c = classify(err);
        if (c.exitCode === EXIT_USAGE) throw c;
        warnings.push(
          `Conntrack events are unavailable (${c.message}): short-lived connections may be missed`,
        );
        eventsEnabled = false;
      }
    }
    if (opts.enableAcct) {
      for (const name of ["nf_conntrack_acct", "nf_conntrack_timestamp"]) {
        try {
          const c = setSysctl(name, "1", (c) => journal?.addSysctl(c));
          if (c !== null) changed.push(c);
        } catch (err) {
          if (err instanceof JournalError) throw journalFatal(err);
          throw new Fatal((err as Error).message, ExitCode.FAILURE);
        }
      }
    }
    if (opts.track) {
      try {
        if (!trackTableExists()) {
          journal?.setTrack(TRACK_TABLE);
          trackTable = addTrackTable();
        } else if (!recovery.liveTrack) {
          // Left by a conntop that kept no journal: no running conntop owns it, so this run
          // takes it over and deletes it on exit rather than leaving it for ever.
          journal?.setTrack(TRACK_TABLE);
          trackTable = TRACK_TABLE;
          warnings.push(
            `Took over the nftables table 'inet ${TRACK_TABLE}' an earlier conntop left in ${where}; it is deleted on exit`,
          );
        }
        // Else a running conntop owns it and deletes it when it ends.
      } catch (err) {
        if (err instanceof JournalError) throw journalFatal(err);
        throw new Fatal((err as Error).message, ExitCode.FAILURE);
      }
    }
    const acct = readSysctl("nf_conntrack_acct");
    const tstamp = readSysctl("nf_conntrack_timestamp");
    if (acct === "0") {
      warnings.push(
        "Accounting is off (net.netfilter.nf_conntrack_acct = 0): packet and byte counters are not collected; use --enable-acct",
      );
    }
    if (tstamp === "0") {
      warnings.push(
        "Timestamps are off (net.netfilter.nf_conntrack_timestamp = 0): connection ages are unknown; use --enable-acct",
      );
    }
    const flowtables = hasFlowtables();
    if (flowtables) {
      warnings.push(
        "A flowtable is configured: the kernel does not update counters of offloaded flows unless the flowtable has the 'counter' flag",
      );
    }
    post({
      type: "ready",
      warnings,
      changed,
      trackTable,
      flowtables,
      journal: journal?.path ?? null,
    });
    await loop(opts, dumpSock, events, eventsEnabled);
  } catch (err) {
    const f = err instanceof Fatal ? err : classify(err);
    post({ type: "fatal", message: f.message, exitCode: f.exitCode });
  } finally {
    events.sock?.close();
    dumpSock?.close();
    const failed = restoreSysctls(changed);
    if (failed.length > 0) {
      post({ type: "warning", message: `Failed to restore ${failed.join(", ")}` });
    }
    const tableFailed = trackTable !== null && !deleteTrackTable(trackTable);
    if (tableFailed) {
      post({ type: "warning", message: `Failed to delete nftables table 'inet ${trackTable}'` });
    }
    // Kept when something could not be undone: the next start (or --restore) tries again.
    if (failed.length === 0 && !tableFailed) journal?.remove();
  }
}

/** The undo journal cannot be kept: changing the kernel without it is refused. */
function journalFatal(err: unknown): Fatal {
  const message = err instanceof Error ? err.message : String(err);
  return new Fatal(
    err instanceof JournalError
      ? `${message} (--enable-acct, --track and --restore keep their undo journal there)`
      : message,
    err instanceof JournalError ? EXIT_USAGE : ExitCode.FAILURE,
  );
}

function openEvents(opts: CollectorOptions): CtSocket {
  const sock = CtSocket.open(ALL_EVENTS, 1 << 16);
  sock.setReceiveBuffer(opts.eventBufferBytes);
  return sock;
}

function privilegeError(): Fatal {
  return new Fatal(
    "Permission denied: reading the conntrack table needs CAP_NET_ADMIN; run with sudo, or give the binary the capability with 'setcap cap_net_admin+ep'",
    EXIT_USAGE,
  );
}

function classify(err: unknown): Fatal {
  if (err instanceof Fatal) return err;
  if (err instanceof OsError && (err.errno === Errno.EPERM || err.errno === Errno.EACCES)) {
    return privilegeError();
  }
  if (err instanceof LibraryLoadError) {
    return new Fatal(
      `Cannot load ${
        err.path === LIBNFCT_SONAME ? LIBNFCT_SONAME : `'${err.path}'`
      }: install the Debian package libnetfilter-conntrack3 (or fix CONNTOP_LIBNFCT)`,
      EXIT_USAGE,
    );
  }
  return new Fatal(err instanceof Error ? err.message : String(err), ExitCode.FAILURE);
}

async function loop(
  opts: CollectorOptions,
  dumpSock: CtSocket,
  events: { sock: CtSocket | undefined },
  eventsEnabled: boolean,
): Promise<void> {
  const table = new CtTable();
  const status: CollectorStatus = {
    dumpMs: 0,
    dumps: 0,
    eventOverruns: 0,
    events: 0,
    dumpInterrupted: false,
    eventsEnabled,
  };
  let seq = 0;
  let next = now();
  // Owners of this host's connections; off (with one warning) if /proc cannot be read.
  let tracker: OwnerTracker | undefined;
  try {
    tracker = new OwnerTracker(new SocketOwners());
  } catch (err) {
    post({ type: "warning", message: `Process attribution is off: ${(err as Error).message}` });
  }
  let local: LocalAddressList | undefined = tracker?.local;
  // Size the table for the kernel's count up front: regrowing a large table in steps would
  // leave every intermediate copy behind as garbage.
  table.reserve((readSysctlNumber("nf_conntrack_count") ?? 0) * 1.02);
  if (engineLoading !== undefined) await engineLoading;
  engine?.bind(table);
  while (!stopping) {
    if (paused) {
      await pause(opts, events, status);
      if (stopping) break;
      next = now();
    }
    collectNow = false;
    const evSock = events.sock;
    const startedMs = now();
    if (evSock !== undefined) drainEvents(evSock, table, status);
    await dump(dumpSock, table, status);
    if (evSock !== undefined && drainEvents(evSock, table, status)) {
      await dump(dumpSock, table, status);
    }
    // An engine reading this table in place needs no copies of the changed records.
    const inPlace = engine !== undefined && !engine.setup.forward;
    const batch = table.takeBatch(!inPlace);
    let owners: [number, Owner | null][] = [];
    if (tracker !== undefined) {
      try {
        local ??= tracker.refreshLocal();
        if (local !== undefined) {
          lastLocal = local;
          enrichment?.setLocal(local);
        }
        owners = batch.changes === undefined
          ? tracker.update(batch.chunks)
          : tracker.updateChanges(batch.changes, new RecordView(table.records.buffer));
      } catch (err) {
        tracker = undefined;
        post({
          type: "warning",
          message: `Process attribution stopped: ${(err as Error).message}`,
        });
      }
    }
    const timeMs = now();
    const msg: BatchMessage = {
      type: "batch",
      seq: seq++,
      timeMs,
      startedMs,
      records: batch.chunks.map((c) => c.buffer),
      count: batch.count,
      extras: batch.extras,
      owners,
      local,
      totals: totals(table),
      status: { ...status },
      changes: batch.changes,
    };
    if (engineLoading !== undefined) await engineLoading;
    if (engine === undefined) post(msg, msg.records);
    else if (engine.setup.forward) {
      // A recording wants the records too: copies, the engine keeps the originals.
      const copies = msg.records.map((b) => b.slice(0));
      post({ ...msg, records: copies }, copies);
      engine.apply(msg);
    } else {
      post({
        ...msg,
        records: [],
        count: 0,
        extras: [],
        owners: [],
        changes: undefined,
        inWorker: true,
      });
      engine.apply(msg);
    }
    status.lastError = undefined;
    local = undefined;
    next += opts.intervalMs;
    if (next < now()) next = now() + opts.intervalMs;
    while (!stopping && !collectNow && !paused) {
      const left = next - now();
      if (left <= 0) break;
      if (evSock === undefined) {
        await sleep(left);
        continue;
      }
      // Short slices: a poll() running off-thread cannot be woken by a "collect" or "stop".
      if (await evSock.readable(Math.min(left, POLL_SLICE_MS))) {
        if (drainEvents(evSock, table, status)) await dump(dumpSock, table, status);
      }
    }
  }
}

/**
 * Sleeps until "resume" or "stop". The event socket is closed meanwhile: nobody reads it, so the
 * kernel's buffer would overflow into a spurious ENOBUFS. The table keeps what it had; the dump
 * right after resuming turns whatever changed meanwhile into the next batch.
 */
async function pause(
  opts: CollectorOptions,
  events: { sock: CtSocket | undefined },
  status: CollectorStatus,
): Promise<void> {
  const hadEvents = events.sock !== undefined;
  events.sock?.close();
  events.sock = undefined;
  while (paused && !stopping) await sleep(60_000);
  if (!hadEvents || stopping) return;
  try {
    events.sock = openEvents(opts);
  } catch (err) {
    status.eventsEnabled = false;
    post({
      type: "warning",
      message: `Conntrack events are unavailable after resuming (${
        classify(err).message
      }): short-lived connections may be missed`,
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      wake = undefined;
      resolve();
    }, ms);
    wake = () => {
      clearTimeout(t);
      wake = undefined;
      resolve();
    };
  });
}

/** Runs one full dump into the table (letting a screen's queries in between receives). */
async function dump(sock: CtSocket, table: CtTable, status: CollectorStatus): Promise<void> {
  const t0 = now();
  sock.requestDump(0);
  table.beginDump();
  let interrupted = false;
  const view = sock.view;
  for (;;) {
    const r = sock.recv(true);
    if (r.bytes < 0) {
      if (r.errno === Errno.EINTR) continue;
      throw new OsError("receive the conntrack dump", r.errno);
    }
    const sampled = now();
    let off = 0;
    let done = false;
    while (off + 16 <= r.bytes) {
      const len = view.getUint32(off, true);
      if (len < 16 || off + len > r.bytes) break;
      const type = view.getUint16(off + 4, true);
      if (view.getUint16(off + 6, true) & NLM_F_DUMP_INTR) interrupted = true;
      if (type === NLMSG_DONE) {
        done = true;
        break;
      }
      if (type === NLMSG_ERROR) {
        const code = -view.getInt32(off + 16, true);
        if (code !== 0) {
          if (code === Errno.EPERM) throw privilegeError();
          throw new OsError("dump the conntrack table", code);
        }
      } else {
        table.applyDump(view, off, sampled);
      }
      off += (len + 3) & ~3;
    }
    if (done) break;
    await turn();
  }
  table.endDump(!interrupted);
  status.dumps++;
  status.dumpInterrupted = interrupted;
  status.dumpMs = now() - t0;
}

/** Reads every pending event; returns true when the socket overflowed and a resync is due. */
function drainEvents(sock: CtSocket, table: CtTable, status: CollectorStatus): boolean {
  const view = sock.view;
  let overrun = false;
  for (;;) {
    const r = sock.recv(false);
    if (r.bytes < 0) {
      if (r.errno === 0) return overrun; // EAGAIN: nothing more for now
      if (r.errno === Errno.ENOBUFS) {
        status.eventOverruns++;
        status.lastError = "Event socket overrun (ENOBUFS): resynchronised with a dump";
        overrun = true;
        continue;
      }
      if (r.errno === Errno.EINTR) continue;
      status.lastError = `Failed to receive conntrack events: ${strerror(r.errno)}`;
      return overrun;
    }
    if (r.bytes === 0) return overrun;
    const sampled = now();
    let off = 0;
    while (off + 16 <= r.bytes) {
      const len = view.getUint32(off, true);
      if (len < 16 || off + len > r.bytes) break;
      if (table.applyEvent(view, off, sampled)) status.events++;
      off += (len + 3) & ~3;
    }
  }
}

function totals(table: CtTable): Totals {
  const c = table.counts(protoName);
  const acct = readSysctl("nf_conntrack_acct");
  const ts = readSysctl("nf_conntrack_timestamp");
  return {
    count: c.total,
    kernelCount: readSysctlNumber("nf_conntrack_count"),
    max: readSysctlNumber("nf_conntrack_max"),
    byProto: c.byProto,
    ipv4: c.ipv4,
    ipv6: c.ipv6,
    accounting: acct === null ? null : acct !== "0",
    timestamps: ts === null ? null : ts !== "0",
    offloaded: c.offloaded,
  };
}
