/**
 * The rule for listening beyond loopback: the conntrack table says who talks to whom, so a
 * server reachable from the network must ask for a token and speak TLS (or the operator must
 * say --insecure, and then the log says what that means).
 *
 * @module
 */

import type { ServerOptions } from "../core/mod.ts";
import { endpointText, isLoopback } from "../core/mod.ts";

export { isLoopback };
import { UsageError } from "../errors.ts";

/**
 * Checks `opts` against the rule. Returns the warnings to log (listening beyond loopback with
 * --insecure and without a token or TLS); throws {@linkcode UsageError} (exit 2), naming what
 * is missing, when the rule is broken without --insecure.
 */
export function checkExposure(opts: ServerOptions): string[] {
  const exposed = opts.listenAny
    ? ["any address"]
    : opts.listen.filter((e) => !isLoopback(e.host)).map((e) => endpointText(e));
  if (exposed.length === 0) return [];
  const missing: string[] = [];
  if (opts.tokenFile === undefined) missing.push("--token-file");
  if (opts.tlsCert === undefined || opts.tlsKey === undefined) missing.push("--tls-cert/--tls-key");
  if (missing.length === 0) return [];
  const where = exposed.join(", ");
  if (!opts.insecure) {
    throw new UsageError(
      `Listening on ${where} (beyond loopback) needs ${missing.join(" and ")}, or --insecure`,
    );
  }
  const what = opts.tokenFile === undefined
    ? "anyone who can reach it can read this host's conntrack table"
    : "the token and the table cross the network unencrypted";
  return [`Listening on ${where} without ${missing.join(" and ")} (--insecure): ${what}`];
}
