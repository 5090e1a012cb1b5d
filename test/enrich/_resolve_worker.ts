/**
 * The worker variant of _resolve_script.ts: resolves the addresses it is sent and posts every
 * event back, as conntop's enrichment worker does. Requires `--allow-ffi`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { resolveAll, type ResolveConfig } from "./_resolve_common.ts";

self.onmessage = (e: MessageEvent<ResolveConfig>) => {
  resolveAll(e.data, (event) => self.postMessage(event));
};
