/**
 * IP addresses as raw bytes: formatting exactly as glibc's inet_ntop (so conntop prints what
 * `conntrack -L` prints) and parsing of addresses and CIDR prefixes for filters.
 *
 * Pure functions, no I/O.
 *
 * @module
 */

/** Formats the 4 bytes at `off` as dotted quad. */
export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/**
 * Formats the 16 bytes at `off` as glibc's inet_ntop does: the longest run (≥ 2) of zero
 * groups becomes `::`, hex in lower case, and IPv4-mapped (::ffff:a.b.c.d) and
 * IPv4-compatible (::a.b.c.d) addresses end in dotted quad.
 */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestBase = -1, bestLen = 0, curBase = -1, curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase >= 0) {
      if (bestBase < 0 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && (bestBase < 0 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase >= 0 && bestLen < 2) bestBase = -1;
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    if (
      i === 6 && bestBase === 0 &&
      (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))
    ) {
      out += formatIPv4(b, off + 12);
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ":";
  return out;
}

/** Formats an address of `family` (2 or 10) stored at `off`. */
export function formatAddress(family: number, b: Uint8Array, off = 0): string {
  return family === 10 ? formatIPv6(b, off) : formatIPv4(b, off);
}

/** A parsed address: its family and 16 bytes (IPv4 in the first 4). */
export interface ParsedAddress {
  family: 2 | 10;
  bytes: Uint8Array;
}

/** An address and port as one endpoint: `10.0.0.1:80`, `[2001:db8::1]:80`; no port, no colon. */
export function formatEndpoint(addr: string, port: number | null): string {
  if (port === null) return addr;
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/**
 * Why a list of a host's addresses (a batch's `local`: `v4`, `v6`, `broadcast` as text) does
 * not hold addresses of its lists' families, or undefined when it does. Quotes the bad entry
 * (the caller makes it printable).
 */
export function localListProblem(
  local: { v4: readonly string[]; v6: readonly string[]; broadcast: readonly string[] },
): string | undefined {
  const lists = [["v4", 2], ["v6", 10], ["broadcast", 2]] as const;
  for (const [key, family] of lists) {
    for (const text of local[key]) {
      if (parseAddress(text)?.family !== family) {
        const shown = text.length > 64 ? `${text.slice(0, 64)}…` : text;
        return `local address '${shown}' in '${key}' is not an IPv${family === 2 ? 4 : 6} address`;
      }
    }
  }
  return undefined;
}

/** Parses an IPv4 or IPv6 address; undefined when it is neither. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) {
    const bytes = new Uint8Array(16);
    bytes.set(v4);
    return { family: 2, bytes };
  }
  const v6 = parseIPv6(text);
  return v6 === undefined ? undefined : { family: 10, bytes: v6 };
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIPv4(p);
        if (v4 === undefined) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const words = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** An address prefix: family, network bytes and prefix length. */
export interface Prefix extends ParsedAddress {
  length: number;
}

/** Parses `ADDR` or `ADDR/LEN`; undefined when malformed. */
export function parsePrefix(text: string): Prefix | undefined {
  const [addr, len, extra] = text.split("/");
  if (extra !== undefined || addr === undefined) return undefined;
  const a = parseAddress(addr);
  if (a === undefined) return undefined;
  const max = a.family === 2 ? 32 : 128;
  let length = max;
  if (len !== undefined) {
    if (!/^\d{1,3}$/.test(len) || Number(len) > max) return undefined;
    length = Number(len);
  }
  return { ...a, length };
}

/** Whether the 16 bytes at `off` of `b` (of `family`) lie inside `p`. */
export function prefixContains(p: Prefix, family: number, b: Uint8Array, off: number): boolean {
  if (family !== p.family) return false;
  let bits = p.length;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((b[off + i]! & mask) !== (p.bytes[i]! & mask)) return false;
  }
  return true;
}
