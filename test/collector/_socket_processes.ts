/**
 * Processes that hold sockets for the socket-owner tests: small python3 programs started inside
 * a test namespace, each with a known name (set with prctl(PR_SET_NAME), so /proc/PID/comm
 * shows it) and reporting its pid and its sockets' addresses as JSON lines on stdout. They keep
 * their sockets open until closed.
 *
 * /usr/bin/python3 is used by path, so that a process run as another user can start it.
 *
 * Requires root and `--allow-run`.
 *
 * @module
 */

import type { Netns } from "../../tools/netns.ts";

/** Options of {@linkcode startSocketProcess}. */
export interface SocketProcessOptions {
  /** Arguments after the name (`sys.argv[2:]`). */
  args?: string[];
  /** Run it through setpriv with these options, e.g. `["--reuid=65534", "--regid=65534",
   * "--clear-groups"]` or `["--inh-caps=-all", "--bounding-set=-all"]`. */
  setpriv?: string[];
}

/** A running socket-holding process. */
export interface SocketProcess extends AsyncDisposable {
  /** Its pid, as it reported it. */
  pid: number;
  /** Its name, as /proc/PID/comm shows it. */
  name: string;
  /** The first JSON line it printed (besides `pid`, what the script reported). */
  info: Record<string, unknown>;
  /** Waits for the next JSON line it prints. */
  next(): Promise<Record<string, unknown>>;
  /** Kills it (SIGKILL) and waits until it has exited. Safe to call twice. */
  close(): Promise<void>;
}

/** Runs before every script: names the process and defines `out(**fields)`. */
const PRELUDE = `
import ctypes, json, os, select, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
def out(**fields):
    fields["pid"] = os.getpid()
    print(json.dumps(fields), flush=True)
def hold():
    sys.stdin.read()
`;

const decoder = new TextDecoder();

/**
 * Starts `script` (python3, after the prelude above) in `ns` as a process named `name` (at most
 * 15 characters) and waits for its first JSON line.
 *
 * @param ns The namespace it runs in.
 * @param name Its process name.
 * @param script The python code; it calls `out(...)` to report and `hold()` to wait.
 * @param options Arguments and user.
 * @returns The running process.
 * @throws {Error} When it exits before printing a line; the message quotes its stderr.
 */
export async function startSocketProcess(
  ns: Netns,
  name: string,
  script: string,
  options: SocketProcessOptions = {},
): Promise<SocketProcess> {
  const asUser = options.setpriv === undefined ? [] : ["setpriv", ...options.setpriv, "--"];
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns.name,
      ...asUser,
      "/usr/bin/python3",
      "-c",
      PRELUDE + script,
      name,
      ...(options.args ?? []),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const stderr = new Response(child.stderr).text();
  let buffered = "";
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await child.stdin.close().catch(() => {});
    await reader.cancel().catch(() => {});
    await child.status;
    await stderr;
  };
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return JSON.parse(line) as Record<string, unknown>;
      }
      const { value, done } = await reader.read();
      if (done) {
        await close();
        throw new Error(
          `Failed to run socket process '${name}' in network namespace '${ns.name}': ` +
            `it exited: ${(await stderr).trim()}`,
        );
      }
      buffered += decoder.decode(value, { stream: true });
    }
  };
  let info: Record<string, unknown>;
  try {
    info = await next();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    pid: info.pid as number,
    name,
    info,
    next,
    close,
    [Symbol.asyncDispose]: close,
  };
}
