/**
 * Runs one build step's command, echoing it first.
 *
 * @module
 */

/** Runs `cmd` in `cwd` (`deno` means this Deno), its output passed through; true on success. */
export async function run(cmd: string[], cwd: string): Promise<boolean> {
  console.error(`build: ${cmd.join(" ")}`);
  const r = await new Deno.Command(cmd[0] === "deno" ? Deno.execPath() : cmd[0]!, {
    args: cmd.slice(1),
    cwd,
    stdout: "inherit",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).output();
  return r.success;
}
