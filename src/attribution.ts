/**
 * The attribution the embedded GeoIP data's licences ask for, as `--version` prints it. The
 * full notices are in data/geoip/ATTRIBUTION.md.
 *
 * @module
 */

/**
 * The attribution of each data source of the embedded GeoIP data, as lines of at most 79
 * columns (a source's further lines are indented by two), so that `--version` fits a terminal.
 */
export const GEOIP_ATTRIBUTION: readonly string[] = [
  "GeoIP country data: ip-location-db geo-whois-asn-country (CC0 1.0), built",
  "  from NRO data (nro.net, CC BY 4.0)",
  "GeoIP AS data: ip-location-db asn, from RouteViews (routeviews.org), NRO",
  "  (nro.net) and IP to ASN Lite by DB-IP (db-ip.com), CC BY 4.0",
  "  (https://creativecommons.org/licenses/by/4.0/), converted to conntop's",
  "  range table",
];
