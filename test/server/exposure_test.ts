import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import { checkExposure, isLoopback } from "../../src/server/exposure.ts";
import { parseServerOptions, type RemoteValues } from "../../src/cli/remote.ts";
import { UsageError } from "../../src/errors.ts";

const opts = (v: RemoteValues) => parseServerOptions({ server: true, ...v });

Deno.test("isLoopback() knows 127/8 and ::1 in any spelling, and nothing else", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) {
    assertEquals(isLoopback(h), true, h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "128.0.0.1"]) {
    assertEquals(isLoopback(h), false, h);
  }
});

Deno.test("checkExposure() allows loopback without token or TLS", () => {
  assertEquals(checkExposure(opts({})), []);
  assertEquals(checkExposure(opts({ listen: ["127.0.0.2", "::1"] })), []);
});

Deno.test("checkExposure() refuses beyond loopback without both token and TLS, naming what is missing", () => {
  const cases: [RemoteValues, string][] = [
    [
      { "listen-any": true },
      "Listening on any address (beyond loopback) needs --token-file and --tls-cert/--tls-key, or --insecure",
    ],
    [
      { listen: ["10.0.0.1"], "token-file": "t" },
      "Listening on 10.0.0.1:55555 (beyond loopback) needs --tls-cert/--tls-key, or --insecure",
    ],
    [
      { listen: ["::1", "[2001:db8::1]"], "tls-cert": "c", "tls-key": "k" },
      "Listening on [2001:db8::1]:55555 (beyond loopback) needs --token-file, or --insecure",
    ],
  ];
  for (const [v, message] of cases) {
    const err = assertThrows(() => checkExposure(opts(v)), UsageError);
    assertEquals(err.message, message);
  }
});

Deno.test("checkExposure() with --insecure returns the warning to log", () => {
  assertEquals(checkExposure(opts({ "listen-any": true, insecure: true })), [
    "Listening on any address without --token-file and --tls-cert/--tls-key (--insecure): anyone who can reach it can read this host's conntrack table",
  ]);
  assertEquals(checkExposure(opts({ listen: ["10.0.0.1"], "token-file": "t", insecure: true })), [
    "Listening on 10.0.0.1:55555 without --tls-cert/--tls-key (--insecure): the token and the table cross the network unencrypted",
  ]);
  assertEquals(
    checkExposure(opts({ "listen-any": true, "token-file": "t", "tls-cert": "c", "tls-key": "k" })),
    [],
  );
});
