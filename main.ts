/**
 * conntop: an htop-like monitor of the Linux conntrack table.
 *
 * This file only parses options and dispatches to a mode; errors become one line
 * `conntop: <message>` and the exit code their class carries.
 *
 * Requires `--allow-ffi --allow-net --allow-read --allow-write --allow-env --allow-run --allow-sys`.
 *
 * @module
 */

import { parseOptions, USAGE, versionText } from "./src/cli/mod.ts";
import { ConntopError, ExitCode, UsageError } from "./src/errors.ts";
import { runMonitor, runOnce, runRestore, runStream } from "./src/app/mod.ts";
import { writeAllSync, writeTextSync } from "./src/output/write.ts";
import { printable } from "./src/text/mod.ts";

const warn = (line: string) => console.error(`conntop: ${printable(line)}`);

/** Runs conntop with `args`; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    if (args[0] === "completions") {
      const { completionsCommand } = await import("./src/cli/completions.ts");
      writeTextSync(Deno.stdout, completionsCommand(args.slice(1), "conntop"));
      return ExitCode.OK;
    }
    const opts = parseOptions(args, { noColor: (Deno.env.get("NO_COLOR") ?? "") !== "" });
    switch (opts.mode) {
      case "help":
        writeTextSync(Deno.stdout, USAGE);
        return ExitCode.OK;
      case "version": {
        // Loaded only here: the other modes do without the libraries' bindings on this thread.
        const { libraryLines, NFCT_PROBE } = await import("./src/libraries.ts");
        const { MAXMINDDB_PROBE } = await import("./src/enrich/geoip/library.ts");
        writeTextSync(Deno.stdout, versionText(libraryLines([NFCT_PROBE, MAXMINDDB_PROBE])));
        return ExitCode.OK;
      }
      case "once":
        return await runOnce(opts, (b) => Promise.resolve(writeAllSync(Deno.stdout, b)), warn);
      case "stream":
        return await runStream(opts, (t) => writeTextSync(Deno.stdout, t), warn);
      case "server": {
        // Loaded only for --server: the other modes do without the server's code.
        const server = await import("./src/server/mod.ts");
        return await server.runServer(opts);
      }
      case "restore":
        return await runRestore(opts, (l) => writeTextSync(Deno.stdout, `${l}\n`), warn);
      default:
        return await runMonitor(opts);
    }
  } catch (err) {
    if (err instanceof ConntopError) {
      console.error(`conntop: ${printable(err.message)}`);
      if (err instanceof UsageError) console.error("Try 'conntop --help' for more information.");
      return err.exitCode;
    }
    if (err instanceof Deno.errors.BrokenPipe) return ExitCode.OK;
    if (err instanceof Deno.errors.NotCapable) {
      console.error(`conntop: Missing Deno permission: ${printable(err.message)}`);
      return ExitCode.USAGE;
    }
    console.error(
      `conntop: Unexpected error: ${printable(err instanceof Error ? err.message : String(err))}`,
    );
    return ExitCode.FAILURE;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
