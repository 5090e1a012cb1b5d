/**
 * What enrichment knows about an address or a port: the shapes shared by the resolvers (which
 * run in the enrichment worker), the main thread's store, the UI columns and the outputs.
 *
 * @module
 */

/**
 * The class of an address. GeoIP is looked up only for "public" addresses; the UI colours each
 * class and the details dialog names it.
 */
export type AddressClass =
  | "unspecified" // 0.0.0.0, ::
  | "this-host" // an address of a local interface (kept current)
  | "loopback" // 127/8, ::1
  | "private" // RFC 1918: 10/8, 172.16/12, 192.168/16
  | "shared" // RFC 6598 shared address space / CGNAT: 100.64/10
  | "link-local" // 169.254/16, fe80::/10
  | "multicast" // 224/4, ff00::/8
  | "broadcast" // 255.255.255.255 and the broadcast addresses of local IPv4 networks
  | "unique-local" // fc00::/7
  | "documentation" // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
  | "reserved" // everything else IANA reserves (0/8, 240/4, 198.18/15, 192.0.0/24, 64:ff9b:1::/48, …)
  | "public";

/** Every address class, in the order the UI sorts them. */
export const ADDRESS_CLASSES: readonly AddressClass[] = [
  "unspecified",
  "this-host",
  "loopback",
  "private",
  "shared",
  "link-local",
  "multicast",
  "broadcast",
  "unique-local",
  "documentation",
  "reserved",
  "public",
];

/** Where a reverse lookup stands (trippy's states). */
export type HostStatus = "pending" | "resolved" | "not-found" | "failed" | "timeout";

/** A reverse-DNS result. */
export interface HostEntry {
  status: HostStatus;
  /** The name, when resolved. */
  name?: string;
  /** Why it failed (the resolver's message), when failed. */
  error?: string;
}

/** What GeoIP databases say about a public address; null where a database has no answer. */
export interface GeoInfo {
  /** ISO 3166-1 alpha-2 country code, e.g. "DE". */
  country: string | null;
  /** English country name, when the database has one. */
  countryName: string | null;
  /** Autonomous system number. */
  asn: number | null;
  /** Autonomous system organisation. */
  org: string | null;
  /** English city name (City databases only). */
  city: string | null;
}

/** A GeoInfo with nothing known. */
export const NO_GEO: Readonly<GeoInfo> = Object.freeze({
  country: null,
  countryName: null,
  asn: null,
  org: null,
  city: null,
});

/** The process owning the local socket of a connection that ends on this host. */
export interface Owner {
  pid: number;
  /** The process name (/proc/PID/comm). */
  name: string;
}

/** `name[pid]`, as the PROCESS column and the outputs show an owner. */
export function ownerText(o: Owner): string {
  return `${o.name}[${o.pid}]`;
}
