/**
 * Processes of the peers benchmark: CPU time and peak memory of a process tree from /proc, a
 * timed run of one command under GNU time (`/usr/bin/time`: wall, user and system time, max
 * RSS from wait4's rusage) with a hard timeout, killing a tree, and which other processes keep
 * the machine busy.
 *
 * Requires root (other users' /proc entries), `--allow-read`, `--allow-run`.
 *
 * @module
 */

import { clockTicks, parseStat } from "./proc.ts";
import { LineCounter } from "./peers_screen.ts";

/** Pid, parent, command name and CPU ticks (self and reaped children) of every process. */
interface ProcEntry {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, ticks. */
  self: number;
  /** cutime + cstime, ticks. */
  children: number;
}

function readProc(pid: number): ProcEntry | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null; // gone meanwhile
  }
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const ppid = Number(text.slice(close + 2).split(" ")[1]);
  const s = parseStat(text);
  return { pid, ppid, comm, self: s.utime + s.stime, children: s.cutime + s.cstime };
}

function allProcs(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const p = readProc(Number(e.name));
    if (p !== null) out.push(p);
  }
  return out;
}

/** `root` and its descendants that are alive (or zombies) now. */
export function processTree(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const p of allProcs()) {
    const list = kids.get(p.ppid);
    if (list === undefined) kids.set(p.ppid, [p.pid]);
    else list.push(p.pid);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (out.includes(pid)) continue;
    out.push(pid);
    todo.push(...(kids.get(pid) ?? []));
  }
  return out.filter((pid) => readProc(pid) !== null);
}

/**
 * CPU seconds of the tree under `root` so far: the times of its live members and of the
 * children they have reaped. Its difference over a window is the tree's CPU in that window
 * (processes that exit meanwhile are counted by whoever reaps them).
 */
export function treeCpuSeconds(root: number): { seconds: number; processes: number } {
  const pids = processTree(root);
  let ticks = 0;
  for (const pid of pids) {
    const p = readProc(pid);
    if (p !== null) ticks += p.self + p.children;
  }
  return { seconds: ticks / clockTicks(), processes: pids.length };
}

/** Sum of VmHWM (peak RSS) over the live members of the tree under `root`, KiB. */
export function treePeakRssKiB(root: number): number {
  let kib = 0;
  for (const pid of processTree(root)) {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
      if (m !== null) kib += Number(m[1]);
    } catch {
      // gone meanwhile
    }
  }
  return kib;
}

/** Sends SIGKILL to `root` and every descendant, deepest first; ignores the gone ones. */
export function killTreeSync(root: number): void {
  for (const pid of processTree(root).reverse()) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

/** Processes that used at least `minPercent` of one core over a short sample. */
export interface BusyProcess {
  pid: number;
  comm: string;
  percent: number;
}

/**
 * Other processes keeping the machine busy: CPU per process over `ms`, those at or above
 * `minPercent` of one core, busiest first, leaving out the pids in `ours`.
 */
export async function busyProcesses(
  ms: number,
  minPercent: number,
  ours: readonly number[],
): Promise<BusyProcess[]> {
  const before = new Map(allProcs().map((p) => [p.pid, p.self]));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const seconds = (performance.now() - t0) / 1000;
  const out: BusyProcess[] = [];
  for (const p of allProcs()) {
    if (ours.includes(p.pid)) continue;
    const was = before.get(p.pid);
    if (was === undefined) continue;
    const percent = ((p.self - was) / clockTicks() / seconds) * 100;
    if (percent >= minPercent) out.push({ pid: p.pid, comm: p.comm, percent });
  }
  return out.sort((a, b) => b.percent - a.percent);
}

/** Where GNU time is, or null. */
export function gnuTime(): string | null {
  try {
    return Deno.statSync("/usr/bin/time").isFile ? "/usr/bin/time" : null;
  } catch {
    return null;
  }
}

/** Options of {@linkcode timedRun}. */
export interface TimedRunOptions {
  /** Kill the command (SIGKILL, through `timeout`) after this many seconds. */
  timeoutS: number;
  /** Count the lines of its standard output (else it goes to /dev/null). */
  countLines: boolean;
  /** Environment on top of this process's. */
  env?: Record<string, string>;
  /** Called with the pid of the wrapper as soon as it runs, and with null when it is reaped. */
  track(pid: number | null): void;
}

/** One run of a command. */
export interface TimedRun {
  /** Spawn to exit, measured here, ms. */
  wallMs: number;
  /** User + system time of the command (GNU time's %U + %S), s; null without GNU time. */
  cpuS: number | null;
  /** Its max RSS (GNU time's %M, from wait4's rusage), KiB; null without GNU time. */
  maxRssKiB: number | null;
  /** Exit status of the command (137 when the timeout killed it). */
  code: number;
  /** The timeout killed it. */
  timedOut: boolean;
  /** Lines of its standard output, when counted. */
  lines: number | null;
  /** The beginning of its standard output, when counted. */
  head: string;
  /** Its standard error (the end, if long). */
  stderr: string;
}

/**
 * Runs `cmd` under GNU time (`-f '%e %U %S %M'`, into a temporary file) and `timeout -s KILL`,
 * standard output to /dev/null or counted. Without GNU time, only the wall time is measured.
 */
export async function timedRun(cmd: readonly string[], opts: TimedRunOptions): Promise<TimedRun> {
  const time = gnuTime();
  const statsFile = time === null ? null : await Deno.makeTempFile({ prefix: "ctpeer-time-" });
  try {
    const argv = [
      ...(time === null ? [] : [time, "-o", statsFile!, "-f", "%e %U %S %M"]),
      "timeout",
      "-s",
      "KILL",
      String(opts.timeoutS),
      ...cmd,
    ];
    const counter = new LineCounter();
    const t0 = performance.now();
    const child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin: "null",
      stdout: opts.countLines ? "piped" : "null",
      stderr: "piped",
      env: opts.env,
    }).spawn();
    opts.track(child.pid);
    // A last resort should timeout itself hang.
    const guard = setTimeout(() => killTreeSync(child.pid), (opts.timeoutS + 15) * 1000);
    const errChunks: Uint8Array[] = [];
    let errBytes = 0;
    const readErr = (async () => {
      for await (const c of child.stderr) {
        errChunks.push(c);
        errBytes += c.length;
        while (errBytes > 65536 && errChunks.length > 1) errBytes -= errChunks.shift()!.length;
      }
    })();
    const readOut = opts.countLines
      ? (async () => {
        for await (const c of child.stdout) counter.push(c);
      })()
      : Promise.resolve();
    const [status] = await Promise.all([child.status, readErr, readOut]);
    const wallMs = performance.now() - t0;
    clearTimeout(guard);
    opts.track(null);
    let cpuS: number | null = null, maxRssKiB: number | null = null;
    if (statsFile !== null) {
      const lines = (await Deno.readTextFile(statsFile)).trim().split("\n");
      const f = (lines[lines.length - 1] ?? "").trim().split(/\s+/).map(Number);
      if (f.length === 4 && f.every(Number.isFinite)) {
        cpuS = f[1]! + f[2]!;
        maxRssKiB = f[3]!;
      }
    }
    const stderr = new TextDecoder().decode(
      errChunks.reduce((a, b) => {
        const o = new Uint8Array(a.length + b.length);
        o.set(a);
        o.set(b, a.length);
        return o;
      }, new Uint8Array()),
    );
    return {
      wallMs,
      cpuS,
      maxRssKiB,
      code: status.code,
      timedOut: wallMs >= opts.timeoutS * 1000 && status.code !== 0,
      lines: opts.countLines ? counter.lines : null,
      head: counter.head,
      stderr,
    };
  } finally {
    if (statsFile !== null) await Deno.remove(statsFile).catch(() => {});
  }
}
