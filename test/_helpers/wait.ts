/**
 * Waiting in tests, always bounded: a pause, and a file another process writes (an exit code a
 * shell wrapper leaves, a pid).
 *
 * @module
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits for `path` to exist, polling every 50 ms for at most `timeoutMs`, and returns its trimmed
 * text. Throws naming `what` when it does not appear in time.
 */
export async function waitForFile(path: string, timeoutMs: number, what: string): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      return (await Deno.readTextFile(path)).trim();
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      await sleep(50);
    }
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (${path})`);
}
