/**
 * Thin, typed binding to libnetfilter_conntrack (`libnetfilter_conntrack.so.3`).
 *
 * The library is opened lazily on first use, never on import, so that modules importing this
 * one (for its types) load nothing. Set `CONNTOP_LIBNFCT` to a path to use another build of
 * the library. Requires `--allow-ffi` and `--allow-env`.
 *
 * This module knows nothing of conntop's model or UI: it only declares symbols, opens the
 * library and turns C return codes into errors.
 *
 * @example
 * ```ts
 * import { nfct, CONNTRACK } from "./conntrack.ts";
 * const handle = nfct().nfct_open(CONNTRACK, 0);
 * ```
 *
 * @module
 */

import { LibraryLoadError, openLibrary } from "./_library.ts";

export { LibraryLoadError };

/** NFNL_SUBSYS_CTNETLINK: the subsystem id nfct_open() takes for conntrack. */
export const CONNTRACK = 1;
/** Event groups for nfct_open()'s `subscriptions` (NF_NETLINK_CONNTRACK_*). */
export const NF_NETLINK_CONNTRACK_NEW = 0x1;
export const NF_NETLINK_CONNTRACK_UPDATE = 0x2;
export const NF_NETLINK_CONNTRACK_DESTROY = 0x4;
/** enum nf_conntrack_query */
export const NFCT_Q_DUMP = 5;

/**
 * The symbols conntop calls, and only those: Deno.dlopen fails when any symbol it is given is
 * missing, so a library build without an unused one would stop conntop for nothing
 * (test/ffi/symbols_test.ts checks that each one here is called from src/). The collector decodes
 * the messages itself (src/conntrack/decode.ts); libnetfilter_conntrack only opens the socket.
 */
export const SYMBOLS = {
  nfct_open: {
    // struct nfct_handle *nfct_open(uint8_t subsys_id, unsigned subscriptions)
    parameters: ["u8", "u32"],
    result: "pointer",
  },
  nfct_close: {
    // int nfct_close(struct nfct_handle *cth)
    parameters: ["pointer"],
    result: "i32",
  },
  nfct_fd: {
    // int nfct_fd(struct nfct_handle *cth)
    parameters: ["pointer"],
    result: "i32",
  },
  nfct_send: {
    // int nfct_send(struct nfct_handle *h, enum nf_conntrack_query qt, const void *data)
    parameters: ["pointer", "i32", "buffer"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened library's functions. */
export type NfctSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Default soname; overridable with `CONNTOP_LIBNFCT`. */
export const LIBNFCT_SONAME = "libnetfilter_conntrack.so.3";

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/**
 * Opens libnetfilter_conntrack on first call and returns its symbols.
 *
 * Requires `--allow-ffi` and `--allow-env` (for `CONNTOP_LIBNFCT`). A missing library is
 * reported as {@linkcode LibraryLoadError}; a missing permission is rethrown as is.
 */
export function nfct(): NfctSymbols {
  lib ??= openLibrary("libnetfilter_conntrack", LIBNFCT_SONAME, "CONNTOP_LIBNFCT", SYMBOLS);
  return lib.symbols;
}

/** Closes the library if it was opened (for tests; safe to call twice). */
export function closeNfct(): void {
  lib?.close();
  lib = undefined;
}
