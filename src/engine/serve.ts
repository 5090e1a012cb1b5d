/**
 * The engine as the collector worker hosts it: it takes the worker's own batches (or a
 * recording's and a remote server's, sent by the screen), answers the screen's view queries
 * over a `MessagePort`, answers the last query again after every batch (so a refresh costs the
 * screen no round trip), and finishes a new order in small steps between its other work.
 *
 * Loaded by the worker only when a screen asks (a computed import), so conntopd and `--once`
 * never hold it. Sorting and searching on enrichment answers (countries, hostnames, …) read the
 * enrichment service hosted in the same worker; the screen fills the rows it shows itself.
 *
 * @module
 */

import { formatAddress, OFF, RECORD_SIZE, type RecordView } from "../conntrack/mod.ts";
import type { BatchMessage } from "../core/mod.ts";
import type { LocalAddressList } from "../core/mod.ts";
import type { EnrichService } from "../enrich/mod.ts";
import { type HostEntry, NO_GEO } from "../core/mod.ts";
import { Engine, type Enrichment } from "./engine.ts";
import { EngineHost, type TableQuery } from "./host.ts";
import type { AddressFacts } from "./keys.ts";
import type { EngineSetup, FromEngine, ToEngine } from "./messages.ts";
import { TableRecords, type TableSource } from "./store.ts";

/** Work on a new order at most this long before letting the worker's loop turn (ms). */
const SETTLE_SLICE_MS = 4;
/** New enrichment answers re-sort at most this often (the engine's own limit). */
const ENRICH_ANSWER_MS = 1000;

/** The engine served in this worker. */
export interface EngineServer {
  readonly setup: EngineSetup;
  /** Takes a batch of the worker's own collector. */
  apply(batch: BatchMessage): void;
  /** Reads the records from the collector's table (a live engine). */
  bind(table: TableSource): void;
}

/**
 * Serves the screen on `port`; resolves once its "setup" arrived. `service` gives the
 * enrichment hosted in this worker, when there is one.
 */
export function serveEngine(
  port: MessagePort,
  service: () => EnrichService | undefined,
): Promise<EngineServer> {
  return new Promise((resolve) => {
    let host: EngineHost | undefined;
    let lookup: ServiceLookup | undefined;
    let last: { id: number; q: TableQuery } | undefined;
    let answerTimer: ReturnType<typeof setTimeout> | undefined;
    let settleTimer: ReturnType<typeof setTimeout> | undefined;
    let enrichTimer: ReturnType<typeof setTimeout> | undefined;
    let closed = false;
    const post = (msg: FromEngine) => {
      if (!closed) port.postMessage(msg);
    };
    const settle = () => {
      settleTimer = undefined;
      if (host?.settle(SETTLE_SLICE_MS)) settleTimer = setTimeout(settle, 0);
    };
    const answer = (id: number, q: TableQuery) => {
      if (host === undefined || closed) return;
      const w = host.answer(q);
      post({ type: "window", id, w });
      if (w.found === true && last?.id === id) {
        // Later answers stay on the row found (the screen's next query says so too).
        const k = w.cursorRow - w.first;
        const anchor = { slot: w.slots[k]!, id: w.rows[k]!.id };
        last.q = { ...last.q, anchor, cursorRow: w.cursorRow, top: w.top, cursor: true };
      }
      if (host.unsettled && settleTimer === undefined) settleTimer = setTimeout(settle, 0);
    };
    // The last query again, once the current work is done (batches come in bursts).
    const reanswer = () => {
      answerTimer ??= setTimeout(() => {
        answerTimer = undefined;
        if (last !== undefined) answer(last.id, last.q);
      }, 0);
    };
    const apply = (b: BatchMessage) => {
      host?.apply(b);
      reanswer();
    };
    port.onmessage = (e: MessageEvent<ToEngine>) => {
      const msg = e.data;
      switch (msg.type) {
        case "setup": {
          const s = msg.setup;
          lookup = s.enrich
            ? new ServiceLookup(service, () => {
              enrichTimer ??= setTimeout(() => {
                enrichTimer = undefined;
                reanswer();
              }, ENRICH_ANSWER_MS);
            })
            : undefined;
          const records = s.live ? new TableRecords() : undefined;
          host = new EngineHost(new Engine({ enrich: lookup, records }));
          resolve({ setup: s, apply, bind: (t) => records?.bind(t) });
          break;
        }
        case "query": {
          // The search is asked once; the rest stands for later batches.
          const { find: _f, ...standing } = msg.q;
          last = { id: msg.id, q: standing };
          answer(msg.id, msg.q);
          break;
        }
        case "batch":
          apply(msg.batch);
          break;
        case "close":
          closed = true;
          clearTimeout(answerTimer);
          clearTimeout(settleTimer);
          clearTimeout(enrichTimer);
          lookup?.close();
          port.close();
          break;
      }
    };
  });
}

/**
 * Enrichment answers for sorting and searching, read from the service hosted in this worker:
 * address classes and GeoIP synchronously, hostnames as the screen's own lookups answer them
 * (a sort never starts a lookup).
 */
class ServiceLookup implements Enrichment {
  version = 0;
  #service: () => EnrichService | undefined;
  #attached: EnrichService | undefined;
  #removeListener: (() => void) | undefined;
  #onChange: () => void;
  #v4 = new Map<number, AddressFacts>();
  #v6 = new Map<string, AddressFacts>();
  #hosts = new Map<string, HostEntry>();

  constructor(service: () => EnrichService | undefined, onChange: () => void) {
    this.#service = service;
    this.#onChange = onChange;
  }

  addressAt(v: RecordView, i: number, off: number): AddressFacts {
    const svc = this.#svc();
    const fam = v.u8At(i, OFF.FAMILY);
    const at = i * RECORD_SIZE + off;
    const b = v.u8;
    if (fam === 10) {
      const text = formatAddress(fam, b, at);
      let f = this.#v6.get(text);
      if (f === undefined) {
        f = this.#facts(svc, 6, b.slice(at, at + 16), text);
        if (svc !== undefined) this.#v6.set(text, f);
      }
      return f;
    }
    const n = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
    let f = this.#v4.get(n);
    if (f === undefined) {
      f = this.#facts(svc, 4, b.slice(at, at + 4), formatAddress(fam, b, at));
      if (svc !== undefined) this.#v4.set(n, f);
    }
    return f;
  }

  setLocal(_list: LocalAddressList | undefined): void {
    // Classes follow the host's addresses (the worker handed them to the service already).
    this.#forget();
  }

  prune(max: number): void {
    if (this.#v4.size + this.#v6.size > max) this.#forget();
    if (this.#hosts.size > max) this.#hosts.clear();
  }

  close(): void {
    this.#removeListener?.();
  }

  #forget(): void {
    this.#v4.clear();
    this.#v6.clear();
    this.version++;
  }

  // The service, and its hostname answers from the moment it is there.
  #svc(): EnrichService | undefined {
    if (this.#attached !== undefined) return this.#attached;
    const svc = this.#service();
    if (svc === undefined) return undefined;
    this.#attached = svc;
    this.#removeListener = svc.onHost((address, entry) => {
      this.#hosts.set(address, entry);
      const p = this.#v6.get(address) ?? this.#v4Text(address);
      if (p !== undefined) p.host = entry;
      this.version++;
      this.#onChange();
    });
    this.version++;
    return svc;
  }

  #v4Text(text: string): AddressFacts | undefined {
    const parts = text.split(".");
    if (parts.length !== 4) return undefined;
    const n = parts.reduce((a, x) => a * 256 + Number(x), 0);
    return this.#v4.get(n);
  }

  #facts(
    svc: EnrichService | undefined,
    family: 4 | 6,
    bytes: Uint8Array,
    text: string,
  ): AddressFacts {
    if (svc === undefined) return { cls: "public", geo: undefined, host: undefined };
    const cls = svc.addressClass(family, bytes);
    return {
      cls,
      geo: cls === "public" ? svc.geo(family, bytes) : NO_GEO,
      host: this.#hosts.get(text),
    };
  }
}
