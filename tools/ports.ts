/**
 * A loopback port for a test's or the benchmark's server (conntopd listens on 127.0.0.1 and ::1).
 *
 * Requires `--allow-net`.
 *
 * @module
 */

/**
 * A TCP port nothing listens on right now, on 127.0.0.1 and ::1. Another process may take it
 * before the caller binds it: a caller retries on "address already in use".
 *
 * @throws {Error} After 50 ports taken on ::1.
 */
export function freePort(): number {
  for (let i = 0; i < 50; i++) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    try {
      Deno.listen({ hostname: "::1", port }).close();
      return port;
    } catch {
      // taken on ::1: try another
    }
  }
  throw new Error("Failed to find a free port on 127.0.0.1 and ::1");
}
