/**
 * `conntop --connect` over TLS to the real conntopd, with self-signed certificates made by
 * openssl in the test: the server's own certificate given to --tls-ca is trusted (pinning),
 * any other is refused with a clear error and exit code 2, and a client that forgets TLS is
 * told so.
 */

import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { Conntopd } from "../_helpers/conntopd.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { makeExpired, makeSelfSigned } from "../_helpers/tls_cert.ts";
import { runConntop } from "./_conntop.ts";

Deno.test("conntop --connect --tls-ca trusts the server's self-signed certificate and no other", async (t) => {
  await using ns = await Netns.create("rtls");
  await loadConntrack(ns, [
    "-I -t 300 -s 10.5.0.1 -d 192.0.2.80 -p tcp --sport 4321 --dport 443 --state ESTABLISHED",
  ]);
  const dir = await Deno.makeTempDir({ prefix: "conntop-tls-" });
  try {
    const server = await makeSelfSigned(dir, "server", ["127.0.0.1"]);
    const other = await makeSelfSigned(dir, "other", ["127.0.0.1"]);
    await using d = await Conntopd.start([
      "--netns",
      ns.name,
      "--tls-cert",
      server.cert,
      "--tls-key",
      server.key,
      "--handshake-timeout",
      "1",
    ]);
    const at = `127.0.0.1:${d.port}`;
    const once = ["--once", "-o", "json", "-n"];

    await t.step("its own certificate as --tls-ca: the table comes through", async () => {
      const r = await runConntop(["--connect", at, "--tls-ca", server.cert, ...once]);
      assertEquals(r.code, 0, r.stderr);
      const conns = JSON.parse(r.stdout).connections as { orig_src: string; orig_dport: number }[];
      assertEquals(conns.map((c) => [c.orig_src, c.orig_dport]), [["10.5.0.1", 443]]);
    });

    await t.step("another certificate as --tls-ca: refused, exit 2", async () => {
      const r = await runConntop(["--connect", at, "--tls-ca", other.cert, ...once]);
      assertEquals(r.code, 2, r.stderr);
      assertEquals(r.stdout, "");
      assertMatch(
        r.stderr,
        /^conntop: Cannot connect to 127\.0\.0\.1:\d+: TLS: the server's certificate is not trusted \(.*UnknownIssuer.*\); give its CA, or the certificate itself, with --tls-ca\n$/,
      );
    });

    await t.step("--tls with the system's authorities only: refused, exit 2", async () => {
      const r = await runConntop(["--connect", at, "--tls", ...once]);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /TLS: the server's certificate is not trusted/);
    });

    await t.step("a name the certificate does not list: refused, exit 2", async () => {
      const r = await runConntop([
        "--connect",
        `localhost:${d.port}`,
        "--tls-ca",
        server.cert,
        ...once,
      ]);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /not trusted \(.*not valid for name.*\); it does not name the address/);
    });

    await t.step("an unreadable --tls-ca: exit 2 before connecting", async () => {
      const r = await runConntop(["--connect", at, "--tls-ca", `${dir}/missing.pem`, ...once]);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /^conntop: Cannot read --tls-ca file '.*missing\.pem': no such file/);
    });
    assert(d.lines.length > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conntop --connect without TLS to a TLS server says at once to add --tls or --tls-ca", async () => {
  await using ns = await Netns.create("rtls");
  const dir = await Deno.makeTempDir({ prefix: "conntop-tls-" });
  try {
    const server = await makeSelfSigned(dir, "server", ["127.0.0.1"]);
    // The default handshake timeout (10 s): the client must not wait for it.
    await using d = await Conntopd.start([
      "--netns",
      ns.name,
      "--tls-cert",
      server.cert,
      "--tls-key",
      server.key,
    ]);
    const started = Date.now();
    const r = await runConntop(["--connect", `127.0.0.1:${d.port}`, "--once"]);
    const ms = Date.now() - started;
    assertEquals(r.code, 2, r.stderr);
    assertEquals(
      r.stderr,
      `conntop: Server 127.0.0.1:${d.port} speaks TLS: connect with --tls or --tls-ca\n`,
    );
    assert(ms < 5000, `took ${ms} ms`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conntop --connect to a server whose certificate expired names the expiry date", async () => {
  await using ns = await Netns.create("rtls");
  const dir = await Deno.makeTempDir({ prefix: "conntop-tls-" });
  try {
    const cert = await makeExpired(dir);
    await using d = await Conntopd.start([
      "--netns",
      ns.name,
      "--tls-cert",
      cert.cert,
      "--tls-key",
      cert.key,
    ]);
    const r = await runConntop([
      "--connect",
      `127.0.0.1:${d.port}`,
      "--tls-ca",
      cert.cert,
      "--once",
    ]);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(
      r.stderr,
      new RegExp(
        `^conntop: Cannot connect to 127\\.0\\.0\\.1:${d.port}: TLS: the server's certificate ` +
          "expired on 2020-01-02 00:00:00 UTC: renew it on the server \\(or check this host's clock\\)\\n$",
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
