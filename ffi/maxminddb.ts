/**
 * Thin, typed binding to libmaxminddb (`libmaxminddb.so.0`), the C reader of MaxMind DB
 * (.mmdb) files: open a database, look an address up by its raw bytes, read the few values
 * asked for, or decode a whole record, and close.
 *
 * The library is opened lazily on first use, never on import. Set `CONNTOP_LIBMAXMINDDB` to a
 * path to use another build of the library. Requires `--allow-ffi` and `--allow-env`, and
 * `--allow-read` for the database files.
 *
 * Struct layouts are those of libmaxminddb 1.x on LP64 Linux (x86_64, aarch64) built with
 * `unsigned __int128` (MMDB_UINT128_IS_BYTE_ARRAY 0, as Debian and upstream's configure do
 * there); the offsets below were checked with `offsetof` against the 1.7.1 headers. Pointers
 * never leave this module: callers get strings, numbers and plain objects.
 *
 * @example
 * ```ts
 * import { MaxMindDb } from "./maxminddb.ts";
 * using db = MaxMindDb.open("/var/lib/GeoIP/GeoLite2-Country.mmdb");
 * const select = db.selector([["country", "iso_code"]]);
 * console.log(select(4, new Uint8Array([8, 8, 8, 8]))); // ["US"]
 * ```
 *
 * @module
 */

import { LibraryLoadError, openLibrary } from "./_library.ts";

export { LibraryLoadError };

/** Symbols used by conntop; each parameter names its C type. */
export const SYMBOLS = {
  MMDB_open: {
    // int MMDB_open(const char *const filename, uint32_t flags, MMDB_s *const mmdb)
    parameters: ["buffer", "u32", "buffer"],
    result: "i32",
  },
  MMDB_close: {
    // void MMDB_close(MMDB_s *const mmdb)
    parameters: ["buffer"],
    result: "void",
  },
  MMDB_lookup_sockaddr: {
    // MMDB_lookup_result_s MMDB_lookup_sockaddr(const MMDB_s *const mmdb,
    //   const struct sockaddr *const sockaddr, int *const mmdb_error)
    parameters: ["buffer", "buffer", "buffer"],
    // struct { bool found_entry; MMDB_entry_s { const MMDB_s *mmdb; uint32_t offset; } entry;
    //   uint16_t netmask; }, returned by value
    result: { struct: ["bool", { struct: ["pointer", "u32"] }, "u16"] },
  },
  MMDB_aget_value: {
    // int MMDB_aget_value(MMDB_entry_s *const start, MMDB_entry_data_s *const entry_data,
    //   const char *const *const path)
    parameters: ["buffer", "buffer", "buffer"],
    result: "i32",
  },
  MMDB_get_entry_data_list: {
    // int MMDB_get_entry_data_list(MMDB_entry_s *start,
    //   MMDB_entry_data_list_s **const entry_data_list)
    parameters: ["buffer", "buffer"],
    result: "i32",
  },
  MMDB_free_entry_data_list: {
    // void MMDB_free_entry_data_list(MMDB_entry_data_list_s *const entry_data_list)
    parameters: ["pointer"],
    result: "void",
  },
  MMDB_strerror: {
    // const char *MMDB_strerror(int error_code)
    parameters: ["i32"],
    result: "pointer",
  },
  MMDB_lib_version: {
    // const char *MMDB_lib_version(void)
    parameters: [],
    result: "pointer",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened library's functions. */
export type MaxMindDbSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** MMDB_MODE_MMAP: the only open mode libmaxminddb has. */
export const MMDB_MODE_MMAP = 1;

/** Status codes (MMDB_SUCCESS, MMDB_*_ERROR). */
export const MmdbStatus = {
  SUCCESS: 0,
  FILE_OPEN_ERROR: 1,
  CORRUPT_SEARCH_TREE_ERROR: 2,
  INVALID_METADATA_ERROR: 3,
  IO_ERROR: 4,
  OUT_OF_MEMORY_ERROR: 5,
  UNKNOWN_DATABASE_FORMAT_ERROR: 6,
  INVALID_DATA_ERROR: 7,
  INVALID_LOOKUP_PATH_ERROR: 8,
  LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR: 9,
  INVALID_NODE_NUMBER_ERROR: 10,
  IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR: 11,
} as const;

/** MMDB_DATA_TYPE_* */
export const MmdbType = {
  UTF8_STRING: 2,
  DOUBLE: 3,
  BYTES: 4,
  UINT16: 5,
  UINT32: 6,
  MAP: 7,
  INT32: 8,
  UINT64: 9,
  UINT128: 10,
  ARRAY: 11,
  BOOLEAN: 14,
  FLOAT: 15,
} as const;

// sizeof(MMDB_s) is 136 in 1.7; over-allocated so that a newer library adding fields at the
// end cannot write past the buffer.
const MMDB_S_SIZE = 512;
// MMDB_s.metadata (MMDB_metadata_s) field offsets.
const MD_NODE_COUNT = 72; // uint32_t
const MD_RECORD_SIZE = 76; // uint16_t
const MD_IP_VERSION = 78; // uint16_t
const MD_DATABASE_TYPE = 80; // const char *
const MD_FORMAT_MAJOR = 104; // uint16_t
const MD_FORMAT_MINOR = 106; // uint16_t
const MD_BUILD_EPOCH = 112; // uint64_t
// MMDB_entry_data_s: bool has_data @0; union (16-byte aligned for __int128) @16; uint32_t
// offset @32, offset_to_next @36, data_size @40, type @44; sizeof 48.
const ED_SIZE = 48;
const ED_VALUE = 16;
const ED_DATA_SIZE = 40;
const ED_TYPE = 44;
// MMDB_entry_data_list_s: MMDB_entry_data_s entry_data @0; next @48; pool @56.
const EDL_NEXT = 48;
// MMDB_lookup_result_s as returned: found_entry @0, entry (16 bytes) @8, netmask @24.
const LR_ENTRY = 8;
const LR_ENTRY_END = 24;
// struct sockaddr_in6 is 28 bytes; sockaddr_in fits in it.
const SOCKADDR_SIZE = 28;
const AF_INET = 2;
const AF_INET6 = 10;

/** Default soname; overridable with `CONNTOP_LIBMAXMINDDB`. */
export const LIBMAXMINDDB_SONAME = "libmaxminddb.so.0";

/** Raised when the shared library cannot be loaded. */

/** A libmaxminddb call that returned an MMDB_*_ERROR status. */
export class MmdbError extends Error {
  /** The status code (see {@linkcode MmdbStatus}). */
  readonly status: number;
  /** `action` completes "Failed to …"; `status` is the call's return code. */
  constructor(action: string, status: number) {
    super(`Failed to ${action}: ${strerror(status)} (status ${status})`);
    this.name = "MmdbError";
    this.status = status;
  }
}

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/**
 * Opens libmaxminddb on first call and returns its symbols.
 *
 * Requires `--allow-ffi` and `--allow-env` (for `CONNTOP_LIBMAXMINDDB`). A missing library is
 * reported as {@linkcode LibraryLoadError}; a missing permission is rethrown as is.
 */
export function maxminddb(): MaxMindDbSymbols {
  lib ??= openLibrary("libmaxminddb", LIBMAXMINDDB_SONAME, "CONNTOP_LIBMAXMINDDB", SYMBOLS);
  return lib.symbols;
}

/** Closes the library if it was opened (for tests; safe to call twice). */
export function closeMaxminddb(): void {
  lib?.close();
  lib = undefined;
}

/** The library's version string, e.g. "1.7.1". */
export function libVersion(): string {
  const p = maxminddb().MMDB_lib_version();
  return p === null ? "" : Deno.UnsafePointerView.getCString(p);
}

/** libmaxminddb's message for a status code. */
export function strerror(status: number): string {
  const p = maxminddb().MMDB_strerror(status);
  return p === null ? `status ${status}` : Deno.UnsafePointerView.getCString(p);
}

/** Throws {@linkcode MmdbError} unless `status` is MMDB_SUCCESS. */
export function unwrap(status: number, action: string): void {
  if (status !== MmdbStatus.SUCCESS) throw new MmdbError(action, status);
}

/** A database's metadata, as libmaxminddb read it. */
export interface MaxMindDbMetadata {
  /** `database_type`, e.g. "GeoLite2-Country". */
  databaseType: string;
  /** 4 or 6. */
  ipVersion: number;
  /** Nodes in the search tree. */
  nodeCount: number;
  /** Bits per record: 24, 28 or 32. */
  recordSize: number;
  /** Format version: 2.x. */
  binaryFormatMajorVersion: number;
  /** Format minor version. */
  binaryFormatMinorVersion: number;
  /** Seconds since the epoch. */
  buildEpoch: number;
}

/** A decoded value: maps become objects, uint64/uint128 bigints, bytes Uint8Arrays. */
export type MaxMindDbValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | MaxMindDbValue[]
  | { [key: string]: MaxMindDbValue };

/** A scalar read by a selector: strings, numbers (uint64/uint128 as bigint) and booleans. */
export type MaxMindDbScalar = string | number | bigint | boolean;

/**
 * Reads the values at fixed paths for an address: one entry per path, null where the record
 * has no scalar there; null as a whole when the address is not in the database.
 */
export type MaxMindDbSelector = (
  family: 4 | 6,
  bytes: Uint8Array,
) => (MaxMindDbScalar | null)[] | null;

const decoder = new TextDecoder();
// Strings live in the mmap'ed file for as long as it is open, so their address identifies them;
// caching by address skips re-decoding the few thousand names a busy host sees again and again.
const STRING_CACHE_MAX = 65536;

/** An open MaxMind DB file, read through libmaxminddb. */
export class MaxMindDb {
  /** The file's path. */
  readonly path: string;
  /** Its metadata. */
  readonly metadata: MaxMindDbMetadata;
  #mmdb: Uint8Array<ArrayBuffer> | undefined;
  #symbols: MaxMindDbSymbols;
  #sockaddr = new Uint8Array(new ArrayBuffer(SOCKADDR_SIZE));
  #sockaddrView = new DataView(this.#sockaddr.buffer);
  #error = new Int32Array(new ArrayBuffer(4));
  #errorBytes = new Uint8Array(this.#error.buffer);
  #entry = new Uint8Array(new ArrayBuffer(LR_ENTRY_END - LR_ENTRY));
  #data = new Uint8Array(new ArrayBuffer(ED_SIZE));
  #dataView = new DataView(this.#data.buffer);
  #strings = new Map<bigint, string>();

  private constructor(path: string, mmdb: Uint8Array<ArrayBuffer>, symbols: MaxMindDbSymbols) {
    this.path = path;
    this.#mmdb = mmdb;
    this.#symbols = symbols;
    const v = new DataView(mmdb.buffer);
    const type = v.getBigUint64(MD_DATABASE_TYPE, true);
    this.metadata = {
      databaseType: type === 0n
        ? ""
        : Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(type)!),
      ipVersion: v.getUint16(MD_IP_VERSION, true),
      nodeCount: v.getUint32(MD_NODE_COUNT, true),
      recordSize: v.getUint16(MD_RECORD_SIZE, true),
      binaryFormatMajorVersion: v.getUint16(MD_FORMAT_MAJOR, true),
      binaryFormatMinorVersion: v.getUint16(MD_FORMAT_MINOR, true),
      buildEpoch: Number(v.getBigUint64(MD_BUILD_EPOCH, true)),
    };
  }

  /**
   * Opens (memory-maps) the database at `path`. Throws {@linkcode LibraryLoadError} when the
   * library is missing and {@linkcode MmdbError} when the file cannot be opened or is not a
   * valid database.
   */
  static open(path: string): MaxMindDb {
    const symbols = maxminddb();
    // An explicit ArrayBuffer: its memory never moves, and libmaxminddb keeps pointers into it.
    const mmdb = new Uint8Array(new ArrayBuffer(MMDB_S_SIZE));
    const name = new TextEncoder().encode(path + "\0");
    unwrap(symbols.MMDB_open(name, MMDB_MODE_MMAP, mmdb), `open MaxMind DB '${path}'`);
    return new MaxMindDb(path, mmdb, symbols);
  }

  /**
   * Finds the record of an address (4 or 16 bytes) and leaves its MMDB_entry_s in `#entry`.
   * False when the address is not in the database or the lookup failed (a corrupt tree, an
   * IPv6 address in an IPv4 database): GeoIP is best-effort, a bad record is no record.
   */
  #find(family: 4 | 6, bytes: Uint8Array): boolean {
    const mmdb = this.#handle();
    const sa = this.#sockaddr;
    if (family === 4) {
      this.#sockaddrView.setUint16(0, AF_INET, true);
      sa.set(bytes.subarray(0, 4), 4);
    } else {
      this.#sockaddrView.setUint16(0, AF_INET6, true);
      sa.set(bytes.subarray(0, 16), 8);
    }
    const result = this.#symbols.MMDB_lookup_sockaddr(mmdb, sa, this.#errorBytes);
    if (this.#error[0] !== 0 || result[0] === 0) return false;
    this.#entry.set(result.subarray(LR_ENTRY, LR_ENTRY_END));
    return true;
  }

  /**
   * A function reading the scalars at `paths` (e.g. `["country", "iso_code"]`) for an address,
   * with MMDB_aget_value: only those values are decoded. A path leading to a map or an array,
   * or to nothing, gives null.
   */
  selector(paths: readonly (readonly string[])[]): MaxMindDbSelector {
    const encoded = paths.map((p) => p.map((k) => new TextEncoder().encode(k + "\0")));
    // One ArrayBuffer holds every key and every NULL-terminated `const char *path[]`, so the
    // pointers taken into it stay valid for the selector's lifetime.
    let size = 0;
    for (const p of encoded) {
      size += ((p.length + 1) * 8 + p.reduce((n, k) => n + k.length, 0) + 7) & ~7;
    }
    const store = new Uint8Array(new ArrayBuffer(Math.max(8, size + 8)));
    const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(store));
    const view = new DataView(store.buffer);
    let at = 0;
    const arrays: Uint8Array[] = [];
    for (const p of encoded) {
      const arrayAt = at;
      at += (p.length + 1) * 8;
      p.forEach((k, i) => {
        store.set(k, at);
        view.setBigUint64(arrayAt + 8 * i, BigInt(base) + BigInt(at), true);
        at += k.length;
      });
      view.setBigUint64(arrayAt + 8 * p.length, 0n, true);
      at = (at + 7) & ~7;
      arrays.push(store.subarray(arrayAt, arrayAt + (p.length + 1) * 8));
    }
    // `arrays` (views of `store`) keep the keys' memory alive for as long as the closure lives.
    return (family, bytes) => {
      if (!this.#find(family, bytes)) return null;
      const out: (MaxMindDbScalar | null)[] = [];
      for (const path of arrays) {
        const rc = this.#symbols.MMDB_aget_value(this.#entry, this.#data, path);
        out.push(rc === MmdbStatus.SUCCESS && this.#data[0] !== 0 ? this.#scalar() : null);
      }
      return out;
    };
  }

  /** The scalar in `#data` (an MMDB_entry_data_s), or null for maps, arrays and bytes. */
  #scalar(): MaxMindDbScalar | null {
    const v = this.#dataView;
    switch (v.getUint32(ED_TYPE, true)) {
      case MmdbType.UTF8_STRING:
        return this.#string(v.getBigUint64(ED_VALUE, true), v.getUint32(ED_DATA_SIZE, true));
      case MmdbType.UINT16:
        return v.getUint16(ED_VALUE, true);
      case MmdbType.UINT32:
        return v.getUint32(ED_VALUE, true);
      case MmdbType.INT32:
        return v.getInt32(ED_VALUE, true);
      case MmdbType.DOUBLE:
        return v.getFloat64(ED_VALUE, true);
      case MmdbType.FLOAT:
        return v.getFloat32(ED_VALUE, true);
      case MmdbType.BOOLEAN:
        return v.getUint8(ED_VALUE) !== 0;
      case MmdbType.UINT64:
        return v.getBigUint64(ED_VALUE, true);
      case MmdbType.UINT128:
        return (v.getBigUint64(ED_VALUE + 8, true) << 64n) | v.getBigUint64(ED_VALUE, true);
      default:
        return null;
    }
  }

  #string(address: bigint, size: number): string {
    let s = this.#strings.get(address);
    if (s === undefined) {
      s = size === 0 ? "" : decoder.decode(
        new Uint8Array(
          Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(address)!, size),
        ),
      );
      if (this.#strings.size >= STRING_CACHE_MAX) this.#strings.clear();
      this.#strings.set(address, s);
    }
    return s;
  }

  /**
   * The whole record of an address, decoded with MMDB_get_entry_data_list, or null when the
   * address is not in the database. Throws {@linkcode MmdbError} when the record is corrupt.
   */
  lookup(family: 4 | 6, bytes: Uint8Array): MaxMindDbValue | null {
    if (!this.#find(family, bytes)) return null;
    const head = new BigUint64Array(1);
    const status = this.#symbols.MMDB_get_entry_data_list(
      this.#entry,
      new Uint8Array(head.buffer),
    );
    const list = Deno.UnsafePointer.create(head[0]!);
    try {
      unwrap(status, `decode the record of an address in '${this.path}'`);
      const cursor = { node: list };
      return this.#decode(cursor);
    } finally {
      if (list !== null) this.#symbols.MMDB_free_entry_data_list(list);
    }
  }

  /** Decodes the value at `cursor.node` (and its children) and advances the cursor. */
  #decode(cursor: { node: Deno.PointerValue }): MaxMindDbValue {
    if (cursor.node === null) {
      throw new Error(`Failed to decode a record in '${this.path}': the entry list ended early`);
    }
    const v = new Deno.UnsafePointerView(cursor.node);
    const type = v.getUint32(ED_TYPE);
    const size = v.getUint32(ED_DATA_SIZE);
    cursor.node = v.getPointer(EDL_NEXT);
    switch (type) {
      case MmdbType.MAP: {
        const out: { [key: string]: MaxMindDbValue } = {};
        for (let i = 0; i < size; i++) {
          const key = this.#decode(cursor);
          out[String(key)] = this.#decode(cursor);
        }
        return out;
      }
      case MmdbType.ARRAY: {
        const out: MaxMindDbValue[] = [];
        for (let i = 0; i < size; i++) out.push(this.#decode(cursor));
        return out;
      }
      case MmdbType.UTF8_STRING: {
        const p = v.getPointer(ED_VALUE);
        return size === 0 || p === null
          ? ""
          : decoder.decode(new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, size)));
      }
      case MmdbType.BYTES: {
        const p = v.getPointer(ED_VALUE);
        return size === 0 || p === null
          ? new Uint8Array(0)
          : new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, size).slice(0));
      }
      case MmdbType.UINT16:
        return v.getUint16(ED_VALUE);
      case MmdbType.UINT32:
        return v.getUint32(ED_VALUE);
      case MmdbType.INT32:
        return v.getInt32(ED_VALUE);
      case MmdbType.DOUBLE:
        return v.getFloat64(ED_VALUE);
      case MmdbType.FLOAT:
        return v.getFloat32(ED_VALUE);
      case MmdbType.BOOLEAN:
        return v.getUint8(ED_VALUE) !== 0;
      case MmdbType.UINT64:
        return v.getBigUint64(ED_VALUE);
      case MmdbType.UINT128:
        return (v.getBigUint64(ED_VALUE + 8) << 64n) | v.getBigUint64(ED_VALUE);
      default:
        throw new Error(`Failed to decode a record in '${this.path}': unknown data type ${type}`);
    }
  }

  #handle(): Uint8Array<ArrayBuffer> {
    if (this.#mmdb === undefined) {
      throw new Error(`Failed to read MaxMind DB '${this.path}': it is closed`);
    }
    return this.#mmdb;
  }

  /** Unmaps the file (safe to call twice). */
  close(): void {
    if (this.#mmdb === undefined) return;
    this.#symbols.MMDB_close(this.#mmdb);
    this.#mmdb = undefined;
    this.#strings.clear();
  }

  /** Same as {@linkcode close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
