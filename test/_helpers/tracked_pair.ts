/**
 * Two test namespaces joined by a veth pair, where the first one tracks its outgoing
 * connections with accounting and timestamps on: the set-up of every test that needs real
 * traffic with real counters.
 *
 * @module
 */

import { Netns, vethPair } from "../../tools/netns.ts";

/** The pair; disposing it deletes both namespaces. */
export interface TrackedPair extends AsyncDisposable {
  /** The namespace that tracks (conntrack active, accounting and timestamps on). */
  a: Netns;
  /** The peer. */
  b: Netns;
}

/**
 * Creates the pair with addresses `10.X.0.1` (a) and `10.X.0.2` (b) on a /24, where X is
 * `subnet`. Use with `await using`.
 */
export async function trackedPair(prefix: string, subnet: number): Promise<TrackedPair> {
  const a = await Netns.create(prefix);
  const b = await Netns.create(prefix).catch(async (err) => {
    await a.close();
    throw err;
  });
  const pair: TrackedPair = {
    a,
    b,
    async [Symbol.asyncDispose]() {
      await a.close();
      await b.close();
    },
  };
  try {
    await a.sysctl("net.netfilter.nf_conntrack_acct", 1);
    await a.sysctl("net.netfilter.nf_conntrack_timestamp", 1);
    // Any rule that uses conntrack makes the kernel track this namespace's connections.
    await a.nft(
      "table inet t {\n chain out {\n type filter hook output priority 0;\n ct state new counter\n }\n}\n",
    );
    await vethPair(a, b, { aAddr: `10.${subnet}.0.1`, bAddr: `10.${subnet}.0.2`, prefixLen: 24 });
  } catch (err) {
    await pair[Symbol.asyncDispose]();
    throw err;
  }
  return pair;
}
