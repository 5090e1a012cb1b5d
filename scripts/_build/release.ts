/**
 * What the build writes besides the binaries: the shell completions and the release archive,
 * laid out as the repository is so that `scripts/install.sh` installs from either.
 *
 * @module
 */

import { completionScript, SHELLS } from "../../src/cli/completions.ts";
import { VERSION } from "../../src/version.ts";
import type { Arch } from "./commands.ts";
import { run } from "./run.ts";

/** The completion files and their contents, by file name under `completions/`. */
export function completionFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const program of ["conntop", "conntopd"] as const) {
    for (const shell of SHELLS) {
      const name = shell === "bash"
        ? `${program}.bash`
        : shell === "zsh"
        ? `_${program}`
        : `${program}.fish`;
      files.set(name, completionScript(shell, program));
    }
  }
  return files;
}

/** Files of the release archive besides the binaries and completions (the README's links too). */
const RELEASE_FILES = [
  "README.md",
  "CHANGELOG.md",
  "LICENSE",
  "docs/benchmarks.md",
  "docs/fields.md",
  "docs/internals.md",
  "docs/protocol.md",
  "docs/screenshot.png",
  "docs/screenshot.txt",
  "docs/server.md",
  "docs/tests.md",
  "scripts/install.sh",
  "scripts/conntopd.service",
  "man/conntop.8",
  "man/conntopd.8",
];

/** Makes `<outDir>/conntop-<version>-linux-<arch>.tar.gz`, laid out as the repository is. */
export async function archive(root: string, outDir: string, arch: Arch): Promise<boolean> {
  const name = `conntop-${VERSION}-linux-${arch}`;
  const stage = await Deno.makeTempDir({ prefix: "conntop-release-" });
  try {
    const top = `${stage}/${name}`;
    const copy = async (from: string, to: string, mode: number) => {
      await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(from, to);
      await Deno.chmod(to, mode);
    };
    for (const f of RELEASE_FILES) {
      await copy(`${root}/${f}`, `${top}/${f}`, f.endsWith(".sh") ? 0o755 : 0o644);
    }
    for (const bin of [`conntop-${arch}`, `conntopd-${arch}`]) {
      await copy(`${outDir}/${bin}`, `${top}/dist/${bin}`, 0o755);
    }
    for (const f of completionFiles().keys()) {
      await copy(`${outDir}/completions/${f}`, `${top}/dist/completions/${f}`, 0o644);
    }
    return await run(
      [
        "tar",
        "--owner=0",
        "--group=0",
        "--sort=name",
        "-czf",
        `${outDir}/${name}.tar.gz`,
        "-C",
        stage,
        name,
      ],
      root,
    );
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}
