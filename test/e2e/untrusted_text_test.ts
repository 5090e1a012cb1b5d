/**
 * Text from outside, end to end: processes named with control, C1 and bidi characters
 * (`prctl(PR_SET_NAME)`, as any local user can) hold real TCP connections in a test namespace,
 * and every way conntop shows them is read back: `--once` and `--connect --once` in every
 * format, the monitor (local and remote) in a real terminal, and the server's log.
 *
 * What must hold: no raw control, C1 or bidi character reaches any output (the monitor's whole
 * byte stream included: the terminal's title stays as it was); JSON carries the exact name,
 * escaped; a remote client is not dropped with protocol_error, it stays connected and sees the
 * connection.
 *
 * The names are checked against /proc/PID/comm read directly, and the printable forms in the
 * assertions are written out by hand (each unprintable character is one `?`).
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";
import { Conntopd } from "../_helpers/conntopd.ts";
import { ProtoClient } from "../_helpers/proto_client.ts";
import { Tmux } from "../../tools/tmux.ts";
import { trackedPair } from "../_helpers/tracked_pair.ts";
import { startSocketProcess } from "../collector/_socket_processes.ts";
import { conntopCommand, runConntop } from "./_conntop.ts";
import type { Connection } from "../../src/core/connection.ts";

/** ESC ] 0;PWNED BEL: re-titles a terminal that gets it raw (14 bytes, within comm's 15). */
const TITLE = "ev\x1b]0;PWNED\x07il";
const TITLE_SHOWN = "ev?]0;PWNED?il";
/** TAB, CR, LF, DEL, CSI (U+009B), RLO (U+202E) and LRI (U+2066): 14 bytes in UTF-8. */
const MIXED = "a\t\r\n\x7f\u009b\u202e\u2066z";
const MIXED_SHOWN = "a???????z";
/** For the server's log: NUL, TAB, ESC, DEL, NEL, CSI, ALM, RLM, RLO, PDI, a lone surrogate. */
const HELLO = "c\u0000\t\u001b[2J\u007f\u0085\u009b\u061c\u200f\u202e\u2069\ud800z";
const HELLO_SHOWN = "c???[2J????????z";

/**
 * Any character no output may carry raw: C0 but LF (which ends lines; CSV's CRLF is taken out
 * before), DEL, C1, the bidi controls and marks. Written here on its own, not taken from
 * src/text/printable.ts, so that the test does not trust the code it checks.
 */
// deno-lint-ignore no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

function assertNoRaw(text: string, what: string): void {
  const m = RAW.exec(text.replaceAll("\r\n", "\n"));
  if (m === null) return;
  const code = m[0].codePointAt(0)!.toString(16).padStart(4, "0");
  const near = JSON.stringify(text.slice(Math.max(0, m.index - 40), m.index + 40));
  assert(false, `${what}: raw U+${code} at ${m.index}: ${near}`);
}

/** A TCP server on argv[2]: reports its port, accepts, holds. */
const SERVER = `
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind((sys.argv[2], 0))
srv.listen(4)
out(port=srv.getsockname()[1])
srv.settimeout(10)
held = [srv.accept() for _ in range(int(sys.argv[3]))]
out(accepted=len(held))
hold()
`;

/** A TCP client of argv[2]:argv[3]: reports its own port and holds the socket. */
const CLIENT = `
c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5)
out(sport=c.getsockname()[1])
hold()
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `command` in a terminal whose whole output is also recorded raw (tmux pipe-pane, set up
 * before the command starts), for the byte-level checks.
 */
async function recordedTerminal(
  command: string[],
  dir: string,
  env: Record<string, string>,
): Promise<{ term: Tmux; raw: () => Promise<string> }> {
  const go = `${dir}/go`;
  const term = await Tmux.start(
    ["sh", "-c", 'while [ ! -e "$0" ]; do sleep 0.05; done; exec "$@"', go, ...command],
    { width: 250, height: 30, env },
  );
  try {
    await term.tmux(["pipe-pane", "-t", "t", "-o", `cat >> '${dir}/raw'`]);
    await Deno.writeTextFile(go, "");
  } catch (err) {
    await term.close();
    throw err;
  }
  return {
    term,
    raw: async () => new TextDecoder().decode(await Deno.readFile(`${dir}/raw`)),
  };
}

Deno.test("process names with control, C1 and bidi characters reach no output raw, and no client is dropped", async (t) => {
  await using pair = await trackedPair("utext", 73);
  const { a, b } = pair;
  const dir = await Deno.makeTempDir({ prefix: "conntop-untrusted-" });
  try {
    await using server = await startSocketProcess(b, "ct-held", SERVER, {
      args: ["10.73.0.2", "2"],
    });
    const port = server.info.port as number;
    await using title = await startSocketProcess(a, TITLE, CLIENT, {
      args: ["10.73.0.2", String(port)],
    });
    await using mixed = await startSocketProcess(a, MIXED, CLIENT, {
      args: ["10.73.0.2", String(port)],
    });
    assertEquals((await server.next()).accepted, 2);
    // The kernel holds the names as given (checked without conntop).
    for (const p of [title, mixed]) {
      const comm = await Deno.readFile(`/proc/${p.pid}/comm`);
      assertEquals(comm, new TextEncoder().encode(p.name + "\n"));
    }
    const names = new Map([[title.pid, TITLE], [mixed.pid, MIXED]]);
    const shown = new Map([[title.pid, TITLE_SHOWN], [mixed.pid, MIXED_SHOWN]]);

    const logFile = `${dir}/conntopd.log`;
    await using conntopd = await Conntopd.start(
      ["--netns", a.name, "--interval", "0.2", "-v", "--log-file", logFile],
      { permissions: [`--allow-write=${logFile}`], logFile },
    );
    const connect = ["--connect", `127.0.0.1:${conntopd.port}`];
    const local = ["--netns", a.name];

    for (const [where, source] of [["local", local], ["remote", connect]] as const) {
      await t.step(`${where} --once -o json and ndjson: the exact names, escaped`, async () => {
        for (const format of ["json", "ndjson"]) {
          // The owners are looked up incrementally: a first read may not know them yet.
          let conns: Connection[] = [];
          for (let i = 0; i < 10; i++) {
            const r = await runConntop([...source, "-n", "--once", "-o", format]);
            assertEquals(r.code, 0, `${format}: ${r.stderr}`);
            assertNoRaw(r.stdout, `${where} ${format} stdout`);
            assertNoRaw(r.stderr, `${where} ${format} stderr`);
            conns = format === "json"
              ? (JSON.parse(r.stdout) as { connections: Connection[] }).connections
              : r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Connection);
            if (conns.filter((c) => names.has(c.pid ?? 0)).length === 2) break;
            await sleep(300);
          }
          for (const [pid, name] of names) {
            const c = conns.find((c) => c.pid === pid);
            assert(c !== undefined, `${format}: no connection of pid ${pid}`);
            assertEquals(c.process, name);
          }
        }
      });

      await t.step(`${where} --once -o csv and table: the names shown printable`, async () => {
        const csv = await runConntop([...source, "-n", "--once", "-o", "csv"]);
        assertEquals(csv.code, 0, csv.stderr);
        assertNoRaw(csv.stdout, `${where} csv stdout`);
        assertNoRaw(csv.stderr, `${where} csv stderr`);
        const rows = csv.stdout.split("\r\n").filter((l) => l !== "").map((l) => l.split(","));
        const head = rows[0]!;
        const [pidAt, processAt] = [head.indexOf("pid"), head.indexOf("process")];
        for (const [pid, text] of shown) {
          const row = rows.find((r) => r[pidAt] === String(pid));
          assert(row !== undefined, `csv: no row of pid ${pid}: ${csv.stdout}`);
          assertEquals(row[processAt], text);
          assertEquals(row.length, head.length);
        }
        const table = await runConntop([...source, "-n", "--once"]);
        assertEquals(table.code, 0, table.stderr);
        assertNoRaw(table.stdout, `${where} table stdout`);
        assertNoRaw(table.stderr, `${where} table stderr`);
      });

      await t.step(
        `${where} --stream -o ndjson and csv: exact when escaped, printable in CSV`,
        async () => {
          const nd = await runConntop([...source, "-n", "--stream", "-c", "3"]);
          assertEquals(nd.code, 0, nd.stderr);
          assertNoRaw(nd.stdout, `${where} stream ndjson stdout`);
          assertNoRaw(nd.stderr, `${where} stream ndjson stderr`);
          const events = nd.stdout.trim().split("\n").map((l) => JSON.parse(l) as Connection);
          for (const [pid, name] of names) {
            const c = events.find((c) => c.pid === pid);
            assert(c !== undefined, `stream: no event of pid ${pid}: ${nd.stdout}`);
            assertEquals(c.process, name);
          }
          const csv = await runConntop([...source, "-n", "--stream", "-c", "3", "-o", "csv"]);
          assertEquals(csv.code, 0, csv.stderr);
          assertNoRaw(csv.stdout, `${where} stream csv stdout`);
          const rows = csv.stdout.split("\r\n").filter((l) => l !== "").map((l) => l.split(","));
          const head = rows[0]!;
          const [pidAt, processAt] = [head.indexOf("pid"), head.indexOf("process")];
          for (const [pid, text] of shown) {
            const row = rows.find((r) => r[pidAt] === String(pid));
            assert(row !== undefined, `stream csv: no row of pid ${pid}: ${csv.stdout}`);
            assertEquals([row[processAt], row.length], [text, head.length]);
          }
        },
      );

      await t.step(
        `${where} monitor: the names printable, nothing raw on the terminal`,
        async () => {
          const sub = `${dir}/${where}`;
          await Deno.mkdir(sub);
          // A remote monitor names itself, to count its connections in the server's log.
          const named = where === "remote" ? ["--name", "ui-monitor"] : [];
          const { term, raw } = await recordedTerminal(
            conntopCommand([...source, ...named, "-n"]),
            sub,
            { NO_COLOR: "1", XDG_CONFIG_HOME: sub },
          );
          try {
            const screen = await term.waitFor(
              (s) => s.includes(`${TITLE_SHOWN}[${title.pid}]`) && s.includes(MIXED_SHOWN),
              { timeoutMs: 20_000, what: "both process names" },
            );
            assertStringIncludes(screen, `${MIXED_SHOWN}[${mixed.pid}]`);
            assert(!(await term.format("#{pane_title}")).includes("PWNED"), "re-titled");
            // Still connected a few refreshes later (a dropped client reconnects in a loop).
            await sleep(1500);
            const later = await term.capture();
            assertStringIncludes(later, `${TITLE_SHOWN}[${title.pid}]`);
            if (where === "remote") {
              const log = await Deno.readTextFile(logFile);
              const welcomes = log.split("\n").filter((l) => / welcome 'ui-monitor'/.test(l));
              assertEquals(welcomes.length, 1, log);
              assert(!/protocol/i.test(later), later);
            }
            await term.sendKeys("q");
            await sleep(300);
            const bytes = await raw();
            assert(bytes.length > 0, "nothing recorded");
            for (const bad of ["PWNED\x07", "\x1b]0;", "\x7f", "\u009b", "\u202e", "\u2066"]) {
              assert(!bytes.includes(bad), `raw ${JSON.stringify(bad)} on the terminal`);
            }
          } finally {
            await term.close();
          }
        },
      );
    }

    await t.step("the server's log shows a client's name printable", async () => {
      await using c = await ProtoClient.connect({ port: conntopd.port });
      await c.handshake({ name: HELLO });
      await c.nextBatch();
      await conntopd.waitForLog(/ welcome 'c\?\?\?\[2J/);
      const text = new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(logFile));
      assertNoRaw(text, "server log");
      assertStringIncludes(text, `welcome '${HELLO_SHOWN}'`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
