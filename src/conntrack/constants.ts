/**
 * Numbers and names of the kernel's ctnetlink interface (linux/netfilter/nfnetlink_conntrack.h)
 * and the names conntrack-tools prints for them, so that conntop's output reads like
 * `conntrack -L`.
 *
 * This module is data only: it must never do I/O.
 *
 * @module
 */

/** Netlink message header size (struct nlmsghdr). */
export const NLMSG_HDRLEN = 16;
/** nfnetlink generic header size (struct nfgenmsg). */
export const NFGENMSG_LEN = 4;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_MULTI = 0x2;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** NFNL_SUBSYS_CTNETLINK in the high byte of nlmsg_type. */
export const NFNL_SUBSYS_CTNETLINK = 1;
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_DELETE = 2;

/** Top-level ctnetlink attributes (enum ctattr_type). */
export const CTA = {
  TUPLE_ORIG: 1,
  TUPLE_REPLY: 2,
  STATUS: 3,
  PROTOINFO: 4,
  HELP: 5,
  TIMEOUT: 7,
  MARK: 8,
  COUNTERS_ORIG: 9,
  COUNTERS_REPLY: 10,
  USE: 11,
  ID: 12,
  ZONE: 18,
  SECCTX: 19,
  TIMESTAMP: 20,
  LABELS: 22,
} as const;

/** enum ctattr_tuple */
export const CTA_TUPLE = { IP: 1, PROTO: 2, ZONE: 3 } as const;
/** enum ctattr_ip */
export const CTA_IP = { V4_SRC: 1, V4_DST: 2, V6_SRC: 3, V6_DST: 4 } as const;
/** enum ctattr_l4proto */
export const CTA_PROTO = {
  NUM: 1,
  SRC_PORT: 2,
  DST_PORT: 3,
  ICMP_ID: 4,
  ICMP_TYPE: 5,
  ICMP_CODE: 6,
  ICMPV6_ID: 7,
  ICMPV6_TYPE: 8,
  ICMPV6_CODE: 9,
} as const;
/** enum ctattr_protoinfo */
export const CTA_PROTOINFO = { TCP: 1, DCCP: 2, SCTP: 3 } as const;
/** enum ctattr_counters */
export const CTA_COUNTERS = { PACKETS: 1, BYTES: 2, PACKETS32: 3, BYTES32: 4 } as const;
/** enum ctattr_tstamp */
export const CTA_TIMESTAMP = { START: 1, STOP: 2 } as const;

/** Address families as the kernel numbers them. */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** IP protocol numbers conntrack knows by name. */
export const IPPROTO = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  DCCP: 33,
  GRE: 47,
  ICMPV6: 58,
  SCTP: 132,
  UDPLITE: 136,
} as const;

/** Protocol names, as conntrack prints them. */
export const PROTO_NAMES: Readonly<Record<number, string>> = {
  1: "icmp",
  6: "tcp",
  17: "udp",
  33: "dccp",
  47: "gre",
  58: "icmpv6",
  132: "sctp",
  136: "udplite",
};

/** Name of an L4 protocol number; numbers conntrack has no name for print as "unknown". */
export function protoName(num: number): string {
  return PROTO_NAMES[num] ?? "unknown";
}

/** Look a protocol up by name or number; undefined when it is neither. */
export function parseProto(text: string): number | undefined {
  const lower = text.toLowerCase();
  for (const [num, name] of Object.entries(PROTO_NAMES)) {
    if (name === lower) return Number(num);
  }
  if (lower === "ipv6-icmp") return IPPROTO.ICMPV6;
  if (/^\d+$/.test(lower)) {
    const n = Number(lower);
    return n <= 255 ? n : undefined;
  }
  return undefined;
}

/** enum tcp_conntrack, names as libnetfilter_conntrack prints them. */
export const TCP_STATES = [
  "NONE",
  "SYN_SENT",
  "SYN_RECV",
  "ESTABLISHED",
  "FIN_WAIT",
  "CLOSE_WAIT",
  "LAST_ACK",
  "TIME_WAIT",
  "CLOSE",
  "SYN_SENT2",
] as const;

/** enum sctp_conntrack */
export const SCTP_STATES = [
  "NONE",
  "CLOSED",
  "COOKIE_WAIT",
  "COOKIE_ECHOED",
  "ESTABLISHED",
  "SHUTDOWN_SENT",
  "SHUTDOWN_RECD",
  "SHUTDOWN_ACK_SENT",
  "HEARTBEAT_SENT",
  "HEARTBEAT_ACKED",
] as const;

/** enum ct_dccp_states */
export const DCCP_STATES = [
  "NONE",
  "REQUEST",
  "RESPOND",
  "PARTOPEN",
  "OPEN",
  "CLOSEREQ",
  "CLOSING",
  "TIMEWAIT",
  "IGNORE",
  "INVALID",
] as const;

/** Protocol state as a name, or undefined when the protocol has no state machine. */
export function stateName(l4: number, state: number): string | undefined {
  if (state === NO_STATE) return undefined;
  const table = l4 === IPPROTO.TCP
    ? TCP_STATES
    : l4 === IPPROTO.SCTP
    ? SCTP_STATES
    : l4 === IPPROTO.DCCP
    ? DCCP_STATES
    : undefined;
  if (table === undefined) return undefined;
  return table[state] ?? `STATE_${state}`;
}

/** Every state name of every protocol that has one, for validating `--state`. */
export const ALL_STATE_NAMES: ReadonlySet<string> = new Set<string>([
  ...TCP_STATES,
  ...SCTP_STATES,
  ...DCCP_STATES,
]);

/** Marker for "this connection has no protocol state". */
export const NO_STATE = 0xff;

/** enum ip_conntrack_status bits, with the names conntrack-tools uses. */
export const STATUS_BITS = [
  [0, "EXPECTED"],
  [1, "SEEN_REPLY"],
  [2, "ASSURED"],
  [3, "CONFIRMED"],
  [4, "SRC_NAT"],
  [5, "DST_NAT"],
  [6, "SEQ_ADJUST"],
  [7, "SRC_NAT_DONE"],
  [8, "DST_NAT_DONE"],
  [9, "DYING"],
  [10, "FIXED_TIMEOUT"],
  [11, "TEMPLATE"],
  [12, "NAT_CLASH"],
  [13, "HELPER"],
  [14, "OFFLOAD"],
  [15, "HW_OFFLOAD"],
] as const;

export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_OFFLOAD = 1 << 14;

/** Status word as flag names, plus UNREPLIED when no reply was seen (as conntrack shows). */
export function statusFlags(status: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of STATUS_BITS) {
    if (status & (1 << bit)) out.push(name);
  }
  if (!(status & IPS_SEEN_REPLY)) out.push("UNREPLIED");
  return out;
}
