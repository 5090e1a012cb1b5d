/**
 * The collector worker: the Web Worker that owns every FFI call of conntop's monitor. It runs
 * the collection loop (loop.ts) on its own thread and posts what the loop reports to the main
 * thread; batches carry their record buffers as transferables.
 *
 * When a screen attaches one, it hosts the engine (src/engine/serve.ts): the batches go to it
 * instead of the main thread, which asks for the window it draws; a dump then lets the worker's
 * event loop turn every few milliseconds, so that a query is answered mid-dump.
 *
 * It also hosts the enrichment service (src/enrich/service.ts) when the main thread hands it a
 * port: one isolate for collecting and resolving, as the design has it. That module is loaded
 * only then, by a computed URL, so that conntopd, which never asks for it, holds no GeoIP or
 * resolver code (its build `--include`s it for conntop; see scripts/_build/commands.ts).
 *
 * It never touches the terminal. Everything the loop changes in the kernel (sysctls, the
 * --track table) it restores when told to stop, or when it fails.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { CollectorControl, runCollector } from "./loop.ts";
import type { BatchMessage, FromCollector, LocalAddressList, ToCollector } from "./messages.ts";
import type { CtTable } from "./table.ts";

/**
 * The enrichment service as this worker drives it (src/enrich/service.ts; not imported: the
 * collector is below enrichment, and conntopd must not load it).
 */
interface HostedEnrichment {
  setLocal(local: LocalAddressList): void;
}

/** With a screen attached, a dump lets the event loop turn this often (ms). */
const YIELD_EVERY_MS = 4;

function post(msg: FromCollector, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

const control = new CollectorControl(post);

// Computed, not a literal: a literal would put GeoIP and the resolver in conntopd's graph.
const ENRICH_SERVICE = new URL("../enrich/service.ts", import.meta.url).href;
/** The enrichment hosted here, once a client attached: code in this worker may call it. */
let enrichment: HostedEnrichment | undefined;
/** The host's addresses as last read, handed to the enrichment when it attaches. */
let lastLocal: LocalAddressList | undefined;

// Computed, not a literal: conntopd and --once never load the engine.
const ENGINE_SERVE = new URL("../engine/serve.ts", import.meta.url).href;
/** The engine as this worker drives it (src/engine/serve.ts; not imported: see above). */
interface EngineServer {
  readonly setup: { forward: boolean };
  apply(batch: BatchMessage): void;
  /** Reads the records from this table in place (no second copy). */
  bind(table: CtTable): void;
}

/** The engine a screen attached, and its loading. */
let engine: EngineServer | undefined;
let engineLoading: Promise<void> | undefined;

function hostEngine(port: MessagePort): void {
  engineLoading = (async () => {
    try {
      const mod = await import(ENGINE_SERVE) as {
        serveEngine(p: MessagePort, s: () => HostedEnrichment | undefined): Promise<EngineServer>;
      };
      engine = await mod.serveEngine(port, () => enrichment);
    } catch (err) {
      port.postMessage({
        type: "fatal",
        message: err instanceof Error ? err.message : String(err),
      });
    }
  })();
  // Queries come between a dump's receives.
  control.yieldMs = YIELD_EVERY_MS;
}

async function hostEnrichment(port: MessagePort): Promise<void> {
  try {
    const mod = await import(ENRICH_SERVICE) as {
      serve(port: MessagePort): Promise<HostedEnrichment>;
    };
    const service = await mod.serve(port);
    if (lastLocal !== undefined) service.setLocal(lastLocal);
    enrichment = service;
  } catch (err) {
    port.postMessage({ type: "fatal", message: err instanceof Error ? err.message : String(err) });
  }
}

control.onLocal = (local) => {
  lastLocal = local;
  enrichment?.setLocal(local);
};

control.onTable = async (table) => {
  if (engineLoading !== undefined) await engineLoading;
  engine?.bind(table);
  // An engine reading the table in place needs no copies of the changed records.
  control.inPlace = engine !== undefined && !engine.setup.forward;
};

control.deliver = async (msg) => {
  if (engineLoading !== undefined) await engineLoading;
  if (engine === undefined) post(msg, msg.records);
  else if (engine.setup.forward) {
    // A recording wants the records too: copies, the engine keeps the originals.
    const copies = msg.records.map((b) => b.slice(0));
    post({ ...msg, records: copies }, copies);
    engine.apply(msg);
  } else {
    post({
      ...msg,
      records: [],
      count: 0,
      extras: [],
      owners: [],
      changes: undefined,
      inWorker: true,
    });
    engine.apply(msg);
  }
};

self.onmessage = (e: MessageEvent<ToCollector>) => {
  const msg = e.data;
  if (msg.type === "start") {
    runCollector(msg.options, control).finally(() => post({ type: "stopped" }));
  } else if (msg.type === "collect") {
    control.collect();
  } else if (msg.type === "stop") {
    control.stop();
  } else if (msg.type === "pause") {
    control.pause();
  } else if (msg.type === "resume") {
    control.resume();
  } else if (msg.type === "enrich") {
    hostEnrichment(msg.port);
  } else if (msg.type === "engine") {
    hostEngine(msg.port);
  }
};
