/**
 * CPU time and memory of a process, read from /proc.
 *
 * `/proc/PID/stat` of a thread-group leader sums the times of all its threads, living and
 * exited: for Deno that is the main isolate, the workers, V8's GC helpers and tokio's pool.
 * `cutime`/`cstime` are those of children already waited for, which is how the reference
 * (`conntrack -L`, a new process each time) is measured from this process.
 *
 * Requires `--allow-read` (and `--allow-run` once, for `getconf CLK_TCK`).
 *
 * @module
 */

/** CPU times of a process, in seconds. */
export interface CpuTimes {
  /** User + system time of the process (all its threads). */
  self: number;
  /** Of `self`, the time spent in the kernel (stime). */
  selfSystem: number;
  /** User + system time of its children that have been waited for. */
  children: number;
  /** Of `children`, the time spent in the kernel (cstime). */
  childrenSystem: number;
}

let ticksPerSecond: number | undefined;

/** The clock tick of /proc times (`getconf CLK_TCK`, 100 on every usual Linux). */
export function clockTicks(): number {
  if (ticksPerSecond !== undefined) return ticksPerSecond;
  let ticks = 100;
  try {
    const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stderr: "null" }).outputSync();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    if (out.success && Number.isInteger(n) && n > 0) ticks = n;
  } catch {
    // getconf missing: Linux reports USER_HZ, 100 on every architecture Deno runs on.
  }
  ticksPerSecond = ticks;
  return ticks;
}

/** Parses the text of /proc/PID/stat (exported for tests). */
export function parseStat(
  text: string,
): { utime: number; stime: number; cutime: number; cstime: number } {
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime is field 14.
  const field = (n: number) => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v)) {
      throw new Error(`Failed to parse /proc stat: no field ${n} in '${text}'`);
    }
    return v;
  };
  return { utime: field(14), stime: field(15), cutime: field(16), cstime: field(17) };
}

/** CPU times of process `pid` ("self" for this one). */
export function cpuTimes(pid: number | "self"): CpuTimes {
  const s = parseStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  const hz = clockTicks();
  return {
    self: (s.utime + s.stime) / hz,
    selfSystem: s.stime / hz,
    children: (s.cutime + s.cstime) / hz,
    childrenSystem: s.cstime / hz,
  };
}

/** Memory of a process, in KiB. */
export interface Memory {
  /** Resident set size now (VmRSS). */
  rssKiB: number;
  /** Peak resident set size (VmHWM). */
  hwmKiB: number;
}

/** Reads VmRSS and VmHWM of process `pid`. */
export function memory(pid: number | "self"): Memory {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
    if (m === null) throw new Error(`Failed to read ${key} of process ${pid}: not in its status`);
    return Number(m[1]);
  };
  return { rssKiB: kib("VmRSS"), hwmKiB: kib("VmHWM") };
}

/** The executable and command name of process `pid`, to check what is being measured. */
export function identity(pid: number): { exe: string; comm: string; threads: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return {
    exe: Deno.readLinkSync(`/proc/${pid}/exe`),
    comm: Deno.readTextFileSync(`/proc/${pid}/comm`).trim(),
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? NaN),
  };
}

/**
 * CPU time the whole machine has spent busy (not idle or waiting for I/O), in seconds summed
 * over all CPUs, from the first line of /proc/stat. Its difference over a window, less the
 * measured process's own, tells how much else ran meanwhile.
 */
export function machineBusy(): number {
  const line = Deno.readTextFileSync("/proc/stat").split("\n", 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0);
  return busy / clockTicks();
}
