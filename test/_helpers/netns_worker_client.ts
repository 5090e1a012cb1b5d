/**
 * Drives netns_worker.ts: a Worker thread that entered a test's network namespace, on which
 * tests run {@linkcode LocalAddresses.current} and {@linkcode SocketOwners} as the collector
 * worker does.
 *
 * @example
 * ```ts ignore
 * await using ns = await Netns.create();
 * using worker = new NetnsWorker(ns);
 * await worker.newOwners({ budget: 100 });
 * const { owners, stats } = await worker.resolve([query]);
 * ```
 *
 * Requires `--allow-ffi` and `--allow-read` (to load the worker).
 *
 * @module
 */

import type { Netns } from "../../tools/netns.ts";
import type { LocalAddressesJson } from "../../src/core/classes.ts";
import type { SocketOwnersOptions, SocketQuery } from "../../src/collector/owners.ts";
import type { WorkerReplies, WorkerReply, WorkerRequest } from "./netns_worker.ts";

/** A worker thread inside a namespace; requests are answered one at a time, in order. */
export class NetnsWorker implements Disposable {
  #worker: Worker;
  #queue: Promise<unknown> = Promise.resolve();
  #ready: Promise<unknown>;

  /**
   * Starts the worker and makes it enter `ns`.
   *
   * @param ns The namespace the worker's thread enters.
   */
  constructor(ns: Netns) {
    this.#worker = new Worker(new URL("./netns_worker.ts", import.meta.url), { type: "module" });
    this.#ready = this.#request({ type: "enter", path: `/run/netns/${ns.name}` });
  }

  #request<T extends WorkerRequest>(req: T): Promise<WorkerReplies[T["type"]]> {
    const next = this.#queue.catch(() => {}).then(() =>
      new Promise<WorkerReplies[T["type"]]>((resolve, reject) => {
        this.#worker.onmessage = (e: MessageEvent<WorkerReply>) => {
          const reply = e.data;
          if (reply.ok) resolve(reply.value as WorkerReplies[T["type"]]);
          else reject(new Error(`Worker failed '${req.type}': ${reply.error}`));
        };
        this.#worker.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          reject(new Error(`Worker failed '${req.type}': ${e.message}`));
        };
        this.#worker.postMessage(req);
      })
    );
    this.#queue = next;
    return next;
  }

  /** {@linkcode LocalAddresses.current} as seen from the worker's thread. */
  async localAddresses(): Promise<LocalAddressesJson> {
    await this.#ready;
    return this.#request({ type: "local" });
  }

  /** Replaces the worker's SocketOwners with a new one. */
  async newOwners(options: SocketOwnersOptions = {}): Promise<void> {
    await this.#ready;
    await this.#request({ type: "owners", options });
  }

  /** SocketOwners.resolve() in the worker, and its stats() right after. */
  async resolve(queries: SocketQuery[]): Promise<WorkerReplies["resolve"]> {
    await this.#ready;
    return this.#request({ type: "resolve", queries });
  }

  /** SocketOwners.tracks() in the worker. */
  async tracks(pid: number): Promise<boolean> {
    await this.#ready;
    return this.#request({ type: "tracks", pid });
  }

  /** Terminates the worker. */
  [Symbol.dispose](): void {
    this.#worker.terminate();
  }
}
