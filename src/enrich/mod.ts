/**
 * Enrichment as the rest of conntop sees it: the handle on the enrichment worker, the main
 * thread's store of its answers, and service names. The resolvers (GeoIP, hostnames) are internal.
 *
 * @module
 */

export { type AddrInfo, EnrichStore } from "./store.ts";
export { Enricher } from "./client.ts";
export { type EnricherOptions } from "./messages.ts";
export { builtinServices, parseServices } from "./services.ts";
export { MAXMINDDB_PROBE } from "./geoip/library.ts";
export { type EnrichService } from "./messages.ts";
