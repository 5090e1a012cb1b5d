/**
 * The libmaxminddb backend of {@linkcode MmdbReader}: files are memory-mapped by the C library
 * and only the values asked for are decoded (MMDB_aget_value).
 *
 * Requires `--allow-ffi`, `--allow-env` and `--allow-read`. Opening throws `LibraryLoadError`
 * (from ffi/maxminddb.ts) when libmaxminddb is not installed, so that callers can fall back to
 * mmdb-lib.
 *
 * @module
 */

import { MaxMindDb } from "../../../ffi/maxminddb.ts";
import type { FieldPath, MmdbReader, Selector } from "./reader.ts";

/** Opens the database at `path` with libmaxminddb. */
export function openFfiReader(path: string): MmdbReader {
  const db = MaxMindDb.open(path);
  const md = db.metadata;
  return {
    file: path,
    backend: "libmaxminddb",
    metadata: {
      databaseType: md.databaseType,
      ipVersion: md.ipVersion,
      nodeCount: md.nodeCount,
      recordSize: md.recordSize,
      binaryFormatMajorVersion: md.binaryFormatMajorVersion,
      buildEpoch: md.buildEpoch,
    },
    lookup: (family, bytes) => db.lookup(family, bytes),
    selector: (paths: readonly FieldPath[]): Selector => db.selector(paths),
    close: () => db.close(),
  };
}
