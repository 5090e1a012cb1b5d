/**
 * What every binding in ffi/ does to open its C library: take the path from an environment
 * variable or the soname, dlopen it once, and tell a missing library apart from a missing
 * permission. Private to ffi/.
 *
 * @module
 */

/** A shared library that could not be loaded (the path tried, and dlopen's error as cause). */
export class LibraryLoadError extends Error {
  /** The path or soname that was tried. */
  readonly path: string;
  /** The library's name for messages, e.g. "libmaxminddb". */
  readonly library: string;
  constructor(library: string, path: string, options?: ErrorOptions) {
    super(`Cannot load ${library} from '${path}'`, options);
    this.name = "LibraryLoadError";
    this.library = library;
    this.path = path;
  }
}

/**
 * Opens `soname` (or the path in environment variable `envVar`) with `symbols`. Requires
 * `--allow-ffi` and `--allow-env`; a missing permission is rethrown as is, any other failure
 * becomes {@linkcode LibraryLoadError}.
 */
export function openLibrary<S extends Deno.ForeignLibraryInterface>(
  library: string,
  soname: string,
  envVar: string,
  symbols: S,
): Deno.DynamicLibrary<S> {
  const path = Deno.env.get(envVar) || soname;
  try {
    return Deno.dlopen(path, symbols);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw err;
    }
    throw new LibraryLoadError(library, path, { cause: err });
  }
}
