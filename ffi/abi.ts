/**
 * The numbers of the C library's and the kernel's interface that ffi/libc.ts and ffi/dl.ts pass
 * or read: flags, errno values, and the offsets of the struct fields they read by hand; one table
 * per architecture conntop runs on, and {@linkcode ABI} for the one it runs on now.
 *
 * Most values are the same on x86_64 and aarch64 (both use the kernel's generic numbers and the
 * LP64 layouts); some are not (O_DIRECTORY and O_NOFOLLOW among the open flags). Every value of
 * both tables is checked against the C headers of its architecture, compiled by gcc and
 * aarch64-linux-gnu-gcc (test/ffi/abi_test.ts), so a value copied from one architecture to the
 * other cannot go unnoticed. Private to ffi/: nothing here calls anything.
 *
 * @module
 */

/** An architecture conntop runs on (Deno.build.arch's values on Linux). */
export type Arch = "x86_64" | "aarch64";

/** The interface numbers of one architecture: each name is its C name (offsets: STRUCT_FIELD). */
export interface Abi {
  // open(2), openat(2)
  O_RDONLY: number;
  O_WRONLY: number;
  O_CREAT: number;
  O_EXCL: number;
  O_APPEND: number;
  O_NONBLOCK: number;
  O_DIRECTORY: number;
  O_NOFOLLOW: number;
  O_CLOEXEC: number;
  AT_FDCWD: number;
  AT_SYMLINK_NOFOLLOW: number;
  AT_EMPTY_PATH: number;
  // statx(2): the mask and the fields read (struct statx).
  STATX_BASIC_STATS: number;
  STATX_STX_UID: number;
  STATX_STX_GID: number;
  STATX_STX_MODE: number;
  STATX_STX_SIZE: number;
  S_IFMT: number;
  S_IFDIR: number;
  S_IFREG: number;
  S_IFLNK: number;
  // flock(2)
  LOCK_EX: number;
  LOCK_NB: number;
  // Sockets and netlink.
  MSG_DONTWAIT: number;
  SOL_SOCKET: number;
  SO_RCVBUF: number;
  SO_RCVBUFFORCE: number;
  SOL_NETLINK: number;
  NETLINK_NO_ENOBUFS: number;
  POLLIN: number;
  POLLFD_EVENTS: number;
  POLLFD_SIZE: number;
  CLONE_NEWNET: number;
  AF_INET: number;
  AF_INET6: number;
  SOCKADDR_IN_ADDR: number;
  SOCKADDR_IN_SIZE: number;
  SOCKADDR_IN6_ADDR: number;
  SOCKADDR_IN6_SIZE: number;
  // getnameinfo(3)
  NI_NUMERICHOST: number;
  NI_NAMEREQD: number;
  NI_MAXHOST: number;
  EAI_NONAME: number;
  EAI_AGAIN: number;
  EAI_FAIL: number;
  EAI_FAMILY: number;
  EAI_MEMORY: number;
  EAI_SYSTEM: number;
  EAI_OVERFLOW: number;
  // errno
  EPERM: number;
  ENOENT: number;
  EINTR: number;
  ENXIO: number;
  EAGAIN: number;
  ENOMEM: number;
  EACCES: number;
  EEXIST: number;
  ENOTDIR: number;
  EINVAL: number;
  ELOOP: number;
  EPROTONOSUPPORT: number;
  ENOBUFS: number;
  // readdir(3): struct dirent's d_name.
  DIRENT_D_NAME: number;
  // getifaddrs(3): struct ifaddrs.
  IFADDRS_IFA_NEXT: number;
  IFADDRS_IFA_NAME: number;
  IFADDRS_IFA_FLAGS: number;
  IFADDRS_IFA_ADDR: number;
  IFADDRS_IFA_NETMASK: number;
  IFADDRS_IFA_BROADADDR: number;
  IFF_BROADCAST: number;
  // dlopen(3), dlinfo(3): struct link_map's l_name.
  RTLD_LAZY: number;
  RTLD_NOLOAD: number;
  RTLD_DI_LINKMAP: number;
  LINK_MAP_L_NAME: number;
}

/** What is the same on both architectures (the kernel's generic numbers, LP64 layouts). */
const COMMON = {
  O_RDONLY: 0,
  O_WRONLY: 0o1,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_CLOEXEC: 0o2000000,
  AT_FDCWD: -100,
  AT_SYMLINK_NOFOLLOW: 0x100,
  AT_EMPTY_PATH: 0x1000,
  STATX_BASIC_STATS: 0x7ff,
  STATX_STX_UID: 20,
  STATX_STX_GID: 24,
  STATX_STX_MODE: 28,
  STATX_STX_SIZE: 40,
  S_IFMT: 0o170000,
  S_IFDIR: 0o040000,
  S_IFREG: 0o100000,
  S_IFLNK: 0o120000,
  LOCK_EX: 2,
  LOCK_NB: 4,
  MSG_DONTWAIT: 0x40,
  SOL_SOCKET: 1,
  SO_RCVBUF: 8,
  SO_RCVBUFFORCE: 33,
  SOL_NETLINK: 270,
  NETLINK_NO_ENOBUFS: 5,
  POLLIN: 0x1,
  POLLFD_EVENTS: 4,
  POLLFD_SIZE: 8,
  CLONE_NEWNET: 0x40000000,
  AF_INET: 2,
  AF_INET6: 10,
  SOCKADDR_IN_ADDR: 4,
  SOCKADDR_IN_SIZE: 16,
  SOCKADDR_IN6_ADDR: 8,
  SOCKADDR_IN6_SIZE: 28,
  NI_NUMERICHOST: 1,
  NI_NAMEREQD: 8,
  NI_MAXHOST: 1025,
  EAI_NONAME: -2,
  EAI_AGAIN: -3,
  EAI_FAIL: -4,
  EAI_FAMILY: -6,
  EAI_MEMORY: -10,
  EAI_SYSTEM: -11,
  EAI_OVERFLOW: -12,
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  ENXIO: 6,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EEXIST: 17,
  ENOTDIR: 20,
  EINVAL: 22,
  ELOOP: 40,
  EPROTONOSUPPORT: 93,
  ENOBUFS: 105,
  DIRENT_D_NAME: 19,
  IFADDRS_IFA_NEXT: 0,
  IFADDRS_IFA_NAME: 8,
  IFADDRS_IFA_FLAGS: 16,
  IFADDRS_IFA_ADDR: 24,
  IFADDRS_IFA_NETMASK: 32,
  IFADDRS_IFA_BROADADDR: 40,
  IFF_BROADCAST: 0x2,
  RTLD_LAZY: 0x1,
  RTLD_NOLOAD: 0x4,
  RTLD_DI_LINKMAP: 2,
  LINK_MAP_L_NAME: 8,
} as const;

/** Each architecture's numbers. */
export const ABIS: Readonly<Record<Arch, Abi>> = {
  // x86_64 keeps the open flags of i386 (asm/fcntl.h's generic values).
  "x86_64": { ...COMMON, O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000 },
  // arm64 swaps them with O_DIRECT and O_LARGEFILE (arch/arm64/include/uapi/asm/fcntl.h).
  aarch64: { ...COMMON, O_DIRECTORY: 0o40000, O_NOFOLLOW: 0o100000 },
};

/** The numbers of the architecture this process runs on. */
export const ABI: Abi = ABIS[Deno.build.arch];
