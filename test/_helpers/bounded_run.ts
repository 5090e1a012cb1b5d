/**
 * Runs a program for at most a given time, reading its peak memory from /proc while it runs: for
 * tests whose failure is a hang or a memory blow-up (the old behaviour then fails the test instead
 * of hanging it or the machine).
 *
 * @module
 */

/** How a bounded run ended. */
export interface BoundedRun {
  /** The exit code, or null when it was still running at the deadline and was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock time it ran, ms. */
  ms: number;
  /** Peak resident memory (VmHWM), KiB, as last read while it ran. */
  peakKiB: number;
}

/**
 * Runs `cmd` (with `NO_COLOR=1`, no stdin) for at most `ms`, then SIGKILLs it; samples its
 * VmHWM every 20 ms and once more at the deadline.
 */
export async function runBounded(cmd: readonly string[], ms: number): Promise<BoundedRun> {
  const started = Date.now();
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peakKiB = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`));
      if (m !== null) peakKiB = Math.max(peakKiB, Number(m[1]));
    } catch {
      // exited
    }
  };
  const sampler = setInterval(sample, 20);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    sample();
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  }, ms);
  const out = await child.output();
  clearTimeout(timer);
  clearInterval(sampler);
  const dec = new TextDecoder();
  return {
    code: killed ? null : out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ms: Date.now() - started,
    peakKiB,
  };
}
