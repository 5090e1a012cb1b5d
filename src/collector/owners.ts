/**
 * The process that owns a connection ending on this host: from the connection's local socket,
 * found in the kernel's socket tables by its addresses and ports, to the process holding that
 * socket, found among the `socket:[INODE]` links of /proc/PID/fd — the way `ss -p` and
 * `netstat -p` do it. Shown as `name[pid]` (see {@linkcode ownerText}).
 *
 * Runs in the collector worker. The socket tables are read from /proc/thread-self/net, not
 * /proc/self/net or /proc/net, because the worker may have entered another network namespace
 * with setns on its own thread: thread-self shows the sockets of the namespace the calling
 * thread is in. Everything under /proc is read through the C library (ffi/libc.ts), because
 * Deno asks for --allow-all to read /proc with its own API; the permission that covers this
 * is `--allow-ffi`.
 *
 * Cost. Finding an unknown socket means reading the fd links of every process, which with
 * thousands of processes costs tens of thousands of readlink calls. {@linkcode SocketOwners}
 * remembers which process holds which socket, checks a remembered owner with one readlink, and
 * looks for unknown sockets incrementally: the processes most likely to hold them first, and
 * never more than a budget of fd-directory listings and readlinks per call, carrying on where
 * it stopped at the next call. It must never scan all processes on every call.
 *
 * Never throws for a missing process, a closed socket or another user's process it may not
 * look into: the owner is then simply unknown (null).
 *
 * @example
 * ```ts ignore
 * const owners = new SocketOwners();
 * const local = LocalAddresses.current();
 * const query = localSocketOf(entry, local); // null for forwarded traffic
 * if (query !== null) {
 *   const [owner] = owners.resolve([query]);
 *   console.log(owner === null ? "-" : ownerText(owner)); // "sshd[812]"
 * }
 * ```
 *
 * @module
 */

import { Errno, listDir, OsError, readLink, readSmallFile, readWholeFile } from "../../ffi/libc.ts";
import { IPPROTO } from "../conntrack/mod.ts";
import { addressClass, type LocalAddresses } from "../core/mod.ts";
import type { Owner } from "../core/mod.ts";

/**
 * One end of a connection on this host, as its socket sees it.
 *
 * For TCP, UDP and UDP-Lite the ports are the socket's ports. For ICMP and ICMPv6, `localPort`
 * is the echo identifier (what conntrack stores as the source port, and what a ping socket's
 * "port" is) and `remotePort` is 0. For other protocols without ports both are 0.
 */
export interface SocketQuery {
  /** IP protocol number: 6 TCP, 17 UDP, 136 UDP-Lite, 1 ICMP, 58 ICMPv6, or any other. */
  protocol: number;
  /** 4 or 6. */
  family: 4 | 6;
  /** The local address in network order (the first 4 bytes for IPv4). */
  local: Uint8Array;
  /** The local port. */
  localPort: number;
  /** The remote address in network order (the first 4 bytes for IPv4). */
  remote: Uint8Array;
  /** The remote port. */
  remotePort: number;
}

/** The two tuples of a conntrack entry, as {@linkcode localSocketOf} needs them. */
export interface ConntrackTuples {
  /** 4 or 6 (a record's 2 and 10). */
  family: 4 | 6;
  /** IP protocol number. */
  protocol: number;
  /** Original direction: source and destination address and port. For ICMP, the source
   * port is the echo identifier, as in a record. */
  origSrc: Uint8Array;
  origDst: Uint8Array;
  origSport: number;
  origDport: number;
  /** Reply direction: source and destination address and port. */
  replySrc: Uint8Array;
  replyDst: Uint8Array;
  replySport: number;
  replyDport: number;
}

/** Options of {@linkcode SocketOwners}. */
export interface SocketOwnersOptions {
  /**
   * At most this many fd-directory listings and fd readlinks per {@linkcode
   * SocketOwners.resolve} call while looking for unknown sockets (default 4096). Checking a
   * remembered owner costs one readlink per socket and is not counted.
   */
  budget?: number;
  /** Where procfs is mounted (default "/proc"). */
  procRoot?: string;
}

/** What the last {@linkcode SocketOwners.resolve} call did. */
export interface ResolveStats {
  /** Queries asked. */
  queries: number;
  /** Queries answered with an owner. */
  found: number;
  /** Queries whose socket was in none of the tables. */
  noSocket: number;
  /** Socket tables read. */
  tables: number;
  /** Readlinks that checked a remembered owner. */
  verifyReadlinks: number;
  /** Readlinks of fd links while looking for unknown sockets. */
  scanReadlinks: number;
  /** /proc/PID/fd directories listed. */
  listings: number;
  /** Processes whose fd links were all read. */
  processesScanned: number;
  /** Whether the budget ran out before every unknown socket was found. */
  budgetExhausted: boolean;
}

/** Counters of a {@linkcode SocketOwners}, for the status line and tests. */
export interface SocketOwnersStats {
  /** resolve() calls so far. */
  calls: number;
  /** Readlinks so far, of both kinds. */
  readlinks: number;
  /** Sockets whose owner is remembered. */
  sockets: number;
  /** Processes known (seen alive at the last listing of /proc). */
  processes: number;
  /** Known processes whose fd directory could not be read (another user's, without
   * CAP_SYS_PTRACE). */
  denied: number;
  /** Sockets still being looked for: a query answered null for one of them may get its
   * owner at a later call. */
  pending: number;
  /** Sockets not found in any process after looking in all of them. */
  missing: number;
  /** The last call. */
  last: ResolveStats;
}

type Table =
  | "tcp"
  | "tcp6"
  | "udp"
  | "udp6"
  | "udplite"
  | "udplite6"
  | "icmp"
  | "icmp6"
  | "raw"
  | "raw6";

const ESRCH = 3;
const DEFAULT_BUDGET = 4096;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, "0"));
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const ZERO4 = "00000000";
const ZERO6 = ZERO4.repeat(4);
/** ::ffff:0:0/96 as the kernel prints it: three native-order 32-bit words. */
const MAPPED = ZERO4 + ZERO4 + (LITTLE_ENDIAN ? "FFFF0000" : "0000FFFF");

/**
 * 4 address bytes as the kernel prints them in /proc/net tables: `%08X` of the 32-bit word
 * read in the CPU's byte order (so 127.0.0.1 is 0100007F on little-endian machines).
 */
function word(b: Uint8Array, o: number): string {
  return LITTLE_ENDIAN
    ? HEX[b[o + 3]!]! + HEX[b[o + 2]!]! + HEX[b[o + 1]!]! + HEX[b[o]!]!
    : HEX[b[o]!]! + HEX[b[o + 1]!]! + HEX[b[o + 2]!]! + HEX[b[o + 3]!]!;
}

function hex6(b: Uint8Array): string {
  return word(b, 0) + word(b, 4) + word(b, 8) + word(b, 12);
}

function port(p: number): string {
  return HEX[(p >> 8) & 0xff]! + HEX[p & 0xff]!;
}

/**
 * The table lines that could hold the socket of `q`, best first, as [table, "LOCAL:PORT
 * REMOTE:PORT"] in the kernel's own text. The order follows the kernel's socket lookup: a
 * connected socket before one bound to the address before one bound to the wildcard, and at
 * each step an IPv4 socket before an IPv6 dual-stack one (which sees IPv4 addresses mapped).
 * For TCP the bound sockets are listeners: a connection not yet accepted (SYN_RECV) or
 * already closed (TIME_WAIT) has no socket of its own, and belongs to the listener's process.
 */
function candidates(q: SocketQuery): [Table, string][] {
  const p = q.protocol;
  const v4 = q.family === 4;
  if (p === IPPROTO.TCP || p === IPPROTO.UDP || p === IPPROTO.UDPLITE) {
    const t: Table = p === IPPROTO.TCP ? "tcp" : p === IPPROTO.UDP ? "udp" : "udplite";
    const t6 = `${t}6` as Table;
    const lp = port(q.localPort), rp = port(q.remotePort);
    if (v4) {
      const l = word(q.local, 0), r = word(q.remote, 0);
      return [
        [t, `${l}:${lp} ${r}:${rp}`],
        [t6, `${MAPPED}${l}:${lp} ${MAPPED}${r}:${rp}`],
        [t, `${l}:${lp} ${ZERO4}:0000`],
        [t6, `${MAPPED}${l}:${lp} ${ZERO6}:0000`],
        [t, `${ZERO4}:${lp} ${ZERO4}:0000`],
        [t6, `${ZERO6}:${lp} ${ZERO6}:0000`],
      ];
    }
    const l = hex6(q.local), r = hex6(q.remote);
    return [
      [t6, `${l}:${lp} ${r}:${rp}`],
      [t6, `${l}:${lp} ${ZERO6}:0000`],
      [t6, `${ZERO6}:${lp} ${ZERO6}:0000`],
    ];
  }
  if (p === IPPROTO.SCTP || p === IPPROTO.DCCP) return []; // not in these tables
  const l = v4 ? word(q.local, 0) : hex6(q.local);
  const r = v4 ? word(q.remote, 0) : hex6(q.remote);
  const z = v4 ? ZERO4 : ZERO6;
  const raw: Table = v4 ? "raw" : "raw6";
  // A raw socket's "port" is its protocol number.
  const out: [Table, string][] = [
    [raw, `${l}:${port(p)} ${r}:0000`],
    [raw, `${l}:${port(p)} ${z}:0000`],
    [raw, `${z}:${port(p)} ${z}:0000`],
  ];
  if ((v4 && p === IPPROTO.ICMP) || (!v4 && p === IPPROTO.ICMPV6)) {
    // A ping socket (SOCK_DGRAM, IPPROTO_ICMP) is bound to its echo identifier.
    const ping: Table = v4 ? "icmp" : "icmp6";
    const id = port(q.localPort);
    out.unshift(
      [ping, `${l}:${id} ${r}:0000`],
      [ping, `${l}:${id} ${z}:0000`],
      [ping, `${z}:${id} ${z}:0000`],
    );
  }
  return out;
}

/** The `n`-th whitespace-separated field after `from` on the line ending at `eol`, as a number. */
function numberField(text: string, from: number, eol: number, n: number): number {
  let i = from;
  for (let field = 0; field < n; field++) {
    while (i < eol && text.charCodeAt(i) === 32) i++;
    if (field === n - 1) break;
    while (i < eol && text.charCodeAt(i) !== 32) i++;
  }
  let value = 0;
  for (; i < eol; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    value = value * 10 + c;
  }
  return value;
}

/**
 * Fills in the socket inode of every line of a /proc/net table whose "LOCAL REMOTE" text is a
 * key of `keys` (the first such line with an inode wins). Lines of sockets without an inode
 * (TIME_WAIT, connection requests, orphans) are passed over.
 */
function scanTable(text: string, keys: Map<string, number>): void {
  const n = text.length;
  let pos = text.indexOf("\n") + 1; // the header
  while (pos > 0 && pos < n) {
    let eol = text.indexOf("\n", pos);
    if (eol < 0) eol = n;
    const colon = text.indexOf(":", pos); // after the slot number
    if (colon >= 0 && colon < eol) {
      let start = colon + 1;
      while (text.charCodeAt(start) === 32) start++;
      const mid = text.indexOf(" ", start);
      const end = mid < 0 ? -1 : text.indexOf(" ", mid + 1);
      if (end > 0 && end < eol) {
        const key = text.slice(start, end);
        if (keys.get(key) === 0) {
          // st, tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, inode
          const inode = numberField(text, end, eol, 7);
          if (inode > 0) keys.set(key, inode);
        }
      }
    }
    pos = eol + 1;
  }
}

function isErrno(err: unknown, ...codes: number[]): err is OsError {
  return err instanceof OsError && codes.includes(err.errno);
}

/** What is known of one process. */
interface Proc {
  /** The call whose listing of its fd directory the last complete scan used; 0 = never. */
  scannedAt: number;
  /** The sockets it held then. */
  inodes: number[];
  /** Its fd directory could not be read at the last scan. */
  denied: boolean;
}

/** A process whose scan ran out of budget, continued at the next call. */
interface PartialScan {
  pid: number;
  listedAt: number;
  fds: string[];
  next: number;
  found: number[];
}

const decoder = new TextDecoder();

function emptyStats(): ResolveStats {
  return {
    queries: 0,
    found: 0,
    noSocket: 0,
    tables: 0,
    verifyReadlinks: 0,
    scanReadlinks: 0,
    listings: 0,
    processesScanned: 0,
    budgetExhausted: false,
  };
}

/**
 * Finds the processes that own local sockets, remembering what it learnt between calls.
 *
 * How it stays cheap:
 * - Each call reads each socket table it needs once, and keeps only the lines it asked for.
 * - A remembered owner (socket inode → pid and fd number) is checked with one readlink of
 *   /proc/PID/fd/FD; if the link no longer names the socket, the entry is dropped.
 * - An unknown socket is looked for in this order: the process whose listener or bound socket
 *   the connection came to (an accepting server), processes never seen before (newest first),
 *   then processes not scanned since the socket appeared: those that held sockets first, the
 *   least recently scanned first. Each scan reads all of a process's fd links and remembers
 *   every socket it finds, so that later connections of the same process cost nothing.
 * - A call stops scanning when its budget of listings and readlinks is spent; a process left
 *   half-read is continued at the next call.
 * - A socket not found after every process has been scanned since it appeared is "missing"
 *   (held by no process, or by one this process may not look into): it is answered null and
 *   only new processes are looked into for it.
 * - Processes that died are forgotten, with their sockets, when /proc is next listed.
 *
 * Requires `--allow-ffi`.
 */
export class SocketOwners {
  readonly #budget: number;
  readonly #root: string;
  #call = 0;
  #readlinks = 0;
  #spent = 0;
  #last: ResolveStats = emptyStats();
  readonly #procs = new Map<number, Proc>();
  /** Socket inode → pid and fd number of a process holding it. */
  readonly #ownerPid = new Map<number, number>();
  readonly #ownerFd = new Map<number, number>();
  /** Unknown socket inode → the call it was first asked for in. */
  #wantedSince = new Map<number, number>();
  /** Sockets looked for in every process in vain. */
  #missing = new Set<number>();
  #partial: PartialScan | null = null;

  /**
   * @param options The budget per call and where procfs is.
   */
  constructor(options: SocketOwnersOptions = {}) {
    this.#budget = options.budget ?? DEFAULT_BUDGET;
    this.#root = options.procRoot ?? "/proc";
    if (!(this.#budget >= 1)) {
      throw new Error(
        `Failed to create socket owners: expected a budget >= 1, got ${options.budget}`,
      );
    }
  }

  /**
   * The owners of the sockets of `queries`, in the same order: null where no socket matches
   * (forwarded traffic, a closed connection, SCTP and DCCP), where no process holds it, or
   * where none has been found to hold it yet. While {@linkcode SocketOwnersStats.pending} is
   * above zero, asking again at a later call (the next refresh) for the connections answered
   * null may find more owners; a socket already known to be missing costs no further scans.
   *
   * @param queries Local sockets, typically from {@linkcode localSocketOf}.
   * @returns One owner or null per query.
   * @throws {OsError} Only for unexpected failures, such as /proc not being mounted.
   */
  resolve(queries: readonly SocketQuery[]): (Owner | null)[] {
    this.#call++;
    this.#spent = 0;
    const last = this.#last = emptyStats();
    last.queries = queries.length;
    if (queries.length === 0) return [];

    // 1. One pass over each table needed, for the lines the queries could match.
    const lists = queries.map(candidates);
    const keys = new Map<Table, Map<string, number>>();
    for (const list of lists) {
      for (const [table, key] of list) {
        let map = keys.get(table);
        if (map === undefined) keys.set(table, map = new Map());
        map.set(key, 0);
      }
    }
    for (const [table, map] of keys) {
      const text = this.#readTable(table);
      last.tables++;
      if (text !== null) scanTable(text, map);
    }

    // 2. Each query's socket, and the owner of its listener as a hint.
    const inodes = new Array<number>(queries.length).fill(0);
    const hints: number[] = [];
    lists.forEach((list, i) => {
      let chosen = 0;
      for (const [table, key] of list) {
        const inode = keys.get(table)!.get(key)!;
        if (inode === 0) continue;
        if (chosen === 0) chosen = inode;
        else if (inode !== chosen) {
          const pid = this.#ownerPid.get(inode);
          if (pid !== undefined) hints.push(pid);
          break;
        }
      }
      inodes[i] = chosen;
      if (chosen === 0) last.noSocket++;
    });

    // 3. Check remembered owners; the rest are wanted.
    const owners = new Map<number, number>();
    const wanted: number[] = [];
    const missing: number[] = [];
    for (const inode of new Set(inodes)) {
      if (inode === 0) continue;
      const pid = this.#ownerPid.get(inode);
      if (pid !== undefined && this.#verify(pid, this.#ownerFd.get(inode)!, inode)) {
        owners.set(inode, pid);
      } else if (this.#missing.has(inode)) {
        missing.push(inode);
      } else {
        wanted.push(inode);
        if (!this.#wantedSince.has(inode)) this.#wantedSince.set(inode, this.#call);
      }
    }
    if (wanted.length > 0 || missing.length > 0) this.#scan(wanted, missing, hints, owners);

    // Forget the sockets nobody asks about any more.
    const asked = new Set(inodes);
    for (const inode of this.#wantedSince.keys()) {
      if (!asked.has(inode) || owners.has(inode)) this.#wantedSince.delete(inode);
    }
    for (const inode of this.#missing) {
      if (!asked.has(inode) || owners.has(inode)) this.#missing.delete(inode);
    }

    // 4. Names, read once per process per call (a process may exec and change its name).
    const names = new Map<number, string | null>();
    return inodes.map((inode) => {
      const pid = owners.get(inode);
      if (pid === undefined) return null;
      let name = names.get(pid);
      if (name === undefined) names.set(pid, name = this.#comm(pid));
      if (name === null) return null;
      last.found++;
      return { pid, name };
    });
  }

  /** Counters, for the status line and tests. */
  stats(): SocketOwnersStats {
    let denied = 0;
    for (const p of this.#procs.values()) if (p.denied) denied++;
    return {
      calls: this.#call,
      readlinks: this.#readlinks,
      sockets: this.#ownerPid.size,
      processes: this.#procs.size,
      denied,
      pending: this.#wantedSince.size,
      missing: this.#missing.size,
      last: { ...this.#last },
    };
  }

  /**
   * Whether anything is remembered about a process (it was alive at the last listing of
   * /proc). For diagnostics and tests.
   *
   * @param pid The process id.
   * @returns True while the process is known.
   */
  tracks(pid: number): boolean {
    return this.#procs.has(pid);
  }

  #readTable(table: Table): string | null {
    try {
      return decoder.decode(readWholeFile(`${this.#root}/thread-self/net/${table}`));
    } catch (err) {
      // No IPv6, or no UDP-Lite in this kernel.
      if (isErrno(err, Errno.ENOENT)) return null;
      throw err;
    }
  }

  #verify(pid: number, fd: number, inode: number): boolean {
    this.#readlinks++;
    this.#last.verifyReadlinks++;
    try {
      if (readLink(`${this.#root}/${pid}/fd/${fd}`) === `socket:[${inode}]`) return true;
    } catch (err) {
      if (!isErrno(err, Errno.ENOENT, ESRCH, Errno.EACCES, Errno.EPERM)) throw err;
    }
    this.#ownerPid.delete(inode);
    this.#ownerFd.delete(inode);
    return false;
  }

  #comm(pid: number): string | null {
    try {
      return readSmallFile(`${this.#root}/${pid}/comm`).replace(/\n$/, "");
    } catch (err) {
      if (isErrno(err, Errno.ENOENT, ESRCH)) {
        this.#forget(pid);
        return null;
      }
      throw err;
    }
  }

  /** The pids in /proc; forgets the processes that are gone. */
  #listPids(): number[] {
    const pids: number[] = [];
    for (const name of listDir(this.#root)) {
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) pids.push(Number(name));
    }
    const alive = new Set(pids);
    for (const pid of this.#procs.keys()) if (!alive.has(pid)) this.#forget(pid);
    if (this.#partial !== null && !alive.has(this.#partial.pid)) this.#partial = null;
    return pids;
  }

  #forget(pid: number): void {
    const proc = this.#procs.get(pid);
    const held = [
      ...(proc?.inodes ?? []),
      ...(this.#partial?.pid === pid ? this.#partial.found : []),
    ];
    for (const inode of held) {
      if (this.#ownerPid.get(inode) === pid) {
        this.#ownerPid.delete(inode);
        this.#ownerFd.delete(inode);
      }
    }
    this.#procs.delete(pid);
    if (this.#partial?.pid === pid) this.#partial = null;
  }

  /** Looks for the `wanted` and `missing` sockets in processes, in the order described above. */
  #scan(wanted: number[], missing: number[], hints: number[], owners: Map<number, number>): void {
    const pids = this.#listPids();
    const remaining = new Set([...wanted, ...missing]);
    let since = 0; // the latest call in which a wanted socket appeared
    for (const inode of wanted) since = Math.max(since, this.#wantedSince.get(inode)!);

    const order: number[] = [];
    const queued = new Set<number>();
    const push = (pid: number): void => {
      if (!queued.has(pid)) {
        queued.add(pid);
        order.push(pid);
      }
    };
    if (this.#partial !== null) push(this.#partial.pid);
    for (const pid of hints) if (this.#procs.has(pid)) push(pid);
    for (const pid of pids) {
      if (!this.#procs.has(pid)) this.#procs.set(pid, { scannedAt: 0, inodes: [], denied: false });
    }
    // Never scanned (new, or left over when the budget ran out) first, newest first; then, if
    // a socket appeared since their last scan, the processes that held sockets then, and the
    // others, each least recently scanned first.
    const rank = (p: Proc): number => p.scannedAt === 0 ? 0 : p.inodes.length > 0 ? 1 : 2;
    const rest = pids.filter((pid) => {
      const p = this.#procs.get(pid)!;
      return !queued.has(pid) && (p.scannedAt === 0 || p.scannedAt < since);
    });
    rest.sort((a, b) => {
      const pa = this.#procs.get(a)!, pb = this.#procs.get(b)!;
      return rank(pa) - rank(pb) || pa.scannedAt - pb.scannedAt || b - a;
    });
    for (const pid of rest) push(pid);

    for (const pid of order) {
      if (remaining.size === 0) break;
      if (!this.#scanPid(pid, remaining, owners)) {
        this.#last.budgetExhausted = true;
        break;
      }
    }

    // A wanted socket that every process has been scanned for since it appeared is missing.
    let oldest = Infinity;
    for (const p of this.#procs.values()) oldest = Math.min(oldest, p.scannedAt);
    for (const inode of wanted) {
      if (remaining.has(inode) && this.#wantedSince.get(inode)! <= oldest) {
        this.#missing.add(inode);
        this.#wantedSince.delete(inode);
      }
    }
  }

  /**
   * Reads the fd links of `pid` (continuing a partial scan of it), remembering each socket.
   * Returns false when the budget ran out first.
   */
  #scanPid(pid: number, remaining: Set<number>, owners: Map<number, number>): boolean {
    const last = this.#last;
    let scan = this.#partial?.pid === pid ? this.#partial : null;
    if (scan === null) {
      if (this.#spent >= this.#budget) return false;
      this.#spent++;
      last.listings++;
      let fds: string[];
      try {
        fds = listDir(`${this.#root}/${pid}/fd`);
      } catch (err) {
        if (isErrno(err, Errno.ENOENT, ESRCH)) {
          this.#forget(pid);
          return true;
        }
        if (isErrno(err, Errno.EACCES, Errno.EPERM)) {
          this.#finish(pid, this.#call, [], true);
          return true;
        }
        throw err;
      }
      scan = { pid, listedAt: this.#call, fds, next: 0, found: [] };
    }
    this.#partial = null;
    while (scan.next < scan.fds.length) {
      if (this.#spent >= this.#budget) {
        this.#partial = scan;
        return false;
      }
      const fd = scan.fds[scan.next++]!;
      this.#spent++;
      this.#readlinks++;
      last.scanReadlinks++;
      let target: string;
      try {
        target = readLink(`${this.#root}/${pid}/fd/${fd}`);
      } catch (err) {
        if (isErrno(err, Errno.ENOENT)) continue; // closed meanwhile
        if (isErrno(err, ESRCH)) {
          this.#forget(pid);
          return true;
        }
        if (isErrno(err, Errno.EACCES, Errno.EPERM)) {
          this.#finish(pid, scan.listedAt, scan.found, true);
          return true;
        }
        throw err;
      }
      if (!target.startsWith("socket:[")) continue;
      const inode = Number(target.slice(8, -1));
      scan.found.push(inode);
      if (!this.#ownerPid.has(inode)) {
        this.#ownerPid.set(inode, pid);
        this.#ownerFd.set(inode, Number(fd));
      }
      if (remaining.delete(inode)) {
        owners.set(inode, this.#ownerPid.get(inode)!);
        this.#wantedSince.delete(inode);
        this.#missing.delete(inode);
      }
    }
    this.#finish(pid, scan.listedAt, scan.found, false);
    last.processesScanned++;
    return true;
  }

  /** Records a completed scan of `pid`, dropping the sockets it no longer holds. */
  #finish(pid: number, listedAt: number, found: number[], denied: boolean): void {
    const proc = this.#procs.get(pid);
    if (proc === undefined) return;
    const now = new Set(found);
    for (const inode of proc.inodes) {
      if (!now.has(inode) && this.#ownerPid.get(inode) === pid) {
        this.#ownerPid.delete(inode);
        this.#ownerFd.delete(inode);
      }
    }
    proc.scannedAt = listedAt;
    proc.inodes = found;
    proc.denied = denied;
  }
}

function isLocal(family: 4 | 6, b: Uint8Array, local: LocalAddresses): boolean {
  return local.has(family, b) || addressClass(family, b) === "loopback";
}

/**
 * The local socket of a conntrack entry that ends on this host, or null for traffic this
 * host only forwards.
 *
 * - When the original source is a local address (loopback included), the connection left
 *   from here: the socket is (orig src:sport ↔ orig dst:dport). Between two local addresses
 *   that is the connecting side.
 * - Otherwise, for TCP, UDP and UDP-Lite, when the reply source is a local address the
 *   connection came in, possibly redirected by DNAT: the socket is (reply src:sport ↔ reply
 *   dst:dport). For UDP and UDP-Lite an incoming datagram to a multicast or broadcast address
 *   also counts: the socket bound to that port receives it.
 * - A destination NATed to another host (reply source not local) and a source NATed by this
 *   router (original source not local) are forwarded: null.
 * - ICMP and protocols without ports have a socket only on the sending side (a ping or raw
 *   socket; the kernel answers echo requests itself), so only outgoing entries get one. For
 *   ICMP the echo identifier travels as `localPort`.
 * - SCTP and DCCP: null (their sockets are not in the tables {@linkcode SocketOwners} reads).
 *
 * The query's addresses are the entry's arrays, not copies.
 *
 * @example
 * ```ts ignore
 * const q = localSocketOf({
 *   family: 4, protocol: 6,
 *   origSrc: remote, origDst: publicIp, origSport: 51000, origDport: 80,
 *   replySrc: publicIp, replyDst: remote, replySport: 80, replyDport: 51000,
 * }, local); // { local: publicIp, localPort: 80, remote, remotePort: 51000, … }
 * ```
 *
 * @param entry The entry's tuples.
 * @param local This host's addresses.
 * @returns The socket to look up, or null.
 */
export function localSocketOf(entry: ConntrackTuples, local: LocalAddresses): SocketQuery | null {
  const { family, protocol } = entry;
  if (protocol === IPPROTO.SCTP || protocol === IPPROTO.DCCP) return null;
  const ports = protocol === IPPROTO.TCP || protocol === IPPROTO.UDP ||
    protocol === IPPROTO.UDPLITE;
  const icmp = protocol === IPPROTO.ICMP || protocol === IPPROTO.ICMPV6;
  if (isLocal(family, entry.origSrc, local)) {
    return {
      protocol,
      family,
      local: entry.origSrc,
      localPort: ports || icmp ? entry.origSport : 0,
      remote: entry.origDst,
      remotePort: ports ? entry.origDport : 0,
    };
  }
  if (!ports) return null;
  let incoming = isLocal(family, entry.replySrc, local);
  if (!incoming && protocol !== IPPROTO.TCP) {
    const c = addressClass(family, entry.replySrc, local);
    incoming = c === "multicast" || c === "broadcast";
  }
  if (!incoming) return null;
  return {
    protocol,
    family,
    local: entry.replySrc,
    localPort: entry.replySport,
    remote: entry.replyDst,
    remotePort: entry.replyDport,
  };
}
