/**
 * Resolves socket owners once, in its own process, for tests that run it with other
 * privileges (e.g. without capabilities, through setpriv) inside a namespace.
 *
 * Reads `{ "queries": ProbeQuery[], "budget"?: number }` as JSON on stdin and prints
 * `{ "owners": (Owner | null)[], "stats": SocketOwnersStats }` as JSON on stdout.
 *
 * Usage: ip netns exec NS deno run --allow-ffi --no-config test/collector/_owners_probe.ts
 *
 * @module
 */

import { SocketOwners, type SocketQuery } from "../../src/collector/owners.ts";
import { parseAddress } from "../../src/conntrack/address.ts";

/** A query with its addresses as text. */
export interface ProbeQuery {
  protocol: number;
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
}

function toQuery(q: ProbeQuery): SocketQuery {
  const local = parseAddress(q.local), remote = parseAddress(q.remote);
  if (local === undefined || remote === undefined) {
    throw new Error(`Failed to read probe query: bad address in '${JSON.stringify(q)}'`);
  }
  return {
    protocol: q.protocol,
    family: local.family === 2 ? 4 : 6,
    local: local.bytes,
    localPort: q.localPort,
    remote: remote.bytes,
    remotePort: q.remotePort,
  };
}

if (import.meta.main) {
  const input = JSON.parse(await new Response(Deno.stdin.readable).text()) as {
    queries: ProbeQuery[];
    budget?: number;
  };
  const owners = new SocketOwners({ budget: input.budget });
  const result = owners.resolve(input.queries.map(toQuery));
  console.log(JSON.stringify({ owners: result, stats: owners.stats() }));
}
