/**
 * parseRemoteOptions(): what --connect's messages call the server (always with its port), and
 * the client's side of the exposure rule: a token goes beyond loopback only over TLS, unless
 * --insecure.
 */

import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import { parseRemoteOptions } from "../../src/cli/remote.ts";
import { UsageError } from "../../src/errors.ts";

Deno.test("parseRemoteOptions() names the server with its port however the port was given", () => {
  const cases: [Record<string, string>, string][] = [
    [{ connect: "example.net", port: "6000" }, "example.net:6000"],
    [{ connect: "example.net" }, "example.net:55555"],
    [{ connect: "example.net:7000" }, "example.net:7000"],
    [{ connect: "::1", port: "6000" }, "[::1]:6000"],
    [{ connect: "[::1]" }, "[::1]:55555"],
    [{ connect: "[::1]:7000" }, "[::1]:7000"],
  ];
  for (const [v, display] of cases) {
    assertEquals(parseRemoteOptions(v)?.display, display, JSON.stringify(v));
  }
});

Deno.test("parseRemoteOptions() refuses to send a token beyond loopback without TLS", async (t) => {
  await t.step("a remote address, token, no TLS: refused, naming host and port", () => {
    const err = assertThrows(
      () => parseRemoteOptions({ connect: "192.0.2.7", port: "6000", "token-file": "t" }),
      UsageError,
    );
    assertEquals(
      err.message,
      "Sending the token to 192.0.2.7:6000 (beyond loopback) without TLS needs --tls or " +
        "--tls-ca, or --insecure",
    );
    assertEquals(err.exitCode, 2);
  });
  await t.step("a hostname counts as remote (it may resolve anywhere)", () => {
    assertThrows(
      () => parseRemoteOptions({ connect: "router.example", "token-file": "t" }),
      UsageError,
    );
  });
  await t.step("with --insecure, --tls or --tls-ca, or on loopback: allowed", () => {
    const ok: Record<string, string | boolean>[] = [
      { connect: "192.0.2.7", "token-file": "t", insecure: true },
      { connect: "192.0.2.7", "token-file": "t", tls: true },
      { connect: "192.0.2.7", "token-file": "t", "tls-ca": "ca.pem" },
      { connect: "127.0.0.2", "token-file": "t" },
      { connect: "[::1]:7000", "token-file": "t" },
      { connect: "localhost", "token-file": "t" },
      { connect: "192.0.2.7" },
    ];
    for (const v of ok) {
      const r = parseRemoteOptions(v);
      assertEquals(r?.insecure, v.insecure === true, JSON.stringify(v));
    }
  });
  await t.step("--insecure without --connect or --server is a usage error", () => {
    assertThrows(() => parseRemoteOptions({ insecure: true }), UsageError, "--insecure");
  });
});

Deno.test("--deadline: 30 s by default, for --connect --once only", async (t) => {
  const { parseOptions } = await import("../../src/cli/options.ts");
  await t.step("default and given", () => {
    assertEquals(parseRemoteOptions({ connect: "127.0.0.1" })?.deadlineMs, 30_000);
    assertEquals(
      parseOptions(["--connect", "h", "--once", "--deadline", "2.5"]).remote?.deadlineMs,
      2500,
    );
  });
  await t.step("out of range, or without --once: a usage error", () => {
    for (
      const args of [["--once", "--deadline", "0"], ["--once", "--deadline", "x"], [
        "--deadline",
        "5",
      ], ["--stream", "--deadline", "5"]]
    ) {
      assertThrows(() => parseOptions(["--connect", "h", ...args]), UsageError, "--deadline");
    }
    assertThrows(() => parseOptions(["--once", "--deadline", "5"]), UsageError, "--deadline");
  });
});
