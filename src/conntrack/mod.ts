/**
 * Conntrack's vocabulary and data: protocol and state names, status flags, addresses, and the
 * binary record layout shared by the collector and the model. No I/O.
 *
 * @module
 */

export * from "./constants.ts";
export * from "./address.ts";
export * from "./record.ts";
export { CtDecoder, type Extra } from "./decode.ts";
export { ALL_STATE_NAMES, IPPROTO, PROTO_NAMES } from "./constants.ts";
export { formatIPv4, formatIPv6, localListProblem, parseAddress } from "./address.ts";
export { RECORD_SIZE } from "./record.ts";
