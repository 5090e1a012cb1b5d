/**
 * Thin, typed binding to the few C library calls the collector needs around netlink sockets:
 * receiving, polling, socket options, errno and network namespaces.
 *
 * Opened lazily on first use. Requires `--allow-ffi`. Nothing here knows about conntrack.
 *
 * @module
 */

/** Symbols used by conntop; each parameter names its C type. */
export const SYMBOLS = {
  recv: {
    // ssize_t recv(int sockfd, void *buf, size_t len, int flags)
    parameters: ["i32", "buffer", "usize", "i32"],
    result: "isize",
  },
  poll: {
    // int poll(struct pollfd *fds, nfds_t nfds, int timeout)
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
  },
  pollAsync: {
    // the same poll(), run off-thread so the caller's event loop keeps turning
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
} as const satisfies Deno.ForeignLibraryInterface;

export const MSG_DONTWAIT = 0x40;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_RCVBUFFORCE = 33;
export const SOL_NETLINK = 270;
export const NETLINK_NO_ENOBUFS = 5;
export const POLLIN = 0x1;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_CLOEXEC = 0x80000;
export const CLONE_NEWNET = 0x40000000;

/** errno values the collector tells apart. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EINVAL: 22,
  EPROTONOSUPPORT: 93,
  ENOBUFS: 105,
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
