/**
 * The collector worker: the Web Worker that owns every FFI call of conntop's monitor. It runs
 * the collection loop (loop.ts) on its own thread and posts what the loop reports to the main
 * thread; batches carry their record buffers as transferables.
 *
 * It never touches the terminal. Everything the loop changes in the kernel (sysctls, the
 * --track table) it restores when told to stop, or when it fails.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { CollectorControl, runCollector } from "./loop.ts";
import type { FromCollector, ToCollector } from "./messages.ts";

function post(msg: FromCollector, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

const control = new CollectorControl(post);

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
  }
};
