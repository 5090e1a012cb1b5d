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
export const NFCT_Q_GET = 3;
export const NFCT_Q_DUMP = 5;
/** enum nf_conntrack_msg_type */
export const NFCT_T_ALL = 7;
/** Callback return values. */
export const NFCT_CB_STOP = 0;
export const NFCT_CB_CONTINUE = 1;

/** Symbols used by conntop; each parameter names its C type. */
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
  nfct_query: {
    // int nfct_query(struct nfct_handle *h, enum nf_conntrack_query qt, const void *data)
    parameters: ["pointer", "i32", "buffer"],
    result: "i32",
  },
  nfct_catch: {
    // int nfct_catch(struct nfct_handle *h)
    parameters: ["pointer"],
    result: "i32",
  },
  nfct_callback_register: {
    // int nfct_callback_register(struct nfct_handle *h, enum nf_conntrack_msg_type type,
    //   int (*cb)(enum nf_conntrack_msg_type, struct nf_conntrack *, void *), void *data)
    parameters: ["pointer", "i32", "function", "pointer"],
    result: "i32",
  },
  nfct_callback_unregister: {
    // void nfct_callback_unregister(struct nfct_handle *h)
    parameters: ["pointer"],
    result: "void",
  },
  nfct_new: {
    // struct nf_conntrack *nfct_new(void)
    parameters: [],
    result: "pointer",
  },
  nfct_destroy: {
    // void nfct_destroy(struct nf_conntrack *ct)
    parameters: ["pointer"],
    result: "void",
  },
  nfct_nlmsg_parse: {
    // int nfct_nlmsg_parse(const struct nlmsghdr *nlh, struct nf_conntrack *ct)
    parameters: ["buffer", "pointer"],
    result: "i32",
  },
  nfct_attr_is_set: {
    // int nfct_attr_is_set(const struct nf_conntrack *ct, const enum nf_conntrack_attr type)
    parameters: ["pointer", "i32"],
    result: "i32",
  },
  nfct_get_attr: {
    // const void *nfct_get_attr(const struct nf_conntrack *ct, const enum nf_conntrack_attr)
    parameters: ["pointer", "i32"],
    result: "pointer",
  },
  nfct_get_attr_u8: {
    // uint8_t nfct_get_attr_u8(const struct nf_conntrack *ct, const enum nf_conntrack_attr)
    parameters: ["pointer", "i32"],
    result: "u8",
  },
  nfct_get_attr_u16: {
    // uint16_t nfct_get_attr_u16(const struct nf_conntrack *ct, ...) — network order for ports
    parameters: ["pointer", "i32"],
    result: "u16",
  },
  nfct_get_attr_u32: {
    // uint32_t nfct_get_attr_u32(const struct nf_conntrack *ct, ...)
    parameters: ["pointer", "i32"],
    result: "u32",
  },
  nfct_get_attr_u64: {
    // uint64_t nfct_get_attr_u64(const struct nf_conntrack *ct, ...)
    parameters: ["pointer", "i32"],
    result: "u64",
  },
  nfct_snprintf: {
    // int nfct_snprintf(char *buf, unsigned int size, const struct nf_conntrack *ct,
    //   unsigned int msg_type, unsigned int out_type, unsigned int out_flags)
    parameters: ["buffer", "u32", "pointer", "u32", "u32", "u32"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened library's functions. */
export type NfctSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Attribute numbers of enum nf_conntrack_attr that conntop reads through the getters. */
export const ATTR = {
  ORIG_IPV4_SRC: 0,
  ORIG_IPV4_DST: 1,
  REPL_IPV4_SRC: 2,
  REPL_IPV4_DST: 3,
  ORIG_IPV6_SRC: 4,
  ORIG_IPV6_DST: 5,
  REPL_IPV6_SRC: 6,
  REPL_IPV6_DST: 7,
  ORIG_PORT_SRC: 8,
  ORIG_PORT_DST: 9,
  REPL_PORT_SRC: 10,
  REPL_PORT_DST: 11,
  ICMP_TYPE: 12,
  ICMP_CODE: 13,
  ICMP_ID: 14,
  ORIG_L3PROTO: 15,
  ORIG_L4PROTO: 17,
  TCP_STATE: 19,
  TIMEOUT: 24,
  MARK: 25,
  ORIG_COUNTER_PACKETS: 26,
  REPL_COUNTER_PACKETS: 27,
  ORIG_COUNTER_BYTES: 28,
  REPL_COUNTER_BYTES: 29,
  USE: 30,
  ID: 31,
  STATUS: 32,
  SCTP_STATE: 52,
  HELPER_NAME: 55,
  DCCP_STATE: 56,
  ZONE: 61,
  SECCTX: 62,
  TIMESTAMP_START: 63,
  TIMESTAMP_STOP: 64,
  ORIG_ZONE: 68,
  REPL_ZONE: 69,
} as const;

/** Default soname; overridable with `CONNTOP_LIBNFCT`. */
export const LIBNFCT_SONAME = "libnetfilter_conntrack.so.3";

/** Raised when the shared library cannot be loaded. */

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
