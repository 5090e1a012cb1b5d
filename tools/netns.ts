/**
 * Throw-away network namespaces: the one namespace manager of the tests, the benchmark
 * (scripts/_bench) and the screenshot script (scripts/_screenshot).
 *
 * Every test that inserts conntrack entries, loads nft rules, changes sysctls or sends packets
 * does it inside a namespace made here, never in the root namespace of the machine running the
 * tests: the root namespace's firewall and conntrack table are never touched. Commands run
 * through `ip netns exec`, so the tools are the real ones (`conntrack`, `nft`, `sysctl`) that
 * scripts/setup.sh installs.
 *
 * Clean-up must not depend on the test passing. Use `await using`, which disposes the namespace
 * when the block is left, by a return or by a thrown assertion alike:
 *
 * ```ts
 * await using ns = await Netns.create();
 * ```
 *
 * Namespaces still open when the process unloads (a test that forgot `await using`) are deleted
 * then, as a last resort; a script's signal handler, where nothing can be awaited, deletes them
 * with {@linkcode closeAllSync}.
 *
 * Requires root (`CAP_SYS_ADMIN` and `CAP_NET_ADMIN`) and `--allow-run`.
 *
 * @example Insert conntrack entries into a fresh namespace and list them
 * ```ts ignore
 * import { loadConntrack, Netns } from "./netns.ts";
 *
 * Deno.test("conntrack lists an inserted flow", async () => {
 *   await using ns = await Netns.create();
 *   await loadConntrack(ns, [
 *     "-I -t 60 -s 10.1.0.1 -d 10.1.0.2 -p udp --sport 1000 --dport 53",
 *   ]);
 *   const { stdout } = await ns.conntrack(["-L", "-o", "xml"]);
 * });
 * ```
 *
 * @example Two namespaces joined by a veth pair
 * ```ts ignore
 * import { Netns, vethPair } from "./netns.ts";
 *
 * await using client = await Netns.create("cli");
 * await using server = await Netns.create("srv");
 * await vethPair(client, server, { aAddr: "10.9.0.1", bAddr: "10.9.0.2", prefixLen: 24 });
 * await client.exec(["python3", "-c", "..."]);
 * ```
 *
 * @module
 */

import { type ExecOptions, type ExecResult, formatCommand, runCommand } from "./run.ts";

/** Options of {@linkcode vethPair}. */
export interface VethOptions {
  /** IPv4 address given to the end in the first namespace, without prefix length. */
  aAddr: string;
  /** IPv4 address given to the end in the second namespace, without prefix length. */
  bAddr: string;
  /** Prefix length of both IPv4 addresses. */
  prefixLen: number;
  /** IPv6 address given to the end in the first namespace (added with `nodad`). */
  aAddr6?: string;
  /** IPv6 address given to the end in the second namespace (added with `nodad`). */
  bAddr6?: string;
  /** Prefix length of both IPv6 addresses (default 64). */
  prefixLen6?: number;
}

/** Interface names of a veth pair made by {@linkcode vethPair}. */
export interface VethPair {
  /** The end inside the first namespace. */
  a: string;
  /** The end inside the second namespace. */
  b: string;
}

const MAX_IFNAME_LENGTH = 15;

const decoder = new TextDecoder();

let namespaceCounter = 0;
let vethCounter = 0;

/** Namespaces created and not yet closed, deleted synchronously on unload as a last resort. */
const openNamespaces = new Set<string>();
/** Interfaces each namespace was given by {@linkcode vethPair}, deleted when it closes. */
const ownedLinks = new WeakMap<Netns, string[]>();

globalThis.addEventListener("unload", () => void closeAllSync());

/**
 * Deletes every namespace made here and not yet closed, synchronously (from a signal handler or
 * an `unload` listener, where nothing can be awaited); returns the names it failed on.
 */
export function closeAllSync(): string[] {
  const failed: string[] = [];
  for (const name of openNamespaces) {
    try {
      const r = new Deno.Command("ip", {
        args: ["netns", "del", name],
        stdout: "null",
        stderr: "null",
      })
        .outputSync();
      if (!r.success) failed.push(name);
    } catch {
      // Nothing more can be done here.
      failed.push(name);
    }
    openNamespaces.delete(name);
  }
  return failed;
}

function randomHex(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buffer, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * A network namespace created for one test, deleted by {@linkcode Netns.close} or by
 * `await using`.
 *
 * Requires root and `--allow-run`.
 *
 * @example
 * ```ts ignore
 * await using ns = await Netns.create();
 * await ns.sysctl("net.netfilter.nf_conntrack_acct", 1);
 * ```
 */
export class Netns implements AsyncDisposable {
  /** The name under /run/netns, as `ip netns list` shows it. */
  readonly name: string;
  #closed = false;

  private constructor(name: string) {
    this.name = name;
  }

  /**
   * Creates a namespace named `${prefix}-${pid}-${counter}-${random}` with `lo` up.
   *
   * @param prefix Start of the name, to tell whose namespace it is in `ip netns list`.
   * @returns The open namespace.
   * @throws {Error} When `ip netns add` fails, typically because the process is not root.
   */
  static create(prefix = "ct"): Promise<Netns> {
    return Netns.named(`${prefix}-${Deno.pid}-${namespaceCounter++}-${randomHex(2)}`);
  }

  /**
   * Creates the namespace `name` exactly (a script whose files name it, such as
   * /etc/netns/NAME), with `lo` up.
   *
   * @param name The name under /run/netns.
   * @returns The open namespace.
   * @throws {Error} When a namespace of that name exists already or `ip netns add` fails.
   */
  static async named(name: string): Promise<Netns> {
    // Remembered before it exists, so that a signal arriving meanwhile still deletes it.
    openNamespaces.add(name);
    try {
      await runCommand(["ip", "netns", "add", name]);
    } catch (err) {
      openNamespaces.delete(name);
      throw err;
    }
    const ns = new Netns(name);
    try {
      await ns.exec(["ip", "link", "set", "lo", "up"]);
    } catch (err) {
      await ns.close();
      throw err;
    }
    return ns;
  }

  /** The command line that runs `cmd` inside the namespace (`ip netns exec NAME …`). */
  command(...cmd: string[]): string[] {
    return ["ip", "netns", "exec", this.name, ...cmd];
  }

  /** Whether {@linkcode Netns.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs a command inside the namespace with `ip netns exec`.
   *
   * @param cmd The program and its arguments.
   * @param options Standard input and whether a failure throws (it does by default).
   * @returns The exit code and the decoded output.
   * @throws {Error} When the namespace is closed, or the command fails and `check` is not
   * `false`; the message names the command, the exit code and stderr.
   */
  exec(cmd: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (this.#closed) {
      return Promise.reject(
        new Error(
          `Failed to run '${formatCommand(cmd)}' in network namespace '${this.name}': ` +
            "the namespace is closed",
        ),
      );
    }
    return runCommand(this.command(...cmd), options);
  }

  /**
   * Runs the `conntrack` tool inside the namespace; throws when it exits with a non-zero code.
   *
   * @example
   * ```ts ignore
   * const { stdout } = await ns.conntrack(["-L", "-o", "extended,id"]);
   * ```
   *
   * @param args Arguments after `conntrack`.
   * @param stdin Text for its standard input, as `-R -` reads.
   * @returns The exit code and the decoded output (conntrack's counts go to stderr).
   */
  conntrack(args: readonly string[], stdin?: string): Promise<ExecResult> {
    return this.exec(["conntrack", ...args], { stdin });
  }

  /**
   * Loads an nft script into the namespace with `nft -f -`.
   *
   * Note that conntrack only tracks packets in a namespace once something there needs it, for
   * example a rule matching `ct state`.
   *
   * @example
   * ```ts ignore
   * await ns.nft(`table inet t {
   *   chain input { type filter hook input priority 0; ct state established,related accept; }
   * }`);
   * ```
   *
   * @param script The ruleset, in nft's own syntax.
   * @returns The exit code and the decoded output.
   */
  nft(script: string): Promise<ExecResult> {
    return this.exec(["nft", "-f", "-"], { stdin: script });
  }

  /**
   * Reads a sysctl inside the namespace, or writes it when a value is given.
   *
   * @example
   * ```ts ignore
   * await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 1);
   * const acct = await ns.sysctl("net.netfilter.nf_conntrack_acct"); // "0"
   * ```
   *
   * @param key The dotted name, e.g. `net.netfilter.nf_conntrack_acct`.
   * @param value The value to write.
   * @returns The value, as `sysctl -n` prints it (trimmed).
   */
  async sysctl(key: string, value?: string | number): Promise<string> {
    const args = value === undefined
      ? ["sysctl", "-n", key]
      : ["sysctl", "-n", "-w", `${key}=${value}`];
    const { stdout } = await this.exec(args);
    return stdout.trim();
  }

  /**
   * Deletes the veth interfaces given to this namespace (their peers go with them), ends the
   * processes still running inside it, and deletes the namespace.
   *
   * Safe to call twice and never throws, so that clean-up cannot hide a test's own failure.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      for (const link of ownedLinks.get(this) ?? []) {
        await runCommand(["ip", "-n", this.name, "link", "del", link], { check: false });
      }
      // A namespace lives on after `ip netns del` while a process is inside it; only the test's
      // own children can be there.
      const { stdout } = await runCommand(["ip", "netns", "pids", this.name], { check: false });
      for (const pid of stdout.split(/\s+/).filter((word) => /^\d+$/.test(word))) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      await runCommand(["ip", "netns", "del", this.name], { check: false });
    } catch {
      // Never throw from clean-up; the unload hook retries the deletion.
      return;
    }
    openNamespaces.delete(this.name);
  }

  /**
   * Starts `cmd` inside the namespace in the background and resolves once its first output says
   * `ready` (a traffic program announcing it has bound its sockets). The caller ends it; a
   * process still inside the namespace is ended by {@linkcode Netns.close} too.
   *
   * @throws {Error} When the program's first output does not say `ready` (it is killed first).
   */
  async spawnReady(cmd: readonly string[]): Promise<Deno.ChildProcess> {
    const full = this.command(...cmd);
    const child = new Deno.Command(full[0]!, {
      args: full.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    const first = value === undefined ? "" : decoder.decode(value);
    if (!first.includes("ready")) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited already.
      }
      const { stderr } = await child.output().catch(() => ({ stderr: new Uint8Array() }));
      throw new Error(
        `Failed to start '${formatCommand(cmd)}' in network namespace '${this.name}': ` +
          `expected 'ready', got '${first.trim()}' ${decoder.decode(stderr).trim()}`,
      );
    }
    return child;
  }

  /** Same as {@linkcode Netns.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Joins two namespaces with a veth pair: one end in each, addressed and up.
 *
 * The pair is created directly inside the namespaces, so nothing ever appears in the root
 * namespace. Each end is deleted when its namespace closes, taking its peer with it.
 *
 * @example
 * ```ts ignore
 * const { a, b } = await vethPair(client, server, {
 *   aAddr: "10.9.0.1",
 *   bAddr: "10.9.0.2",
 *   prefixLen: 24,
 *   aAddr6: "fd09::1",
 *   bAddr6: "fd09::2",
 * });
 * ```
 *
 * @param a The namespace of the first end.
 * @param b The namespace of the second end.
 * @param options The addresses of both ends.
 * @returns The interface names (at most 15 characters each).
 */
export async function vethPair(a: Netns, b: Netns, options: VethOptions): Promise<VethPair> {
  const base = `v${(Deno.pid % 46656).toString(36)}${(vethCounter++).toString(36)}${randomHex(2)}`;
  const names: VethPair = { a: `${base}a`, b: `${base}b` };
  if (names.a.length > MAX_IFNAME_LENGTH) {
    throw new Error(
      `Failed to name veth pair: expected at most ${MAX_IFNAME_LENGTH} characters, ` +
        `got '${names.a}'`,
    );
  }
  await runCommand([
    "ip",
    "link",
    "add",
    names.a,
    "netns",
    a.name,
    "type",
    "veth",
    "peer",
    "name",
    names.b,
    "netns",
    b.name,
  ]);
  ownedLinks.set(a, [...(ownedLinks.get(a) ?? []), names.a]);
  ownedLinks.set(b, [...(ownedLinks.get(b) ?? []), names.b]);

  const ends: [Netns, string, string, string | undefined][] = [
    [a, names.a, options.aAddr, options.aAddr6],
    [b, names.b, options.bAddr, options.bAddr6],
  ];
  for (const [ns, link, addr, addr6] of ends) {
    await ns.exec(["ip", "addr", "add", `${addr}/${options.prefixLen}`, "dev", link]);
    if (addr6 !== undefined) {
      const prefixLen6 = options.prefixLen6 ?? 64;
      await ns.exec(["ip", "addr", "add", `${addr6}/${prefixLen6}`, "dev", link, "nodad"]);
    }
  }
  for (const [ns, link] of ends) {
    await ns.exec(["ip", "link", "set", link, "up"]);
  }
  for (const [ns, link] of ends) await waitForOperUp(ns, link);
  return names;
}

/**
 * Waits until the kernel's link watcher has seen the carrier of `link`: until then its queue
 * discipline is a no-op that drops packets, which costs the first ping a 1 s retransmission.
 */
export async function waitForOperUp(ns: Netns, link: string): Promise<void> {
  const deadline = Date.now() + 3000;
  let state = "";
  while (Date.now() < deadline) {
    const { stdout } = await ns.exec(["ip", "-o", "link", "show", "dev", link]);
    state = /\bstate (\S+)/.exec(stdout)?.[1] ?? "";
    if (state === "UP") return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(
    `Failed to bring up veth '${link}' in network namespace '${ns.name}': ` +
      `expected state 'UP', got '${state}' after 3 s`,
  );
}

/**
 * Inserts conntrack entries into a namespace's table with `conntrack -R -`.
 *
 * Each line holds the arguments of one `conntrack` command, for example
 * `-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p tcp --sport 1 --dport 2 --state ESTABLISHED`.
 * conntrack stops at the first line that fails, so the lines before it stay loaded.
 *
 * @example
 * ```ts ignore
 * await loadConntrack(ns, [
 *   "-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p tcp --sport 1 --dport 2 --state ESTABLISHED -m 7",
 *   "-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 7",
 * ]);
 * ```
 *
 * @param ns The namespace whose table receives the entries.
 * @param lines One conntrack command per line, without the leading `conntrack`.
 * @throws {Error} When a line contains a newline, or conntrack rejects a line; the message
 * quotes conntrack's stderr.
 */
export async function loadConntrack(ns: Netns, lines: readonly string[]): Promise<void> {
  const multiLine = lines.find((line) => line.includes("\n"));
  if (multiLine !== undefined) {
    throw new Error(
      `Failed to load conntrack entries: expected one command per line, got '${multiLine}'`,
    );
  }
  const result = await ns.exec(["conntrack", "-R", "-"], {
    stdin: lines.join("\n") + "\n",
    check: false,
  });
  if (result.code !== 0) {
    throw new Error(
      `Failed to load ${lines.length} conntrack entries into network namespace '${ns.name}': ` +
        `exit code ${result.code}: ${result.stderr.trim()}`,
    );
  }
}

/** Result of {@linkcode ping}. */
export interface PingResult {
  /** The ICMP echo identifier the kernel chose, as conntrack shows it in `id=`. */
  id: number;
}

// A ping socket (SOCK_DGRAM + IPPROTO_ICMP) lets the kernel pick the echo id and compute the
// checksum; that id is the socket's "port".
const PING_SCRIPT = `
import socket, sys
addr, timeout = sys.argv[1], float(sys.argv[2])
v6 = ":" in addr
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
s.settimeout(timeout)
s.sendto(bytes([128 if v6 else 8, 0, 0, 0, 0, 0, 0, 1]) + b"conntop", (addr, 0))
s.recvfrom(1024)
print(s.getsockname()[1])
`;

/**
 * Sends one ICMP (or ICMPv6) echo request from a namespace and waits for the reply.
 *
 * `ping` itself is not installed everywhere, so this uses python3's ping socket; it sets the
 * namespace's `net.ipv4.ping_group_range` so that root may open one.
 *
 * @example
 * ```ts ignore
 * const { id } = await ping(client, "10.9.0.2");
 * ```
 *
 * @param from The namespace the request leaves from.
 * @param address The IPv4 or IPv6 address to ping.
 * @returns The echo identifier, to find the flow in conntrack's output.
 * @throws {Error} When no reply arrives within two seconds.
 */
export async function ping(from: Netns, address: string): Promise<PingResult> {
  await from.sysctl("net.ipv4.ping_group_range", "0 0");
  const { stdout } = await from.exec(["python3", "-c", PING_SCRIPT, address, "2"]);
  return { id: Number(stdout.trim()) };
}

/** Options of {@linkcode tcpRoundTrip}. */
export interface TcpRoundTripOptions {
  /** The server's address, reachable from the client namespace. */
  address: string;
  /** The server's port. */
  port: number;
  /** Bytes the client sends and the server echoes (default 100). */
  size?: number;
  /** Where the client connects, when it is not where the server listens (a DNAT rule's
   * address and port); default `address` and `port`. */
  connect?: { address: string; port: number };
}

/** Result of {@linkcode tcpRoundTrip}. */
export interface TcpRoundTripResult {
  /** The client's source port, to find the flow in conntrack's output. */
  sport: number;
}

const TCP_SERVER_SCRIPT = `
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
srv = socket.socket(family, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(1)
srv.settimeout(5)
print("ready", flush=True)
conn, _ = srv.accept()
conn.settimeout(5)
want, got = int(sys.argv[3]), b""
while len(got) < want:
    chunk = conn.recv(65536)
    if not chunk:
        break
    got += chunk
conn.sendall(got)
conn.close()
`;

const TCP_CLIENT_SCRIPT = `
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
data = b"c" * int(sys.argv[3])
c.sendall(data)
got = b""
while len(got) < len(data):
    chunk = c.recv(65536)
    if not chunk:
        break
    got += chunk
if got != data:
    sys.exit("echo mismatch: sent %d bytes, got %d" % (len(data), len(got)))
print(c.getsockname()[1])
c.close()
`;

/**
 * Opens one TCP connection from `client` to a python3 echo server in `server`, sends `size`
 * bytes, reads them back and closes: a complete handshake, data both ways and a teardown.
 *
 * @example
 * ```ts ignore
 * const { sport } = await tcpRoundTrip(client, server, { address: "10.9.0.2", port: 8080 });
 * ```
 *
 * @param client The namespace that connects.
 * @param server The namespace that listens.
 * @param options Where the server listens and how much to send.
 * @returns The client's source port.
 * @throws {Error} When the server does not start or the echo does not come back whole.
 */
export async function tcpRoundTrip(
  client: Netns,
  server: Netns,
  options: TcpRoundTripOptions,
): Promise<TcpRoundTripResult> {
  const size = String(options.size ?? 100);
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      server.name,
      "python3",
      "-c",
      TCP_SERVER_SCRIPT,
      options.address,
      String(options.port),
      size,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Read the server's stdout by hand: its first line says it listens.
  const reader = child.stdout.getReader();
  const stderr = new Response(child.stderr).text();
  const finish = async (): Promise<Deno.CommandStatus> => {
    // The server exits by itself once the connection closes, or after its 5 s accept timeout.
    while (!(await reader.read()).done) { /* drain */ }
    return await child.status;
  };
  let sport: number;
  try {
    let banner = "";
    while (!banner.includes("ready\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      banner += decoder.decode(value, { stream: true });
    }
    if (!banner.includes("ready\n")) {
      throw new Error(
        `Failed to start TCP echo server on '${options.address}' port ${options.port} in ` +
          `network namespace '${server.name}': ${(await stderr).trim()}`,
      );
    }
    const { stdout } = await client.exec([
      "python3",
      "-c",
      TCP_CLIENT_SCRIPT,
      options.connect?.address ?? options.address,
      String(options.connect?.port ?? options.port),
      size,
    ]);
    sport = Number(stdout.trim());
  } catch (err) {
    await finish();
    await stderr;
    throw err;
  }
  const status = await finish();
  if (!status.success) {
    throw new Error(
      `Failed to run TCP echo server in network namespace '${server.name}': ` +
        `exit code ${status.code}: ${(await stderr).trim()}`,
    );
  }
  await stderr;
  return { sport };
}
