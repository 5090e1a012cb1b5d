/**
 * Run inside the emulated aarch64 VM before the test groups (test/vm/aarch64.vm.ts): starts each
 * program the groups start — conntop --once, conntopd and a client, the monitor in tmux — once,
 * with time limits made for emulation, and prints how long each took to come up.
 *
 * Why: a program's first start under TCG compiles its modules and fills Deno's code cache, which
 * takes longer than the tests' limits (written for real machines: conntopd 30 s, a screen 15 s);
 * later starts are several times faster. The printed times tell a slow start from a hang.
 * It checks only that each program came up (the groups test what they do) and never leaves a
 * process behind.
 *
 * @module
 */

import { Tmux } from "../../tools/tmux.ts";
import { Conntopd } from "../_helpers/conntopd.ts";
import { makeSelfSigned } from "../_helpers/tls_cert.ts";
import { conntopCommand, runConntop } from "../e2e/_conntop.ts";

/** Limits for one start under emulation, ms. */
const LIMIT_MS = 240_000;

async function timed(what: string, f: () => Promise<void>): Promise<void> {
  const start = Date.now();
  await f();
  console.log(`${what}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
}

await timed("conntop --once", async () => {
  const r = await runConntop(["--once", "-n"]);
  if (r.code !== 0) throw new Error(`conntop --once exited ${r.code}: ${r.stderr}`);
});

// Over TLS, with the server's default handshake timeout (10 s; remote_tls_test.ts gives it 1 s,
// which an emulated client on a busy host can miss): the TLS code is compiled here too.
await timed("conntopd with TLS up, then a client's --once through it (--tls-ca)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-warm-" });
  try {
    const server = await makeSelfSigned(dir, "server", ["127.0.0.1"]);
    await using d = await Conntopd.start(["--tls-cert", server.cert, "--tls-key", server.key], {
      timeoutMs: LIMIT_MS,
    });
    const r = await runConntop([
      "--connect",
      `127.0.0.1:${d.port}`,
      "--tls-ca",
      server.cert,
      "--once",
      "-n",
    ]);
    if (r.code !== 0) throw new Error(`conntop --connect exited ${r.code}: ${r.stderr}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

await timed("the monitor's first screen in tmux", async () => {
  const config = await Deno.makeTempDir({ prefix: "conntop-warm-" });
  const term = await Tmux.start(conntopCommand(["-n"]), {
    width: 120,
    height: 30,
    env: { NO_COLOR: "1", XDG_CONFIG_HOME: config },
  });
  try {
    await term.waitFor((s) => /Conns \d/.test(s), { timeoutMs: LIMIT_MS, what: "'Conns'" });
    if (!await term.quit(["q"], 30_000)) throw new Error("The monitor did not quit with q");
  } finally {
    await term.close();
    await Deno.remove(config, { recursive: true });
  }
});
