/**
 * The server's security rules end to end: TLS with a self-signed certificate (trusted by the
 * client through caCerts, refused without it or with another), token and TLS together, and the
 * refusal to listen beyond loopback without both unless --insecure. The tests that listen beyond
 * loopback run conntopd inside a throw-away namespace, on an address that exists only there.
 */

import { assert, assertEquals, assertMatch, assertRejects } from "../_helpers/assert.ts";
import { Conntopd, runConntopd, serveNamespace } from "../_helpers/conntopd.ts";
import { freePort } from "../../tools/ports.ts";
import { Netns } from "../../tools/netns.ts";
import { ProtoClient } from "../_helpers/proto_client.ts";
import { makeSelfSigned } from "../_helpers/tls_cert.ts";

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "conntopd-sec-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

Deno.test("conntopd over TLS serves a client that trusts its certificate and no other", async (t) => {
  await using dir = await tempDir();
  const cert = await makeSelfSigned(dir.path, "server");
  const other = await makeSelfSigned(dir.path, "other");
  const token = `${dir.path}/token`;
  await Deno.writeTextFile(token, "tls-and-token\n", { mode: 0o600 });
  await using served = await serveNamespace(
    ["-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p udp --sport 1 --dport 53"],
    ["--tls-cert", cert.cert, "--tls-key", cert.key, "--token-file", token, "-v"],
  );
  const { server } = served;
  const caCerts = [await Deno.readTextFile(cert.cert)];

  await t.step("the listener says TLS", () => {
    assertMatch(server.log, /Listening on 127\.0\.0\.1:\d+ \(TLS\)/);
  });
  await t.step("a client trusting the certificate gets the table, over IPv4 and IPv6", async () => {
    for (const hostname of ["127.0.0.1", "::1"]) {
      await using c = await ProtoClient.connect({ port: server.port, hostname, tls: { caCerts } });
      const { banner } = await c.handshake({ token: "tls-and-token" });
      assertEquals(banner.auth, ["token"]);
      const snap = await c.nextBatch();
      assertEquals(snap.count, 1);
    }
  });
  await t.step("a client trusting only the system's CAs refuses the server", async () => {
    await assertRejects(() => ProtoClient.connect({ port: server.port, tls: {} }), Error);
  });
  await t.step("a client trusting another certificate refuses the server", async () => {
    const otherCa = [await Deno.readTextFile(other.cert)];
    await assertRejects(
      () => ProtoClient.connect({ port: server.port, tls: { caCerts: otherCa } }),
      Error,
    );
  });
  await t.step("a plain TCP client gets no banner", async () => {
    await using c = await ProtoClient.connect({ port: server.port });
    await c.send({ type: "hello", version: 1, software: "t 1", name: "plain" });
    // Whatever the server answers (a TLS alert, or nothing), it is not a message.
    const got = await c.next(20_000).then((m) => m?.type ?? "the end", () => "an error");
    assert(got === "the end" || got === "an error", `got a ${got}`);
  });
  await t.step("the server still serves after the failures, and logged them", async () => {
    await using c = await ProtoClient.connect({ port: server.port, tls: { caCerts } });
    await c.handshake({ token: "tls-and-token" });
    assertEquals((await c.nextBatch()).count, 1);
    assertMatch(server.log, /TLS handshake failed/);
  });
});

Deno.test("conntopd refuses a certificate and key that do not go together", async () => {
  await using dir = await tempDir();
  const a = await makeSelfSigned(dir.path, "a");
  const b = await makeSelfSigned(dir.path, "b");
  await using ns = await Netns.create("sec");
  const r = await runConntopd([
    "--netns",
    ns.name,
    "--port",
    String(freePort()),
    "--tls-cert",
    a.cert,
    "--tls-key",
    b.key,
  ]);
  assertEquals(r.code, 2, r.stderr);
  assertMatch(
    r.stderr,
    new RegExp(`^conntopd: Cannot use TLS certificate '${a.cert}' with key '${b.key}': `, "m"),
  );
});

/** A namespace with 10.77.0.1 on its loopback device: an address beyond loopback, reachable only inside. */
async function exposedNamespace(): Promise<Netns> {
  const ns = await Netns.create("expo");
  try {
    await ns.exec(["ip", "addr", "add", "10.77.0.1/24", "dev", "lo"]);
    return ns;
  } catch (err) {
    await ns.close();
    throw err;
  }
}

Deno.test("conntopd will not listen beyond loopback without a token and TLS", async (t) => {
  await using dir = await tempDir();
  const cert = await makeSelfSigned(dir.path, "server", ["10.77.0.1"]);
  const token = `${dir.path}/token`;
  await Deno.writeTextFile(token, "abc\n", { mode: 0o600 });
  await using ns = await exposedNamespace();
  const inNs = ["ip", "netns", "exec", ns.name];
  const cases: [string, string[], RegExp][] = [
    [
      "--listen 10.77.0.1 alone",
      ["--listen", "10.77.0.1"],
      /^conntopd: Listening on 10\.77\.0\.1:\d+ \(beyond loopback\) needs --token-file and --tls-cert\/--tls-key, or --insecure\n/,
    ],
    [
      "--listen-any alone",
      ["--listen-any"],
      /^conntopd: Listening on any address \(beyond loopback\) needs --token-file and --tls-cert\/--tls-key, or --insecure\n/,
    ],
    [
      "--listen-any with a token but no TLS",
      ["--listen-any", "--token-file", token],
      /needs --tls-cert\/--tls-key, or --insecure\n/,
    ],
    [
      "--listen-any with TLS but no token",
      ["--listen-any", "--tls-cert", cert.cert, "--tls-key", cert.key],
      /needs --token-file, or --insecure\n/,
    ],
    [
      "loopback and 10.77.0.1",
      ["--listen", "127.0.0.1", "--listen", "10.77.0.1", "--token-file", token],
      /Listening on 10\.77\.0\.1:\d+ \(beyond loopback\) needs --tls-cert\/--tls-key/,
    ],
  ];
  for (const [name, args, re] of cases) {
    await t.step(`${name}: exit 2 naming what is missing`, async () => {
      const r = await runConntopd([...args, "--port", "45001"], { prefix: inNs });
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, re);
      assertEquals(r.stderr.split("\n").filter((l) => l.startsWith("conntopd:")).length, 1);
    });
  }
  await t.step("--listen-any with a token and TLS starts", async () => {
    await using s = await Conntopd.start(
      ["--listen-any", "--token-file", token, "--tls-cert", cert.cert, "--tls-key", cert.key],
      { prefix: inNs },
    );
    assert(!/WARNING Listening/.test(s.log), s.log);
  });
});

const BANNER_SCRIPT = `
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print(s.makefile("rb").readline().decode().strip())
`;

Deno.test("conntopd --insecure listens beyond loopback with a warning, and serves there", async () => {
  await using ns = await exposedNamespace();
  await using s = await Conntopd.start(["--listen-any", "--insecure"], {
    prefix: ["ip", "netns", "exec", ns.name],
  });
  assertMatch(
    s.log,
    /WARNING Listening on any address without --token-file and --tls-cert\/--tls-key \(--insecure\): anyone who can reach it can read this host's conntrack table/,
  );
  assertMatch(s.log, /Listening on \[::\]:\d+/);
  // A client inside the namespace reaches it on the non-loopback address, over IPv4.
  const { stdout } = await ns.exec(["python3", "-c", BANNER_SCRIPT, "10.77.0.1", String(s.port)]);
  assertEquals(JSON.parse(stdout).type, "banner");
});
