/**
 * The server's sockets: one TCP (or TLS) listener per endpoint, and the accept loop.
 *
 * On Linux a listener on `::` also takes IPv4 (dual stack, unless net.ipv6.bindv6only is set),
 * so `0.0.0.0` on the same port then fails with "address in use": that endpoint is covered, not
 * an error. An IPv6 endpoint on a host without IPv6 is skipped with a warning when another
 * endpoint works, so the default (127.0.0.1 and ::1) starts everywhere.
 *
 * Requires `--allow-net` (and `--allow-read` for the TLS files, read by the caller).
 *
 * @module
 */

import { type Endpoint, endpointText } from "../core/mod.ts";
import { ConntopError, EnvironmentError, errorReason, ExitCode } from "../errors.ts";
import type { Logger } from "./log.ts";

/** PEM text of the server's certificate chain and key. */
export interface TlsFiles {
  cert: string;
  key: string;
  /** File names, for messages. */
  certFile: string;
  keyFile: string;
}

/** An open listener. */
export interface Listening {
  listener: Deno.Listener;
  endpoint: Endpoint;
  tls: boolean;
}

/**
 * Opens a listener on each endpoint. Throws {@linkcode EnvironmentError} (exit 2) when one
 * cannot be opened (other than the cases above), after closing those already open.
 */
export function listenAll(
  endpoints: readonly Endpoint[],
  tls: TlsFiles | undefined,
  log: Logger,
): Listening[] {
  // `::` first, so that a dual-stack listener is what covers 0.0.0.0.
  const ordered = [...endpoints].sort((a, b) => Number(b.host === "::") - Number(a.host === "::"));
  const open: Listening[] = [];
  const skipped: [Endpoint, unknown][] = [];
  try {
    for (const e of ordered) {
      try {
        const listener = tls === undefined
          ? Deno.listen({ hostname: e.host, port: e.port, transport: "tcp" })
          : Deno.listenTls({ hostname: e.host, port: e.port, cert: tls.cert, key: tls.key });
        open.push({ listener, endpoint: e, tls: tls !== undefined });
      } catch (err) {
        if (err instanceof Deno.errors.NotCapable) throw err;
        const dualStack = open.some((l) => l.endpoint.host === "::" && l.endpoint.port === e.port);
        if (e.host === "0.0.0.0" && dualStack && err instanceof Deno.errors.AddrInUse) {
          log.debug(`${endpointText(e)} is covered by the dual-stack listener on [::]:${e.port}`);
          continue;
        }
        if (e.host.includes(":") && err instanceof Deno.errors.AddrNotAvailable) {
          skipped.push([e, err]);
          continue;
        }
        throw listenError(e, err, tls);
      }
    }
    if (open.length === 0 && skipped.length > 0) {
      throw listenError(skipped[0]![0], skipped[0]![1], tls);
    }
  } catch (err) {
    for (const l of open) l.listener.close();
    throw err;
  }
  for (const [e, err] of skipped) {
    log.warning(`Not listening on ${endpointText(e)}: ${errorReason(err)} (no IPv6 here?)`);
  }
  return open;
}

function listenError(e: Endpoint, err: unknown, tls: TlsFiles | undefined): ConntopError {
  const reason = errorReason(err);
  if (
    tls !== undefined && !(err instanceof Deno.errors.AddrInUse) && /cert|key|pem|tls/i.test(reason)
  ) {
    return new ConntopError(
      `Cannot use TLS certificate '${tls.certFile}' with key '${tls.keyFile}': ${reason}`,
      ExitCode.USAGE,
      { cause: err },
    );
  }
  return new EnvironmentError(`Cannot listen on ${endpointText(e)}: ${reason}`, { cause: err });
}

/**
 * Accepts connections until the listener is closed, handing each to `onConn`. Errors other than
 * the listener closing (e.g. out of file descriptors) are logged and retried after a pause.
 */
export async function acceptLoop(
  l: Listening,
  onConn: (conn: Deno.Conn, tls: boolean) => void,
  log: Logger,
): Promise<void> {
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await l.listener.accept();
    } catch (err) {
      if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
      log.error(
        `Failed to accept a connection on ${endpointText(l.endpoint)}: ${errorReason(err)}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    onConn(conn, l.tls);
  }
}
