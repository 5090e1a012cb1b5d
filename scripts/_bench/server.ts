/**
 * The client-server benchmark (issue 5): conntopd serving one table of the benchmark's mix, read
 * by protocol clients that count every byte on the wire.
 *
 * 1. Snapshot: from connect to the whole table applied to the client's ConnectionModel
 *    (`model.size` checked), and its bytes; once with collection paused before the client came
 *    (the server then dumps the table first), once with another client connected (the snapshot
 *    comes from the server's model). Reference: `conntrack -L` of the same table in the same
 *    run, its wall time and the bytes of its text.
 * 2. Deltas: bytes on the wire per tick when 0.1 %, 1 % and 10 % of the table change, and of an
 *    idle tick. A change is a new mark on a TCP or UDP flow (server_marks.ts: one ctnetlink
 *    update each, right after a tick). Reference: the same changes as `conntrack -E` prints
 *    them (one text line per event).
 * 3. Load: conntopd's CPU and memory at the same table with 0, 1 and 10 clients (a process of
 *    their own, server_clients.ts, reading and applying everything), refreshed every second,
 *    with a trickle of short-lived flows (churn.ts); then 0 again, after they left.
 * 4. The original C++ conntop server (github ccomrade/conntop), when its binary is found
 *    ({@linkcode findCppServer}): the same load phases with clients of its own protocol
 *    (server_cpp_client.ts). It runs inside the table's namespace (it has no --netns) and
 *    listens on that namespace's loopback, so its clients run there too.
 *
 * Figures are ratios against references measured in the same run, never timed assertions.
 * Every child (servers, clients, the mark changer, `conntrack -E`) is killed by
 * {@linkcode cleanUpServerSync} on any way out.
 *
 * @module
 */

import { CONNTOPD_PERMISSIONS } from "../../src/conntopd.ts";
import { startChurn } from "./churn.ts";
import { tableEntries } from "./entries.ts";
import type { Netns } from "../../tools/netns.ts";
import { runCommand } from "../../tools/run.ts";
import { clockTicks, cpuTimes, identity, machineBusy, memory, parseStat } from "./proc.ts";
import type { ClientsReady, ClientStats } from "./server_clients.ts";
import { type WireBatch, WireClient } from "./server_client.ts";
import { tupleOf } from "./server_marks.ts";
import {
  ClientHost,
  countOutput,
  killAllSync,
  Marker,
  OutputCounter,
  ServerProcess,
} from "./server_proc.ts";
import { median } from "./stats.ts";
import { freePort } from "../../tools/ports.ts";

const CONNTOPD = new URL("../../src/conntopd.ts", import.meta.url).pathname;
const CLIENTS = new URL("./server_clients.ts", import.meta.url).pathname;
const MARKS = new URL("./server_marks.ts", import.meta.url).pathname;

/** Where the C++ server is looked for when CONNTOP_CPP_SERVER is not set. */
export const CPP_SERVER_DEFAULT = "/work/ref/conntop-cpp/build-dedicated/conntopd";

/** How long clients may take to hold the whole table: conntopd, and the C++ server. */
const OURS_READY_MS = 180_000;
const CPP_READY_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Kills every child of the server benchmark still running (signal handlers). */
export function cleanUpServerSync(): void {
  killAllSync();
}

/** Options of {@linkcode measureServer}. */
export interface ServerBenchOptions {
  /** Timed snapshot runs of each kind, and `conntrack -L` runs. */
  runs: number;
  /** Ticks measured per level of change (and idle ticks). */
  rounds: number;
  /** Fractions of the table changed per tick. */
  fractions: number[];
  /** Length of each load phase, seconds. */
  seconds: number;
  /** Clients of the load phases, in order (0 is measured before any client and again after). */
  clients: number[];
  /** The C++ server's binary, or null when not found (with why in `cppMissing`). */
  cppServer: string | null;
  cppMissing?: string;
  log(line: string): void;
}

/** One `conntrack -L` run with its output counted. */
export interface ListRun {
  ms: number;
  bytes: number;
  lines: number;
}

/** One client's snapshot, timed from its connect. */
export interface SnapshotRun {
  /** "cold": collection was paused (no client); "warm": another client was connected. */
  kind: "cold" | "warm";
  /** Connect → welcome, → first part of the snapshot, → its last part, → applied; ms. */
  welcomeMs: number;
  firstPartMs: number;
  lastPartMs: number;
  appliedMs: number;
  /** Bytes of the snapshot's lines, and of everything read until it was applied. */
  bytes: number;
  wireBytes: number;
  parts: number;
  records: number;
  /** The client's model.size once applied. */
  modelSize: number;
}

/** One tick with changes. */
export interface DeltaRound {
  /** Updates made (and refused by the kernel), and how long they took, ms. */
  changed: number;
  failed: number;
  changeMs: number;
  /** Deltas the changes arrived in, their records and bytes on the wire. */
  deltas: number;
  records: number;
  bytes: number;
  /** The same changes as `conntrack -E` printed them: bytes and lines. */
  eventBytes: number;
  eventLines: number;
}

/** The rounds at one fraction of the table. */
export interface DeltaLevel {
  fraction: number;
  /** Connections changed per round (asked). */
  count: number;
  rounds: DeltaRound[];
}

/** One load phase of a server. */
export interface LoadPhase {
  clients: number;
  /** "before": 0 clients, none yet; "after": 0 clients, after the others left. */
  label: string;
  seconds: number;
  cpuPercent: number;
  systemPercent: number;
  /** CPU of everything else on the machine meanwhile (clients, churn), % of one core. */
  otherCpuPercent: number;
  /** The other processes that used the most CPU in the window (the clients' included). */
  others: { comm: string; pid: number; cpuPercent: number }[];
  /** The client process's CPU, % of one core (null without clients). */
  clientCpuPercent: number | null;
  /** VmRSS each second of the window, KiB; VmHWM at its end. */
  rssKiB: number[];
  hwmKiB: number;
  /** Connect → whole table held, per client, ms; and the tables' sizes then. */
  readyMs: number[];
  tableSizes: number[];
  /** Bytes per second read by each client during the window (median over clients). */
  clientBytesPerSec: number | null;
  /** Batches (conntop) or DATA messages (C++) per client during the window (median). */
  clientBatches: number | null;
  /** Clients whose connection ended, and why. */
  errors: string[];
  /** Why earlier attempts of the clients to get the table failed (they were started again). */
  retries: string[];
  /** Times the server dropped a client during the window, all clients together (C++). */
  drops: number;
}

/** A server measured through the load phases. */
export interface ServerLoad {
  name: string;
  command: string[];
  size: number;
  pid: number;
  exe: string;
  threads: number;
  phases: LoadPhase[];
  exitCode: number | null;
  /** Log lines worth reading (warnings, errors, drops), at most 40. */
  notable: string[];
  /** Why it could not be measured, when it could not. */
  failure?: string;
}

/** Everything the server benchmark found. */
export interface ServerResult {
  size: number;
  loaded: number;
  /** Connections of the table the C++ server tracks (TCP and UDP). */
  tcpUdp: number;
  list: ListRun[];
  snapshots: SnapshotRun[];
  idle: WireBatch[];
  levels: DeltaLevel[];
  /** Flows the mark changer can change (TCP and UDP of the table). */
  changeable: number;
  /** Notable log lines of the server of parts 1 and 2. */
  protocolNotable: string[];
  ours: ServerLoad;
  cpp: ServerLoad | null;
  /** The C++ server's failed attempts at smaller sizes. */
  cppAttempts: ServerLoad[];
  /** Both servers at the largest smaller size the C++ one handled. */
  fallback: Fallback | null;
  /** Why the C++ server was not measured, when it was not. */
  cppMissing: string | null;
  /** Things that looked wrong, for the report. */
  oddities: string[];
  totalMs: number;
}

/** utime + stime (s) and command name of every process, from /proc/PID/stat. */
function allProcesses(): Map<number, { cpu: number; comm: string }> {
  const out = new Map<number, { cpu: number; comm: string }>();
  const hz = clockTicks();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const text = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
      const st = parseStat(text);
      out.set(Number(e.name), { cpu: (st.utime + st.stime) / hz, comm });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The processes (other than `exclude`) that used the most CPU between two readings. */
function topOthers(
  before: Map<number, { cpu: number; comm: string }>,
  after: Map<number, { cpu: number; comm: string }>,
  exclude: number[],
  seconds: number,
): { comm: string; pid: number; cpuPercent: number }[] {
  const rows: { comm: string; pid: number; cpuPercent: number }[] = [];
  for (const [pid, a] of after) {
    if (exclude.includes(pid)) continue;
    const used = a.cpu - (before.get(pid)?.cpu ?? 0);
    if (used > 0) rows.push({ comm: a.comm, pid, cpuPercent: (used / seconds) * 100 });
  }
  return rows.sort((x, y) => y.cpuPercent - x.cpuPercent).slice(0, 3);
}

/**
 * The C++ server's binary: CONNTOP_CPP_SERVER, else {@linkcode CPP_SERVER_DEFAULT}; null with
 * the reason when it is not there or not executable.
 */
export function findCppServer(): { path: string | null; why: string } {
  const env = Deno.env.get("CONNTOP_CPP_SERVER");
  const path = env || CPP_SERVER_DEFAULT;
  try {
    const st = Deno.statSync(path);
    if (!st.isFile || st.mode === null || (st.mode & 0o111) === 0) {
      return { path: null, why: `${path} is not an executable file` };
    }
    return { path, why: "" };
  } catch {
    return {
      path: null,
      why: env
        ? `CONNTOP_CPP_SERVER=${env} does not exist`
        : `no binary at ${CPP_SERVER_DEFAULT} and CONNTOP_CPP_SERVER is not set`,
    };
  }
}

async function startConntopd(ns: Netns, log: (l: string) => void) {
  for (let attempt = 0;; attempt++) {
    const port = freePort();
    const cmd = [
      Deno.execPath(),
      "run",
      ...CONNTOPD_PERMISSIONS,
      CONNTOPD,
      "--netns",
      ns.name,
      "--port",
      String(port),
      "--interval",
      "1",
      "-v",
    ];
    const server = new ServerProcess("conntopd", cmd);
    try {
      await server.waitForLog(/ INFO .*serving /, 60_000);
      log(`conntopd: pid ${server.pid}, port ${port}`);
      return { server, port, cmd };
    } catch (err) {
      await server.stop(2000);
      if (attempt < 3 && /address already in use/i.test(server.log)) continue;
      throw err;
    }
  }
}

async function listRun(ns: Netns): Promise<ListRun> {
  const r = await countOutput(ns.command("conntrack", "-L"));
  if (r.code !== 0) throw new Error(`conntrack -L failed: ${r.stderr.trim()}`);
  return { ms: r.ms, bytes: r.bytes, lines: r.lines };
}

async function snapshotRun(port: number, kind: "cold" | "warm"): Promise<SnapshotRun> {
  const c = await WireClient.connect({ port, name: `snapshot-${kind}` });
  try {
    const s = await c.firstSnapshot(180_000);
    const t0 = c.connectStartMs;
    return {
      kind,
      welcomeMs: c.welcomeMs - t0,
      firstPartMs: s.firstMs - t0,
      lastPartMs: s.lastMs - t0,
      appliedMs: s.appliedMs - t0,
      bytes: s.bytes,
      wireBytes: c.bytes,
      parts: s.parts,
      records: s.records,
      modelSize: c.model.size,
    };
  } finally {
    await c.close();
  }
}

/** Waits until the server has logged `n` pauses of collection (its debug log). */
async function pauses(server: ServerProcess, n: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (server.grep(/Collection paused/).length < n && performance.now() < deadline) {
    await sleep(50);
  }
}

async function measureSnapshots(
  ns: Netns,
  server: ServerProcess,
  port: number,
  opts: ServerBenchOptions,
): Promise<{ list: ListRun[]; snapshots: SnapshotRun[]; holder: WireClient }> {
  const list: ListRun[] = [];
  const snapshots: SnapshotRun[] = [];
  const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
  const mb = (x: number) => `${(x / 1e6).toFixed(1)} MB`;
  for (let r = 0; r < opts.runs; r++) {
    const l = await listRun(ns);
    list.push(l);
    const paused = server.grep(/Collection paused/).length;
    const s = await snapshotRun(port, "cold");
    snapshots.push(s);
    opts.log(
      `  snapshot run ${r + 1}/${opts.runs}: conntrack -L ${ms(l.ms)}, ${mb(l.bytes)}; ` +
        `conntopd (paused before) ${ms(s.appliedMs)} (first part at ${ms(s.firstPartMs)}), ` +
        `${mb(s.bytes)}, model.size ${s.modelSize}`,
    );
    await pauses(server, paused + 1);
  }
  const holder = await WireClient.connect({ port, name: "holder" });
  await holder.firstSnapshot(180_000);
  await holder.nextBatch(10_000);
  for (let r = 0; r < opts.runs; r++) {
    const l = await listRun(ns);
    list.push(l);
    await holder.nextBatch(10_000);
    const s = await snapshotRun(port, "warm");
    snapshots.push(s);
    opts.log(
      `  snapshot run ${r + 1}/${opts.runs}: conntrack -L ${ms(l.ms)}; conntopd ` +
        `(another client connected) ${ms(s.appliedMs)}, ${mb(s.bytes)}, model.size ${s.modelSize}`,
    );
  }
  return { list, snapshots, holder };
}

async function measureDeltas(
  ns: Netns,
  size: number,
  holder: WireClient,
  opts: ServerBenchOptions,
): Promise<{ idle: WireBatch[]; levels: DeltaLevel[]; changeable: number }> {
  const marker = new Marker(
    ns.command(
      Deno.execPath(),
      "run",
      "--allow-ffi",
      "--allow-env=CONNTOP_LIBNFCT",
      MARKS,
      String(size),
    ),
  );
  const events = new OutputCounter(
    ns.command("conntrack", "-E", "-e", "UPDATE", "-b", String(64 << 20)),
  );
  try {
    const changeable = await marker.ready();
    const idle: WireBatch[] = [];
    await holder.nextBatch();
    for (let r = 0; r < opts.rounds; r++) idle.push(await holder.nextBatch());
    opts.log(
      `  idle ticks: ${idle.map((b) => `${b.bytes} B`).join(", ")} ` +
        `(records ${idle.map((b) => b.records).join(", ")})`,
    );
    const levels: DeltaLevel[] = [];
    let from = 0;
    let mark = 100;
    for (const fraction of opts.fractions) {
      const count = Math.max(1, Math.round(fraction * size));
      const rounds: DeltaRound[] = [];
      for (let r = 0; r < opts.rounds; r++) {
        // Right after a tick, so that the changes land in the next one.
        await holder.nextBatch();
        const i0 = holder.batches.length;
        const e0 = events.bytes;
        const l0 = events.lines;
        const ch = await marker.change(from, count, mark++);
        from = (from + count) % changeable;
        const got = () => holder.batches.slice(i0).reduce((n, b) => n + b.records, 0);
        await holder.until(() => got() >= ch.done, 20_000, `${ch.done} changed records`);
        const ds = holder.batches.slice(i0);
        // conntrack -E prints as it can; it may lose events of a burst (ENOBUFS).
        await events.untilLines(l0 + ch.done, 3_000);
        rounds.push({
          changed: ch.done,
          failed: ch.failed,
          changeMs: ch.ms,
          deltas: ds.length,
          records: ds.reduce((n, b) => n + b.records, 0),
          bytes: ds.reduce((n, b) => n + b.bytes, 0),
          eventBytes: events.bytes - e0,
          eventLines: events.lines - l0,
        });
      }
      const med = (f: (x: DeltaRound) => number) => median(rounds.map(f));
      opts.log(
        `  ${(fraction * 100).toFixed(1)} % (${count} changed per tick): delta ${
          Math.round(med((x) => x.bytes))
        } B in ${med((x) => x.deltas)} delta(s), ${med((x) => x.records)} records; ` +
          `conntrack -E ${Math.round(med((x) => x.eventBytes))} B, ${
            med((x) => x.eventLines)
          } lines; updates took ${med((x) => x.changeMs).toFixed(0)} ms`,
      );
      levels.push({ fraction, count, rounds });
    }
    return { idle, levels, changeable };
  } finally {
    await marker.stop();
    await events.stop();
  }
}

interface PhasePlan {
  clients: number;
  label: string;
}

function phasePlan(clients: number[]): PhasePlan[] {
  const plan: PhasePlan[] = [];
  for (const n of clients) plan.push({ clients: n, label: n === 0 ? "before" : "" });
  if (clients.some((n) => n > 0) && clients.includes(0)) plan.push({ clients: 0, label: "after" });
  return plan;
}

/**
 * Measures `pid` through the phases: for each, the clients connect (a process of their own)
 * and get the whole table, 3 s pass, then `seconds` are measured; the clients leave before the
 * next phase. A phase whose clients fail is recorded with its errors and ends the load part.
 */
async function measureLoad(
  ns: Netns,
  name: string,
  pid: number,
  host: (n: number) => ClientHost,
  opts: ServerBenchOptions,
  readyMs: number,
  alive: () => boolean,
): Promise<{ phases: LoadPhase[]; failure?: string }> {
  const phases: LoadPhase[] = [];
  const churn = startChurn(ns);
  try {
    for (const p of phasePlan(opts.clients)) {
      let h: ClientHost | null = null;
      let ready: ClientsReady | null = null;
      let failure: string | undefined;
      const retries: string[] = [];
      // A second try when the clients fail to get the table: the C++ server fails now and then.
      for (let attempt = 0; p.clients > 0 && attempt < 2; attempt++) {
        h = host(p.clients);
        try {
          ready = await h.ready(readyMs + 5_000);
          failure = undefined;
          break;
        } catch (err) {
          failure = err instanceof Error ? err.message : String(err);
          await h.stop();
          h = null;
          opts.log(`${name}, ${p.clients} clients, attempt ${attempt + 1}: ${failure}`);
          // Not again when the server is gone or has not even sent its banner.
          if (!alive() || /: 0 bytes read/.test(failure)) break;
          retries.push(failure);
          await sleep(2000);
        }
      }
      if (failure !== undefined) {
        const gone = alive() ? "" : " (the server process has exited)";
        return { phases, failure: `${p.clients} clients: ${failure}${gone}` };
      }
      await sleep(p.clients > 0 ? 3000 : 4000);
      const s0: ClientStats | null = h === null ? null : await h.stats();
      const c0 = cpuTimes(pid);
      const hc0 = h === null ? null : cpuTimes(h.pid).self;
      const b0 = machineBusy();
      const procs0 = allProcesses();
      const t0 = performance.now();
      const rss: number[] = [];
      for (let s = 1; s <= opts.seconds; s++) {
        await sleep(t0 + s * 1000 - performance.now());
        rss.push(memory(pid).rssKiB);
      }
      const c1 = cpuTimes(pid);
      const hc1 = h === null ? null : cpuTimes(h.pid).self;
      const b1 = machineBusy();
      const secs = (performance.now() - t0) / 1000;
      const others = topOthers(procs0, allProcesses(), [pid, Deno.pid], secs);
      const hwm = memory(pid).hwmKiB;
      const s1: ClientStats | null = h === null ? null : await h.stats();
      await h?.stop();
      const pct = (x: number) => (x / secs) * 100;
      const perClient = (f: (s: ClientStats) => number[]) =>
        s0 === null || s1 === null ? null : median(f(s1).map((v, i) => v - f(s0)[i]!));
      const bytes = perClient((s) => s.bytes);
      const phase: LoadPhase = {
        clients: p.clients,
        label: p.label,
        seconds: secs,
        cpuPercent: pct(c1.self - c0.self),
        systemPercent: pct(c1.selfSystem - c0.selfSystem),
        otherCpuPercent: pct(b1 - b0 - (c1.self - c0.self)),
        others,
        clientCpuPercent: hc0 === null || hc1 === null ? null : pct(hc1 - hc0),
        rssKiB: rss,
        hwmKiB: hwm,
        readyMs: ready?.snapshotMs ?? [],
        tableSizes: ready?.sizes ?? [],
        clientBytesPerSec: bytes === null ? null : bytes / secs,
        clientBatches: perClient((s) => s.batches),
        errors: s1?.errors ?? [],
        retries,
        drops: s0 === null || s1 === null
          ? 0
          : s1.drops.reduce((a, b) => a + b, 0) - s0.drops.reduce((a, b) => a + b, 0),
      };
      phases.push(phase);
      opts.log(
        `${name}, ${p.clients} clients${p.label ? ` (${p.label})` : ""}: CPU ${
          phase.cpuPercent.toFixed(1)
        } % (system ${phase.systemPercent.toFixed(1)} %), RSS ${
          (median(rss) / 1024).toFixed(1)
        } MiB (${(Math.min(...rss) / 1024).toFixed(1)}–${
          (Math.max(...rss) / 1024).toFixed(1)
        }), VmHWM ${(hwm / 1024).toFixed(1)} MiB` +
          (ready === null
            ? ""
            : `; clients got ${ready.sizes.join("/")} connections in ${
              (Math.max(...ready.snapshotMs) / 1000).toFixed(1)
            } s, client CPU ${phase.clientCpuPercent?.toFixed(1)} %`) +
          (phase.drops > 0 ? `; the server dropped clients ${phase.drops} times` : "") +
          (phase.errors.length > 0 ? `; errors: ${phase.errors.join("; ")}` : ""),
      );
      await sleep(1000);
    }
    return { phases };
  } finally {
    await churn.stop();
  }
}

function notable(server: ServerProcess): string[] {
  return [...server.head, ...(server.logLines > server.head.length ? server.tail : [])]
    .filter((l) =>
      /WARN|ERROR|too_slow|overflow|dropped|fail|Resource temporarily|exception|error/i.test(l)
    )
    .slice(0, 40);
}

/** Parts 1 and 2 on a server of their own. */
async function measureProtocol(ns: Netns, size: number, opts: ServerBenchOptions) {
  const { server, port } = await startConntopd(ns, opts.log);
  try {
    opts.log(`snapshots of ${size} connections (${opts.runs} runs of each kind)`);
    const snaps = await measureSnapshots(ns, server, port, opts);
    try {
      opts.log(`deltas: ${opts.rounds} ticks per level`);
      const deltas = await measureDeltas(ns, size, snaps.holder, opts);
      return { list: snaps.list, snapshots: snaps.snapshots, ...deltas, notable: notable(server) };
    } finally {
      await snaps.holder.close();
    }
  } finally {
    await server.stop();
  }
}

/** `n` protocol clients of conntopd on `port`, in a process of their own (server_clients.ts). */
function oursClients(port: number, n: number): ClientHost {
  return new ClientHost([
    Deno.execPath(),
    "run",
    "--allow-net=127.0.0.1",
    CLIENTS,
    "--port",
    String(port),
    "--clients",
    String(n),
    "--timeout",
    String(OURS_READY_MS / 1000),
  ]);
}

/** conntopd through the load phases, a fresh server: nothing of the parts above in its memory. */
export async function measureOursLoad(
  ns: Netns,
  size: number,
  opts: ServerBenchOptions,
): Promise<ServerLoad> {
  const { server, port, cmd } = await startConntopd(ns, opts.log);
  try {
    const who = identity(server.pid);
    const { phases, failure } = await measureLoad(
      ns,
      "conntopd",
      server.pid,
      (n) => oursClients(port, n),
      opts,
      OURS_READY_MS,
      () => server.running,
    );
    const running = server.running;
    const exitCode = await server.stop();
    return {
      name: "conntopd",
      command: cmd.map((a) => a.replace(/^.*\/src\//, "src/")),
      size,
      pid: server.pid,
      ...who,
      phases,
      exitCode: running ? null : exitCode,
      notable: notable(server),
      ...(failure === undefined ? {} : { failure }),
    };
  } finally {
    await server.stop(2000);
  }
}

async function listening(ns: Netns, port: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const r = await runCommand(ns.command("ss", "-ltnH", `sport = :${port}`), { check: false });
    if (r.code === 0 && r.stdout.trim() !== "") return true;
    await sleep(200);
  }
  return false;
}

let cppPort = 55600;

/** The C++ server on `ns` through the load phases. */
export async function measureCpp(
  ns: Netns,
  size: number,
  bin: string,
  expect: number,
  opts: ServerBenchOptions,
): Promise<ServerLoad> {
  await runCommand(ns.command("ip", "link", "set", "lo", "up"), { check: false });
  // A new port for every start: the original server sets no SO_REUSEADDR.
  const port = ++cppPort;
  const cmd = ns.command(bin, "--listen=127.0.0.1", `--port=${port}`);
  const server = new ServerProcess("C++ conntopd", cmd);
  try {
    if (!(await listening(ns, port, 30_000))) {
      throw new Error(`the C++ server did not listen on port ${port} within 30 s:\n${server.log}`);
    }
    const who = identity(server.pid);
    opts.log(`C++ conntopd: pid ${server.pid} (${who.exe}), port ${port} in ${ns.name}`);
    const { phases, failure } = await measureLoad(
      ns,
      "C++ conntopd",
      server.pid,
      (n) =>
        new ClientHost(
          ns.command(
            Deno.execPath(),
            "run",
            "--allow-net=127.0.0.1",
            CLIENTS,
            "--port",
            String(port),
            "--clients",
            String(n),
            "--protocol",
            "cpp",
            "--expect",
            String(expect),
            "--timeout",
            String(CPP_READY_MS / 1000),
          ),
        ),
      opts,
      CPP_READY_MS,
      () => server.running,
    );
    const running = server.running;
    const exitCode = await server.stop();
    return {
      name: "C++ conntopd",
      command: [bin, "--listen=127.0.0.1", `--port=${port}`],
      size,
      pid: server.pid,
      ...who,
      phases,
      exitCode: running ? null : exitCode,
      notable: notable(server),
      ...(failure === undefined ? {} : { failure }),
    };
  } catch (err) {
    return {
      name: "C++ conntopd",
      command: [bin],
      size,
      pid: server.pid,
      exe: bin,
      threads: 0,
      phases: [],
      exitCode: server.exitCode,
      notable: notable(server),
      failure: err instanceof Error ? err.message : String(err),
    };
  } finally {
    await server.stop(2000);
  }
}

/** TCP and UDP connections among the first `size` of the table (what the C++ server tracks). */
export function tcpUdpCount(size: number): number {
  return tableEntries(size).filter((l) => tupleOf(l) !== null).length;
}

/** The C++ server and conntopd at a smaller table, when the C++ one failed at the full size. */
export interface Fallback {
  size: number;
  loaded: number;
  tcpUdp: number;
  ours: ServerLoad | null;
  cpp: ServerLoad;
}

/** A loaded throw-away table (bench.ts's loadTable). */
export type TableLoader = (size: number) => Promise<{ ns: Netns; loaded: number }>;

/**
 * Runs parts 1–3 on `ns` (a loaded table of `size`), then part 4 when the C++ server is found,
 * on the same namespace's table. See {@linkcode measureFallback} for when the C++ server fails.
 */
export async function measureServer(
  ns: Netns,
  size: number,
  loaded: number,
  opts: ServerBenchOptions,
): Promise<ServerResult> {
  const t0 = performance.now();
  const oddities: string[] = [];
  const p = await measureProtocol(ns, size, opts);
  const ours = await measureOursLoad(ns, size, opts);
  for (const s of p.snapshots) {
    if (s.modelSize !== loaded) {
      oddities.push(`A ${s.kind} snapshot held ${s.modelSize} connections, the table ${loaded}.`);
    }
  }
  for (const lv of p.levels) {
    for (const r of lv.rounds) {
      if (r.records !== r.changed) {
        oddities.push(
          `At ${(lv.fraction * 100).toFixed(1)} %, ${r.changed} connections changed and the ` +
            `deltas carried ${r.records} records.`,
        );
      }
      if (r.failed > 0) oddities.push(`${r.failed} mark updates were refused by the kernel.`);
    }
  }
  const tcpUdp = tcpUdpCount(size);
  let cpp: ServerLoad | null = null;
  if (opts.cppServer !== null) {
    opts.log(`C++ conntopd on the same table (${tcpUdp} TCP and UDP connections)`);
    cpp = await measureCpp(ns, size, opts.cppServer, tcpUdp, opts);
  }
  return {
    size,
    loaded,
    tcpUdp,
    list: p.list,
    snapshots: p.snapshots,
    idle: p.idle,
    levels: p.levels,
    changeable: p.changeable,
    protocolNotable: p.notable,
    ours,
    cpp,
    cppAttempts: [],
    fallback: null,
    cppMissing: opts.cppServer === null ? (opts.cppMissing ?? "not found") : null,
    oddities,
    totalMs: performance.now() - t0,
  };
}

/**
 * When the C++ server failed at the full size: tries it on smaller tables (`sizes`, largest
 * first, each loaded with `loadTable` once the full table is gone, so that the kernel's shared
 * hash table holds only it), and at the first size it handles measures conntopd's load phases
 * too. Fills `r.fallback` and `r.cppAttempts`.
 */
export async function measureFallback(
  r: ServerResult,
  sizes: number[],
  opts: ServerBenchOptions,
  loadTable: TableLoader,
): Promise<void> {
  if (opts.cppServer === null || r.cpp?.failure === undefined) return;
  for (const smaller of sizes.filter((x) => x < r.size)) {
    opts.log(`C++ conntopd failed at ${r.size}; trying ${smaller} connections`);
    const t = await loadTable(smaller);
    try {
      const n = tcpUdpCount(smaller);
      const c = await measureCpp(t.ns, smaller, opts.cppServer, n, opts);
      if (c.failure !== undefined) {
        r.cppAttempts.push(c);
        continue;
      }
      opts.log(`conntopd at ${smaller} connections, for the comparison`);
      const o = await measureOursLoad(t.ns, smaller, opts);
      r.fallback = { size: smaller, loaded: t.loaded, tcpUdp: n, ours: o, cpp: c };
      return;
    } finally {
      await t.ns.close();
    }
  }
}

/** What {@linkcode measureDaemonTargets} found (memory in KiB). */
export interface DaemonTargets {
  size: number;
  /** VmRSS once serving and settled, before any client. */
  startRssKiB: number;
  /** VmRSS at the end of the window with one client, and VmHWM then. */
  clientRssKiB: number;
  clientHwmKiB: number;
  /** User CPU of conntopd over the window, s, and the batches one client got in it. */
  userSeconds: number;
  batches: number;
  windowS: number;
  /** VmRSS `afterS` seconds after the client left (null when not waited for). */
  afterRssKiB: number | null;
  afterS: number;
}

/**
 * conntopd's targets on one table: a fresh server (`--interval 1`), its RSS once serving, one
 * client (server_clients.ts, a process of its own) getting the table and `seconds` of deltas
 * (user CPU per batch the client got, RSS and peak), then `afterS` seconds after the client
 * left (0: not waited for), RSS again.
 */
export async function measureDaemonTargets(
  ns: Netns,
  size: number,
  seconds: number,
  afterS: number,
  log: (l: string) => void,
): Promise<DaemonTargets> {
  const { server, port } = await startConntopd(ns, log);
  try {
    // "Its start": the RSS once it serves and has settled (its first dump, if any, done): two
    // readings 2 s apart within 1 MiB, or what it is after 30 s.
    let startRssKiB = memory(server.pid).rssKiB;
    for (const until = performance.now() + 30_000; performance.now() < until;) {
      await sleep(2000);
      const now = memory(server.pid).rssKiB;
      const settled = Math.abs(now - startRssKiB) < 1024;
      startRssKiB = now;
      if (settled) break;
    }
    const h = oursClients(port, 1);
    let userSeconds = 0, batches = 0, windowS = 0, clientRssKiB = 0;
    try {
      await h.ready(OURS_READY_MS + 5_000);
      await sleep(2000);
      const s0 = await h.stats();
      const t0 = performance.now();
      const c0 = cpuTimes(server.pid);
      await sleep(seconds * 1000);
      const c1 = cpuTimes(server.pid);
      windowS = (performance.now() - t0) / 1000;
      const s1 = await h.stats();
      userSeconds = (c1.self - c1.selfSystem) - (c0.self - c0.selfSystem);
      batches = (s1.batches[0] ?? 0) - (s0.batches[0] ?? 0);
      clientRssKiB = memory(server.pid).rssKiB;
    } finally {
      await h.stop();
    }
    const clientHwmKiB = memory(server.pid).hwmKiB;
    let afterRssKiB: number | null = null;
    if (afterS > 0) {
      log(`conntopd at ${size}: waiting ${afterS} s after the client left`);
      await sleep(afterS * 1000);
      afterRssKiB = memory(server.pid).rssKiB;
    }
    return {
      size,
      startRssKiB,
      clientRssKiB,
      clientHwmKiB,
      userSeconds,
      batches,
      windowS,
      afterRssKiB,
      afterS,
    };
  } finally {
    await server.stop(2000);
  }
}
