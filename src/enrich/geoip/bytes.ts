/**
 * The bytes of a GeoIP data file for the TypeScript readers (mmdb-lib, the AS range table),
 * mapped rather than read where that works: a mapped file's pages are read from the page cache
 * as lookups touch them, so the megabytes a few lookups never reach cost no memory, and none of
 * it is in the JS heap.
 *
 * Which path is taken:
 * - **mapped** (`mmap` through ffi/libc.ts): a real file, with `--allow-ffi`. That is the
 *   embedded AS table of a source checkout or a launcher, and the .mmdb files mmdb-lib reads
 *   when libmaxminddb is not installed (libmaxminddb maps the files it opens itself, the
 *   embedded country database included when it is a real file: open.ts).
 * - **read** (`Deno.readFileSync`, the whole file into memory): inside a `deno compile` binary,
 *   whose embedded data/geoip/ is no real file (opening it through the C library fails), and
 *   without `--allow-ffi`.
 *
 * Requires `--allow-read` (and `--allow-ffi` to map).
 *
 * @module
 */

import { AT_FDCWD, closeFd, mapFile, O_RDONLY, openAt, OsError } from "../../../ffi/libc.ts";

/** How {@linkcode fileBytes} got a file's bytes. */
export type BytesSource = "mapped" | "read";

/** Counts of each path taken in this isolate (tests and the benchmark read them). */
export const bytesTaken: Record<BytesSource, number> = { mapped: 0, read: 0 };

/**
 * The bytes of the file at `file` (a path or a file: URL), mapped when possible and read
 * otherwise; they must not be changed. Throws what `Deno.readFileSync` throws (`NotFound`, …)
 * when the file cannot be read either way.
 */
export function fileBytes(file: string | URL): { bytes: Uint8Array; source: BytesSource } {
  const path = typeof file === "string" ? file : decodeURIComponent(file.pathname);
  try {
    const bytes = new Uint8Array(mapFile(path));
    bytesTaken.mapped++;
    return { bytes, source: "mapped" };
  } catch (err) {
    // Not a real file (a compiled binary's embedded data), or no FFI: read it instead. Other
    // failures are reported by the read, with Deno's error classes.
    if (!(err instanceof OsError) && !(err instanceof Deno.errors.NotCapable)) throw err;
  }
  const bytes = Deno.readFileSync(file);
  bytesTaken.read++;
  return { bytes, source: "read" };
}

/**
 * Whether `file` is a real file the C library can open (false inside a `deno compile` binary's
 * embedded file system, and without `--allow-ffi`).
 */
export function isRealFile(file: string | URL): boolean {
  const path = typeof file === "string" ? file : decodeURIComponent(file.pathname);
  try {
    closeFd(openAt(AT_FDCWD, path, O_RDONLY));
    return true;
  } catch (err) {
    if (err instanceof OsError || err instanceof Deno.errors.NotCapable) return false;
    throw err;
  }
}
