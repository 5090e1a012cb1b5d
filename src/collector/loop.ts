/**
 * The collection loop, wherever it runs: in the collector worker (worker.ts, the monitor) or
 * on the thread of a server that needs no worker isolate (local.ts, conntopd). It dumps the
 * conntrack table at each refresh, listens to conntrack events in between (so connections
 * shorter than one refresh are seen, with their final counters), merges both into its
 * {@linkcode CtTable}, and reports one batch of changed records per refresh through its
 * {@linkcode CollectorControl}.
 *
 * It never touches the terminal. Everything it changes in the kernel (sysctls, the --track
 * table) it restores when told to stop, or when it fails. Its long waits (poll, and with
 * `yieldMs` the dump's reads) run off-thread as nonblocking FFI calls, so the thread it shares
 * keeps turning.
 *
 * @module
 */

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
  Totals,
} from "./messages.ts";
import { ExitCode } from "../errors.ts";
import { netnsPath } from "./netns.ts";
import { OwnerTracker } from "./attribution.ts";
import { SocketOwners } from "./owners.ts";
import type { BatchMessage, LocalAddressList } from "./messages.ts";
import type { Owner } from "../core/mod.ts";

const EXIT_USAGE = ExitCode.USAGE;
/** Longest wait for events before looking at "collect"/"stop" requests again. */
const POLL_SLICE_MS = 50;
/**
 * A server's fresh table is sampled twice at least this far apart (or one interval, if
 * shorter) before its first batch, so that batch already carries rates: longer than the 50 ms
 * below which the table keeps no rate (table.ts), short enough not to keep a first client
 * waiting.
 */
const PRIME_GAP_MS = 250;

/** Where the loop's reports go, and what it is told (stop, pause, resume, collect now). */
export class CollectorControl {
  /** Set by {@linkcode stop}. */
  stopping = false;
  /** Set by {@linkcode collect}: refresh now instead of at the next tick. */
  collectNow = false;
  /** Set by {@linkcode pause} (a server with no client): no dumps and no event socket. */
  paused = false;
  /**
   * A pause the loop has not gone through yet: it may have been resumed before the loop looked
   * (a client left and another came within one poll slice), and a loop that lets its table go
   * must still start a new one, since its receiver let its view of the table go at the pause.
   */
  #pauseUnseen = false;
  /** Drop the table while paused (its memory goes back) and refill it on resume. */
  readonly releaseWhilePaused: boolean;
  /**
   * Give the event loop a turn at least this often during a dump (ms); undefined: the dump's
   * reads block (a worker has nothing else to run).
   */
  yieldMs: number | undefined;
  /** Hears of each release of the table (see {@linkcode releaseWhilePaused}). */
  onRelease: (() => void) | undefined;
  /**
   * Where each batch goes; by default {@linkcode post}, its buffers transferred. A worker that
   * hosts the engine hands the batches to it instead (see worker.ts).
   */
  deliver: (msg: BatchMessage) => void | Promise<void> = (msg) => this.post(msg, msg.records);
  /**
   * The batches' receiver reads the loop's table in place, so batches carry the changes as
   * (slot, kind) pairs instead of copies of the records.
   */
  inPlace = false;
  /** Hears of the table the loop fills, before its first dump (and of each new one). */
  onTable: ((table: CtTable) => void | Promise<void>) | undefined;
  /** Hears of the host's addresses each time they are read anew. */
  onLocal: ((local: LocalAddressList) => void) | undefined;
  readonly #post: (msg: FromCollector, transfer: Transferable[]) => void;
  #wake: (() => void) | undefined;

  /**
   * `post` receives every message the loop sends (batches with their buffers to transfer);
   * `options.paused` starts the loop paused (a server before its first client).
   */
  constructor(
    post: (msg: FromCollector, transfer: Transferable[]) => void,
    options: { releaseWhilePaused?: boolean; yieldMs?: number; paused?: boolean } = {},
  ) {
    this.#post = post;
    this.paused = options.paused ?? false;
    this.#pauseUnseen = this.paused;
    this.releaseWhilePaused = options.releaseWhilePaused ?? false;
    this.yieldMs = options.yieldMs;
  }

  /** Sends `msg` to whoever runs the loop. */
  post(msg: FromCollector, transfer: Transferable[] = []): void {
    this.#post(msg, transfer);
  }

  /** Asks for a refresh now. */
  collect(): void {
    this.collectNow = true;
    this.#wake?.();
  }

  /** Asks the loop to stop (it restores what it changed, then its promise resolves). */
  stop(): void {
    this.stopping = true;
    this.#wake?.();
  }

  /** Stops collecting until {@linkcode resume}. */
  pause(): void {
    this.paused = true;
    this.#pauseUnseen = true;
    this.#wake?.();
  }

  /** Collects again after {@linkcode pause}. */
  resume(): void {
    this.paused = false;
    this.#wake?.();
  }

  /**
   * Whether the loop must go through its pause now: paused, or (a loop that lets its table go)
   * paused and resumed since it last went through one.
   */
  get pausing(): boolean {
    return this.paused || (this.releaseWhilePaused && this.#pauseUnseen);
  }

  /** The loop goes through the pause asked for. */
  pauseSeen(): void {
    this.#pauseUnseen = false;
  }

  /** Sleeps `ms`, or until any of the requests above. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

const now = (): number => performance.timeOrigin + performance.now();

class Fatal extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/**
 * Runs the collector for `opts` until `ctl` is stopped or it fails: sets up (namespace,
 * privilege check, recovery, journal, sockets, sysctls, --track table), says "ready", collects,
 * and restores everything it changed on every way out. Everything it reports goes through
 * `ctl.post`; it never throws (a failure is posted as "fatal"). Does not post "stopped": the
 * caller does, once this resolves.
 */
export async function runCollector(opts: CollectorOptions, ctl: CollectorControl): Promise<void> {
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
      ctl.post({
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
    ctl.post({
      type: "ready",
      warnings,
      changed,
      trackTable,
      flowtables,
      journal: journal?.path ?? null,
    });
    await loop(opts, dumpSock, events, eventsEnabled, ctl);
  } catch (err) {
    const f = err instanceof Fatal ? err : classify(err);
    ctl.post({ type: "fatal", message: f.message, exitCode: f.exitCode });
  } finally {
    events.sock?.close();
    dumpSock?.close();
    const failed = restoreSysctls(changed);
    if (failed.length > 0) {
      ctl.post({ type: "warning", message: `Failed to restore ${failed.join(", ")}` });
    }
    const tableFailed = trackTable !== null && !deleteTrackTable(trackTable);
    if (tableFailed) {
      ctl.post({
        type: "warning",
        message: `Failed to delete nftables table 'inet ${trackTable}'`,
      });
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
  ctl: CollectorControl,
): Promise<void> {
  let table = new CtTable();
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
  // Whether the table has been sampled before its first batch (see PRIME_GAP_MS).
  let primed = !ctl.releaseWhilePaused;
  // Owners of this host's connections; off (with one warning) if /proc cannot be read.
  let tracker: OwnerTracker | undefined;
  try {
    tracker = new OwnerTracker(new SocketOwners());
  } catch (err) {
    ctl.post({ type: "warning", message: `Process attribution is off: ${(err as Error).message}` });
  }
  let local: LocalAddressList | undefined = tracker?.local;
  // Size the table for the kernel's count up front: regrowing a large table in steps would
  // leave every intermediate copy behind as garbage. (A loop that starts paused does it when
  // it resumes.)
  if (!ctl.paused) table.reserve((readSysctlNumber("nf_conntrack_count") ?? 0) * 1.02);
  await ctl.onTable?.(table);
  // Set after the table was let go and made anew: the next batch is the whole table.
  let whole = false;
  while (!ctl.stopping) {
    if (ctl.pausing) {
      ctl.pauseSeen();
      if (ctl.releaseWhilePaused) {
        // Nobody needs the table while paused: let it go (a server's memory goes back to
        // where it started) and fill a new one at the resume's first dump. The owners were
        // kept per slot of the old table, so they start again too.
        table = new CtTable(1);
        tracker = undefined;
        ctl.onRelease?.();
      }
      await pause(opts, events, status, ctl);
      // Pauses asked for while it was paused (a server's hub pauses at start, when the loop
      // already is) are gone through: only one that comes later must be.
      ctl.pauseSeen();
      if (ctl.stopping) break;
      if (ctl.releaseWhilePaused) {
        // The next batch holds the whole table: it says so, so that a receiver can tell it
        // from a batch that was under way when the table was let go.
        whole = true;
        table = new CtTable();
        table.reserve((readSysctlNumber("nf_conntrack_count") ?? 0) * 1.02);
        await ctl.onTable?.(table);
        try {
          tracker = new OwnerTracker(new SocketOwners());
          local = tracker.local;
        } catch {
          // Said once at start; a tracker that fails now stays off.
        }
      }
      next = now();
      primed = !ctl.releaseWhilePaused;
    }
    ctl.collectNow = false;
    const evSock = events.sock;
    if (!primed) {
      // The first batch after a resume holds the whole table. Sampled once, no connection in it
      // would have a rate yet, and the next batch would hold the whole table again only to
      // give each its first rate (at 200k, 34 MB of records and 45 MB of lines, beside the
      // table and the snapshot). So a fresh table is sampled twice, at least PRIME_GAP_MS
      // apart, before its first batch: that batch carries every rate.
      primed = true;
      const t0 = now();
      if (evSock !== undefined) drainEvents(evSock, table, status);
      await dump(dumpSock, table, status, ctl.yieldMs);
      const gap = Math.min(opts.intervalMs, PRIME_GAP_MS);
      while (!ctl.stopping && !ctl.pausing && now() - t0 < gap) await ctl.sleep(gap - (now() - t0));
      if (ctl.stopping || ctl.pausing) continue;
    }
    const startedMs = now();
    if (evSock !== undefined) drainEvents(evSock, table, status);
    await dump(dumpSock, table, status, ctl.yieldMs);
    if (evSock !== undefined && drainEvents(evSock, table, status)) {
      await dump(dumpSock, table, status, ctl.yieldMs);
    }
    // A receiver reading this table in place, or taking it whole at the end, needs no copies
    // of the changed records.
    const last = opts.handOver !== undefined && seq === opts.handOver - 1;
    const batch = table.takeBatch(!ctl.inPlace && opts.handOver === undefined);
    let owners: [number, Owner | null][] = [];
    if (tracker !== undefined) {
      try {
        local ??= tracker.refreshLocal();
        if (local !== undefined) ctl.onLocal?.(local);
        owners = batch.changes === undefined
          ? tracker.update(batch.chunks)
          : tracker.updateChanges(batch.changes, new RecordView(table.records.buffer));
      } catch (err) {
        tracker = undefined;
        ctl.post({
          type: "warning",
          message: `Process attribution stopped: ${(err as Error).message}`,
        });
      }
    }
    const timeMs = now();
    await ctl.deliver({
      type: "batch",
      seq: seq++,
      timeMs,
      startedMs,
      // The table itself, last: transferred, it is never held twice (the loop ends below).
      records: last ? [table.records.buffer as ArrayBuffer] : batch.chunks.map((c) => c.buffer),
      handedOver: last || undefined,
      count: last ? table.size : batch.count,
      extras: batch.extras,
      owners,
      local,
      totals: totals(table),
      status: { ...status },
      changes: batch.changes,
      ...(whole ? { reset: true } : {}),
    });
    whole = false;
    // Handed over. A loop sharing its thread must not keep them alive while it waits for the
    // next refresh (a worker's are transferred, so detached anyway).
    batch.chunks.length = 0;
    if (last) break;
    status.lastError = undefined;
    local = undefined;
    next += opts.intervalMs;
    if (next < now()) next = now() + opts.intervalMs;
    while (!ctl.stopping && !ctl.collectNow && !ctl.pausing) {
      const left = next - now();
      if (left <= 0) break;
      if (evSock === undefined) {
        await ctl.sleep(left);
        continue;
      }
      // Short slices: a poll() running off-thread cannot be woken by a "collect" or "stop".
      if (await evSock.readable(Math.min(left, POLL_SLICE_MS))) {
        if (drainEvents(evSock, table, status)) await dump(dumpSock, table, status, ctl.yieldMs);
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
  ctl: CollectorControl,
): Promise<void> {
  const hadEvents = events.sock !== undefined;
  events.sock?.close();
  events.sock = undefined;
  while (ctl.paused && !ctl.stopping) await ctl.sleep(60_000);
  if (!hadEvents || ctl.stopping) return;
  try {
    events.sock = openEvents(opts);
  } catch (err) {
    status.eventsEnabled = false;
    ctl.post({
      type: "warning",
      message: `Conntrack events are unavailable after resuming (${
        classify(err).message
      }): short-lived connections may be missed`,
    });
  }
}

/**
 * Runs one full dump into the table. With `yieldMs` (a collector sharing its thread), the
 * socket is read without blocking, waiting off-thread when the kernel has nothing yet, and the
 * event loop gets a turn at least every `yieldMs`; without it (the worker), `recv()` blocks.
 */
async function dump(
  sock: CtSocket,
  table: CtTable,
  status: CollectorStatus,
  yieldMs: number | undefined,
): Promise<void> {
  const t0 = now();
  sock.requestDump(0);
  table.beginDump();
  let interrupted = false;
  const view = sock.view;
  let turn = t0;
  for (;;) {
    const r = sock.recv(yieldMs === undefined);
    if (r.bytes < 0) {
      if (r.errno === 0) {
        // Would block (only without waiting): wait off-thread for the kernel's next part.
        await sock.readable(POLL_SLICE_MS);
        continue;
      }
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
    if (yieldMs !== undefined && sampled - turn >= yieldMs) {
      await nextTask();
      turn = now();
    }
  }
  table.endDump(!interrupted);
  status.dumps++;
  status.dumpInterrupted = interrupted;
  status.dumpMs = now() - t0;
}

/**
 * Lets the event loop run what is queued (a screen's query, a client's message), then goes on.
 * A message to a channel of its own, not `setTimeout(0)`: nested timers are clamped to 4 ms, so
 * a dump yielding every few milliseconds would take up to twice as long.
 */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(null);
  });
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
