/**
 * Thin binding to the dynamic linker's `dlopen`/`dlinfo` (in glibc's libc.so.6 since 2.34): which
 * file a library already loaded into this process came from. `--version` uses it to name the
 * libraries it found.
 *
 * Requires `--allow-ffi`.
 *
 * @module
 */

import { ABI } from "./abi.ts";

/** Symbols used by conntop; each parameter names its C type. */
export const SYMBOLS = {
  // void *dlopen(const char *filename, int flags)
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  // int dlinfo(void *handle, int request, void *info)
  dlinfo: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  // int dlclose(void *handle)
  dlclose: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const RTLD_LAZY = ABI.RTLD_LAZY;
const RTLD_NOLOAD = ABI.RTLD_NOLOAD;
const RTLD_DI_LINKMAP = ABI.RTLD_DI_LINKMAP;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/**
 * The path the dynamic linker loaded `name` (a soname or path given to dlopen) from, or undefined
 * when it is not loaded in this process. Loads nothing (RTLD_NOLOAD).
 */
export function loadedLibraryPath(name: string): string | undefined {
  lib ??= Deno.dlopen("libc.so.6", SYMBOLS);
  const handle = lib.symbols.dlopen(new TextEncoder().encode(`${name}\0`), RTLD_LAZY | RTLD_NOLOAD);
  if (handle === null) return undefined;
  try {
    // struct link_map { ElfW(Addr) l_addr; char *l_name; ... }
    const out = new BigUint64Array(1);
    if (lib.symbols.dlinfo(handle, RTLD_DI_LINKMAP, out) !== 0) return undefined;
    const map = Deno.UnsafePointer.create(out[0]!);
    if (map === null) return undefined;
    const namePtr = new Deno.UnsafePointerView(map).getPointer(ABI.LINK_MAP_L_NAME);
    return namePtr === null ? undefined : Deno.UnsafePointerView.getCString(namePtr);
  } finally {
    lib.symbols.dlclose(handle);
  }
}
