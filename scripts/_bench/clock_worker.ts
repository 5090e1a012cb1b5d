/**
 * Worker half of {@linkcode clockSkewMs} in clock.ts: reports this thread's high-resolution
 * clock offset from the wall clock.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { hiresOffsetMs } from "./clock.ts";

self.onmessage = () => {
  self.postMessage(hiresOffsetMs());
};
