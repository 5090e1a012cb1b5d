/**
 * libnetfilter_conntrack's own message parser (nfct_nlmsg_parse and its attribute getters), the
 * reference test/conntrack/decode_test.ts holds conntop's decoder to. Test-only: conntop itself
 * binds only the symbols it calls (ffi/conntrack.ts), so these are opened here, separately.
 *
 * @module
 */

import { LIBNFCT_SONAME } from "../../ffi/conntrack.ts";

const SYMBOLS = {
  // struct nf_conntrack *nfct_new(void)
  nfct_new: { parameters: [], result: "pointer" },
  // void nfct_destroy(struct nf_conntrack *ct)
  nfct_destroy: { parameters: ["pointer"], result: "void" },
  // int nfct_nlmsg_parse(const struct nlmsghdr *nlh, struct nf_conntrack *ct)
  nfct_nlmsg_parse: { parameters: ["buffer", "pointer"], result: "i32" },
  // int nfct_attr_is_set(const struct nf_conntrack *ct, const enum nf_conntrack_attr type)
  nfct_attr_is_set: { parameters: ["pointer", "i32"], result: "i32" },
  // const void *nfct_get_attr(const struct nf_conntrack *ct, const enum nf_conntrack_attr)
  nfct_get_attr: { parameters: ["pointer", "i32"], result: "pointer" },
  // uint8_t nfct_get_attr_u8(const struct nf_conntrack *ct, const enum nf_conntrack_attr)
  nfct_get_attr_u8: { parameters: ["pointer", "i32"], result: "u8" },
  // uint16_t nfct_get_attr_u16(...): network order for ports
  nfct_get_attr_u16: { parameters: ["pointer", "i32"], result: "u16" },
  // uint32_t nfct_get_attr_u32(...)
  nfct_get_attr_u32: { parameters: ["pointer", "i32"], result: "u32" },
  // uint64_t nfct_get_attr_u64(...)
  nfct_get_attr_u64: { parameters: ["pointer", "i32"], result: "u64" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Attribute numbers of enum nf_conntrack_attr (libnetfilter_conntrack.h). */
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

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The parser's functions (the library opened once, as conntop opens it: CONNTOP_LIBNFCT first). */
export function nfctParser(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  lib ??= Deno.dlopen(Deno.env.get("CONNTOP_LIBNFCT") || LIBNFCT_SONAME, SYMBOLS);
  return lib.symbols;
}
