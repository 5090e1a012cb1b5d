/**
 * The interactive monitor on a real conntopd's table, in a real terminal (tmux, see tools/tmux.ts):
 * the header names the server and says it is connected; when the server dies the last table
 * stays on screen, marked stale, while the client counts down to its next attempt; when the
 * server is back the fresh snapshot replaces the table (an entry that exists only after the
 * restart shows, one deleted meanwhile is gone). The recording made meanwhile replays to the
 * same table.
 */

import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { Conntopd } from "../_helpers/conntopd.ts";
import { freePort } from "../../tools/ports.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { readRecording } from "../../src/record/mod.ts";
import { ConnectionModel } from "../../src/model/mod.ts";
import type { BatchMessage } from "../../src/collector/mod.ts";
import { conntopCommand } from "./_conntop.ts";
import { Tmux } from "../../tools/tmux.ts";

const DONE = "REMOTE-UI-WRAPPER-DONE";
const WRAPPER = `
dir=$1
shift
"$@"
code=$?
echo "$code" > "$dir/code"
echo "conntop exit code: $code"
echo "${DONE}"
exec sleep 600
`;

const A =
  "-I -t 600 -s 10.61.0.1 -d 192.0.2.1 -p tcp --sport 41001 --dport 443 --state ESTABLISHED";
const B = "-I -t 600 -s 10.61.0.2 -d 192.0.2.53 -p udp --sport 41002 --dport 53";
const C = "-I -t 600 -s 10.61.0.3 -d 192.0.2.9 -p tcp --sport 41003 --dport 22 --state ESTABLISHED";

const header = (screen: string) => screen.split("\n")[0] ?? "";
const rows = (screen: string, src: string) =>
  screen.split("\n").filter((l) => l.includes(` ${src} `)).length;

Deno.test("the monitor shows a lost server's last table as stale, then the new one after the restart", async () => {
  await using ns = await Netns.create("rmon");
  await loadConntrack(ns, [A, B]);
  const port = freePort();
  const serve = () =>
    Conntopd.start(
      ["--netns", ns.name, "--interval", "0.2", "--port", String(port), "--name", "router-e2e"],
      { ownPort: true },
    );
  const dir = await Deno.makeTempDir({ prefix: "conntop-rmon-" });
  let server: Conntopd | undefined = await serve();
  try {
    await Deno.writeTextFile(`${dir}/wrapper.sh`, WRAPPER);
    const recording = `${dir}/session.ndjson`;
    await using term = await Tmux.start([
      "/bin/sh",
      `${dir}/wrapper.sh`,
      dir,
      ...conntopCommand(["--connect", `127.0.0.1:${port}`, "-n", "--record", recording]),
    ], { width: 120, height: 30, env: { XDG_CONFIG_HOME: `${dir}/config`, NO_COLOR: "1" } });
    const at = `remote 127.0.0.1:${port}`;

    let screen = await term.waitFor(
      (s) => header(s).includes(`${at} · connected`) && rows(s, "10.61.0.2") === 1,
      { what: "the server's table, connected", timeoutMs: 20_000 },
    );
    assertMatch(
      header(screen),
      /^ conntop@router-e2e {2}remote 127\.0\.0\.1:\d+ · connected\s+Conns 2 /,
    );
    assertEquals(rows(screen, "10.61.0.1"), 1);

    // The server dies without a word.
    await server.stop("SIGKILL");
    server = undefined;
    screen = await term.waitFor((s) => / · reconnecting in \d+ s \(/.test(header(s)), {
      what: "the loss and the countdown",
    });
    assertMatch(header(screen), /STALE REC\s*$/);
    // The last table stays.
    assertEquals([rows(screen, "10.61.0.1"), rows(screen, "10.61.0.2")], [1, 1]);
    assertMatch(screen, /Connection to router-e2e lost \(/);
    // While it is away, its table changes.
    await ns.conntrack(["-D", "-p", "udp", "-s", "10.61.0.2"]);
    await loadConntrack(ns, [C]);
    // Attempts go on, refused.
    await term.waitFor((s) => header(s).includes("(connection refused)"), {
      what: "a refused attempt",
    });

    server = await serve();
    screen = await term.waitFor(
      (s) =>
        header(s).includes(`${at} · connected`) && rows(s, "10.61.0.3") === 1 &&
        rows(s, "10.61.0.2") === 0,
      { what: "the new table after the restart", timeoutMs: 30_000 },
    );
    assert(!header(screen).includes("STALE"), header(screen));
    assertEquals(rows(screen, "10.61.0.1"), 1);
    assertMatch(header(screen), /Conns 2 /);

    await term.sendKeys("q");
    screen = await term.waitFor((s) => s.includes(DONE), { what: "conntop to exit", join: true });
    assertEquals((await Deno.readTextFile(`${dir}/code`)).trim(), "0", screen);
    // It said goodbye to the server.
    await server.waitForLog(/said bye \(user\)/, 10_000);

    // The recording: the server's name, both snapshots with their reset, the loss.
    const model = new ConnectionModel();
    let resets = 0;
    const warnings: string[] = [];
    let host = "";
    for await (const { value } of readRecording(recording)) {
      if (value.type === "conntop-recording") host = value.host;
      else if (value.type === "warning") warnings.push(value.message);
      else if (value.type === "batch") {
        const b = value as BatchMessage;
        if (b.reset === true) resets++;
        model.apply(b);
      }
    }
    assertEquals(host, "router-e2e");
    assertEquals(resets, 2);
    assert(warnings.some((w) => /^Connection to 127\.0\.0\.1:\d+ lost/.test(w)), `${warnings}`);
    const replayed = [...model.slots()].map((s) => model.connection(s).orig_src).sort();
    assertEquals(replayed, ["10.61.0.1", "10.61.0.3"]);
  } finally {
    await server?.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("the monitor shows a refused token, tries no more, and exits 2 with the message", async () => {
  await using ns = await Netns.create("rmonauth");
  await loadConntrack(ns, [A]);
  const dir = await Deno.makeTempDir({ prefix: "conntop-rmon-" });
  try {
    await Deno.writeTextFile(`${dir}/token`, "the-right-one\n", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/wrong`, "not-this-one\n");
    await Deno.writeTextFile(`${dir}/wrapper.sh`, WRAPPER);
    await using server = await Conntopd.start([
      "--netns",
      ns.name,
      "--token-file",
      `${dir}/token`,
      "-v",
    ]);
    await using term = await Tmux.start([
      "/bin/sh",
      `${dir}/wrapper.sh`,
      dir,
      ...conntopCommand([
        "--connect",
        `127.0.0.1:${server.port}`,
        "--token-file",
        `${dir}/wrong`,
      ]),
    ], { width: 120, height: 30, env: { XDG_CONFIG_HOME: `${dir}/config`, NO_COLOR: "1" } });
    const screen = await term.waitFor(
      (s) => header(s).includes("· failed: authentication failed"),
      {
        what: "the refusal",
        timeoutMs: 20_000,
      },
    );
    assertMatch(screen, /Authentication failed: wrong or missing token \(--token-file\)/);
    // No second attempt.
    await new Promise((r) => setTimeout(r, 1500));
    assertEquals(server.lines.filter((l) => /auth/i.test(l) && /fail/i.test(l)).length, 1);
    await term.sendKeys("q");
    const end = await term.waitFor((s) => s.includes(DONE), {
      what: "conntop to exit",
      join: true,
    });
    assertEquals((await Deno.readTextFile(`${dir}/code`)).trim(), "2", end);
    assertMatch(
      end,
      /conntop: Authentication failed: wrong or missing token \(--token-file\)\nconntop exit code: 2/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
