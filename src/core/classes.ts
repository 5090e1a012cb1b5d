/**
 * The class of an IP address (see {@linkcode AddressClass}): which range it lies in, and
 * whether it is an address of this host or a broadcast address of one of its networks.
 *
 * {@linkcode addressClass} is pure and allocates nothing, because it runs for every new address
 * the collector sees. {@linkcode LocalAddresses} holds the addresses of the local interfaces;
 * the collector worker reads them ({@linkcode LocalAddresses.current}, FFI) and sends them to
 * the main thread as JSON whenever they change. Nothing else here does I/O.
 *
 * How the special-purpose ranges are classed. The IANA IPv4 and IPv6 Special-Purpose Address
 * Registries (RFC 6890, as of 2025) list every special block; each block that has a class of
 * its own in {@linkcode AddressClass} gets it, and every other block the registries list as
 * not globally reachable is "reserved". Blocks they mark globally reachable are "public".
 *
 * - IPv4 "reserved": 0/8 except 0.0.0.0 (which is "unspecified"); 192.0.0/24 (IETF protocol
 *   assignments) except 192.0.0.9 and 192.0.0.10 (PCP and TURN anycast, globally reachable);
 *   192.88.99/24 (the 6to4 relay anycast that RFC 7526 deprecated); 198.18/15 (benchmarking);
 *   240/4 except 255.255.255.255 (which is "broadcast").
 * - IPv4 "public" although in the registry: 192.31.196/24, 192.52.193/24 and 192.175.48/24
 *   (AS112, AMT; globally reachable).
 * - IPv6 "reserved": everything outside 2000::/3 (global unicast), fc00::/7, fe80::/10 and
 *   ff00::/8 that is not ::, ::1, ::ffff:0:0/96 or 64:ff9b::/96 — the IPv6 address space
 *   registry reserves it to the IETF. That covers 64:ff9b:1::/48 (local-use translation),
 *   100::/64 (discard-only), 5f00::/16 (SRv6 SIDs), fec0::/10 (deprecated site-local) and
 *   the deprecated IPv4-compatible ::a.b.c.d. Inside 2000::/3: 2001::/23 (IETF protocol
 *   assignments, including Teredo 2001::/32, benchmarking 2001:2::/48 and the deprecated
 *   ORCHID 2001:10::/28) except its globally reachable blocks 2001:1::1, 2001:1::2,
 *   2001:1::3, 2001:3::/32, 2001:4:112::/48, 2001:20::/28 and 2001:30::/28, which are public.
 * - IPv6 "documentation": 2001:db8::/32 and 3fff::/20.
 *
 * Addresses that embed an IPv4 address:
 * - IPv4-mapped ::ffff:a.b.c.d is how a dual-stack socket sees an IPv4 peer: it is that IPv4
 *   address, and is classed exactly as it, including "this-host" and "broadcast".
 * - NAT64 64:ff9b::/96 (RFC 6052) and 6to4 2002::/16 (RFC 3056) name a host behind a
 *   translator or relay, and both RFCs forbid embedding a non-global IPv4 address: such an
 *   address is "public" when the IPv4 address it embeds is public, otherwise "reserved".
 *
 * @example
 * ```ts
 * import { addressClass, LocalAddresses } from "./classes.ts";
 *
 * const local = new LocalAddresses([{
 *   name: "eth0",
 *   family: 2,
 *   address: new Uint8Array([192, 168, 1, 20]),
 *   prefix: 24,
 *   broadcast: new Uint8Array([192, 168, 1, 255]),
 * }]);
 * addressClass(4, new Uint8Array([192, 168, 1, 20]), local); // "this-host"
 * addressClass(4, new Uint8Array([192, 168, 1, 255]), local); // "broadcast"
 * addressClass(4, new Uint8Array([192, 168, 1, 21]), local); // "private"
 * addressClass(6, new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...new Uint8Array(12)])); // "documentation"
 * ```
 *
 * @module
 */

import type { AddressClass } from "./enrichment.ts";
import { AF_INET, type InterfaceAddress, interfaceAddresses } from "../../ffi/libc.ts";
import { formatIPv4, formatIPv6, parseAddress } from "../conntrack/mod.ts";

/** The addresses of the local interfaces as plain data, for postMessage and JSON. */
export interface LocalAddressesJson {
  /** IPv4 addresses, dotted quad. */
  v4: string[];
  /** IPv6 addresses, as inet_ntop writes them. */
  v6: string[];
  /** IPv4 broadcast addresses of the local networks. */
  broadcast: string[];
}

/** The 4 bytes of an IPv4 address as one unsigned number. */
function v4Key(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** A 32-bit hash of the 16 address bytes at `off`. */
function v6Hash(b: Uint8Array, off: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i += 4) h = Math.imul(h ^ v4Key(b, off + i), 0x01000193);
  return h >>> 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function sortedUnique(list: Uint8Array[]): Uint8Array[] {
  const sorted = [...list].sort(compareBytes);
  return sorted.filter((b, i) => i === 0 || compareBytes(b, sorted[i - 1]!) !== 0);
}

/**
 * The addresses of this host's interfaces in one network namespace, and the broadcast
 * addresses of its IPv4 networks: what makes an address "this-host" or "broadcast".
 *
 * Immutable; build a new one when the interfaces change and compare with
 * {@linkcode LocalAddresses.equals}. Lookups allocate nothing.
 *
 * @example
 * ```ts ignore
 * // In the collector worker (Requires `--allow-ffi`):
 * let local = LocalAddresses.current();
 * self.postMessage({ type: "local", addresses: local.toJSON() });
 * // On the main thread:
 * const local = LocalAddresses.fromJSON(msg.addresses);
 * ```
 */
export class LocalAddresses {
  /** IPv4 addresses as numbers (see v4Key). */
  #v4 = new Set<number>();
  /** IPv4 broadcast addresses as numbers. */
  #broadcast = new Set<number>();
  /** IPv6 addresses, 16 bytes each, sorted. */
  #v6: Uint8Array[] = [];
  /** Hash of an IPv6 address → indexes into #v6 with that hash. */
  #v6Index = new Map<number, number[]>();
  /** The contents, sorted, as toJSON returns them; its JSON text is compared by equals(). */
  #json: LocalAddressesJson = { v4: [], v6: [], broadcast: [] };
  #canonical = "";

  /**
   * Builds the set from interface addresses as getifaddrs(3) reports them.
   *
   * @param list The addresses; an IPv4 entry's `broadcast` counts as a broadcast address,
   * unless it is the entry's own address.
   */
  constructor(list: readonly InterfaceAddress[]) {
    const v4: Uint8Array[] = [];
    const v6: Uint8Array[] = [];
    const broadcast: Uint8Array[] = [];
    for (const a of list) {
      if (a.family === AF_INET) {
        v4.push(a.address.subarray(0, 4));
        // Without a broadcast address (IFA_BROADCAST), glibc's getifaddrs reports the address
        // itself in ifa_broadaddr: it takes IFA_ADDRESS for a point-to-point peer. A network's
        // broadcast address is never one of its host addresses, so that one is dropped.
        if (a.broadcast !== null && v4Key(a.broadcast, 0) !== v4Key(a.address, 0)) {
          broadcast.push(a.broadcast.subarray(0, 4));
        }
      } else {
        v6.push(a.address.subarray(0, 16));
      }
    }
    this.#fill(v4, v6, broadcast);
  }

  #fill(v4: Uint8Array[], v6: Uint8Array[], broadcast: Uint8Array[]): void {
    const v4s = sortedUnique(v4);
    const bs = sortedUnique(broadcast);
    this.#v6 = sortedUnique(v6).map((b) => b.slice());
    for (const b of v4s) this.#v4.add(v4Key(b, 0));
    for (const b of bs) this.#broadcast.add(v4Key(b, 0));
    this.#v6.forEach((b, i) => {
      const h = v6Hash(b, 0);
      const bucket = this.#v6Index.get(h);
      if (bucket === undefined) this.#v6Index.set(h, [i]);
      else bucket.push(i);
    });
    this.#json = {
      v4: v4s.map((b) => formatIPv4(b)),
      v6: this.#v6.map((b) => formatIPv6(b)),
      broadcast: bs.map((b) => formatIPv4(b)),
    };
    this.#canonical = JSON.stringify(this.#json);
  }

  /**
   * The addresses of the interfaces in the calling thread's network namespace: a worker that
   * entered another namespace with setns sees that namespace's interfaces.
   *
   * Requires `--allow-ffi`.
   *
   * @returns A new set.
   * @throws {OsError} When getifaddrs fails.
   */
  static current(): LocalAddresses {
    return new LocalAddresses(interfaceAddresses());
  }

  /**
   * Rebuilds a set from {@linkcode LocalAddresses.toJSON}'s output.
   *
   * @param json The lists of addresses.
   * @returns A set equal to the one that was serialised.
   * @throws {Error} When an entry is not an address of its list's family.
   */
  static fromJSON(json: LocalAddressesJson): LocalAddresses {
    const parse = (family: 2 | 10, list: keyof LocalAddressesJson) => (text: string) => {
      const a = parseAddress(text);
      if (a === undefined || a.family !== family) {
        throw new Error(
          `Failed to read local addresses: expected an IPv${family === 2 ? 4 : 6} address ` +
            `in '${list}', got '${text}'`,
        );
      }
      return family === 2 ? a.bytes.subarray(0, 4) : a.bytes;
    };
    const set = new LocalAddresses([]);
    set.#fill(
      json.v4.map(parse(2, "v4")),
      json.v6.map(parse(10, "v6")),
      json.broadcast.map(parse(2, "broadcast")),
    );
    return set;
  }

  /** How many distinct addresses (IPv4 and IPv6, without broadcast addresses) the set holds. */
  get size(): number {
    return this.#v4.size + this.#v6.length;
  }

  /**
   * Whether an address is one of this host's. Allocates nothing.
   *
   * @param family 4 or 6.
   * @param bytes The address in network order (4 or 16 bytes from `offset`).
   * @param offset Where the address starts in `bytes`, e.g. a field of a record buffer.
   * @returns True when an interface has this address.
   */
  has(family: 4 | 6, bytes: Uint8Array, offset = 0): boolean {
    if (family === 4) return this.#v4.has(v4Key(bytes, offset));
    const bucket = this.#v6Index.get(v6Hash(bytes, offset));
    if (bucket === undefined) return false;
    for (const i of bucket) {
      const b = this.#v6[i]!;
      let same = true;
      for (let k = 0; k < 16 && same; k++) same = b[k] === bytes[offset + k];
      if (same) return true;
    }
    return false;
  }

  /**
   * Whether an IPv4 address is the broadcast address of a local network (not counting
   * 255.255.255.255, which is one everywhere). Allocates nothing.
   *
   * @param bytes The address in network order (4 bytes from `offset`).
   * @param offset Where the address starts in `bytes`.
   * @returns True when an interface has this broadcast address.
   */
  isBroadcast(bytes: Uint8Array, offset = 0): boolean {
    return this.#broadcast.has(v4Key(bytes, offset));
  }

  /**
   * Whether both sets hold the same addresses, in any order.
   *
   * @param other The set to compare with.
   * @returns True when nothing differs.
   */
  equals(other: LocalAddresses): boolean {
    return this.#canonical === other.#canonical;
  }

  /**
   * The addresses as plain lists, each sorted by address bytes and without duplicates.
   *
   * @returns A fresh object, safe to post to another thread.
   */
  toJSON(): LocalAddressesJson {
    return {
      v4: [...this.#json.v4],
      v6: [...this.#json.v6],
      broadcast: [...this.#json.broadcast],
    };
  }
}

/** The class of an IPv4 address from its ranges alone (no local addresses involved). */
function v4RangeClass(b: Uint8Array, o: number): AddressClass {
  const b0 = b[o]!, b1 = b[o + 1]!, b2 = b[o + 2]!, b3 = b[o + 3]!;
  switch (b0) {
    case 0:
      return (b1 | b2 | b3) === 0 ? "unspecified" : "reserved";
    case 10:
      return "private";
    case 100:
      return (b1 & 0xc0) === 64 ? "shared" : "public";
    case 127:
      return "loopback";
    case 169:
      return b1 === 254 ? "link-local" : "public";
    case 172:
      return (b1 & 0xf0) === 16 ? "private" : "public";
    case 192:
      if (b1 === 168) return "private";
      if (b1 === 0 && b2 === 0) return b3 === 9 || b3 === 10 ? "public" : "reserved";
      if (b1 === 0 && b2 === 2) return "documentation";
      if (b1 === 88 && b2 === 99) return "reserved";
      return "public";
    case 198:
      if ((b1 & 0xfe) === 18) return "reserved";
      if (b1 === 51 && b2 === 100) return "documentation";
      return "public";
    case 203:
      return b1 === 0 && b2 === 113 ? "documentation" : "public";
  }
  if (b0 >= 240) return (b0 & b1 & b2 & b3) === 255 ? "broadcast" : "reserved";
  if (b0 >= 224) return "multicast";
  return "public";
}

/** The class of an IPv4 address at `o`, with this-host and local broadcast addresses. */
function v4Class(b: Uint8Array, o: number, local: LocalAddresses | undefined): AddressClass {
  const range = v4RangeClass(b, o);
  // Loopback and unspecified addresses are this host's by definition; their own class says more.
  if (range === "loopback" || range === "unspecified" || local === undefined) return range;
  if (local.has(4, b, o)) return "this-host";
  if (local.isBroadcast(b, o)) return "broadcast";
  return range;
}

/** "public" when the IPv4 address at `o` is public, else "reserved" (6to4, NAT64). */
function embeddedClass(b: Uint8Array, o: number): AddressClass {
  return v4RangeClass(b, o) === "public" ? "public" : "reserved";
}

/** Whether bytes `from`..`to` (exclusive) of `b` are all zero. */
function zeros(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/** The class of an address inside 2001::/23 (IETF protocol assignments). */
function ietfClass(b: Uint8Array): AddressClass {
  const w1 = (b[2]! << 8) | b[3]!; // the second 16-bit group: 0x0000..0x01ff
  if (w1 === 1) {
    // 2001:1::1, ::2 and ::3 (PCP, TURN, DNS-SD SRP anycast) are globally reachable.
    return zeros(b, 4, 15) && b[15]! >= 1 && b[15]! <= 3 ? "public" : "reserved";
  }
  if (w1 === 3) return "public"; // 2001:3::/32 AMT
  if (w1 === 4) return b[4] === 0x01 && b[5] === 0x12 ? "public" : "reserved"; // AS112-v6
  if (w1 >= 0x20 && w1 <= 0x3f) return "public"; // 2001:20::/28 ORCHIDv2, 2001:30::/28 DET
  return "reserved";
}

/** The class of the IPv6 address `b`. */
function v6Class(b: Uint8Array, local: LocalAddresses | undefined): AddressClass {
  const b0 = b[0]!;
  if (b0 === 0xff) return "multicast";
  if (b0 === 0) {
    if (zeros(b, 1, 10)) {
      if (b[10] === 0xff && b[11] === 0xff) return v4Class(b, 12, local);
      if (b[10] === 0 && b[11] === 0 && zeros(b, 12, 15)) {
        if (b[15] === 0) return "unspecified";
        if (b[15] === 1) return "loopback";
      }
    }
    if (b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(b, 4, 12)) {
      if (local !== undefined && local.has(6, b)) return "this-host";
      return embeddedClass(b, 12);
    }
  }
  if (local !== undefined && local.has(6, b)) return "this-host";
  if ((b0 & 0xfe) === 0xfc) return "unique-local";
  if (b0 === 0xfe) return (b[1]! & 0xc0) === 0x80 ? "link-local" : "reserved";
  if ((b0 & 0xe0) !== 0x20) return "reserved";
  const b1 = b[1]!;
  if (b0 === 0x20 && b1 === 0x01) {
    if (b[2] === 0x0d && b[3] === 0xb8) return "documentation";
    if ((b[2]! & 0xfe) === 0) return ietfClass(b);
    return "public";
  }
  if (b0 === 0x20 && b1 === 0x02) return embeddedClass(b, 2);
  if (b0 === 0x3f && b1 === 0xff && (b[2]! & 0xf0) === 0) return "documentation";
  return "public";
}

/**
 * The class of an address: "this-host" when `local` has it (whatever its range, except the
 * loopback and unspecified ranges, which are this host's by definition and keep their own
 * class), then "broadcast" (255.255.255.255 and the local networks' broadcast addresses), then
 * the class of the range it lies in (see the module documentation for the reserved ranges).
 *
 * Allocates nothing; `bytes` may be a view into a larger buffer.
 *
 * @example
 * ```ts
 * import { addressClass } from "./classes.ts";
 *
 * addressClass(4, new Uint8Array([100, 64, 0, 1])); // "shared"
 * addressClass(6, new Uint8Array([0xfe, 0x80, ...new Uint8Array(13), 1])); // "link-local"
 * ```
 *
 * @param family 4 or 6.
 * @param bytes The address in network order: 4 bytes (or more, of which the first 4 are read)
 * for IPv4, 16 for IPv6.
 * @param local The addresses of this host; without it, no address is "this-host" and only
 * 255.255.255.255 is "broadcast".
 * @returns The class.
 */
export function addressClass(
  family: 4 | 6,
  bytes: Uint8Array,
  local?: LocalAddresses,
): AddressClass {
  return family === 4 ? v4Class(bytes, 0, local) : v6Class(bytes, local);
}
