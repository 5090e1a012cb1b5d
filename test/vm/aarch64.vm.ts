/**
 * conntop's kernel-facing core executed on aarch64: inside a Debian 12 arm64 VM that
 * scripts/vm.sh emulates with TCG (qemu-user refuses NETLINK_NETFILTER sockets, so a whole
 * machine with its own kernel is needed), with Debian's arm64 libnetfilter_conntrack and
 * libmaxminddb and npm's arm64 Deno, the project's own tests run there as they run on x86_64:
 * `--once` in every format against `conntrack -L` on a random table and on every protocol,
 * NAT, marks and zones; the decoder against libnetfilter_conntrack's parser; the server and a
 * client in every format and over TLS; the monitor in tmux for a few keys; the config save; the
 * file calls whose flags differ on arm64 (O_DIRECTORY, O_NOFOLLOW).
 *
 * Each group is one `deno test` run in the VM; a group passes when every test it selects
 * passed and none failed, and the count of tests run is checked, so a filter that selects
 * nothing fails. Run by `deno task test:vm` (scripts/vm.sh test aarch64).
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { Guest } from "./_guest.ts";

/** The project is copied out of the read-only share: tests write beside their files. */
const COPY = "/root/conntop";

/** One `deno test` run in the VM: the files, an optional filter, how many tests it must run. */
interface Group {
  name: string;
  files: string[];
  filter?: string;
  tests: number;
}

const GROUPS: Group[] = [
  {
    name: "the ABI numbers and file calls whose flags differ on arm64",
    files: ["test/config/store_safety_test.ts", "test/server/log_test.ts", "test/files/"],
    tests: 0, // counted below from the run: at least one each, none failed
  },
  {
    name: "--once in every format equals conntrack -L on a random table (NAT, marks, zones)",
    files: ["test/e2e/once_random_test.ts"],
    tests: 1,
  },
  {
    name: "--once against conntrack -L for every protocol, filters and per-direction zones",
    files: ["test/e2e/once_compare_test.ts"],
    tests: 3,
  },
  {
    name: "the decoder against libnetfilter_conntrack's own parser (arm64 build)",
    files: ["test/conntrack/decode_test.ts"],
    tests: 3,
  },
  {
    name: "the server and a client: every format, tokens, TLS",
    files: ["test/e2e/remote_once_test.ts", "test/e2e/remote_tls_test.ts"],
    tests: 7,
  },
  {
    name: "the monitor in tmux: start, sort keys, help, quit",
    files: ["test/e2e/ui_test.ts"],
    filter:
      "/starts with the header|sorts by the column|shows the help with F1|leaves the terminal/",
    tests: 4,
  },
  {
    name: "the config save",
    files: ["test/e2e/config_test.ts", "test/config/store_test.ts"],
    tests: 16,
  },
];

/** Passed and failed counts from deno test's summary line. */
function summary(out: string): { passed: number; failed: number } | undefined {
  // deno-lint-ignore no-control-regex
  const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
  const m = /^(?:ok|FAILED) \| (\d+) passed.*\| (\d+) failed/m.exec(plain);
  return m === null ? undefined : { passed: Number(m[1]), failed: Number(m[2]) };
}

Deno.test("conntop's kernel-facing core runs on aarch64 (emulated)", async (t) => {
  await using guest = await Guest.connect();

  await t.step("the VM is arm64 with Debian's arm64 libraries and npm's arm64 Deno", async () => {
    const out = await guest.check(
      `uname -m
       /opt/deno/deno eval 'console.log(Deno.build.arch)'
       dpkg-query -W -f='\${Package}:\${Architecture} \${Version}\\n' \\
         libnetfilter-conntrack3 libmaxminddb0`,
    );
    await guest.check(`rm -rf ${COPY} && cp -a /mnt/conntop ${COPY}`);
    const [machine, denoArch, ...packages] = out.trim().split("\n");
    assertEquals([machine, denoArch], ["aarch64", "aarch64"]);
    // dpkg-query lists them in its own order.
    assertEquals(packages.map((p) => p.split(" ")[0]).sort(), [
      "libmaxminddb0:arm64",
      "libnetfilter-conntrack3:arm64",
    ]);
  });

  await t.step("conntop opens its libraries and uses arm64's open flags", async () => {
    const out = await guest.check(
      `cd ${COPY} && /opt/deno/deno run --allow-all --no-check - <<'EOF'
import { ABI } from "./ffi/abi.ts";
import { nfct } from "./ffi/conntrack.ts";
import { maxminddb } from "./ffi/maxminddb.ts";
nfct();
maxminddb();
console.log(ABI.O_DIRECTORY.toString(8), ABI.O_NOFOLLOW.toString(8));
EOF
       /opt/deno/deno run --allow-all --no-check main.ts --version`,
    );
    // arm64's O_DIRECTORY and O_NOFOLLOW (arch/arm64/include/uapi/asm/fcntl.h).
    assert(out.startsWith("40000 100000\n"), out);
    assert(/libnetfilter_conntrack/.test(out), out);
  });

  // CONNTOP_VM_GROUPS=WORD[|WORD…] runs only the groups whose name contains one of the words.
  const only = Deno.env.get("CONNTOP_VM_GROUPS")?.split("|");
  for (
    const g of GROUPS.filter((g) => only === undefined || only.some((w) => g.name.includes(w)))
  ) {
    await t.step(g.name, async () => {
      const filter = g.filter === undefined ? "" : `--filter '${g.filter}'`;
      const r = await guest.run(
        `cd ${COPY} && NO_COLOR=1 PATH=/opt/deno:$PATH deno test --allow-all --no-prompt \\
           --no-check ${filter} ${g.files.join(" ")} 2>&1`,
        2_400_000,
      );
      const s = summary(r.out);
      // Shown at once: under emulation a whole run takes long, and errors are listed at its end.
      if (s === undefined || s.failed > 0 || r.code !== 0) console.log(r.out.slice(-8000));
      assert(s !== undefined, `no summary from deno test:\n${r.out.slice(-4000)}`);
      assertEquals(s.failed, 0, r.out.slice(-6000));
      assertEquals(r.code, 0, r.out.slice(-6000));
      if (g.tests > 0) assertEquals(s.passed, g.tests, r.out.slice(-3000));
      else assert(s.passed >= g.files.length, r.out.slice(-3000));
      console.log(`    ${g.name}: ${s.passed} passed, ${s.failed} failed`);
    });
  }
});
