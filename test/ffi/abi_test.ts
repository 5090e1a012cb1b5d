/**
 * ffi/abi.ts's tables against the C headers of each architecture: every value of the x86_64
 * table is what gcc computes for x86_64 from this machine's headers, and every value of the
 * aarch64 table what aarch64-linux-gnu-gcc computes from Debian's arm64 headers
 * (libc6-dev-arm64-cross). The compilers only compile (`-S`): the values are read from the
 * assembly they emit for one array of constants, so nothing of the other architecture runs.
 *
 * Requires gcc and gcc-aarch64-linux-gnu (scripts/setup.sh --dev installs them).
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { ABI, type Abi, ABIS, type Arch } from "../../ffi/abi.ts";
import { AF_INET, AF_INET6, O_DIRECTORY, O_NOFOLLOW } from "../../ffi/libc.ts";

/** The C expression of each field whose name is not itself the C macro. */
const EXPRESSIONS: Partial<Record<keyof Abi, string>> = {
  STATX_STX_UID: "offsetof(struct statx, stx_uid)",
  STATX_STX_GID: "offsetof(struct statx, stx_gid)",
  STATX_STX_MODE: "offsetof(struct statx, stx_mode)",
  STATX_STX_SIZE: "offsetof(struct statx, stx_size)",
  POLLFD_EVENTS: "offsetof(struct pollfd, events)",
  POLLFD_SIZE: "sizeof(struct pollfd)",
  SOCKADDR_IN_ADDR: "offsetof(struct sockaddr_in, sin_addr)",
  SOCKADDR_IN_SIZE: "sizeof(struct sockaddr_in)",
  SOCKADDR_IN6_ADDR: "offsetof(struct sockaddr_in6, sin6_addr)",
  SOCKADDR_IN6_SIZE: "sizeof(struct sockaddr_in6)",
  DIRENT_D_NAME: "offsetof(struct dirent, d_name)",
  IFADDRS_IFA_NEXT: "offsetof(struct ifaddrs, ifa_next)",
  IFADDRS_IFA_NAME: "offsetof(struct ifaddrs, ifa_name)",
  IFADDRS_IFA_FLAGS: "offsetof(struct ifaddrs, ifa_flags)",
  IFADDRS_IFA_ADDR: "offsetof(struct ifaddrs, ifa_addr)",
  IFADDRS_IFA_NETMASK: "offsetof(struct ifaddrs, ifa_netmask)",
  IFADDRS_IFA_BROADADDR: "offsetof(struct ifaddrs, ifa_broadaddr)",
  LINK_MAP_L_NAME: "offsetof(struct link_map, l_name)",
};

const HEADERS = [
  "stddef.h",
  "fcntl.h",
  "sys/stat.h",
  "sys/file.h",
  "sys/socket.h",
  "linux/netlink.h",
  "poll.h",
  "sched.h",
  "netinet/in.h",
  "netdb.h",
  "errno.h",
  "dirent.h",
  "ifaddrs.h",
  "net/if.h",
  "dlfcn.h",
  "link.h",
];

/** The compiler whose output is code for `arch`, on this machine. */
function compilerFor(arch: Arch): string {
  if (arch === Deno.build.arch) return "gcc";
  return arch === "aarch64" ? "aarch64-linux-gnu-gcc" : "x86_64-linux-gnu-gcc";
}

/** The values of `names` as the compiler for `arch` computes them from its headers. */
async function headerValues(arch: Arch, names: (keyof Abi)[]): Promise<Map<string, bigint>> {
  const source = [
    "#define _GNU_SOURCE",
    ...HEADERS.map((h) => `#include <${h}>`),
    "long long conntop_abi[] = {",
    ...names.map((n) => `  (long long)(${EXPRESSIONS[n] ?? n}),`),
    "};",
    "",
  ].join("\n");
  const out = await new Deno.Command(compilerFor(arch), {
    args: ["-x", "c", "-S", "-O0", "-o", "-", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode(source));
  await w.close();
  const r = await out.output();
  const stderr = new TextDecoder().decode(r.stderr);
  assertEquals(r.code, 0, `${compilerFor(arch)} failed:\n${stderr}`);
  const asm = new TextDecoder().decode(r.stdout);
  // The array's data: ".quad N" (x86_64) or ".xword N" (aarch64), and ".zero BYTES" for runs
  // of zeros.
  const start = asm.indexOf("conntop_abi:");
  assert(start >= 0, "no conntop_abi in the assembly");
  const values: bigint[] = [];
  for (const line of asm.slice(start).split("\n").slice(1)) {
    const m = /^\s*\.(quad|xword|8byte|zero)\s+(-?\d+)\s*$/.exec(line);
    if (m === null) {
      if (/^\s*\.(size|text|section|ident|globl)/.test(line) || /^\S/.test(line)) break;
      continue;
    }
    if (m[1] === "zero") { for (let i = 0; i < Number(m[2]) / 8; i++) values.push(0n); }
    else values.push(BigInt(m[2]!));
  }
  assertEquals(values.length, names.length, `values read from the ${arch} assembly`);
  return new Map(names.map((n, i) => [n, values[i]!]));
}

for (const arch of ["x86_64", "aarch64"] as const) {
  Deno.test(`ffi/abi.ts: every ${arch} value is the one of the ${arch} C headers`, async () => {
    const table = ABIS[arch];
    const names = Object.keys(table) as (keyof Abi)[];
    const fromHeaders = await headerValues(arch, names);
    const wrong = names.filter((n) => BigInt(table[n]) !== fromHeaders.get(n)).map((n) =>
      `${n}: table ${table[n]}, headers ${fromHeaders.get(n)}`
    );
    assertEquals(wrong, []);
  });
}

Deno.test("ffi/abi.ts: the open flags that differ do differ, and this process uses its own", () => {
  // The reason for per-architecture tables: checked above against the headers, here that the
  // tables are not one table twice and that ffi/libc.ts exports this machine's.
  assert(ABIS.x86_64.O_DIRECTORY !== ABIS.aarch64.O_DIRECTORY);
  assert(ABIS.x86_64.O_NOFOLLOW !== ABIS.aarch64.O_NOFOLLOW);
  assertEquals(ABI, ABIS[Deno.build.arch]);
  assertEquals([O_DIRECTORY, O_NOFOLLOW], [ABI.O_DIRECTORY, ABI.O_NOFOLLOW]);
  // ffi/libc.ts keeps the address families as literals (for their types).
  assertEquals([AF_INET, AF_INET6], [ABI.AF_INET, ABI.AF_INET6]);
});
