/**
 * The host's side of a VM that scripts/vm.sh booted: runs shell commands in the VM through its
 * control port (the agent in the image answers each line with the exit code and the output),
 * and runs commands on the host, inside the network namespace that holds the VM's tap (vm.sh
 * runs the tests there). Used by test/vm/*.vm.ts only, which `deno task test:vm` runs.
 *
 * Never used by the ordinary suite: it needs a VM, and CONNTOP_VM_CTL names its control socket.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "../_helpers/base64.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What a command printed (stdout and stderr together) and its exit code. */
export interface GuestResult {
  code: number;
  out: string;
}

/** A VM booted by scripts/vm.sh, reached through its control socket. */
export class Guest implements AsyncDisposable {
  readonly #conn: Deno.UnixConn;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffered = "";
  #next = 0;

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.#reader = conn.readable.getReader();
  }

  /** The architecture vm.sh booted (CONNTOP_VM_ARCH). */
  static get arch(): string {
    const arch = Deno.env.get("CONNTOP_VM_ARCH");
    if (arch === undefined) throw new Error("Not run by scripts/vm.sh: CONNTOP_VM_ARCH is unset");
    return arch;
  }

  /** Connects to the VM's agent, waiting up to `bootMs` for the VM to boot. */
  static async connect(bootMs = 600_000): Promise<Guest> {
    const path = Deno.env.get("CONNTOP_VM_CTL");
    if (path === undefined) throw new Error("Not run by scripts/vm.sh: CONNTOP_VM_CTL is unset");
    const guest = new Guest(await Deno.connect({ transport: "unix", path }));
    const deadline = Date.now() + bootMs;
    // Until the agent runs, lines sent are lost or queued: ask again every few seconds and take
    // the first answer of any of the asks.
    for (;;) {
      const r = await guest.#ask("echo agent-ready", 5000).catch(() => undefined);
      if (r?.out.trim() === "agent-ready") return guest;
      if (Date.now() > deadline) {
        throw new Error(`The VM's agent did not answer within ${bootMs / 1000} s`);
      }
    }
  }

  /** Sends `cmd` tagged with a fresh id; resolves to the answer carrying that id. */
  async #ask(cmd: string, timeoutMs: number): Promise<GuestResult> {
    const id = `conntop-vm-${++this.#next}-${crypto.randomUUID()}`;
    const script = `printf '%s\\n' '${id}'\n${cmd}`;
    const b64 = encodeBase64(enc.encode(script));
    await this.#conn.write(enc.encode(`${b64}\n`));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = await this.#line(deadline - Date.now());
      const m = /^(\d+) (\S*)$/.exec(line);
      if (m === null) continue;
      const out = dec.decode(decodeBase64(m[2]!));
      if (!out.startsWith(`${id}\n`) && out !== id) continue; // an answer to an earlier ask
      return { code: Number(m[1]), out: out.slice(id.length + 1) };
    }
  }

  async #line(timeoutMs: number): Promise<string> {
    for (;;) {
      const nl = this.#buffered.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        return line;
      }
      if (timeoutMs <= 0) throw new Error("No answer from the VM in time");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("No answer from the VM in time")), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error("The VM's control channel closed");
      this.#buffered += dec.decode(chunk.value, { stream: true });
    }
  }

  /** Runs `cmd` with bash in the VM (as root); its exit code and output. */
  run(cmd: string, timeoutMs = 300_000): Promise<GuestResult> {
    return this.#ask(cmd, timeoutMs);
  }

  /** Runs `cmd` in the VM and returns its output; throws with the output when it fails. */
  async check(cmd: string, timeoutMs = 300_000): Promise<string> {
    const r = await this.run(cmd, timeoutMs);
    if (r.code !== 0) throw new Error(`In the VM, '${cmd}' exited ${r.code}:\n${r.out}`);
    return r.out;
  }

  /** Asks the VM to power off, then closes the channel (vm.sh stops qemu either way). */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#conn.write(enc.encode(`${btoa("systemctl --no-block poweroff")}\n`));
    } catch {
      // already gone
    }
    this.#reader.releaseLock();
    this.#conn.close();
  }
}

/** Runs a command on the host (inside vm.sh's namespace); its exit code, stdout and stderr. */
export async function host(
  cmd: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env: opts.env,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(enc.encode(opts.stdin));
    await w.close();
  }
  const r = await child.output();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** Runs a command on the host and returns its stdout; throws with stderr when it fails. */
export async function hostCheck(cmd: string[]): Promise<string> {
  const r = await host(cmd);
  if (r.code !== 0) throw new Error(`'${cmd.join(" ")}' exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** Quotes `s` for a POSIX shell. */
export function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
