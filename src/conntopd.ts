/**
 * conntopd: the dedicated conntop server, the same as `conntop --server` without the monitor's
 * code (no UI, no GeoIP: its module graph is checked by test/server/graph_test.ts). Parses the
 * options, runs {@linkcode runServer}, and turns errors into one line `conntopd: <message>` and
 * the exit code their class carries (src/errors.ts).
 *
 * Requires exactly {@linkcode CONNTOPD_PERMISSIONS}:
 *
 * - `--allow-ffi`: the collector's netlink sockets and /proc and /sys reads go through
 *   libnetfilter_conntrack and libc;
 * - `--allow-net`: the listeners;
 * - `--allow-read`: --token-file, --tls-cert, --tls-key, the undo journals of earlier runs
 *   (/run/conntop) and the --netns path check (the collector runs on conntopd's own thread:
 *   src/collector/local.ts);
 * - `--allow-env=CONNTOP_LIBNFCT`: the library's path override;
 * - `--allow-sys=hostname`: the default --name;
 * - `--allow-run=nft`: the collector asks nft whether flowtables are in use (their counters
 *   may stand still), and --track adds its table with nft.
 *
 * Only with some options: `--allow-write=FILE` for `--log-file FILE`; `--allow-write=/run/conntop`
 * for `--enable-acct` to keep its undo journal (written before a sysctl is changed, it lets the
 * next start or `conntop --restore` undo what a server killed with SIGKILL left; without it the
 * server says so and goes on); `--allow-write` for `--track` (it loads its table from a
 * temporary nft script, and journals it too).
 *
 * @example
 * ```sh
 * sudo deno run --allow-ffi --allow-net --allow-read --allow-env=CONNTOP_LIBNFCT \
 *   --allow-sys=hostname --allow-run=nft src/conntopd.ts --listen-any --token-file /etc/conntopd.token \
 *   --tls-cert /etc/conntopd/cert.pem --tls-key /etc/conntopd/key.pem
 * ```
 *
 * @module
 */

import { parseOptions } from "./cli/mod.ts";
import { ConntopError, ExitCode, UsageError } from "./errors.ts";
import { runServer } from "./server/mod.ts";
import { libraryLines, NFCT_PROBE } from "./libraries.ts";
import { SERVER_USAGE, serverVersionText } from "./server/mod.ts";
import { printable } from "./text/mod.ts";

/** The Deno permissions conntopd runs with (the deno.json task uses the same). */
export const CONNTOPD_PERMISSIONS: readonly string[] = [
  "--allow-ffi",
  "--allow-net",
  "--allow-read",
  "--allow-env=CONNTOP_LIBNFCT",
  "--allow-sys=hostname",
  "--allow-run=nft",
];

/** Runs conntopd with `args`; resolves with the exit code. */
export async function conntopd(args: string[]): Promise<number> {
  try {
    if (args[0] === "completions") {
      const { completionsCommand } = await import("./cli/completions.ts");
      write(completionsCommand(args.slice(1), "conntopd"));
      return ExitCode.OK;
    }
    for (const a of args) {
      const name = /^--?[\w-]+/.exec(a)?.[0];
      if (name === "--connect" || name === "--server") {
        throw new UsageError(`Unknown option '${name}' (conntopd always serves)`);
      }
      if (name === "--restore") {
        throw new UsageError(
          "Unknown option '--restore' (to undo what a killed conntopd left, run conntop --restore)",
        );
      }
    }
    const opts = parseOptions(["--server", ...args]);
    switch (opts.mode) {
      case "help":
        write(SERVER_USAGE);
        return ExitCode.OK;
      case "version":
        write(serverVersionText(libraryLines([NFCT_PROBE])));
        return ExitCode.OK;
      case "server":
        return await runServer(opts);
      default:
        throw new UsageError(`conntopd only serves; for --${opts.mode} run conntop`);
    }
  } catch (err) {
    if (err instanceof ConntopError) {
      console.error(`conntopd: ${printable(err.message)}`);
      if (err instanceof UsageError) console.error("Try 'conntopd --help' for more information.");
      return err.exitCode;
    }
    if (err instanceof Deno.errors.NotCapable) {
      console.error(`conntopd: Missing Deno permission: ${printable(err.message)}`);
      return ExitCode.USAGE;
    }
    console.error(
      `conntopd: Unexpected error: ${printable(err instanceof Error ? err.message : String(err))}`,
    );
    return ExitCode.FAILURE;
  }
}

function write(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

if (import.meta.main) {
  Deno.exit(await conntopd(Deno.args));
}
