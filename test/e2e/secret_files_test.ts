/**
 * The files an operator names for secrets and certificates — the client's --token-file and
 * --tls-ca, the server's --token-file, --tls-cert and --tls-key — are regular files of bounded
 * size: a FIFO, /dev/zero (also behind a symlink), a directory or an oversized file is refused
 * at once with one line and exit 2, instead of hanging start-up or reading without end; a token
 * file others may read is used, with a warning.
 *
 * Both programs run as users run them (their own permissions), each under a deadline: the old
 * behaviour (a hang) fails the test instead of hanging it.
 */

import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { Conntopd, conntopdCommand } from "../_helpers/conntopd.ts";
import { makeSelfSigned } from "../_helpers/tls_cert.ts";
import { type BoundedRun, runBounded } from "../_helpers/bounded_run.ts";
import { conntopCommand } from "./_conntop.ts";

const runFor = runBounded;

/** The bad files every option must refuse, made in `dir`: name → [path, why]. */
async function badFiles(dir: string): Promise<[string, string, RegExp][]> {
  const fifo = `${dir}/fifo`;
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assertEquals(mk.code, 0, "mkfifo");
  await Deno.symlink("/dev/zero", `${dir}/zero-link`);
  await Deno.mkdir(`${dir}/folder`);
  // 2 MiB: over both limits (4 KiB for a token, 1 MiB for PEM).
  await Deno.writeFile(`${dir}/big`, new Uint8Array(2 << 20).fill(0x41), { mode: 0o600 });
  return [
    ["a FIFO", fifo, /not a regular file \(a FIFO\)/],
    ["/dev/zero", "/dev/zero", /not a regular file \(a character device\)/],
    ["a symlink to /dev/zero", `${dir}/zero-link`, /not a regular file \(a character device\)/],
    ["a directory", `${dir}/folder`, /not a regular file \(a directory\)/],
    ["an oversized file", `${dir}/big`, /larger than (4096 bytes|1 MiB)/],
  ];
}

function assertRefused(r: BoundedRun, option: string, path: string, why: RegExp): void {
  assert(r.code !== null, `still running after ${r.ms} ms (${option} ${path}): ${r.stderr}`);
  assertEquals(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split("\n").filter((l) => !/^Usage|^Try /.test(l));
  assertEquals(lines.length, 1, r.stderr);
  assertMatch(lines[0]!, new RegExp(`'${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}'`));
  assertMatch(lines[0]!, why);
  assert(r.peakKiB < 400_000, `peak RSS ${r.peakKiB} KiB`);
}

Deno.test("conntop --connect refuses a token or CA file that is not a small regular file", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-files-" });
  try {
    for (const [name, path, why] of await badFiles(dir)) {
      for (const option of ["--token-file", "--tls-ca"]) {
        await t.step(`${option} ${name}: one line, exit 2, at once`, async () => {
          // Port 9 on loopback: nothing is reached, the file is read before connecting.
          const r = await runFor(
            conntopCommand(["--connect", "127.0.0.1:9", "--once", option, path]),
            15_000,
          );
          assertRefused(r, option, path, why);
        });
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conntopd refuses a token, certificate or key file that is not a small regular file", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "conntopd-files-" });
  try {
    const good = await makeSelfSigned(dir);
    for (const [name, path, why] of await badFiles(dir)) {
      const cases: [string, string[]][] = [
        ["--token-file", ["--token-file", path]],
        ["--tls-cert", ["--tls-cert", path, "--tls-key", good.key]],
        ["--tls-key", ["--tls-cert", good.cert, "--tls-key", path]],
      ];
      for (const [option, args] of cases) {
        await t.step(`${option} ${name}: one line, exit 2, at once`, async () => {
          const r = await runFor(conntopdCommand([...args, "--port", "9"]), 15_000);
          assertRefused(r, option, path, why);
        });
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a token file readable by others is used, with a one-line warning", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-token-" });
  try {
    const token = `${dir}/token`;
    await Deno.writeTextFile(token, "s3cret-token\n");
    await Deno.chmod(token, 0o644);
    const warning = new RegExp(
      `token file '${dir}/token' is readable by group and others \\(mode 0644\\)`,
    );
    await using server = await Conntopd.start(["--token-file", token]);
    await t.step("conntopd logs the warning", () => {
      assertMatch(server.log, warning);
    });
    await t.step("conntop warns on stderr, and the token still works", async () => {
      const r = await runFor(
        conntopCommand(["--connect", `127.0.0.1:${server.port}`, "--once", "--token-file", token]),
        30_000,
      );
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stderr, warning);
    });
    await t.step("a 0600 token file: no warning", async () => {
      await Deno.chmod(token, 0o600);
      const r = await runFor(
        conntopCommand(["--connect", `127.0.0.1:${server.port}`, "--once", "--token-file", token]),
        30_000,
      );
      assertEquals(r.code, 0, r.stderr);
      assert(!/readable by/.test(r.stderr), r.stderr);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
