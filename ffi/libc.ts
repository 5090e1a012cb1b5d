/**
 * Thin, typed binding to the few C library calls the collector needs around netlink sockets:
 * receiving, polling, socket options, errno and network namespaces; and the `*at` file calls
 * the settings store needs to work inside a directory it opened, without following links.
 *
 * Opened lazily on first use. Requires `--allow-ffi`. Nothing here knows about conntrack.
 *
 * @module
 */

import { ABI } from "./abi.ts";

/**
 * The symbols conntop calls, and only those (test/ffi/symbols_test.ts checks each is called from
 * src/); each parameter names its C type.
 */
export const SYMBOLS = {
  recv: {
    // ssize_t recv(int sockfd, void *buf, size_t len, int flags)
    parameters: ["i32", "buffer", "usize", "i32"],
    result: "isize",
  },
  pollAsync: {
    // int poll(struct pollfd *fds, nfds_t nfds, int timeout), run off-thread so that the
    // caller's event loop keeps turning
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  setsockopt: {
    // int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  __errno_location: {
    // int *__errno_location(void)
    parameters: [],
    result: "pointer",
  },
  strerror: {
    // char *strerror(int errnum)
    parameters: ["i32"],
    result: "pointer",
  },
  open: {
    // int open(const char *pathname, int flags)
    parameters: ["buffer", "i32"],
    result: "i32",
  },
  close: {
    // int close(int fd)
    parameters: ["i32"],
    result: "i32",
  },
  read: {
    // ssize_t read(int fd, void *buf, size_t count)
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
  },
  write: {
    // ssize_t write(int fd, const void *buf, size_t count)
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
  },
  setns: {
    // int setns(int fd, int nstype)
    parameters: ["i32", "i32"],
    result: "i32",
  },
  getnameinfo: {
    // int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
    //                 char *serv, socklen_t servlen, int flags)
    // Run off-thread: a reverse lookup may wait seconds on DNS, which must never block a loop.
    parameters: ["buffer", "u32", "buffer", "u32", "pointer", "u32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  gai_strerror: {
    // const char *gai_strerror(int errcode)
    parameters: ["i32"],
    result: "pointer",
  },
  opendir: {
    // DIR *opendir(const char *name)
    parameters: ["buffer"],
    result: "pointer",
  },
  readdir: {
    // struct dirent *readdir(DIR *dirp)
    parameters: ["pointer"],
    result: "pointer",
  },
  closedir: {
    // int closedir(DIR *dirp)
    parameters: ["pointer"],
    result: "i32",
  },
  readlink: {
    // ssize_t readlink(const char *pathname, char *buf, size_t bufsiz)
    parameters: ["buffer", "buffer", "usize"],
    result: "isize",
  },
  mallopt: {
    // int mallopt(int param, int value)
    parameters: ["i32", "i32"],
    result: "i32",
  },
  getifaddrs: {
    // int getifaddrs(struct ifaddrs **ifap)
    parameters: ["buffer"],
    result: "i32",
  },
  freeifaddrs: {
    // void freeifaddrs(struct ifaddrs *ifa)
    parameters: ["pointer"],
    result: "void",
  },
  openat: {
    // int openat(int dirfd, const char *pathname, int flags, mode_t mode)
    parameters: ["i32", "buffer", "i32", "u32"],
    result: "i32",
  },
  mkdirat: {
    // int mkdirat(int dirfd, const char *pathname, mode_t mode)
    parameters: ["i32", "buffer", "u32"],
    result: "i32",
  },
  renameat: {
    // int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
    parameters: ["i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  unlinkat: {
    // int unlinkat(int dirfd, const char *pathname, int flags)
    parameters: ["i32", "buffer", "i32"],
    result: "i32",
  },
  statx: {
    // int statx(int dirfd, const char *pathname, int flags, unsigned int mask,
    //           struct statx *statxbuf)
    parameters: ["i32", "buffer", "i32", "u32", "buffer"],
    result: "i32",
  },
  fchown: {
    // int fchown(int fd, uid_t owner, gid_t group)
    parameters: ["i32", "u32", "u32"],
    result: "i32",
  },
  fchmod: {
    // int fchmod(int fd, mode_t mode)
    parameters: ["i32", "u32"],
    result: "i32",
  },
  fsync: {
    // int fsync(int fd)
    parameters: ["i32"],
    result: "i32",
  },
  flock: {
    // int flock(int fd, int operation)
    parameters: ["i32", "i32"],
    result: "i32",
  },
  geteuid: {
    // uid_t geteuid(void)
    parameters: [],
    result: "u32",
  },
  getegid: {
    // gid_t getegid(void)
    parameters: [],
    result: "u32",
  },
  mmap: {
    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
} as const satisfies Deno.ForeignLibraryInterface;

// The interface's numbers come from ffi/abi.ts, per architecture and checked against the headers.
export const MSG_DONTWAIT = ABI.MSG_DONTWAIT;
export const SOL_SOCKET = ABI.SOL_SOCKET;
export const SO_RCVBUF = ABI.SO_RCVBUF;
export const SO_RCVBUFFORCE = ABI.SO_RCVBUFFORCE;
export const SOL_NETLINK = ABI.SOL_NETLINK;
export const NETLINK_NO_ENOBUFS = ABI.NETLINK_NO_ENOBUFS;
export const POLLIN = ABI.POLLIN;
export const O_RDONLY = ABI.O_RDONLY;
export const O_WRONLY = ABI.O_WRONLY;
export const O_CLOEXEC = ABI.O_CLOEXEC;
export const CLONE_NEWNET = ABI.CLONE_NEWNET;
// Literal types (families are told apart by type); test/ffi/abi_test.ts checks them against ABI.
export const AF_INET = 2;
export const AF_INET6 = 10;
/** mallopt parameters (glibc's malloc.h; the same on every architecture). */
export const M_TRIM_THRESHOLD = -1;
export const M_MMAP_THRESHOLD = -3;
/** getnameinfo flags. */
export const NI_NUMERICHOST = ABI.NI_NUMERICHOST;
export const NI_NAMEREQD = ABI.NI_NAMEREQD;
/** getnameinfo errors (negative, glibc values). */
export const EaiError = {
  EAI_NONAME: ABI.EAI_NONAME,
  EAI_AGAIN: ABI.EAI_AGAIN,
  EAI_FAIL: ABI.EAI_FAIL,
  EAI_FAMILY: ABI.EAI_FAMILY,
  EAI_MEMORY: ABI.EAI_MEMORY,
  EAI_SYSTEM: ABI.EAI_SYSTEM,
  EAI_OVERFLOW: ABI.EAI_OVERFLOW,
} as const;

/** errno values the collector tells apart. */
export const Errno = {
  EPERM: ABI.EPERM,
  ENOENT: ABI.ENOENT,
  ENXIO: ABI.ENXIO,
  EINTR: ABI.EINTR,
  EAGAIN: ABI.EAGAIN,
  ENOMEM: ABI.ENOMEM,
  EACCES: ABI.EACCES,
  EINVAL: ABI.EINVAL,
  EPROTONOSUPPORT: ABI.EPROTONOSUPPORT,
  ENOBUFS: ABI.ENOBUFS,
  EEXIST: ABI.EEXIST,
  ENOTDIR: ABI.ENOTDIR,
  ELOOP: ABI.ELOOP,
} as const;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** Opens the C library on first call and returns its symbols. Requires `--allow-ffi`. */
export function libc(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  lib ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return lib.symbols;
}

/** The calling thread's errno, read right after the failed call. */
export function errno(): number {
  const ptr = libc().__errno_location();
  return ptr === null ? 0 : new Deno.UnsafePointerView(ptr).getInt32();
}

/** The C library's message for an errno value. */
export function strerror(code: number): string {
  const ptr = libc().strerror(code);
  return ptr === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(ptr);
}

/** A failed C call, with its errno. */
export class OsError extends Error {
  /** The errno value. */
  readonly errno: number;
  constructor(action: string, code: number) {
    super(`Failed to ${action}: ${strerror(code)} (errno ${code})`);
    this.name = "OsError";
    this.errno = code;
  }
}

/** Throws {@linkcode OsError} with the current errno when `rc` is negative; returns `rc`. */
export function unwrap(rc: number | bigint, action: string): number {
  const n = Number(rc);
  if (n < 0) throw new OsError(action, errno());
  return n;
}

/**
 * Moves the calling thread into the network namespace at `path` (e.g. /run/netns/NAME).
 * Only this OS thread changes namespace: a Worker calls it before opening its sockets.
 */
export function enterNetns(path: string): void {
  const c = libc();
  const fd = unwrap(c.open(cString(path), O_RDONLY | O_CLOEXEC), `open '${path}'`);
  try {
    unwrap(c.setns(fd, CLONE_NEWNET), `enter network namespace '${path}'`);
  } finally {
    c.close(fd);
  }
}

/** A NUL-terminated copy of `s` for C. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * Reads a small file such as /proc/sys/net/netfilter/nf_conntrack_acct with plain open/read.
 *
 * Why not Deno.readTextFileSync: Deno asks for --allow-all to touch /proc/sys and
 * /proc/thread-self, which would make conntop's minimal permissions "all". Through the C
 * library, the permission that covers it is --allow-ffi, which the collector has anyway.
 * Throws {@linkcode OsError}.
 */
export function readSmallFile(path: string): string {
  const c = libc();
  const fd = unwrap(c.open(cString(path), O_RDONLY | O_CLOEXEC), `open '${path}'`);
  try {
    const buf = new Uint8Array(8192);
    let len = 0;
    for (;;) {
      const n = unwrap(c.read(fd, buf.subarray(len), BigInt(buf.length - len)), `read '${path}'`);
      if (n === 0 || len + n >= buf.length) {
        len += n;
        break;
      }
      len += n;
    }
    return new TextDecoder().decode(buf.subarray(0, len));
  } finally {
    c.close(fd);
  }
}

/** Writes `text` to a file such as a sysctl under /proc/sys (see {@linkcode readSmallFile}). */
export function writeSmallFile(path: string, text: string): void {
  const c = libc();
  const fd = unwrap(c.open(cString(path), O_WRONLY | O_CLOEXEC), `open '${path}' for writing`);
  try {
    const bytes = new TextEncoder().encode(text);
    unwrap(c.write(fd, bytes, BigInt(bytes.length)), `write '${path}'`);
  } finally {
    c.close(fd);
  }
}

/**
 * Reads a whole file of any size (such as /proc/net/tcp) with plain open/read; the same
 * reasoning as {@linkcode readSmallFile}. Throws {@linkcode OsError}.
 */
export function readWholeFile(path: string): Uint8Array {
  const c = libc();
  const fd = unwrap(c.open(cString(path), O_RDONLY | O_CLOEXEC), `open '${path}'`);
  try {
    let buf = new Uint8Array(65536);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const n = unwrap(c.read(fd, buf.subarray(len), BigInt(buf.length - len)), `read '${path}'`);
      if (n === 0) break;
      len += n;
    }
    return buf.subarray(0, len);
  } finally {
    c.close(fd);
  }
}

// struct dirent (glibc, 64-bit): d_ino u64, d_off i64, d_reclen u16, d_type u8, then d_name.
const DIRENT_NAME = ABI.DIRENT_D_NAME;

/**
 * The names in a directory such as /proc or /proc/PID/fd, without "." and "..". Through the C
 * library for the reason given at {@linkcode readSmallFile}. Throws {@linkcode OsError}.
 */
export function listDir(path: string): string[] {
  const c = libc();
  const dir = c.opendir(cString(path));
  if (dir === null) throw new OsError(`open directory '${path}'`, errno());
  try {
    const names: string[] = [];
    for (;;) {
      const ent = c.readdir(dir);
      if (ent === null) break;
      const name = new Deno.UnsafePointerView(ent).getCString(DIRENT_NAME);
      if (name !== "." && name !== "..") names.push(name);
    }
    return names;
  } finally {
    c.closedir(dir);
  }
}

const LINK_BUF = new Uint8Array(4096);

/** The target of a symbolic link such as /proc/PID/fd/N. Throws {@linkcode OsError}. */
export function readLink(path: string): string {
  const n = unwrap(
    libc().readlink(cString(path), LINK_BUF, BigInt(LINK_BUF.length)),
    `read link '${path}'`,
  );
  return new TextDecoder().decode(LINK_BUF.subarray(0, n));
}

/** One address of a local interface, from getifaddrs(3). */
export interface InterfaceAddress {
  /** Interface name. */
  name: string;
  family: typeof AF_INET | typeof AF_INET6;
  /** The address's bytes (4 or 16). */
  address: Uint8Array;
  /** Prefix length from the netmask. */
  prefix: number;
  /** IPv4 broadcast address, when the interface has one. */
  broadcast: Uint8Array | null;
}

// struct ifaddrs (64-bit): ifa_next 0, ifa_name 8, ifa_flags 16, ifa_addr 24, ifa_netmask 32,
// ifa_broadaddr 40 (union with ifa_dstaddr), ifa_data 48.
const IFF_BROADCAST = ABI.IFF_BROADCAST;

function sockaddrBytes(p: Deno.PointerValue): [number, Uint8Array] | null {
  if (p === null) return null;
  const v = new Deno.UnsafePointerView(p);
  const fam = v.getUint16(0);
  if (fam === AF_INET) {
    return [fam, new Uint8Array(v.getArrayBuffer(4, ABI.SOCKADDR_IN_ADDR).slice(0))];
  }
  if (fam === AF_INET6) {
    return [fam, new Uint8Array(v.getArrayBuffer(16, ABI.SOCKADDR_IN6_ADDR).slice(0))];
  }
  return null;
}

function prefixOf(mask: Uint8Array | undefined): number {
  let n = 0;
  for (const b of mask ?? []) for (let bit = 7; bit >= 0; bit--) if (b & (1 << bit)) n++;
  return n;
}

/**
 * The IPv4 and IPv6 addresses of the interfaces in the calling thread's network namespace
 * (getifaddrs asks the kernel over netlink, so a worker that entered a namespace sees that
 * namespace's interfaces). Throws {@linkcode OsError}.
 */
export function interfaceAddresses(): InterfaceAddress[] {
  const c = libc();
  const head = new BigUint64Array(1);
  unwrap(c.getifaddrs(new Uint8Array(head.buffer)), "list interface addresses");
  const first = Deno.UnsafePointer.create(head[0]!);
  const out: InterfaceAddress[] = [];
  try {
    for (let p = first; p !== null;) {
      const v = new Deno.UnsafePointerView(p);
      const addr = sockaddrBytes(v.getPointer(ABI.IFADDRS_IFA_ADDR));
      if (addr !== null) {
        const namePtr = v.getPointer(ABI.IFADDRS_IFA_NAME);
        const flags = v.getUint32(ABI.IFADDRS_IFA_FLAGS);
        const mask = sockaddrBytes(v.getPointer(ABI.IFADDRS_IFA_NETMASK));
        let brd = addr[0] === AF_INET && flags & IFF_BROADCAST
          ? sockaddrBytes(v.getPointer(ABI.IFADDRS_IFA_BROADADDR))
          : null;
        // Without a configured broadcast (IFA_BROADCAST), glibc reports the address itself.
        if (brd !== null && brd[1].every((b, k) => b === addr[1][k])) brd = null;
        out.push({
          name: namePtr === null ? "" : Deno.UnsafePointerView.getCString(namePtr),
          family: addr[0] as typeof AF_INET | typeof AF_INET6,
          address: addr[1],
          prefix: prefixOf(mask?.[1]),
          broadcast: brd === null ? null : brd[1],
        });
      }
      p = v.getPointer(ABI.IFADDRS_IFA_NEXT);
    }
  } finally {
    if (first !== null) c.freeifaddrs(first);
  }
  return out;
}

/** The message for a getnameinfo error code. */
export function gaiStrerror(code: number): string {
  const ptr = libc().gai_strerror(code);
  return ptr === null ? `error ${code}` : Deno.UnsafePointerView.getCString(ptr);
}

/**
 * Reverse lookup of an address with the system's resolver (getnameinfo with NI_NAMEREQD, so
 * /etc/hosts and nsswitch apply), run off the calling thread. Resolves to the name, or to the
 * negative EAI_* code when there is none or the lookup failed.
 */
export async function lookupName(
  family: typeof AF_INET | typeof AF_INET6,
  address: Uint8Array,
): Promise<string | number> {
  const v4 = family === AF_INET;
  const sa = new Uint8Array(v4 ? ABI.SOCKADDR_IN_SIZE : ABI.SOCKADDR_IN6_SIZE);
  new DataView(sa.buffer).setUint16(0, family, true);
  // An IPv4 address may come in a 16-byte buffer (as parseAddress gives it): take its first 4.
  sa.set(address.subarray(0, v4 ? 4 : 16), v4 ? ABI.SOCKADDR_IN_ADDR : ABI.SOCKADDR_IN6_ADDR);
  const host = new Uint8Array(ABI.NI_MAXHOST);
  const rc = await libc().getnameinfo(sa, sa.length, host, host.length, null, 0, NI_NAMEREQD);
  if (rc !== 0) return rc;
  const end = host.indexOf(0);
  return new TextDecoder().decode(host.subarray(0, end < 0 ? host.length : end));
}

// --- files relative to an open directory (openat and friends) ---

/** open(2) flags for the `*at` calls; O_DIRECTORY and O_NOFOLLOW differ on aarch64. */
export const O_CREAT = ABI.O_CREAT;
export const O_EXCL = ABI.O_EXCL;
export const O_APPEND = ABI.O_APPEND;
export const O_NONBLOCK = ABI.O_NONBLOCK;
export const O_DIRECTORY = ABI.O_DIRECTORY;
export const O_NOFOLLOW = ABI.O_NOFOLLOW;
/** The current directory, for a path that is not relative to an open one. */
export const AT_FDCWD = ABI.AT_FDCWD;
const AT_SYMLINK_NOFOLLOW = ABI.AT_SYMLINK_NOFOLLOW;
const AT_EMPTY_PATH = ABI.AT_EMPTY_PATH;
const STATX_BASIC_STATS = ABI.STATX_BASIC_STATS;

/** What statx(2) says about a file (struct statx has one layout on every architecture). */
export interface FileStatus {
  /** st_mode: type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
}

/** The file-type bits of {@linkcode FileStatus.mode}. */
export const S_IFMT = ABI.S_IFMT;
export const S_IFDIR = ABI.S_IFDIR;
export const S_IFREG = ABI.S_IFREG;
export const S_IFLNK = ABI.S_IFLNK;

/**
 * Opens `name` relative to the directory `dirfd` (or {@linkcode AT_FDCWD}); returns the fd.
 * Throws {@linkcode OsError} (ELOOP when O_NOFOLLOW meets a link, EEXIST for O_EXCL).
 */
export function openAt(dirfd: number, name: string, flags: number, mode = 0): number {
  return unwrap(libc().openat(dirfd, cString(name), flags | O_CLOEXEC, mode), `open '${name}'`);
}

/**
 * The status of `name` in `dirfd` without following a link, or of `dirfd` itself when `name`
 * is omitted. Throws {@linkcode OsError}.
 */
export function statAt(dirfd: number, name?: string): FileStatus {
  const buf = new Uint8Array(256);
  const flags = name === undefined ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW;
  unwrap(
    libc().statx(dirfd, cString(name ?? ""), flags, STATX_BASIC_STATS, buf),
    `get the status of '${name ?? dirfd}'`,
  );
  const v = new DataView(buf.buffer);
  // struct statx: stx_uid, stx_gid (u32), stx_mode (u16), stx_size (u64); little-endian.
  return {
    uid: v.getUint32(ABI.STATX_STX_UID, true),
    gid: v.getUint32(ABI.STATX_STX_GID, true),
    mode: v.getUint16(ABI.STATX_STX_MODE, true),
    size: Number(v.getBigUint64(ABI.STATX_STX_SIZE, true)),
  };
}

/** Creates the directory `name` in `dirfd`. Throws {@linkcode OsError}. */
export function mkdirAt(dirfd: number, name: string, mode: number): void {
  unwrap(libc().mkdirat(dirfd, cString(name), mode), `create directory '${name}'`);
}

/** Renames `from` to `to`, both in `dirfd`, atomically. Throws {@linkcode OsError}. */
export function renameAt(dirfd: number, from: string, to: string): void {
  unwrap(
    libc().renameat(dirfd, cString(from), dirfd, cString(to)),
    `rename '${from}' to '${to}'`,
  );
}

/** Removes the file `name` in `dirfd` (a link itself, never its target). */
export function unlinkAt(dirfd: number, name: string): void {
  unwrap(libc().unlinkat(dirfd, cString(name), 0), `remove '${name}'`);
}

/** Gives the open file `fd` an owner. Throws {@linkcode OsError}. */
export function fchown(fd: number, uid: number, gid: number): void {
  unwrap(libc().fchown(fd, uid, gid), "change the owner");
}

/** Sets the open file's permission bits (the umask does not apply). */
export function fchmod(fd: number, mode: number): void {
  unwrap(libc().fchmod(fd, mode), "change the mode");
}

/** Flushes the open file (or directory) to disk. Throws {@linkcode OsError}. */
export function fsync(fd: number): void {
  unwrap(libc().fsync(fd), "sync to disk");
}

const LOCK_EX = ABI.LOCK_EX;
const LOCK_NB = ABI.LOCK_NB;

/**
 * Takes an exclusive flock(2) on the open file `fd` without waiting; false when another open
 * file holds one. Released when `fd` is closed. Throws {@linkcode OsError} for other errors.
 */
export function tryLockExclusive(fd: number): boolean {
  if (libc().flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const code = errno();
  if (code === Errno.EAGAIN) return false;
  throw new OsError("lock", code);
}

/** Closes a file descriptor; errors are ignored (there is nothing left to do about them). */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/** Writes all of `bytes` to `fd`. Throws {@linkcode OsError}. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    const rest = bytes.subarray(off);
    off += unwrap(libc().write(fd, rest, BigInt(rest.length)), "write");
  }
}

/** Reads from `fd` until end of file or `max` bytes. Throws {@linkcode OsError}. */
export function readUpTo(fd: number, max: number): Uint8Array {
  const buf = new Uint8Array(max);
  let len = 0;
  while (len < max) {
    const n = unwrap(libc().read(fd, buf.subarray(len), BigInt(max - len)), "read");
    if (n === 0) break;
    len += n;
  }
  return buf.subarray(0, len);
}

/** The effective user and group ids, without the `--allow-sys` Deno.uid() needs. */
export function effectiveIds(): { uid: number; gid: number } {
  return { uid: libc().geteuid(), gid: libc().getegid() };
}

// --- mapping a file read-only ---

/** mmap(2) protection and flags (the same on x86_64 and aarch64). */
const PROT_READ = 1;
const MAP_PRIVATE = 2;
/** (void *) -1 */
const MAP_FAILED = 0xffffffffffffffffn;

/**
 * Maps the regular file at `path` read-only and views it as an ArrayBuffer: its pages come from
 * the page cache as they are touched (and may be dropped again under memory pressure) instead
 * of being copied into the JS heap. The mapping lives as long as the process: unmapping memory
 * that an ArrayBuffer still views would crash it, so it is meant for data read until the end
 * (GeoIP). Throws {@linkcode OsError}, e.g. ENOENT for a file that exists only in a
 * `deno compile` binary's embedded file system.
 */
export function mapFile(path: string): ArrayBuffer {
  const c = libc();
  const fd = openAt(AT_FDCWD, path, O_RDONLY);
  try {
    const { mode, size } = statAt(fd);
    if ((mode & S_IFMT) !== S_IFREG) throw new OsError(`map '${path}'`, Errno.EINVAL);
    if (size === 0) return new ArrayBuffer(0);
    const p = c.mmap(null, BigInt(size), PROT_READ, MAP_PRIVATE, fd, 0n);
    if (p === null || Deno.UnsafePointer.value(p) === MAP_FAILED) {
      throw new OsError(`map '${path}'`, errno());
    }
    return Deno.UnsafePointerView.getArrayBuffer(p, size);
  } finally {
    c.close(fd);
  }
}
