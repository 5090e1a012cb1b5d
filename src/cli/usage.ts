/**
 * The text of `--help` and `--version`.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { GEOIP_ATTRIBUTION } from "../attribution.ts";

/** The --help text. */
export const USAGE = `Usage: conntop [OPTION]...
Monitor the Linux connection tracking table (conntrack) in real time.

Modes:
  (none)                  live monitor, refreshed every --interval
  -1, --once              print the current table once and exit (with
                          --interval S: sample twice, S seconds apart, so
                          rates are filled)
      --stream            print every change (new, update, destroy) as it
                          is collected
  -o, --format FORMAT     output of --once/--stream: table, json, ndjson, csv
                          (default: table with --once, ndjson with --stream)
  -c, --count N           with --stream: stop after N refreshes
      --sort COLUMN[,COLUMN]
                          with --once: sort by these columns (names as in
                          the monitor's columns dialog, e.g. rate, dst,
                          tx_bytes), numbers biggest first, names A to Z
      --reverse           with --once: the other order
      --top N             with --once: print the first N rows only
      --columns LIST      with --once: print these columns (the table), or
                          the fields they stand for (json, ndjson, csv)
      --record FILE       live monitor: also write every update it
                          receives to FILE (NDJSON, gzip-compressed when
                          FILE ends in .gz), a new file: one that exists
                          is refused
      --replay FILE       play a recording in the monitor (no root, no
                          conntrack needed)
      --speed FACTOR      replay speed, 0.0625 to 64 (default 1); in the
                          monitor, + and - change it

Collection:
  -i, --interval SECONDS  refresh interval, fractional allowed (default 1)
      --netns NAME        monitor network namespace NAME (/run/netns/NAME)
                          or a path
      --enable-acct       turn on byte/packet accounting and timestamps
                          while running, restoring the previous settings
                          on exit
      --track             add an nftables table that makes the kernel track
                          connections, removed on exit
      --restore           undo the changes a killed conntop left (sysctls,
                          --track table) in this namespace or in that of
                          --netns NAME, and exit; starts nothing
      --no-events         read the table by dumps only (no conntrack events)
      --event-buffer BYTES
                          kernel receive buffer for events (default 16777216)

Filters (as conntrack -L; all given must match):
  -p, --proto PROTO       tcp, udp, udplite, sctp, dccp, icmp, icmpv6, gre
                          or a number
      --state STATE[,..]  protocol state, e.g. ESTABLISHED,TIME_WAIT
  -s, --src ADDR[/LEN]    original source address or prefix
  -d, --dst ADDR[/LEN]    original destination address or prefix
      --sport PORT        original source port
      --dport PORT        original destination port
      --family 4|6        address family
  -m, --mark VALUE[/MASK]
                          connection mark
  -w, --zone ZONE         conntrack zone

Enrichment (resolved in a worker; never delays the screen or quitting):
  -n, --no-hostname       do not resolve hostnames (reverse DNS); --once
                          resolves none when its rows have over 1000
                          distinct addresses
  -P, --no-servname       show port numbers, not service names from
                          /etc/services
      --no-geoip          no GeoIP country, AS and city columns
      --geoip-dir DIR     look for GeoLite2 / DB-IP .mmdb files in DIR
                          first (repeatable; then ~/.local/share/GeoIP,
                          /usr/local/share/GeoIP, /var/lib/GeoIP,
                          /usr/share/GeoIP; else the embedded data)

Client-server (conntopd is the same as conntop --server):
      --server            serve this host's table to conntop clients (no UI);
                          takes the collection options above
      --connect SERVER[:PORT]
                          show a server's table (monitor, --once, --stream,
                          --record); hostnames, GeoIP and services are
                          resolved here. IPv6: [ADDR]:PORT. Filters apply
                          here too
      --port PORT         server port (default 55555)
      --name NAME         the name the other side sees (default: the hostname)
      --token-file FILE   shared secret (one line): the server requires it,
                          the client sends it
  server:
      --listen ADDR       listen on ADDR (repeatable; default 127.0.0.1, ::1)
      --listen-any        listen on every address (0.0.0.0 and ::); beyond
                          loopback a token and TLS are required unless
                          --insecure
      --tls-cert FILE     TLS certificate (PEM)
      --tls-key FILE      the private key of --tls-cert (PEM)
      --insecure          allow listening beyond loopback without token and
                          TLS; for --connect, allow sending the token
                          beyond loopback without TLS
      --log-file FILE     append the log to FILE (a regular file, never
                          through a link) instead of standard error
  -v, --verbose           log in more detail (debug level)
  -q, --quiet             log errors only
      --max-clients N     clients at once (default 64)
      --idle-timeout S    drop a client silent for S seconds (default 60)
      --handshake-timeout S
                          drop a client without a hello within S seconds
                          (default 10)
      --client-queue BYTES
                          deltas a slow client may have queued before it
                          gets a fresh snapshot instead (default 33554432)
  client:
      --tls               connect with TLS, trusting the system's
                          certificate authorities
      --tls-ca FILE       connect with TLS, also trusting the CA (or the
                          server's own self-signed certificate) in FILE (PEM)
      --deadline S        --once gives up when the table has not come
                          within S seconds (default 30)
  A lost server is retried (0.5 s doubling to 10 s) by the monitor, and
  by --stream once it has connected (it then prints only what changed
  meanwhile); not by --once.
  Exit status with --connect: 2 wrong or missing token, no common protocol
  version, not a conntop server, untrusted certificate, unusable --token-file
  or --tls-ca (a regular file: 4 KiB token, 1 MiB PEM at most), a token
  beyond loopback without TLS or --insecure; 1 server unreachable, refused,
  lost, full, stopping, breaking the protocol or past --deadline.

Other:
      --no-color          no colours (also when NO_COLOR is set)
  -h, --help              show this help and exit
  -V, --version           show version information and exit
  conntop completions SHELL  print the completion script for bash, zsh or fish

Integers are decimal or 0x hexadecimal; seconds and factors decimal (0.5).
A value starting with "-" is still the value of the option before it.
In the monitor, F1 or ? shows the keys. Settings (columns, sort, toggles) are
kept in $XDG_CONFIG_HOME/conntop/config.json (default
~/.config/conntop/config.json).

Exit status: 0 ok, 1 runtime failure, 2 bad usage or missing privilege,
library or namespace, 129/130/143 ended by SIGHUP/SIGINT/SIGTERM or the
terminal lost (after cleaning up). --restore: 0 restored or nothing to do,
1 a change not undone or its conntop still running, 2 no privilege, namespace
missing or unsafe /run/conntop.
`;

/** The --version text; `libraries` are the lines about the shared libraries found. */
export function versionText(libraries: readonly string[] = []): string {
  return `conntop ${VERSION}
Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript}
${
    libraries.map((l) => `${l}\n`).join("")
  }License GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.
This is free software: you are free to change and redistribute it.
There is NO WARRANTY, to the extent permitted by law.

${GEOIP_ATTRIBUTION.join("\n")}
`;
}
