/**
 * The one worker thread of a conntop process. The collector and the enrichment service (GeoIP,
 * hostnames, service names) both run in it: each Worker is a V8 isolate of its own, about 15 MB
 * before it holds any data, so two workers cost 15 MB more than one. The collector talks over
 * the worker's own port (messages.ts); the enrichment service over a `MessageChannel` port
 * handed to the worker (src/enrich/client.ts).
 *
 * The thread lives while someone uses it and is terminated when the last user releases it. A
 * worker runs at most one collector in its life (its state is per worker): a second collector
 * at once, or one after the first stopped, gets a worker of its own.
 *
 * Nothing here calls FFI or knows what the messages mean.
 *
 * @module
 */

/** A worker running src/collector/worker.ts, shared by the collector and the enrichment. */
export class WorkerThread {
  static #shared: WorkerThread | undefined;
  static #created = 0;

  /** The worker; its own port carries the collector's messages only. */
  readonly worker: Worker;
  #users = 0;
  #collector = false;
  #ended = false;
  #errors = new Set<(e: ErrorEvent) => void>();

  private constructor() {
    this.worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    WorkerThread.#created++;
    this.worker.onerror = (e: ErrorEvent) => {
      // Handled here: a crash is reported to every user, never re-thrown on the main thread.
      e.preventDefault();
      for (const f of [...this.#errors]) f(e);
      this.terminate();
    };
  }

  /** Workers created by this process so far (the tests check that the monitor makes one). */
  static get created(): number {
    return WorkerThread.#created;
  }

  /** The thread a collector runs in: the shared one while it has none yet, else a new one. */
  static forCollector(): WorkerThread {
    let t = WorkerThread.#shared;
    if (t === undefined || t.#ended || t.#collector) {
      t = new WorkerThread();
      WorkerThread.#shared = t;
    }
    t.#collector = true;
    t.#users++;
    return t;
  }

  /** The thread a service (the enrichment) runs in: the shared one, made when there is none. */
  static forService(): WorkerThread {
    let t = WorkerThread.#shared;
    if (t === undefined || t.#ended) {
      t = new WorkerThread();
      WorkerThread.#shared = t;
    }
    t.#users++;
    return t;
  }

  /** Calls `f` when the worker crashes (it is terminated then); returns the remover. */
  onError(f: (e: ErrorEvent) => void): () => void {
    this.#errors.add(f);
    return () => this.#errors.delete(f);
  }

  /** Whether the worker has been terminated. */
  get ended(): boolean {
    return this.#ended;
  }

  /** One user is done; the last one terminates the worker. Safe to call after the end. */
  release(): void {
    if (this.#ended) return;
    if (--this.#users <= 0) this.terminate();
  }

  /** Terminates the worker now, whoever still uses it (a hung worker, a crash). */
  terminate(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.worker.terminate();
    if (WorkerThread.#shared === this) WorkerThread.#shared = undefined;
  }
}
