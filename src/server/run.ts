/**
 * The server's life: checks what it was asked for, starts the collector (paused until a client
 * comes), listens, serves clients through the hub, and on SIGINT, SIGTERM or SIGHUP (or a fatal
 * collector error) says `bye server_quit` to every client, stops the collector (which restores
 * the sysctls and the --track table) and returns the exit code.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import { endpointText, type ServerOptions } from "../core/mod.ts";
import { LocalCollector } from "../collector/local.ts";
import { fixMallocThresholds } from "../malloc.ts";
import type { BatchMessage } from "../core/mod.ts";
import type { CollectorOptions, ReadyMessage } from "../collector/mod.ts";
import { netnsPath } from "../collector/mod.ts";
import { RECORD_SIZE } from "../conntrack/mod.ts";
import { ConntopError, EnvironmentError, ExitCode } from "../errors.ts";
import {
  type Banner,
  CHUNK_RECORDS,
  encodeMessage,
  PROTOCOL_NAME,
  SUPPORTED_VERSIONS,
  type Welcome,
} from "../protocol/mod.ts";
import { onExitSignal, onUncaughtError, uncaughtMessage } from "../signals.ts";
import { PEM_FILE_MAX_BYTES, readSmallFile, SmallFileError } from "../files/mod.ts";
import { readToken, type Token } from "./auth.ts";
import { checkExposure } from "./exposure.ts";
import { bounded, Hub } from "./hub.ts";
import { Admission } from "./limits.ts";
import { acceptLoop, listenAll, type Listening, type TlsFiles } from "./listen.ts";
import { type Logger, openLogger } from "./log.ts";
import { Session, type SessionContext } from "./session.ts";
import { SERVER_SOFTWARE } from "./usage.ts";

/** How often timeouts and write progress are checked, ms. */
const TICK_MS = 250;
/** The longest a write may make no progress before its client is dropped, ms. */
const MAX_STALL_MS = 30_000;

/**
 * Runs the server for `opts` (mode "server") until a signal; resolves with the exit code the
 * signal asks for. Throws {@linkcode ConntopError} when it cannot start, or after a fatal
 * collector error (having told the clients and cleaned up).
 */
export async function runServer(opts: Options): Promise<number> {
  const so = opts.server;
  if (so === undefined) throw new ConntopError("runServer() needs server options");
  fixMallocThresholds();
  const log = openLogger(so.logLevel, so.logFile);
  try {
    return await serve(opts, so, log);
  } catch (err) {
    // On stderr the caller's own line says it; a log file must say it too.
    if (err instanceof ConntopError && so.logFile !== undefined) log.error(err.message);
    throw err;
  } finally {
    log.close();
  }
}

async function serve(opts: Options, so: ServerOptions, log: Logger): Promise<number> {
  for (const w of checkExposure(so)) log.warning(w);
  const token = so.tokenFile === undefined
    ? undefined
    : await readToken(so.tokenFile, (w) => log.warning(w));
  const tls = so.tlsCert === undefined || so.tlsKey === undefined
    ? undefined
    : readTls(so.tlsCert, so.tlsKey);
  if (opts.netns !== undefined) {
    const path = netnsPath(opts.netns);
    try {
      Deno.statSync(path);
    } catch {
      throw new EnvironmentError(`Network namespace '${opts.netns}' not found (no ${path})`);
    }
  }
  const name = so.name ?? bounded(Deno.hostname(), 255);

  // From here on a signal or a fatal error ends the run through `done`.
  let finish!: (code: number) => void;
  let fatal: ConntopError | undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const removeSignals = onExitSignal((code) => finish(code));
  // An uncaught error ends the run as a fatal collector error does: clients told, kernel restored.
  let crashed = false;
  const removeUncaught = onUncaughtError((err) => {
    if (fatal === undefined) crashed = true;
    fatal ??= new ConntopError(uncaughtMessage(err), ExitCode.FAILURE, { cause: err });
    finish(ExitCode.FAILURE);
  });

  const hub = new Hub((paused) =>
    log.debug(paused ? "Collection paused: no client" : "Collection resumed")
  );
  let overruns = 0;
  const onBatch = (b: BatchMessage) => {
    if (b.status.eventOverruns > overruns) {
      overruns = b.status.eventOverruns;
      const m =
        `The event socket overflowed (ENOBUFS, ${overruns} so far): resynchronised with a dump; a larger --event-buffer avoids it`;
      log.warning(m);
      hub.warn(m);
    }
    hub.onBatch(b);
  };
  let collector: LocalCollector | undefined;
  const listeners: Listening[] = [];
  const sessions = new Set<Session>();
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    // Listen first (nothing is accepted yet): a port in use or a bad certificate fails before
    // the collector touches the kernel.
    listeners.push(...listenAll(so.listen, tls, log));
    collector = await LocalCollector.start(collectorOptions(opts), {
      onBatch,
      onWarning: (m) => {
        log.warning(m);
        hub.warn(m);
      },
      onFatal: (err) => {
        fatal ??= err;
        finish(err.exitCode);
      },
      onRelease: () => log.debug("Table released until a client comes"),
      // Snapshots and deltas are read from the collector's table: the server holds it once.
      onTable: (t) => hub.useTable(t),
    });
    const ready = collector.ready;
    for (const w of ready.warnings) log.warning(w);
    hub.attach(collector);

    const ctx: SessionContext = {
      hub,
      admission: new Admission({ maxClients: so.maxClients }),
      log,
      token,
      banner: encodeMessage(banner(token)),
      welcome: (version) => welcome(version, name, opts, so, ready),
      handshakeTimeoutMs: so.handshakeTimeoutMs,
      idleTimeoutMs: so.idleTimeoutMs,
      queueBytes: so.clientQueueBytes,
      // A client is told the idle timeout and pings within it; a write stalled for as long
      // means its pongs are not being read either.
      stallMs: Math.min(MAX_STALL_MS, so.idleTimeoutMs),
    };
    let ids = 0;
    const accept = (conn: Deno.Conn, isTls: boolean) => {
      const s = new Session(conn, ++ids, ctx, isTls);
      sessions.add(s);
      void s.run().finally(() => sessions.delete(s));
    };
    for (const l of listeners) void acceptLoop(l, accept, log);
    ticker = setInterval(() => {
      const now = Date.now();
      for (const s of sessions) s.tick(now);
    }, TICK_MS);
    for (const l of listeners) {
      log.info(`Listening on ${endpointText(l.endpoint)}${l.tls ? " (TLS)" : ""}`);
    }
    log.info(
      `${SERVER_SOFTWARE} serving '${name}'${
        opts.netns === undefined ? "" : ` (network namespace '${opts.netns}')`
      }, refresh every ${opts.intervalMs / 1000} s${token === undefined ? "" : ", token required"}`,
    );

    const code = await done;
    const why = fatal === undefined
      ? "the server is shutting down"
      : crashed
      ? "the server failed"
      : `the server's collector failed: ${fatal.message}`;
    if (fatal === undefined) log.info(`Shutting down (exit code ${code})`);
    else log.error(crashed ? fatal.message : `Collector failed: ${fatal.message}`);
    for (const l of listeners) l.listener.close();
    listeners.length = 0;
    clearInterval(ticker);
    ticker = undefined;
    await Promise.all([...sessions].map((s) => s.quit("server_quit", bounded(why, 1024))));
    if (fatal !== undefined) throw fatal;
    return code;
  } finally {
    clearInterval(ticker);
    for (const l of listeners) l.listener.close();
    for (const s of sessions) void s.quit("server_quit", "the server is shutting down");
    await collector?.stop();
    removeSignals();
    removeUncaught();
  }
}

function collectorOptions(opts: Options): CollectorOptions {
  return {
    intervalMs: opts.intervalMs,
    netns: opts.netns,
    enableAcct: opts.enableAcct,
    track: opts.track,
    eventBufferBytes: opts.eventBufferBytes,
    events: opts.events,
  };
}

function readTls(certFile: string, keyFile: string): TlsFiles {
  // The bounded reader: regular files only (a FIFO would hang start-up), at most 1 MiB each.
  const read = (file: string, what: string) => {
    try {
      return readSmallFile(file, { what, maxBytes: PEM_FILE_MAX_BYTES }).text;
    } catch (err) {
      if (!(err instanceof SmallFileError)) throw err;
      throw new ConntopError(err.message, ExitCode.USAGE, { cause: err.cause });
    }
  };
  return {
    cert: read(certFile, "TLS certificate"),
    key: read(keyFile, "TLS key"),
    certFile,
    keyFile,
  };
}

function banner(token: Token | undefined): Banner {
  return {
    type: "banner",
    protocol: PROTOCOL_NAME,
    versions: [...SUPPORTED_VERSIONS],
    software: SERVER_SOFTWARE,
    auth: token === undefined ? [] : ["token"],
  };
}

function welcome(
  version: number,
  name: string,
  opts: Options,
  so: ServerOptions,
  ready: ReadyMessage,
): Welcome {
  return {
    type: "welcome",
    version,
    name,
    intervalMs: opts.intervalMs,
    netns: opts.netns ?? null,
    recordSize: RECORD_SIZE,
    chunkRecords: CHUNK_RECORDS,
    idleTimeoutMs: so.idleTimeoutMs,
    ready: {
      warnings: ready.warnings.slice(0, 64).map((w) => bounded(w, 4096)),
      flowtables: ready.flowtables,
    },
  };
}
