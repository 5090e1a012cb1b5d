/**
 * How much longer tests wait on a slow machine. `CONNTOP_TEST_TIME_SCALE` (a number from 1 to
 * 100; default 1) multiplies how long a test waits for something to happen (a screen, a log
 * line, a saved file) before it fails: test/vm/aarch64.vm.ts sets it inside the emulated arm64
 * VM, where a program starts several times slower than on a real machine.
 *
 * Must never scale a bound a test asserts (such as "answered within 5 s"): a test that waits
 * longer still fails when the awaited thing never happens.
 *
 * Reads the variable only where `--allow-env` already grants it (never prompts).
 *
 * @module
 */

const VARIABLE = "CONNTOP_TEST_TIME_SCALE";

function readScale(): number {
  if (Deno.permissions.querySync({ name: "env", variable: VARIABLE }).state !== "granted") return 1;
  const text = Deno.env.get(VARIABLE);
  if (text === undefined || text === "") return 1;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 1 || n > 100) {
    throw new Error(`Invalid ${VARIABLE} '${text}': expected a number from 1 to 100`);
  }
  return n;
}

const SCALE = readScale();

/** `ms` times `CONNTOP_TEST_TIME_SCALE`: how long to wait for something before failing. */
export function scaledMs(ms: number): number {
  return Math.round(ms * SCALE);
}
