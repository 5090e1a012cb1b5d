/**
 * GeoIP for conntop: country, autonomous system and city of public addresses, from MaxMind DB
 * files (GeoLite2, GeoIP2, DB-IP lite, ip-location-db) read with libmaxminddb or mmdb-lib, and
 * from the embedded open data when no database of a kind is installed.
 *
 * The enrichment service opens it on its first lookup ({@linkcode loadLibReader} then
 * {@linkcode openGeoIpSync}, or {@linkcode GeoIp.empty} for `--no-geoip`) and calls `lookup`
 * for public addresses only. Nothing here touches the UI.
 *
 * @module
 */

export {
  type GeoIpOptions,
  loadLibReader,
  needsLibReader,
  type OpenedGeoIp,
  openGeoIp,
  openGeoIpSync,
} from "./open.ts";
export { GeoIp, type GeoSource } from "./geoip.ts";
export { classifyDatabase, defaultSearchPaths, type GeoKind } from "./discover.ts";
export { GEOIP_ATTRIBUTION } from "../../attribution.ts";
