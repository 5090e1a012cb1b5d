/**
 * The mmdb-lib backend of {@linkcode MmdbReader}: the pure-TypeScript reader, used where
 * libmaxminddb is not installed and for databases that exist only as bytes (the embedded one,
 * which must also work inside a `deno compile` binary).
 *
 * mmdb-lib takes addresses as text, so each lookup formats one; decoded records are cached by
 * their offset in the data section (a busy host sees the same few thousand records again and
 * again), which is why records returned here must not be mutated.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Reader } from "mmdb-lib";
import { fileBytes } from "./bytes.ts";
import type { FieldPath, MmdbReader, Scalar, Selector } from "./reader.ts";

/** Decoded records kept per database, by data-section offset; cleared when full. */
const CACHE_MAX = 16384;

class RecordCache {
  #map = new Map<string | number, unknown>();
  get(key: string | number): unknown {
    return this.#map.get(key);
  }
  set(key: string | number, value: unknown): void {
    if (this.#map.size >= CACHE_MAX) this.#map.clear();
    this.#map.set(key, value);
  }
}

/** The text form mmdb-lib parses: dotted quad, or eight uncompressed hex groups. */
function addressText(family: 4 | 6, b: Uint8Array): string {
  if (family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  let s = "";
  for (let i = 0; i < 16; i += 2) {
    if (i !== 0) s += ":";
    s += ((b[i]! << 8) | b[i + 1]!).toString(16);
  }
  return s;
}

/** The scalar at `path` in a decoded record, or null. */
function scalarAt(record: unknown, path: FieldPath): Scalar | null {
  let v: unknown = record;
  for (const key of path) {
    if (Array.isArray(v)) {
      // As MMDB_aget_value: an array is indexed by a decimal key.
      v = /^\d+$/.test(key) ? v[Number(key)] : undefined;
    } else if (v !== null && typeof v === "object" && !(v instanceof Uint8Array)) {
      v = Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
    } else return null;
  }
  switch (typeof v) {
    case "string":
    case "number":
    case "bigint":
    case "boolean":
      return v;
    default:
      return null;
  }
}

const MARKER = new Uint8Array([0xab, 0xcd, 0xef, ...new TextEncoder().encode("MaxMind.com")]);
// The specification caps the metadata section at 128 KiB.
const METADATA_MAX = 128 * 1024;

/** Whether the metadata marker is in the last 128 KiB (mmdb-lib's own message is obscure). */
function hasMetadata(bytes: Uint8Array): boolean {
  for (let i = bytes.length - MARKER.length; i >= Math.max(0, bytes.length - METADATA_MAX); i--) {
    let j = 0;
    while (j < MARKER.length && bytes[i + j] === MARKER[j]) j++;
    if (j === MARKER.length) return true;
  }
  return false;
}

/**
 * Opens a database held in `bytes` (kept, not copied); `file` names it in messages. Throws
 * when the bytes are not a MaxMind DB (mmdb-lib's own message, wrapped with the file name).
 */
export function openLibReader(bytes: Uint8Array, file: string): MmdbReader {
  if (!hasMetadata(bytes)) {
    throw new Error(
      `Failed to open MaxMind DB '${file}': no metadata found (not a MaxMind DB, or truncated)`,
    );
  }
  let reader: Reader<Record<string, unknown>>;
  try {
    reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      cache: new RecordCache(),
    });
  } catch (err) {
    throw new Error(
      `Failed to open MaxMind DB '${file}': invalid database (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  const md = reader.metadata;
  // mmdb-lib trusts the metadata; libmaxminddb checks these two at open, and so do we.
  if (typeof md.databaseType !== "string") {
    throw new Error(`Failed to open MaxMind DB '${file}': database_type is missing`);
  }
  if (md.searchTreeSize + 16 > bytes.length) {
    throw new Error(
      `Failed to open MaxMind DB '${file}': its search tree (${md.searchTreeSize} bytes) is larger than the file (${bytes.length} bytes)`,
    );
  }
  const ipVersion = md.ipVersion;
  const get = (family: 4 | 6, bytes: Uint8Array): unknown | null => {
    // mmdb-lib would walk an IPv4 tree with 128 bits; libmaxminddb refuses: so do we.
    if (family === 6 && ipVersion === 4) return null;
    return reader.get(addressText(family, bytes));
  };
  let closed = false;
  const open = () => {
    if (closed) throw new Error(`Failed to read MaxMind DB '${file}': it is closed`);
  };
  return {
    file,
    backend: "mmdb-lib",
    metadata: {
      databaseType: md.databaseType,
      ipVersion,
      nodeCount: md.nodeCount,
      recordSize: md.recordSize,
      binaryFormatMajorVersion: md.binaryFormatMajorVersion,
      buildEpoch: Math.round(md.buildEpoch.getTime() / 1000),
    },
    lookup(family, bytes) {
      open();
      return get(family, bytes);
    },
    selector(paths: readonly FieldPath[]): Selector {
      return (family, bytes) => {
        open();
        let record: unknown;
        try {
          record = get(family, bytes);
        } catch {
          return null; // a corrupt record is no record: GeoIP is best-effort
        }
        if (record === null || record === undefined) return null;
        return paths.map((p) => scalarAt(record, p));
      };
    },
    close() {
      closed = true;
    },
  };
}

/** Reads the file at `path` and opens it with mmdb-lib. Requires `--allow-read`. */
export function readLibReader(path: string): Promise<MmdbReader> {
  return Promise.resolve(readLibReaderSync(path));
}

/** {@linkcode readLibReader}, synchronously; the file is mapped where it can be (bytes.ts). */
export function readLibReaderSync(path: string): MmdbReader {
  return openLibReader(fileBytes(path).bytes, path);
}
