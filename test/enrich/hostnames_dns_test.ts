/**
 * Tests of the hostname resolver with the real system resolver (getnameinfo through FFI)
 * against DNS servers of the tests' own in throw-away network namespaces: dnsmasq with PTR
 * records, and a server that never answers. The resolver runs in a separate Deno process,
 * test/enrich/_resolve_script.ts, under `ip netns exec`, which gives it the namespace's
 * resolv.conf, hosts and nsswitch.conf; so these tests also time how that process exits.
 *
 * Requires root, iproute2, dnsmasq and python3 (scripts/setup.sh installs them).
 *
 * @module
 */
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { queryDns, startDnsmasq, startSilentDns } from "../../tools/dns.ts";
import { reverseName } from "../../tools/reverse_name.ts";
import { runCommand } from "../../tools/run.ts";
import { Netns } from "../../tools/netns.ts";
import type { HostEntry } from "../../src/core/enrichment.ts";
import type { EndMode, ResolveConfig, ResolveEvent } from "./_resolve_common.ts";

const SCRIPT = new URL("./_resolve_script.ts", import.meta.url).pathname;
/** The repository, which a worker must be allowed to read its modules from. */
const REPO = new URL("../../", import.meta.url).pathname;
const decoder = new TextDecoder();

/** A finished run of the script. */
interface ScriptRun {
  /** The events it printed. */
  events: ResolveEvent[];
  /** Each address's last result. */
  results: Map<string, HostEntry>;
  /** The "done" event. */
  done: Extract<ResolveEvent, { type: "done" }>;
  /** From the start of the process to its exit, in ms. */
  wallMs: number;
  /** From "done" reaching us to the process's exit, in ms. */
  exitLagMs: number;
  code: number;
  stderr: string;
}

/** Runs the script in `ns` and reads its events as they come, to time its exit after "done". */
async function runScript(ns: Netns, config: ResolveConfig): Promise<ScriptRun> {
  const start = performance.now();
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns.name,
      Deno.execPath(),
      "run",
      "--quiet",
      "--allow-ffi",
      `--allow-read=${REPO}`,
      SCRIPT,
      JSON.stringify(config),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const events: ResolveEvent[] = [];
  let doneAt: number | undefined;
  let pending = "";
  for await (const chunk of child.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const event = JSON.parse(pending.slice(0, newline)) as ResolveEvent;
      pending = pending.slice(newline + 1);
      events.push(event);
      if (event.type === "done") doneAt = performance.now();
    }
  }
  const status = await child.status;
  const end = performance.now();
  const text = await stderr;
  const done = events.find((e) => e.type === "done");
  assert(
    done !== undefined && doneAt !== undefined,
    `expected the script to finish resolving, got exit code ${status.code}: ${text}`,
  );
  const results = new Map<string, HostEntry>();
  for (const e of events) if (e.type === "result") results.set(e.address, e.entry);
  return {
    events,
    results,
    done,
    wallMs: end - start,
    exitLagMs: end - doneAt,
    code: status.code,
    stderr: text,
  };
}

Deno.test("HostnameResolver resolves with the system resolver: PTR, NXDOMAIN, /etc/hosts", async (t) => {
  await using ns = await Netns.create("dns");
  await using dns = await startDnsmasq(ns, {
    records: [
      { address: "192.0.2.10", name: "web.conntop.test" },
      { address: "10.20.30.40", name: "ten.conntop.test" },
      { address: "2001:db8::53", name: "six.conntop.test" },
      { address: "fd00:ab:cd::1", name: "ula.conntop.test" },
      // Also in the namespace's hosts file, under another name.
      { address: "198.51.100.7", name: "dns-name.conntop.test" },
    ],
    hosts: "127.0.0.1\tlocalhost\n198.51.100.7\thosts-name.conntop.test\n" +
      "2001:db8::7\thosts6.conntop.test\n",
  });

  await t.step("the test's DNS server answers PTR and NXDOMAIN itself", async () => {
    assertEquals(await queryDns(ns, reverseName("192.0.2.10")), {
      rcode: 0,
      authoritative: true,
      answers: ["web.conntop.test"],
    });
    assertEquals((await queryDns(ns, reverseName("2001:db8::53"))).answers, ["six.conntop.test"]);
    assertEquals((await queryDns(ns, reverseName("198.51.100.7"))).answers, [
      "dns-name.conntop.test",
    ]);
    assertEquals((await queryDns(ns, reverseName("192.0.2.99"))).rcode, 3, "NXDOMAIN");
    assertEquals((await queryDns(ns, reverseName("2001:db8::99"))).rcode, 3, "NXDOMAIN");
  });

  await t.step("getnameinfo finds names in DNS and /etc/hosts, and reports NXDOMAIN", async () => {
    const before = dns.queries().length;
    const expected: [string, HostEntry][] = [
      ["192.0.2.10", { status: "resolved", name: "web.conntop.test" }],
      ["10.20.30.40", { status: "resolved", name: "ten.conntop.test" }],
      ["2001:db8::53", { status: "resolved", name: "six.conntop.test" }],
      ["fd00:ab:cd::1", { status: "resolved", name: "ula.conntop.test" }],
      ["198.51.100.7", { status: "resolved", name: "hosts-name.conntop.test" }],
      ["2001:db8::7", { status: "resolved", name: "hosts6.conntop.test" }],
      ["192.0.2.99", { status: "not-found" }],
      ["2001:db8::99", { status: "not-found" }],
      [
        "not-an-address",
        { status: "failed", error: "Failed to look up 'not-an-address': not an IP address" },
      ],
    ];
    const run = await runScript(ns, {
      addresses: expected.map(([address]) => address),
      timeoutMs: 5000,
      mode: "exit",
    });
    assertEquals(run.code, 0, run.stderr);
    assertEquals(Object.fromEntries(run.results), Object.fromEntries(expected));
    assertEquals(run.done.stats.inFlight, 0);
    assertEquals(run.done.stats.timeouts, 0);
    // "hosts: files dns": what /etc/hosts knows never reaches the DNS server.
    const asked = dns.queries().slice(before);
    for (const address of ["192.0.2.10", "2001:db8::53", "192.0.2.99", "2001:db8::99"]) {
      assert(asked.includes(reverseName(address)), `expected a query for ${address}`);
    }
    for (const address of ["198.51.100.7", "2001:db8::7"]) {
      assert(!asked.includes(reverseName(address)), `expected no query for ${address}`);
    }
  });

  await t.step("closing the server stops dnsmasq and removes the namespace's files", async () => {
    await dns.close();
    const { stdout } = await runCommand(["ip", "netns", "pids", ns.name]);
    assertEquals(stdout.trim(), "", "no process left in the namespace");
    await assertRejects(() => Deno.lstat(`/etc/netns/${ns.name}`), Deno.errors.NotFound);
  });
});

Deno.test("Quitting does not wait for lookups stuck on a DNS server that never answers", async (t) => {
  await using ns = await Netns.create("silent");
  // glibc gives up on this server after timeout × attempts = 10 s.
  await using silent = await startSilentDns(ns, { resolvOptions: ["timeout:5", "attempts:2"] });
  const addresses = ["192.0.2.1", "2001:db8::1", "198.51.100.1"];
  const timeoutMs = 500;
  const config = (mode: EndMode): ResolveConfig => ({ addresses, timeoutMs, mode });

  // The control runs alongside the other cases, which it would otherwise hold up for 10 s.
  const control = runScript(ns, config("return"));
  try {
    for (
      const [mode, how] of [["exit", "Deno.exit()"], ["worker", "worker.terminate()"]] as const
    ) {
      await t.step(`${how} ends the process with lookups still running`, async () => {
        const queriesBefore = silent.received();
        const run = await runScript(ns, config(mode));
        assertEquals(run.code, 0, run.stderr);
        assertTimedOutPromptly(run, addresses, timeoutMs);
        assert(
          silent.received() - queriesBefore >= addresses.length,
          "expected the lookups to have reached the silent server",
        );
        assertEquals(run.done.stats.inFlight, addresses.length, "still running at the end");
        assertEquals(run.done.stats.stuck, addresses.length);
        if (mode === "worker") {
          assert(run.events.some((e) => e.type === "terminated"), "expected the worker to end");
        }
        assert(run.exitLagMs < 1000, `expected an exit at once, took ${run.exitLagMs} ms`);
        assert(run.wallMs < 3000, `expected the whole run within 3 s, took ${run.wallMs} ms`);
      });
    }
  } finally {
    await t.step(
      "a main thread that just returns waits for glibc to give up (the control)",
      async () => {
        const run = await control;
        assertEquals(run.code, 0, run.stderr);
        assertTimedOutPromptly(run, addresses, timeoutMs);
        assertEquals(run.done.stats.inFlight, addresses.length);
        assert(run.exitLagMs > 8000, `expected to wait about 10 s, waited ${run.exitLagMs} ms`);
        assert(run.wallMs < 20_000, `expected glibc to give up after 10 s, took ${run.wallMs} ms`);
      },
    );
  }
});

/** Every address timed out at about `timeoutMs`: not earlier, and not much later. */
function assertTimedOutPromptly(run: ScriptRun, addresses: string[], timeoutMs: number): void {
  for (const address of addresses) {
    const result = run.events.find((e) => e.type === "result" && e.address === address);
    assert(result?.type === "result", `expected a result for ${address}`);
    assertEquals(result.entry, { status: "timeout" }, address);
    assert(
      result.ms >= timeoutMs - 5 && result.ms < timeoutMs + 1000,
      `expected ${address} to time out after about ${timeoutMs} ms, took ${result.ms} ms`,
    );
  }
}
