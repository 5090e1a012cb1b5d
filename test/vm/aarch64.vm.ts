/**
 * conntop's kernel-facing core executed on aarch64: inside a Debian 12 arm64 VM that
 * scripts/vm.sh emulates with TCG (qemu-user refuses NETLINK_NETFILTER sockets, so a whole
 * machine with its own kernel is needed), with Debian's arm64 libnetfilter_conntrack and
 * libmaxminddb and npm's arm64 Deno, the project's own tests run there as they run on x86_64:
 * `--once` in every format against `conntrack -L` on a random table and on every protocol,
 * NAT, marks and zones; the decoder against libnetfilter_conntrack's parser; the server and a
 * client in every format and over TLS; the monitor in tmux for a few keys; the config save; the
 * file calls whose flags differ on arm64 (O_DIRECTORY, O_NOFOLLOW). The VM has no network: npm
 * packages come from a DENO_DIR that scripts/vm.sh fills on the host.
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
/**
 * The npm packages deno.lock names (the VM cannot reach npm), from the DENO_DIR scripts/vm.sh
 * fills on the host and shares read-only: copied, since Deno writes its own caches beside them.
 */
const DENO_DIR = "/root/deno-dir";

/**
 * How much longer the tests wait for a screen, a log line or a file (tools/time_scale.ts): under
 * emulation on a busy 2-core host the monitor's first screen came after 45 s cold (test/vm/
 * _warm.ts), where the tests wait 15 s. Bounds the tests assert are not scaled; the groups leave
 * out the tests that have them.
 */
const TIME_SCALE = 8;

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
    tests: 4,
  },
  {
    name: "the server and a client: every format, tokens, errors",
    files: ["test/e2e/remote_once_test.ts"],
    tests: 4,
  },
  // remote_tls_test.ts's other two tests hold to times made for real machines (the server's
  // handshake timeout set to 1 s, an answer within 5 s), which an emulated client on a busy host
  // misses; a client over TLS is run by test/vm/_warm.ts, with the default handshake timeout.
  {
    name: "the server over TLS: a certificate that expired",
    files: ["test/e2e/remote_tls_test.ts"],
    filter: "/expired names the expiry date/",
    tests: 1,
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
    await guest.check(
      `set -e
       rm -rf ${COPY} ${DENO_DIR} && cp -a /mnt/conntop ${COPY}
       mkdir -p /mnt/conntop-deno-dir
       mountpoint -q /mnt/conntop-deno-dir ||
         mount -t 9p -o trans=virtio,version=9p2000.L,ro conntop-deno-dir /mnt/conntop-deno-dir
       cp -a /mnt/conntop-deno-dir ${DENO_DIR}`,
    );
    // What the README's "last passed on" names.
    console.log(
      await guest.check(
        `uname -a; /opt/deno/deno --version | head -n 1
         dpkg-query -W -f='\${Package} \${Version}\\n' libnetfilter-conntrack3 libmaxminddb0 \\
           libnfnetlink0 linux-image-arm64 tmux conntrack nftables`,
      ),
    );
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

  await t.step("the npm packages come from the host's cache (the VM has no network)", async () => {
    // A package missing from the cache shows here (Deno says "Download" before it tries, and
    // fails) rather than stalling a test on a download that cannot happen, the registry's list
    // of a package's versions included. Compiling every module here once also keeps that first
    // compilation, slow under emulation, out of the tests' own time limits.
    const out = await guest.check(
      `cd ${COPY} && NO_COLOR=1 DENO_DIR=${DENO_DIR} DENO_NO_UPDATE_CHECK=1 /opt/deno/deno cache \\
         --frozen main.ts $(find src test tools -name '*.ts' | sort) 2>&1`,
      1_200_000,
    );
    assert(!/Download/.test(out), out);
  });

  await t.step(
    "conntop, conntopd (TLS) and the monitor start once (test/vm/_warm.ts)",
    async () => {
      console.log(
        await guest.check(
          `cd ${COPY} && NO_COLOR=1 PATH=/opt/deno:$PATH DENO_DIR=${DENO_DIR} \\
           DENO_NO_UPDATE_CHECK=1 deno run --allow-all --no-check test/vm/_warm.ts 2>&1`,
          1_200_000,
        ),
      );
    },
  );

  // CONNTOP_VM_GROUPS=WORD[|WORD…] runs only the groups whose name contains one of the words.
  const only = Deno.env.get("CONNTOP_VM_GROUPS")?.split("|");
  for (
    const g of GROUPS.filter((g) => only === undefined || only.some((w) => g.name.includes(w)))
  ) {
    await t.step(g.name, async () => {
      const filter = g.filter === undefined ? "" : `--filter '${g.filter}'`;
      const start = Date.now();
      const r = await guest.run(
        `cd ${COPY} && NO_COLOR=1 PATH=/opt/deno:$PATH DENO_DIR=${DENO_DIR} \\
           CONNTOP_TEST_TIME_SCALE=${TIME_SCALE} DENO_NO_UPDATE_CHECK=1 deno test --allow-all --no-prompt --no-check ${filter} \\
           ${g.files.join(" ")} 2>&1`,
        2_400_000,
      );
      const seconds = Math.round((Date.now() - start) / 1000);
      const s = summary(r.out);
      // Shown at once: under emulation a whole run takes long, and errors are listed at its end.
      if (s === undefined || s.failed > 0 || r.code !== 0) console.log(r.out.slice(-8000));
      assert(s !== undefined, `no summary from deno test:\n${r.out.slice(-4000)}`);
      assertEquals(s.failed, 0, r.out.slice(-6000));
      assertEquals(r.code, 0, r.out.slice(-6000));
      if (g.tests > 0) assertEquals(s.passed, g.tests, r.out.slice(-3000));
      else assert(s.passed >= g.files.length, r.out.slice(-3000));
      console.log(`    ${g.name}: ${s.passed} passed, ${s.failed} failed (${seconds} s)`);
    });
  }
});
