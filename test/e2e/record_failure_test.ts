/**
 * A recording that cannot be written is not invisible: the monitor runs in a real terminal (a
 * private tmux server) on a test namespace with `--record` to a file that fails on write (on
 * a 64 KiB tmpfs in a private mount namespace, too small for the first batch); the header must
 * say so within a refresh, the monitor must go on showing the table, and quitting must exit 1
 * with one line on standard error, as the exit codes are documented.
 *
 * @module
 */

import { assertEquals, assertMatch, assertRejects } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { conntopCommand } from "./_conntop.ts";
import { Tmux } from "../../tools/tmux.ts";
import { waitForFile } from "../_helpers/wait.ts";

/**
 * Runs conntop (the arguments after the wrapper's first) with its standard error in
 * `$1/stderr`, and writes its exit code to `$1/code`.
 */
const WRAPPER = `
dir=$1
shift
"$@" 2> "$dir/stderr"
echo $? > "$dir/code.tmp"
mv "$dir/code.tmp" "$dir/code"
`;

/** Runs the monitor recording to `record` under `prefix` and checks how it reports the failure. */
async function checkFailingRecording(record: string, prefix: string[] = []): Promise<void> {
  await using ns = await Netns.create("recfail");
  // 600 connections: the first batch alone (about 224 bytes each in the recording) is more
  // than the small filesystem holds.
  await loadConntrack(ns, [
    "-I -t 100 -s 10.7.0.1 -d 10.7.0.2 -p udp --sport 1111 --dport 2222",
    ...Array.from(
      { length: 599 },
      (_, i) =>
        `-I -t 100 -s 10.8.${i >> 8}.${i & 255} -d 10.9.0.1 -p tcp --state ESTABLISHED --sport ${
          1024 + i
        } --dport 80`,
    ),
  ]);
  const dir = await Deno.makeTempDir({ prefix: "conntop-recfail-" });
  try {
    const cmd = [...prefix, ...conntopCommand(["--netns", ns.name, "-n", "--record", record])];
    await using term = await Tmux.start(["sh", "-c", WRAPPER, "wrapper", dir, ...cmd], {
      width: 120,
      height: 24,
      env: { NO_COLOR: "1", XDG_CONFIG_HOME: dir },
    });
    // The failure can reach the header a frame before the first refresh's counts do (the
    // recording fails on that refresh's batch): wait for both.
    const screen = await term.waitFor((s) => s.includes("REC failed") && /Conns \d/.test(s), {
      what: "the header to show the failed recording and the table",
      timeoutMs: 10_000,
    });
    assertMatch(screen, /REC failed: No space left on device/);
    assertMatch(screen, /Conns 600 /);
    // Still monitoring: connections added now are counted.
    await loadConntrack(ns, ["-I -t 100 -s 10.7.0.3 -d 10.7.0.4 -p udp --sport 3333 --dport 4444"]);
    await term.waitFor((s) => /Conns 601 /.test(s), { what: "the new connection counted" });
    await term.sendKeys("q");
    assertEquals(await waitForFile(`${dir}/code`, 10_000, "conntop's exit code"), "1");
    const stderr = await Deno.readTextFile(`${dir}/stderr`);
    const lines = stderr.trim().split("\n").filter((l) => l.includes("recording"));
    assertEquals(lines.length, 1, `expected one line about the recording, got:\n${stderr}`);
    assertMatch(lines[0]!, /^conntop: Cannot write recording '.*': no space left on device$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the monitor with --record /dev/full exits 2 with one line naming the file", async () => {
  await using ns = await Netns.create("recdev");
  const dir = await Deno.makeTempDir({ prefix: "conntop-recdev-" });
  try {
    const cmd = conntopCommand(["--netns", ns.name, "--record", "/dev/full"]);
    await using _term = await Tmux.start(["sh", "-c", WRAPPER, "wrapper", dir, ...cmd], {
      width: 100,
      height: 24,
      env: { NO_COLOR: "1", XDG_CONFIG_HOME: dir },
    });
    // Refused before the monitor starts, like any --record path it cannot create (exit 2).
    assertEquals(await waitForFile(`${dir}/code`, 15_000, "conntop's exit code"), "2");
    assertEquals(
      await Deno.readTextFile(`${dir}/stderr`),
      "conntop: Cannot create recording '/dev/full': conntop records to files, not to devices or /proc\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the monitor shows a --record filling a small filesystem, goes on, and exits 1", async () => {
  // A 64 KiB tmpfs in a mount namespace of its own: nothing is mounted where others see it.
  const mount = "/mnt";
  const setup = `mount -t tmpfs -o size=64k conntop-test ${mount} && exec "$@"`;
  await checkFailingRecording(`${mount}/rec.ndjson`, [
    "unshare",
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    setup,
    "setup",
  ]);
});

/** What must not change about a file: its bytes, mode, owner and identity. */
async function fileState(path: string) {
  const st = await Deno.lstat(path);
  return { bytes: await Deno.readFile(path), mode: st.mode, uid: st.uid, gid: st.gid, ino: st.ino };
}

Deno.test("the monitor refuses a --record path that exists before it starts, and touches nothing", async (t) => {
  await using ns = await Netns.create("recexist");
  const dir = await Deno.makeTempDir({ prefix: "conntop-recexist-" });
  try {
    // A root-owned 0600 file standing in for /etc/shadow (the test runs as root).
    const secret = `${dir}/shadow`;
    await Deno.writeTextFile(secret, "root:$6$secret:19000:0:99999:7:::\n", { mode: 0o600 });
    await Deno.chmod(secret, 0o600);
    const link = `${dir}/link.ndjson`;
    await Deno.symlink(secret, link);
    const dangling = `${dir}/dangling.ndjson.gz`;
    await Deno.symlink(`${dir}/made-by-root`, dangling);
    const cases = [
      ["a link to a root-owned 0600 file", link],
      ["a dangling link", dangling],
      ["an existing regular file", secret],
    ] as const;
    for (const [what, path] of cases) {
      await t.step(what, async () => {
        const before = await fileState(secret);
        const out = await Deno.makeTempDir({ dir, prefix: "run-" });
        const cmd = conntopCommand(["--netns", ns.name, "-n", "--record", path]);
        await using _term = await Tmux.start(["sh", "-c", WRAPPER, "wrapper", out, ...cmd], {
          width: 100,
          height: 24,
          env: { NO_COLOR: "1", XDG_CONFIG_HOME: out },
        });
        assertEquals(await waitForFile(`${out}/code`, 15_000, "conntop's exit code"), "2");
        assertEquals(
          await Deno.readTextFile(`${out}/stderr`),
          `conntop: Cannot create recording '${path}': it already exists (conntop never overwrites a file)\n`,
        );
        assertEquals(await fileState(secret), before);
        assertEquals((await Deno.lstat(link)).isSymlink, true);
        await assertRejects(() => Deno.lstat(`${dir}/made-by-root`), Deno.errors.NotFound);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the monitor removes the recording it created when the run ends before any data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-recgone-" });
  try {
    const path = `${dir}/r.ndjson`;
    // The collector cannot start in a namespace that does not exist: exit 2, after the
    // recording's file was made.
    const cmd = conntopCommand(["--netns", "conntop-test-none", "--record", path]);
    await using _term = await Tmux.start(["sh", "-c", WRAPPER, "wrapper", dir, ...cmd], {
      width: 100,
      height: 24,
      env: { NO_COLOR: "1", XDG_CONFIG_HOME: dir },
    });
    assertEquals(await waitForFile(`${dir}/code`, 15_000, "conntop's exit code"), "2");
    assertMatch(await Deno.readTextFile(`${dir}/stderr`), /not found/);
    // The name is free again for the next run, which would otherwise be refused.
    await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
