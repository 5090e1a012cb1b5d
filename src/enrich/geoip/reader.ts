/**
 * The one interface every MaxMind DB backend implements, so that discovery and lookups do not
 * care whether libmaxminddb (through FFI) or mmdb-lib (pure TypeScript) reads a file.
 *
 * Types only; no I/O.
 *
 * @module
 */

/** Which code reads a database. */
export type MmdbBackend = "libmaxminddb" | "mmdb-lib";

/** The metadata every backend reports for an open database. */
export interface MmdbMetadata {
  /** `database_type`, e.g. "GeoLite2-Country". */
  databaseType: string;
  /** 4 or 6: the tree's address width. */
  ipVersion: number;
  /** Nodes in the search tree. */
  nodeCount: number;
  /** 24, 28 or 32. */
  recordSize: number;
  /** `binary_format_major_version`: 2. */
  binaryFormatMajorVersion: number;
  /** `build_epoch`, seconds since the epoch. */
  buildEpoch: number;
}

/** A path into a record: map keys, e.g. `["country", "names", "en"]`. */
export type FieldPath = readonly string[];

/** A scalar read by a selector (uint64 and uint128 as bigint). */
export type Scalar = string | number | bigint | boolean;

/**
 * Reads the scalars at fixed paths for an address (4 or 16 bytes): one entry per path, null
 * where the record has no scalar there; null as a whole when the address is in no network of
 * the database (or the lookup failed: GeoIP is best-effort).
 */
export type Selector = (family: 4 | 6, bytes: Uint8Array) => (Scalar | null)[] | null;

/** An open MaxMind DB. */
export interface MmdbReader {
  /** Where it came from (a path, or a description of embedded data). */
  readonly file: string;
  /** Which code reads it. */
  readonly backend: MmdbBackend;
  /** Its metadata. */
  readonly metadata: MmdbMetadata;
  /**
   * The whole record of an address, decoded (maps as objects, uint64/uint128 as bigint, bytes
   * as Uint8Array), or null when the address is in no network of the database. An IPv6
   * address in an IPv4 database is in none.
   */
  lookup(family: 4 | 6, bytes: Uint8Array): unknown | null;
  /** A selector for `paths`, decoding only those values. */
  selector(paths: readonly FieldPath[]): Selector;
  /** Releases the database (safe to call twice). */
  close(): void;
}
