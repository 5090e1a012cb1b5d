/**
 * The text of `conntopd --help` and `--version`. Imports nothing of the UI or of GeoIP (the
 * dedicated server's module graph must not pull them in; test/server/graph_test.ts checks it).
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { DEFAULT_PORT, PROTOCOL_VERSION } from "../protocol/mod.ts";

/** The server's software name, as in the banner. */
export const SERVER_SOFTWARE = `conntopd ${VERSION}`;

/** The --help text of conntopd (and of conntop --server). */
export const SERVER_USAGE = `Usage: conntopd [OPTION]...
Serve this host's conntrack table to conntop clients (conntop --connect=HOST).
The same as 'conntop --server'. Runs as root (or with CAP_NET_ADMIN).

Listening:
      --listen ADDR       listen on this IPv4 or IPv6 address (repeatable;
                          default: 127.0.0.1 and ::1)
      --listen-any        listen on every address (IPv4 and IPv6)
      --port PORT         TCP port (default ${DEFAULT_PORT})
      --name NAME         the name clients see (default: the hostname)

Security (listening beyond loopback needs a token and TLS, or --insecure):
      --token-file FILE   clients must send the secret in FILE (trailing
                          newline ignored; 1-1024 printable ASCII characters)
      --tls-cert FILE     PEM certificate chain: speak TLS
      --tls-key FILE      PEM private key of --tls-cert
      --insecure          allow listening beyond loopback without token or TLS

Clients:
      --max-clients N     connections held at once (default 64)
      --idle-timeout S    drop a client silent for S seconds (default 60)
      --handshake-timeout S
                          drop a connection without hello after S seconds
                          (default 10)
      --client-queue BYTES
                          changes queued for a slow client before it gets a
                          fresh snapshot instead (default 33554432)

Collection (paused while no client is connected):
  -i, --interval S        refresh every S seconds (default 1)
      --netns NAME|PATH   monitor another network namespace
      --enable-acct       turn on accounting and timestamps while running
                          (--allow-write=/run/conntop keeps its undo journal)
      --track             make the kernel track connections while running
                          (needs --allow-run and --allow-write)
      --no-events         dumps only, no conntrack events
      --event-buffer BYTES
                          kernel buffer for events (default 16777216)

Logging:
      --log-file FILE     append the log to FILE (a regular file, never
                          through a link) instead of stderr (needs
                          --allow-write=FILE)
  -v, --verbose           log debug lines too
  -q, --quiet             log errors only

  -h, --help              show this help and exit
  -V, --version           show the version and exit
  conntopd completions SHELL  print the completion script for bash, zsh or fish

Integers are decimal or 0x hexadecimal; seconds decimal (0.5). A value starting
with "-" is still the value of the option before it.

Exit status: 1 runtime failure (the collector failed), 2 bad usage or missing
privilege, library, namespace or address, 129/130/143 stopped by SIGHUP/SIGINT/
SIGTERM (after telling the clients and cleaning up).
`;

/** The --version text of conntopd; `libraries` are the lines about the shared libraries found. */
export function serverVersionText(libraries: readonly string[] = []): string {
  return `${SERVER_SOFTWARE} (protocol ${PROTOCOL_VERSION})
Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript}
${libraries.map((l) => `${l}\n`).join("")}`;
}
