/**
 * The shared libraries conntop loads, as `--version` reports them: the file each one was loaded
 * from (its real path, which carries the soname's version) and the version the library itself
 * reports where it can, or why it was not found.
 *
 * Requires `--allow-ffi`, `--allow-read` (the real path) and `--allow-env` for the library's path
 * variable.
 *
 * @module
 */

import { loadedLibraryPath } from "../ffi/dl.ts";
import { LibraryLoadError } from "../ffi/_library.ts";
import { LIBNFCT_SONAME, nfct } from "../ffi/conntrack.ts";

/** How to load one library and ask its version. */
export interface LibraryProbe {
  /** The library's name, e.g. "libnetfilter_conntrack". */
  name: string;
  /** Loads it (through ffi/), returning the soname or path given to dlopen. Throws when missing. */
  open(): string;
  /** The version the library reports, if it has such a call. */
  version?(): string;
}

/** One line per library: `NAME [VERSION] (PATH)` or `NAME: not found (REASON)`. */
export function libraryLines(probes: readonly LibraryProbe[]): string[] {
  return probes.map((p) => {
    let loadedAs: string;
    try {
      loadedAs = p.open();
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable) return `${p.name}: not checked (no --allow-ffi)`;
      const reason = err instanceof LibraryLoadError && err.cause instanceof Error
        ? err.cause.message
        : err instanceof Error
        ? err.message
        : String(err);
      const line = reason.split("\n")[0]!.replace(/^(Could not open library: )+/, "");
      return `${p.name}: not found (${line})`;
    }
    const path = loadedLibraryPath(loadedAs);
    let real = path;
    if (path !== undefined) {
      try {
        real = Deno.realPathSync(path);
      } catch {
        // keep the linker's name
      }
    }
    let version = "";
    try {
      version = p.version?.() ?? "";
    } catch {
      // no version call
    }
    return `${p.name}${version === "" ? "" : ` ${version}`} (${real ?? loadedAs})`;
  });
}

/** libnetfilter_conntrack, as the collector loads it. */
export const NFCT_PROBE: LibraryProbe = {
  name: "libnetfilter_conntrack",
  open() {
    nfct();
    return Deno.env.get("CONNTOP_LIBNFCT") || LIBNFCT_SONAME;
  },
};
