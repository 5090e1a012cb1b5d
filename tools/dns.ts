/**
 * DNS servers inside a throw-away network namespace, for the tests and the screenshot script:
 * dnsmasq answering the PTR records given (and NXDOMAIN for every other reverse name), or a "silent" server that
 * swallows every query, as a dead DNS server does.
 *
 * Both write the namespace's own resolver configuration under /etc/netns/NAME/, which
 * `ip netns exec` bind-mounts over /etc for the commands it runs: resolv.conf pointing at the
 * server, hosts (only localhost unless the test gives more) and nsswitch.conf (this machine's,
 * with `hosts: files dns`, so that no other resolver such as systemd-resolved answers). The
 * root namespace's /etc/resolv.conf and firewall are never touched. Closing the server (or
 * `await using`) stops it and removes those files, even when the test failed.
 *
 * Requires root, `--allow-run`, `--allow-read` and `--allow-write`, dnsmasq (the dnsmasq-base
 * package) and python3; scripts/setup.sh installs them.
 *
 * @example A PTR record, an NXDOMAIN and an /etc/hosts entry
 * ```ts ignore
 * import { Netns } from "./netns.ts";
 * import { startDnsmasq } from "./dns.ts";
 *
 * await using ns = await Netns.create("dns");
 * await using dns = await startDnsmasq(ns, {
 *   records: [{ address: "192.0.2.10", name: "web.conntop.test" }],
 *   hosts: "198.51.100.7 files.conntop.test\n",
 * });
 * await ns.exec(["getent", "hosts", "192.0.2.10"]); // web.conntop.test, from dnsmasq
 * dns.queries(); // ["10.2.0.192.in-addr.arpa"]
 * ```
 *
 * @example A DNS server that never answers
 * ```ts ignore
 * await using ns = await Netns.create("silent");
 * await using silent = await startSilentDns(ns, { resolvOptions: ["timeout:5", "attempts:2"] });
 * // getnameinfo() in `ip netns exec` now takes 10 s to fail; silent.received() counts queries.
 * ```
 *
 * @module
 */

import type { Netns } from "./netns.ts";
import { reverseName } from "./reverse_name.ts";

/** A reverse record dnsmasq serves. */
export interface PtrRecord {
  /** The IPv4 or IPv6 address. */
  address: string;
  /** The name its PTR record gives. */
  name: string;
}

/** What both kinds of server write into the namespace's /etc. */
export interface ResolverFilesOptions {
  /** Lines of /etc/hosts (default only localhost for 127.0.0.1 and ::1). */
  hosts?: string;
  /** Options for resolv.conf's `options` line, e.g. `["timeout:1", "attempts:1"]`. */
  resolvOptions?: readonly string[];
  /** The address the server listens on, on `lo` (default 127.0.0.1). */
  address?: string;
}

/** Options of {@linkcode startDnsmasq}. */
export interface DnsmasqOptions extends ResolverFilesOptions {
  /** The PTR records to serve. */
  records?: readonly PtrRecord[];
  /**
   * Zones dnsmasq answers alone, with NXDOMAIN for names it has no record of (default
   * `in-addr.arpa` and `ip6.arpa`: every reverse name). Other names are refused.
   */
  localZones?: readonly string[];
}

/** Options of {@linkcode startSilentDns}. */
export type SilentDnsOptions = ResolverFilesOptions;

/** A DNS reply, as {@linkcode queryDns} decodes it. */
export interface DnsReply {
  /** The response code: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED. */
  rcode: number;
  /** Whether the server says it is authoritative. */
  authoritative: boolean;
  /** The answers' data: names for PTR, addresses for A and AAAA. */
  answers: string[];
}

/** Options of {@linkcode queryDns}. */
export interface QueryDnsOptions {
  /** The record type (default "PTR"). */
  type?: "PTR" | "A" | "AAAA";
  /** The server's address (default 127.0.0.1). */
  server?: string;
  /** How long to wait for the reply, in ms (default 2000). */
  timeoutMs?: number;
}

const DEFAULT_HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
const NETNS_ETC = "/etc/netns";
const READY_TIMEOUT_MS = 5000;
/** The name asked to see whether dnsmasq answers yet; left out of {@linkcode DnsServer.queries}. */
const READY_PROBE = "ready.conntop.test";

const decoder = new TextDecoder();

/** /etc/netns itself, when this process created it (removed again once empty). */
let createdNetnsEtc = false;
/** Directories under /etc/netns this process created and has not removed yet. */
const openDirs = new Set<string>();

globalThis.addEventListener("unload", () => {
  for (const dir of openDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Nothing more can be done while the process unloads.
    }
  }
  removeNetnsEtcIfEmpty();
});

function removeNetnsEtcIfEmpty(): void {
  if (!createdNetnsEtc || openDirs.size > 0) return;
  try {
    Deno.removeSync(NETNS_ETC);
    createdNetnsEtc = false;
  } catch {
    // Not empty (someone else's namespace files) or gone already.
  }
}

/**
 * The files of one namespace under /etc/netns/NAME/, written by this module and removed by
 * {@linkcode ResolverFiles.remove}. The directory must not exist yet: one server per namespace,
 * and never someone else's files overwritten.
 */
class ResolverFiles {
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async write(ns: Netns, options: ResolverFilesOptions): Promise<ResolverFiles> {
    const dir = `${NETNS_ETC}/${ns.name}`;
    if (!(await exists(NETNS_ETC))) {
      await Deno.mkdir(NETNS_ETC, { recursive: true });
      createdNetnsEtc = true;
    }
    try {
      await Deno.mkdir(dir);
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) {
        throw new Error(
          `Failed to write resolver files for network namespace '${ns.name}': ` +
            `'${dir}' exists already (one DNS server per namespace)`,
          { cause: err },
        );
      }
      throw err;
    }
    openDirs.add(dir);
    const files = new ResolverFiles(dir);
    try {
      const address = options.address ?? "127.0.0.1";
      const resolvOptions = options.resolvOptions ?? [];
      await Deno.writeTextFile(
        `${dir}/resolv.conf`,
        `nameserver ${address}\n` +
          (resolvOptions.length > 0 ? `options ${resolvOptions.join(" ")}\n` : ""),
      );
      await Deno.writeTextFile(`${dir}/hosts`, options.hosts ?? DEFAULT_HOSTS);
      await Deno.writeTextFile(`${dir}/nsswitch.conf`, await nsswitchFilesDns());
    } catch (err) {
      await files.remove();
      throw err;
    }
    return files;
  }

  /** Removes the directory and its files; never throws (the unload hook retries). */
  async remove(): Promise<void> {
    try {
      await Deno.remove(this.#dir, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) return;
    }
    openDirs.delete(this.#dir);
    removeNetnsEtcIfEmpty();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** This machine's nsswitch.conf with its `hosts:` line replaced by `files dns`. */
async function nsswitchFilesDns(): Promise<string> {
  let text = "";
  try {
    text = await Deno.readTextFile("/etc/nsswitch.conf");
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const rest = text.split("\n").filter((line) => !/^\s*hosts\s*:/.test(line)).join("\n")
    .trimEnd();
  return (rest === "" ? "" : `${rest}\n`) + "hosts: files dns\n";
}

/**
 * A server process in a namespace, with what it has written to its output so far, stopped by
 * {@linkcode DnsProcess.close} or `await using`.
 */
export abstract class DnsProcess implements AsyncDisposable {
  /** The namespace it serves. */
  readonly ns: Netns;
  /** The address it listens on. */
  readonly address: string;
  readonly #child: Deno.ChildProcess;
  readonly #files: ResolverFiles;
  readonly #reading: Promise<void>;
  #output = "";
  #closed = false;

  /** Takes over a spawned server and the resolver files written for it. */
  protected constructor(
    ns: Netns,
    address: string,
    child: Deno.ChildProcess,
    files: ResolverFiles,
  ) {
    this.ns = ns;
    this.address = address;
    this.#child = child;
    this.#files = files;
    // dnsmasq logs to stderr and the sink to stdout; both are collected as one text.
    this.#reading = Promise.all([this.#collect(child.stdout), this.#collect(child.stderr)])
      .then(() => {});
  }

  /** Everything the server has printed so far. */
  get output(): string {
    return this.#output;
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const chunk of stream) this.#output += decoder.decode(chunk, { stream: true });
  }

  /** Waits until `ready` says so, failing when the process exits first or takes too long. */
  protected async waitUntil(what: string, ready: () => Promise<boolean>): Promise<void> {
    let exited = false;
    const status = this.#child.status.then((s) => {
      exited = true;
      return s;
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!exited && Date.now() < deadline) {
      if (await ready()) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const reason = exited ? `it exited with code ${(await status).code}` : "it did not answer";
    throw new Error(
      `Failed to start ${what} on '${this.address}' in network namespace '${this.ns.name}': ` +
        `${reason}: ${this.#output.trim()}`,
    );
  }

  /**
   * Stops the server and removes the namespace's resolver files. Safe to call twice and never
   * throws, so that clean-up cannot hide a test's own failure.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    await this.#child.status;
    await this.#reading.catch(() => {});
    await this.#files.remove();
  }

  /** Same as {@linkcode DnsProcess.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Spawns `cmd` inside the namespace with both outputs piped. */
  protected static spawn(ns: Netns, cmd: readonly string[]): Deno.ChildProcess {
    return new Deno.Command("ip", {
      args: ["netns", "exec", ns.name, ...cmd],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  }
}

/** A dnsmasq serving PTR records in a namespace, made by {@linkcode startDnsmasq}. */
export class DnsServer extends DnsProcess {
  /** The names dnsmasq has been asked about, in order (from its query log). */
  queries(): string[] {
    return [...this.output.matchAll(/query\[\w+\] (\S+) from/g)].map((m) => m[1]!)
      .filter((name) => name !== READY_PROBE);
  }

  /** @internal Use {@linkcode startDnsmasq}. */
  static async start(ns: Netns, options: DnsmasqOptions): Promise<DnsServer> {
    const address = options.address ?? "127.0.0.1";
    const args = [
      "dnsmasq",
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--pid-file=",
      "--no-resolv",
      "--no-hosts",
      "--no-negcache",
      `--listen-address=${address}`,
      "--bind-interfaces",
      "--log-facility=-",
      "--log-queries",
      ...(options.localZones ?? ["in-addr.arpa", "ip6.arpa"]).map((zone) => `--local=/${zone}/`),
      ...(options.records ?? []).map((r) => `--ptr-record=${reverseName(r.address)},${r.name}`),
    ];
    const files = await ResolverFiles.write(ns, options);
    let server: DnsServer;
    try {
      server = new DnsServer(ns, address, DnsProcess.spawn(ns, args), files);
    } catch (err) {
      await files.remove();
      throw err;
    }
    try {
      // Any reply will do: dnsmasq answers once it listens.
      await server.waitUntil("dnsmasq", async () => {
        try {
          await queryDns(ns, READY_PROBE, { type: "A", server: address, timeoutMs: 200 });
          return true;
        } catch {
          return false;
        }
      });
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }
}

/** A UDP socket that reads DNS queries and never answers, made by {@linkcode startSilentDns}. */
export class SilentDns extends DnsProcess {
  /** How many queries have arrived so far. */
  received(): number {
    return this.output.split("\n").filter((line) => line.startsWith("query ")).length;
  }

  /** @internal Use {@linkcode startSilentDns}. */
  static async start(ns: Netns, options: SilentDnsOptions): Promise<SilentDns> {
    const address = options.address ?? "127.0.0.1";
    const files = await ResolverFiles.write(ns, options);
    let sink: SilentDns;
    try {
      sink = new SilentDns(
        ns,
        address,
        DnsProcess.spawn(ns, ["python3", "-c", SINK_SCRIPT, address]),
        files,
      );
    } catch (err) {
      await files.remove();
      throw err;
    }
    try {
      await sink.waitUntil(
        "silent DNS server",
        () => Promise.resolve(sink.output.includes("ready\n")),
      );
    } catch (err) {
      await sink.close();
      throw err;
    }
    return sink;
  }
}

const SINK_SCRIPT = `
import socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 53))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(65535)
    print("query", len(data), flush=True)
`;

/**
 * Starts dnsmasq inside `ns`, serving `options.records` and answering NXDOMAIN for every other
 * reverse name, and points the namespace's resolv.conf at it.
 *
 * @example
 * ```ts ignore
 * await using dns = await startDnsmasq(ns, {
 *   records: [{ address: "2001:db8::53", name: "six.conntop.test" }],
 * });
 * ```
 *
 * @param ns The namespace; its `lo` must be up (as {@linkcode Netns.create} leaves it).
 * @param options Records, zones, hosts and resolver options.
 * @returns The running server; close it (or use `await using`) to stop it and remove the files.
 * @throws {Error} When dnsmasq does not answer within 5 s; the message quotes its output.
 */
export function startDnsmasq(ns: Netns, options: DnsmasqOptions = {}): Promise<DnsServer> {
  return DnsServer.start(ns, options);
}

/**
 * Starts a DNS server inside `ns` that reads every query and never answers, and points the
 * namespace's resolv.conf at it, for tests of what happens while the resolver waits.
 *
 * @example
 * ```ts ignore
 * await using silent = await startSilentDns(ns, { resolvOptions: ["timeout:5", "attempts:2"] });
 * ```
 *
 * @param ns The namespace; its `lo` must be up.
 * @param options Hosts and resolver options (glibc waits `timeout` × `attempts` seconds).
 * @returns The running server; close it (or use `await using`) to stop it and remove the files.
 * @throws {Error} When the socket cannot be bound within 5 s.
 */
export function startSilentDns(ns: Netns, options: SilentDnsOptions = {}): Promise<SilentDns> {
  return SilentDns.start(ns, options);
}

const QUERY_SCRIPT = `
import json, random, socket, struct, sys
name, qtype, server, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
types = {"A": 1, "PTR": 12, "AAAA": 28}
query = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    query += bytes([len(label)]) + label.encode()
query += b"\\0" + struct.pack(">HH", types[qtype], 1)
s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(timeout)
s.sendto(query, (server, 53))
r = s.recvfrom(65535)[0]
flags, qd, an = struct.unpack(">HHH", r[2:8])
def read_name(off):
    labels, end = [], None
    while True:
        n = r[off]
        if n & 0xC0 == 0xC0:
            end = off + 2 if end is None else end
            off = ((n & 0x3F) << 8) | r[off + 1]
            continue
        off += 1
        if n == 0:
            return ".".join(labels), off if end is None else end
        labels.append(r[off:off + n].decode())
        off += n
off = 12
for _ in range(qd):
    off = read_name(off)[1] + 4
answers = []
for _ in range(an):
    off = read_name(off)[1]
    rtype, _, _, rdlen = struct.unpack(">HHIH", r[off:off + 10])
    off += 10
    if rtype == 12:
        answers.append(read_name(off)[0])
    elif rtype in (1, 28):
        answers.append(socket.inet_ntop(socket.AF_INET if rtype == 1 else socket.AF_INET6, r[off:off + rdlen]))
    off += rdlen
print(json.dumps({"rcode": flags & 0xF, "authoritative": bool(flags & 0x400), "answers": answers}))
`;

/**
 * Sends one DNS query from inside `ns` straight to a server (no resolver, no cache: what `dig`
 * would do) and decodes the reply.
 *
 * @example
 * ```ts ignore
 * const reply = await queryDns(ns, reverseName("192.0.2.99"));
 * reply.rcode; // 3, NXDOMAIN
 * ```
 *
 * @param ns The namespace to query from.
 * @param name The name asked about.
 * @param options Record type, server and timeout.
 * @returns The response code, the authoritative flag and the answers.
 * @throws {Error} When no reply arrives in time.
 */
export async function queryDns(
  ns: Netns,
  name: string,
  options: QueryDnsOptions = {},
): Promise<DnsReply> {
  const { stdout } = await ns.exec([
    "python3",
    "-c",
    QUERY_SCRIPT,
    name,
    options.type ?? "PTR",
    options.server ?? "127.0.0.1",
    String((options.timeoutMs ?? 2000) / 1000),
  ]);
  return JSON.parse(stdout) as DnsReply;
}
