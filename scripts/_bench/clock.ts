/**
 * Checks that epoch milliseconds taken as `performance.timeOrigin + performance.now()` agree
 * between the main thread and a worker.
 *
 * conntop's refresh time is measured across threads: it starts at the worker's `startedMs` and
 * ends on the main thread. Each thread has its own `timeOrigin`, so a skew between them would
 * go straight into the result. Both are compared here with `Date.now()`, the one wall clock all
 * threads share; its whole-millisecond resolution is averaged out over many samples.
 *
 * @module
 */

/**
 * This thread's `timeOrigin + now()` minus the wall clock, in ms, averaged over ~20 ms of
 * samples (`Date.now()` truncates, so a sample is the offset plus a uniform [0, 1) ms).
 */
export function hiresOffsetMs(): number {
  let sum = 0;
  let n = 0;
  const until = performance.now() + 20;
  while (performance.now() < until) {
    sum += performance.timeOrigin + performance.now() - Date.now();
    n++;
  }
  return sum / n - 0.5;
}

/** The worker's clock offset minus the main thread's, in ms. */
export async function clockSkewMs(): Promise<number> {
  const worker = new Worker(new URL("./clock_worker.ts", import.meta.url), { type: "module" });
  try {
    const theirs = await new Promise<number>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<number>) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`Clock check worker failed: ${e.message}`));
      };
      worker.postMessage(null);
    });
    return theirs - hiresOffsetMs();
  } finally {
    worker.terminate();
  }
}
