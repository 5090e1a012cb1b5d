/**
 * The conntop server (conntopd, `conntop --server`): serves one host's conntrack table to any
 * number of clients over the protocol in src/protocol. {@linkcode runServer} is the whole of it;
 * the rest is exported for tests and for other front ends.
 *
 * Must never import the UI (src/ui, src/term) or GeoIP: the dedicated server's module graph
 * stays small (test/server/graph_test.ts).
 *
 * @module
 */

export { runServer } from "./run.ts";
export { SERVER_SOFTWARE, SERVER_USAGE, serverVersionText } from "./usage.ts";
export { Hub, type Subscriber } from "./hub.ts";
export { OutQueue, type PushResult, type QueueOptions, type QueueWriter } from "./queue.ts";
export { addressKey, Admission, type AdmissionOptions, type Refusal } from "./limits.ts";
export { readToken, Token } from "./auth.ts";
export { checkExposure, isLoopback } from "./exposure.ts";
export { Logger, type LogSink, openLogger } from "./log.ts";
