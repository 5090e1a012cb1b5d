/**
 * The reverse-DNS name of an address, as a PTR record names it: for the tests' DNS servers and
 * the screenshot's dnsmasq.
 *
 * @module
 */

import { parseAddress } from "../src/conntrack/address.ts";

/**
 * The reverse-DNS name of an address: `10.2.0.192.in-addr.arpa`, or the nibbles of an IPv6
 * address under `ip6.arpa`.
 *
 * @param address An IPv4 or IPv6 address.
 * @returns The name without a final dot.
 * @throws {Error} When `address` is no address.
 */
export function reverseName(address: string): string {
  const parsed = parseAddress(address);
  if (parsed === undefined) {
    throw new Error(`Failed to make reverse name: expected an IP address, got '${address}'`);
  }
  if (parsed.family === 2) {
    return `${[...parsed.bytes.subarray(0, 4)].reverse().join(".")}.in-addr.arpa`;
  }
  const nibbles: string[] = [];
  for (const byte of parsed.bytes) nibbles.push((byte >> 4).toString(16), (byte & 15).toString(16));
  return `${nibbles.reverse().join(".")}.ip6.arpa`;
}
