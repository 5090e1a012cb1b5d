/**
 * conntop's collector driven one refresh at a time, for the in-process benchmarks: it never
 * refreshes by itself (an hour's interval); `refresh()` asks for one and waits for its batch.
 *
 * @module
 */

import { type BatchMessage, Collector, type CollectorOptions } from "../../src/collector/mod.ts";

const BATCH_TIMEOUT_MS = 120_000;

/** A collector that refreshes on request. */
export interface SteppedCollector {
  /** Asks for a refresh and resolves once its batch was handed to `onBatch`. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a collector (in namespace `netns`, or this thread's) and waits for its first batch.
 * Rejects when it cannot start or a batch does not come within two minutes.
 */
export async function startSteppedCollector(
  onBatch: (b: BatchMessage) => void,
  options: Partial<Pick<CollectorOptions, "netns" | "eventBufferBytes" | "events">> = {},
): Promise<SteppedCollector> {
  let waiter: { resolve(): void; reject(err: Error): void } | undefined;
  let fatal: Error | undefined;
  const next = () =>
    new Promise<void>((resolve, reject) => {
      if (fatal !== undefined) return reject(fatal);
      const timer = setTimeout(() => {
        waiter = undefined;
        reject(new Error(`No batch from the collector within ${BATCH_TIMEOUT_MS} ms`));
      }, BATCH_TIMEOUT_MS);
      waiter = {
        resolve: () => (clearTimeout(timer), waiter = undefined, resolve()),
        reject: (err) => (clearTimeout(timer), waiter = undefined, reject(err)),
      };
    });
  const first = next();
  first.catch(() => {}); // awaited below, unless start() fails first
  const collector = await Collector.start({
    intervalMs: 3_600_000,
    netns: options.netns,
    enableAcct: false,
    track: false,
    eventBufferBytes: options.eventBufferBytes ?? 16 << 20,
    events: options.events ?? true,
  }, {
    onBatch: (b) => {
      onBatch(b);
      waiter?.resolve();
    },
    onFatal: (err) => {
      fatal = err;
      waiter?.reject(err);
    },
  });
  try {
    await first;
  } catch (err) {
    await collector.stop();
    throw err;
  }
  return {
    refresh: () => {
      const p = next();
      collector.collect();
      return p;
    },
    stop: () => collector.stop(),
  };
}
