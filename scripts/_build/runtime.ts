/**
 * Where `deno compile` gets its runtime (denort) for a target: `DENORT_BIN`, Deno's download
 * cache or dl.deno.land, or why none of them can be had.
 *
 * @module
 */

import { type Arch, TARGETS } from "./commands.ts";

/** ELF machine numbers of the targets. */
const ELF_MACHINE: Record<Arch, number> = { "x86_64": 62, aarch64: 183 };

/** The architecture of an ELF executable, or undefined when it is none of the targets'. */
export function elfArch(bytes: Uint8Array): Arch | undefined {
  if (bytes.length < 20 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c) {
    return undefined;
  }
  const machine = new DataView(bytes.buffer, bytes.byteOffset, 20).getUint16(18, bytes[5] === 1);
  return (Object.keys(ELF_MACHINE) as Arch[]).find((a) => ELF_MACHINE[a] === machine);
}

/** Where the runtime of `arch` comes from, or why none can be had. */
export type RuntimeSource =
  | { kind: "env"; path: string; warnings: string[] }
  | { kind: "cache"; path: string }
  | { kind: "download"; url: string }
  | { kind: "none"; reason: string };

/** The URL deno compile downloads the runtime of `arch` from. */
export function denortUrl(arch: Arch, denoVersion = Deno.version.deno): string {
  return `https://dl.deno.land/release/v${denoVersion}/denort-${TARGETS[arch]}.zip`;
}

/**
 * Finds the runtime for `arch`: `DENORT_BIN` (checked: a readable ELF file; warnings when it is
 * of another architecture or the deno CLI), Deno's download cache, or a download that answers
 * within `timeoutMs`.
 */
export async function findRuntime(
  arch: Arch,
  env: { denortBin?: string; denoDir: string },
  timeoutMs = 5000,
): Promise<RuntimeSource> {
  if (env.denortBin !== undefined && env.denortBin !== "") {
    const path = env.denortBin;
    let head: Uint8Array;
    try {
      const file = await Deno.open(path);
      try {
        head = new Uint8Array(64);
        const n = (await file.read(head)) ?? 0;
        head = head.subarray(0, n);
      } finally {
        file.close();
      }
    } catch (err) {
      return {
        kind: "none",
        reason: `DENORT_BIN '${path}' cannot be read: ${(err as Error).message}`,
      };
    }
    const found = elfArch(head);
    if (found === undefined) {
      return {
        kind: "none",
        reason: `DENORT_BIN '${path}' is not an x86_64 or aarch64 ELF executable`,
      };
    }
    const warnings: string[] = [];
    if (found !== arch) {
      warnings.push(
        `DENORT_BIN is an ${found} runtime: conntop-${arch} will not run on ${arch} (a compile check only)`,
      );
    }
    if (/(^|\/)deno$/.test(path)) {
      warnings.push(
        `DENORT_BIN is the deno CLI, not denort: the ${arch} binaries start a Deno REPL instead of conntop (a compile check only; get denort from ${
          denortUrl(arch)
        })`,
      );
    }
    return { kind: "env", path, warnings };
  }
  const cached = `${env.denoDir}/dl/release/v${Deno.version.deno}/denort-${TARGETS[arch]}.zip`;
  try {
    if ((await Deno.stat(cached)).isFile) return { kind: "cache", path: cached };
  } catch {
    // not cached
  }
  const url = denortUrl(arch);
  try {
    const r = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(timeoutMs) });
    await r.body?.cancel();
    if (r.ok) return { kind: "download", url };
    return {
      kind: "none",
      reason:
        `${url} answered ${r.status}: set DENORT_BIN to a local denort ${Deno.version.deno} for ${
          TARGETS[arch]
        }`,
    };
  } catch (err) {
    const why = err instanceof DOMException && err.name === "TimeoutError"
      ? `no answer within ${timeoutMs / 1000} s`
      : (err as Error).message.split("\n")[0];
    return {
      kind: "none",
      reason:
        `deno compile needs its runtime (denort) and cannot download ${url} (${why}): set DENORT_BIN to a local denort ${Deno.version.deno} for ${
          TARGETS[arch]
        } (or put the zip at ${cached})`,
    };
  }
}
