/**
 * conntop's collector and model run in this process, the way the monitor runs them, so that
 * one refresh can be timed end to end: from the moment the worker begins it (`startedMs`, before
 * its dump) to the moment the main thread has applied the batch to its
 * {@linkcode ConnectionModel}. That covers the kernel dump, decoding into the worker's table,
 * the diff, the hand-over of the changed records, and `apply()`.
 *
 * The refresh interval is an hour, so refreshes happen only when asked for with `collect()`.
 *
 * @module
 */

import { type BatchMessage, Collector } from "../../src/collector/mod.ts";
import { ConnectionModel } from "../../src/model/model.ts";

/** One refresh, timed. */
export interface RefreshSample {
  /** From the worker's start of the refresh to the end of `model.apply()`, in ms. */
  totalMs: number;
  /** The worker's dump (kernel dump + decode into its table), `status.dumpMs`. */
  dumpMs: number;
  /** From the worker's post of the batch to the end of `model.apply()`, in ms. */
  handOverMs: number;
  /** Records in the batch (changes since the last refresh). */
  records: number;
  /** `model.size` after the batch. */
  modelSize: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const BATCH_TIMEOUT_MS = 120_000;

/** A collector started in this process, feeding a model. */
export class InProcessConntop {
  #collector!: Collector;
  #model = new ConnectionModel();
  #waiter: { resolve(s: RefreshSample): void; reject(err: Error): void } | undefined;
  #pending: RefreshSample[] = [];
  #warnings: string[] = [];
  #fatal: Error | undefined;

  private constructor() {}

  /** Starts a collector on namespace `netns` and waits for its first (cold) batch. */
  static async start(netns: string): Promise<{ conntop: InProcessConntop; cold: RefreshSample }> {
    const c = new InProcessConntop();
    const first = c.#next();
    first.catch(() => {}); // awaited below, unless start() fails first
    try {
      c.#collector = await Collector.start({
        intervalMs: 3_600_000,
        netns,
        enableAcct: false,
        track: false,
        eventBufferBytes: 16 << 20,
        events: true,
      }, {
        onBatch: (b) => c.#onBatch(b),
        onWarning: (m) => c.#warnings.push(m),
        onFatal: (err) => {
          c.#fatal = err;
          c.#waiter?.reject(err);
        },
      });
    } catch (err) {
      c.#waiter?.reject(err as Error);
      throw err;
    }
    return { conntop: c, cold: await first };
  }

  /** Connections in the model. */
  get size(): number {
    return this.#model.size;
  }

  /** The kernel's count reported with the last batch. */
  get kernelCount(): number | null {
    return this.#model.totals?.kernelCount ?? null;
  }

  /** Warnings the collector sent. */
  get warnings(): readonly string[] {
    return this.#warnings;
  }

  /** Asks for one refresh and resolves with its timing. */
  refresh(): Promise<RefreshSample> {
    const next = this.#next();
    this.#collector.collect();
    return next;
  }

  /** Stops the collector. */
  async stop(): Promise<void> {
    await this.#collector?.stop();
  }

  #onBatch(b: BatchMessage): void {
    this.#model.apply(b);
    const end = now();
    const sample: RefreshSample = {
      totalMs: end - b.startedMs,
      dumpMs: b.status.dumpMs,
      handOverMs: end - b.timeMs,
      records: b.count,
      modelSize: this.#model.size,
    };
    const w = this.#waiter;
    if (w !== undefined) w.resolve(sample);
    else this.#pending.push(sample);
  }

  #next(): Promise<RefreshSample> {
    // A batch nobody asked for (there should be none with an hour's interval) is not a sample
    // of the next refresh: drop it, but let the caller see it happened through the count.
    if (this.#pending.length > 0) {
      this.#pending.length = 0;
      this.#warnings.push("An unrequested batch arrived between refreshes");
    }
    if (this.#fatal !== undefined) return Promise.reject(this.#fatal);
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.#waiter = undefined;
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`No batch from the collector within ${BATCH_TIMEOUT_MS} ms`));
      }, BATCH_TIMEOUT_MS);
      this.#waiter = {
        resolve: (s) => (settle(), resolve(s)),
        reject: (err) => (settle(), reject(err)),
      };
    });
  }
}
