import { assertEquals, assertMatch, assertThrows } from "../_helpers/assert.ts";
import { ConntopError, ExitCode } from "../../src/errors.ts";
import { Logger, openLogger } from "../../src/server/log.ts";

function sink() {
  const out: string[] = [];
  return { out, writeSync: (p: Uint8Array) => (out.push(new TextDecoder().decode(p)), p.length) };
}

Deno.test("Logger writes one line per call with the ISO time and level, at its level and louder", () => {
  const s = sink();
  const log = new Logger(s, "info");
  log.debug("hidden");
  log.info("client #1 connected");
  log.warning("two\nlines");
  log.error("bad");
  assertEquals(s.out.length, 3);
  assertMatch(s.out[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO client #1 connected\n$/);
  assertMatch(s.out[1]!, / WARNING two\?lines\n$/);
  assertMatch(s.out[2]!, / ERROR bad\n$/);
});

Deno.test("Logger at error level writes errors only; at debug, everything", () => {
  const quiet = sink();
  const q = new Logger(quiet, "error");
  q.warning("w");
  q.error("e");
  assertEquals(quiet.out.length, 1);
  const loud = sink();
  const l = new Logger(loud, "debug");
  l.debug("d");
  assertEquals(loud.out.length, 1);
});

Deno.test("openLogger() appends to --log-file", async () => {
  const path = await Deno.makeTempFile({ prefix: "conntopd-log-" });
  try {
    await Deno.writeTextFile(path, "earlier\n");
    const log = openLogger("info", path);
    log.info("started");
    log.close();
    log.close();
    const text = await Deno.readTextFile(path);
    assertMatch(text, /^earlier\n.* INFO started\n$/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("Logger writes text from outside printable: every control, C1 and bidi character is '?'", () => {
  const s = sink();
  const log = new Logger(s, "info");
  log.info("client 'e\t\r\x1b]0;PWNED\x07\x7f\u0085\u009b\u061c\u202e\u2066\ud800z' left");
  assertEquals(s.out.length, 1);
  assertMatch(s.out[0]!, / INFO client 'e\?\?\?\]0;PWNED\?\?\?\?\?\?\?\?z' left\n$/);
});

/** What must not change about a file: its bytes, mode, owner and identity. */
async function fileState(path: string) {
  const st = await Deno.lstat(path);
  return { bytes: await Deno.readFile(path), mode: st.mode, uid: st.uid, gid: st.gid, ino: st.ino };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "conntopd-log-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("openLogger() never writes through a link, nor to anything but a regular file", async (t) => {
  await t.step(
    "a link to a root-owned 0600 file is refused (exit 2), the file untouched",
    () =>
      withTempDir(async (dir) => {
        // Stands in for /etc/shadow (the tests run as root).
        const secret = `${dir}/shadow`;
        await Deno.writeTextFile(secret, "root:$6$secret:19000:0:99999:7:::\n", { mode: 0o600 });
        await Deno.chmod(secret, 0o600);
        const before = await fileState(secret);
        const link = `${dir}/conntopd.log`;
        await Deno.symlink(secret, link);
        const err = assertThrows(() => openLogger("info", link), ConntopError);
        assertEquals(err.message, `Cannot open log file '${link}': it is a symbolic link`);
        assertEquals(err.exitCode, ExitCode.USAGE);
        assertEquals(await fileState(secret), before);
      }),
  );
  await t.step(
    "a dangling link is refused, and nothing is created where it points",
    () =>
      withTempDir(async (dir) => {
        const link = `${dir}/conntopd.log`;
        await Deno.symlink(`${dir}/made-by-root`, link);
        assertThrows(() => openLogger("info", link), ConntopError, "it is a symbolic link");
        assertThrows(() => Deno.lstatSync(`${dir}/made-by-root`), Deno.errors.NotFound);
      }),
  );
  await t.step("a FIFO is refused at once, not waited on", () =>
    withTempDir(async (dir) => {
      const fifo = `${dir}/conntopd.log`;
      const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assertEquals(mk.code, 0);
      assertThrows(
        () => openLogger("info", fifo),
        ConntopError,
        `Cannot open log file '${fifo}': it is not a regular file`,
      );
    }));
  await t.step("a directory is refused", () =>
    withTempDir((dir) => {
      assertThrows(() => openLogger("info", dir), ConntopError, `Cannot open log file '${dir}': `);
      return Promise.resolve();
    }));
  await t.step("a missing file is created, mode 0640 at most", () =>
    withTempDir(async (dir) => {
      const path = `${dir}/new.log`;
      const log = openLogger("info", path);
      log.info("first");
      log.close();
      assertMatch(await Deno.readTextFile(path), /^.* INFO first\n$/);
      assertEquals((await Deno.lstat(path)).mode! & 0o137, 0);
    }));
});
