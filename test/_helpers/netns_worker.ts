/**
 * A Worker for tests that must run code on a thread inside a network namespace, as the
 * collector worker does: it enters the namespace with setns (ffi/libc.ts `enterNetns`) and then
 * answers requests one at a time. Driven by {@linkcode NetnsWorker} in netns_worker_client.ts.
 *
 * Requires `--allow-ffi`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { enterNetns } from "../../ffi/libc.ts";
import { LocalAddresses, type LocalAddressesJson } from "../../src/core/classes.ts";
import {
  SocketOwners,
  type SocketOwnersOptions,
  type SocketOwnersStats,
  type SocketQuery,
} from "../../src/collector/owners.ts";
import type { Owner } from "../../src/core/enrichment.ts";

/** A request to the worker. */
export type WorkerRequest =
  | { type: "enter"; path: string }
  | { type: "local" }
  | { type: "owners"; options: SocketOwnersOptions }
  | { type: "resolve"; queries: SocketQuery[] }
  | { type: "tracks"; pid: number };

/** What each request answers. */
export interface WorkerReplies {
  enter: null;
  local: LocalAddressesJson;
  owners: null;
  resolve: { owners: (Owner | null)[]; stats: SocketOwnersStats };
  tracks: boolean;
}

/** A reply: the value, or the error's message. */
export type WorkerReply = { ok: true; value: unknown } | { ok: false; error: string };

let owners: SocketOwners | undefined;

function handle(req: WorkerRequest): unknown {
  switch (req.type) {
    case "enter":
      enterNetns(req.path);
      return null;
    case "local":
      return LocalAddresses.current().toJSON();
    case "owners":
      owners = new SocketOwners(req.options);
      return null;
    case "resolve": {
      if (owners === undefined) throw new Error("Failed to resolve: no SocketOwners yet");
      const result = owners.resolve(req.queries);
      return { owners: result, stats: owners.stats() };
    }
    case "tracks":
      if (owners === undefined) throw new Error("Failed to ask: no SocketOwners yet");
      return owners.tracks(req.pid);
  }
}

self.onmessage = (e: MessageEvent<WorkerRequest>) => {
  let reply: WorkerReply;
  try {
    reply = { ok: true, value: handle(e.data) };
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  self.postMessage(reply);
};
