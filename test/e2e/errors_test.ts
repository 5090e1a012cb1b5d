/**
 * What users see when things are not right: bad options, a missing library, no privilege,
 * accounting off, a missing namespace. Each is one clear line and a documented exit code.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { conntopCommand, ConntopProcess, runConntop } from "./_conntop.ts";

function oneLine(stderr: string): string {
  return stderr.trim().split("\n")[0]!;
}

Deno.test("conntop rejects bad options with one line, a hint and exit code 2", async (t) => {
  const cases: [string[], string][] = [
    [["--bogus"], "conntop: Unknown option '--bogus'"],
    [["--interval", "abc"], "conntop: Invalid value for --interval"],
    [["--interval", "0"], "conntop: Invalid value for --interval"],
    [["--interval"], "conntop: Option '--interval' needs a value"],
    [["--once", "--format", "xml"], "conntop: Invalid value for --format"],
    [["--once", "-p", "tcpx"], "conntop: Invalid value for --proto"],
    [["--once", "--state", "OPENED"], "conntop: Invalid value for --state"],
    [["--once", "--src", "1.2.3"], "conntop: Invalid value for --src"],
    [["--once", "--dport", "70000"], "conntop: Invalid value for --dport"],
    [["--once", "--family", "5"], "conntop: Invalid value for --family"],
    [["--once", "--mark", "1/2/3"], "conntop: Invalid value for --mark"],
    [["--once", "--stream"], "conntop: Options --once and --stream cannot be combined"],
    [["extra"], "conntop: Unexpected argument 'extra'"],
  ];
  for (const [args, want] of cases) {
    await t.step(args.join(" "), async () => {
      const r = await runConntop(args);
      assertEquals(r.code, 2);
      assertEquals(r.stdout, "");
      const lines = r.stderr.trim().split("\n");
      assertEquals(lines.length, 2, r.stderr);
      assertStringIncludes(lines[0]!, want);
      assertEquals(lines[1], "Try 'conntop --help' for more information.");
    });
  }
});

Deno.test("conntop --help and --version print and exit 0", async () => {
  const help = await runConntop(["--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /^Usage: conntop \[OPTION\]\.\.\./);
  for (const opt of ["--once", "--format", "--interval", "--netns", "--enable-acct", "--track"]) {
    assertStringIncludes(help.stdout, opt);
  }
  const version = await runConntop(["--version"]);
  assertEquals(version.code, 0);
  assertMatch(version.stdout, /^conntop \d+\.\d+\.\d+\nDeno \d/);
});

Deno.test("conntop names the Debian package when libnetfilter_conntrack is missing", async () => {
  await using ns = await Netns.create("lib");
  const r = await runConntop(["--once", "--netns", ns.name], {
    env: { CONNTOP_LIBNFCT: "/nonexistent/libnetfilter_conntrack.so.3" },
  });
  assertEquals(r.code, 2);
  assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  assertStringIncludes(oneLine(r.stderr), "libnetfilter-conntrack3");
  assertStringIncludes(oneLine(r.stderr), "/nonexistent/libnetfilter_conntrack.so.3");
});

Deno.test("conntop explains the missing privilege without CAP_NET_ADMIN", async () => {
  // setpriv drops the capability from the bounding and inheritable sets and execs conntop.
  const r2 = await runConntop(["--once"], {
    prefix: ["setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--"],
  });
  assertEquals(r2.code, 2, r2.stderr);
  assertEquals(r2.stderr.trim().split("\n").length, 1, r2.stderr);
  assertStringIncludes(oneLine(r2.stderr), "CAP_NET_ADMIN");
  assertStringIncludes(oneLine(r2.stderr), "setcap cap_net_admin+ep");
});

Deno.test("conntop says a missing network namespace is missing", async () => {
  const r = await runConntop(["--once", "--netns", "conntop-no-such-ns"]);
  assertEquals(r.code, 2);
  assertEquals(
    oneLine(r.stderr),
    "conntop: Network namespace 'conntop-no-such-ns' not found (no /run/netns/conntop-no-such-ns)",
  );
});

Deno.test("conntop reports accounting off on stderr and in the JSON, with null counters", async () => {
  await using ns = await Netns.create("acct");
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
  await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 0);
  await loadConntrack(ns, ["-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p udp --sport 1 --dport 2"]);
  const r = await runConntop(["--once", "-o", "json", "--netns", ns.name]);
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(
    r.stderr,
    "conntop: Accounting is off (net.netfilter.nf_conntrack_acct = 0)",
  );
  const snap = JSON.parse(r.stdout);
  assertEquals(snap.accounting, false);
  assertEquals(snap.timestamps, false);
  assert(snap.warnings.some((w: string) => w.startsWith("Accounting is off")));
  assertEquals(snap.connections[0].tx_bytes, null);
  assertEquals(snap.connections[0].age_seconds, null);
});

Deno.test("conntop --enable-acct turns accounting on and restores it on SIGTERM", async () => {
  await using ns = await Netns.create("ena");
  await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
  await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 0);
  await loadConntrack(ns, ["-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p udp --sport 1 --dport 2"]);
  await using mon = new ConntopProcess(["--stream", "--enable-acct", "--netns", ns.name]);
  await mon.waitFor(() => mon.lines.length >= 1, 10000, "the first refresh");
  assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), "1");
  assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_timestamp"), "1");
  assertEquals(await mon.stop("SIGTERM"), 143);
  assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_acct"), "0");
  assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_timestamp"), "0");
});

Deno.test("conntop --track adds its nftables table and removes it on SIGINT", async () => {
  await using ns = await Netns.create("trk");
  await loadConntrack(ns, ["-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p udp --sport 1 --dport 2"]);
  await using mon = new ConntopProcess(["--stream", "--track", "--netns", ns.name]);
  await mon.waitFor(() => mon.lines.length >= 1, 10000, "the first refresh");
  const during = await ns.exec(["nft", "list", "tables"]);
  assertStringIncludes(during.stdout, "table inet conntop_track");
  assertEquals(await mon.stop("SIGINT"), 130);
  const after = await ns.exec(["nft", "list", "tables"]);
  assertEquals(after.stdout.includes("conntop_track"), false);
});

Deno.test("conntop hints at --track when the table is empty", async () => {
  await using ns = await Netns.create("empty");
  const r = await runConntop(["--once", "--netns", ns.name]);
  assertEquals(r.code, 0);
  assertStringIncludes(r.stderr, "is empty");
  assertStringIncludes(r.stderr, "--track");
});

Deno.test("deno task start runs conntop with exactly the permissions and V8 flags the build bakes in", async () => {
  const { CONNTOP_PERMISSIONS, CONNTOP_V8_FLAGS_ARG } = await import(
    "../../scripts/_build/commands.ts"
  );
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assertEquals(
    config.tasks.start,
    `deno run ${CONNTOP_PERMISSIONS.join(" ")} ${CONNTOP_V8_FLAGS_ARG} main.ts`,
  );
});

Deno.test("conntop --stream ends quietly when its reader goes away", async () => {
  await using ns = await Netns.create("pipe");
  await loadConntrack(
    ns,
    Array.from(
      { length: 3000 },
      (_, i) => `-I -t 100 -s 10.1.${i >> 8}.${i & 255} -d 10.2.0.1 -p udp --sport 1 --dport 2`,
    ),
  );
  // 3000 lines overflow the pipe, so conntop writes after `head` has gone.
  const cmd = conntopCommand(["--stream", "--netns", ns.name]).map((a) => `'${a}'`).join(" ");
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      `${cmd} 2>/tmp/conntop-pipe-$$.err | head -n 1 >/dev/null; echo \${PIPESTATUS[0]}; cat /tmp/conntop-pipe-$$.err; rm -f /tmp/conntop-pipe-$$.err`,
    ],
    env: { NO_COLOR: "1" },
  }).output();
  const [code, ...stderr] = new TextDecoder().decode(out.stdout).trim().split("\n");
  assertEquals(code, "0");
  assertEquals(stderr.filter((l) => !/ (is|are) off /.test(l)), [], "no error on stderr");
});
