/**
 * Enrichment as the rest of conntop sees it: the handle on the enrichment worker, the main
 * thread's store of its answers, and service names. The resolvers (GeoIP, hostnames) are internal.
 *
 * libmaxminddb's `--version` probe (geoip/library.ts) is a second door, not exported here: it
 * loads the libmaxminddb binding, which the monitor's UI thread otherwise never needs.
 *
 * @module
 */

export { type AddrInfo, EnrichStore } from "./store.ts";
export { Enricher } from "./client.ts";
export { type EnricherOptions } from "./messages.ts";
export { builtinServices, parseServices } from "./services.ts";
export { type EnrichService } from "./messages.ts";
