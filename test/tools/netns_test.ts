/**
 * Tests of the network namespace manager (tools/netns.ts), against the real kernel.
 *
 * Requires root, iproute2, conntrack, nftables and python3 (scripts/setup.sh installs them).
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";
import { runCommand } from "../../tools/run.ts";
import { loadConntrack, Netns, ping, tcpRoundTrip, vethPair } from "../../tools/netns.ts";

async function namespaceExists(name: string): Promise<boolean> {
  const { stdout } = await runCommand(["ip", "netns", "list"]);
  return stdout.split("\n").some((line) => line.split(" ")[0] === name);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert(err instanceof Error, `expected an Error, got ${err}`);
    return err;
  }
  throw new Error("Failed to observe a rejection: expected the promise to reject, got a value");
}

Deno.test("Netns.create() makes a namespace with lo up that close() deletes once", async () => {
  const ns = await Netns.create("nstest");
  assert(/^nstest-\d+-\d+-[0-9a-f]{4}$/.test(ns.name), ns.name);
  assert(await namespaceExists(ns.name));
  const { stdout } = await ns.exec(["ip", "-o", "link", "show", "lo"]);
  assertStringIncludes(stdout, "UP");
  await ns.close();
  assert(ns.closed);
  assert(!(await namespaceExists(ns.name)));
  await ns.close();
  const err = await rejection(ns.exec(["true"]));
  assertStringIncludes(err.message, "the namespace is closed");
});

Deno.test("Netns with await using deletes the namespace when the test body throws", async () => {
  let name = "";
  const err = await rejection((async () => {
    await using ns = await Netns.create("nstest");
    name = ns.name;
    throw new Error("Failed on purpose");
  })());
  assertEquals(err.message, "Failed on purpose");
  assert(name !== "" && !(await namespaceExists(name)), name);
});

Deno.test("Netns.exec() throws with the command, the exit code and stderr", async () => {
  await using ns = await Netns.create("nstest");
  const err = await rejection(ns.exec(["sh", "-c", "echo oops >&2; exit 3"]));
  assertStringIncludes(err.message, `Failed to run 'ip netns exec ${ns.name} sh -c`);
  assertStringIncludes(err.message, "exit code 3: oops");
  const result = await ns.exec(["sh", "-c", "cat; exit 4"], { stdin: "in", check: false });
  assertEquals(result, { code: 4, stdout: "in", stderr: "" });
});

Deno.test("Netns.sysctl() writes and reads inside the namespace only", async () => {
  const host = (await runCommand(["sysctl", "-n", "net.netfilter.nf_conntrack_timestamp"]))
    .stdout.trim();
  await using ns = await Netns.create("nstest");
  const flipped = host === "1" ? "0" : "1";
  assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_timestamp", flipped), flipped);
  assertEquals(await ns.sysctl("net.netfilter.nf_conntrack_timestamp"), flipped);
  const after = (await runCommand(["sysctl", "-n", "net.netfilter.nf_conntrack_timestamp"]))
    .stdout.trim();
  assertEquals(after, host);
});

Deno.test("loadConntrack() inserts every line and reports the line conntrack rejects", async () => {
  await using ns = await Netns.create("nstest");
  const line = "-I -t 60 -s 10.1.0.1 -d 10.1.0.2 -p udp --sport 1000 --dport 53";
  await loadConntrack(ns, [
    line,
    "-I -t 60 -s 10.1.0.3 -d 10.1.0.4 -p tcp --sport 1 --dport 2 " +
    "--state ESTABLISHED",
  ]);
  const { stdout } = await ns.conntrack(["-L"]);
  assertEquals(stdout.trim().split("\n").length, 2);
  const err = await rejection(loadConntrack(ns, [line]));
  assertStringIncludes(err.message, `into network namespace '${ns.name}'`);
  assertStringIncludes(err.message, "Such conntrack exists");
  const multiLine = await rejection(loadConntrack(ns, [`${line}\n${line}`]));
  assertStringIncludes(multiLine.message, "expected one command per line");
});

Deno.test("vethPair() joins two namespaces that ping() and tcpRoundTrip() can cross", async () => {
  await using a = await Netns.create("nstest");
  await using b = await Netns.create("nstest");
  const names = await vethPair(a, b, {
    aAddr: "10.78.0.1",
    bAddr: "10.78.0.2",
    prefixLen: 30,
    aAddr6: "fd78::1",
    bAddr6: "fd78::2",
  });
  assert(names.a.length <= 15 && names.b.length <= 15, JSON.stringify(names));
  const addrA = (await a.exec(["ip", "-o", "addr", "show", "dev", names.a])).stdout;
  assertStringIncludes(addrA, "10.78.0.1/30");
  assertStringIncludes(addrA, "fd78::1/64");
  // The pair never touches the root namespace.
  const host = (await runCommand(["ip", "-o", "link", "show"])).stdout;
  assert(!host.includes(names.a) && !host.includes(names.b), "no veth end in the root namespace");

  assert((await ping(a, "10.78.0.2")).id > 0);
  assert((await ping(b, "fd78::1")).id > 0);
  const { sport } = await tcpRoundTrip(a, b, { address: "fd78::2", port: 9000, size: 5000 });
  assert(sport > 0 && sport < 65536, `sport ${sport}`);

  await a.close();
  const left = await b.exec(["ip", "-o", "link", "show", names.b], { check: false });
  assert(left.code !== 0, "closing one namespace removes the peer in the other");
});
