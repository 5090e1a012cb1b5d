/**
 * ServerConnection against a scripted fake server: the handshake and what the hello carries,
 * every way a handshake is refused and the error (and exit code) each becomes, batches put
 * together, pings both ways, protocol violations, silence, and a clean close.
 */

import { assert, assertEquals, assertMatch, assertRejects } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import type { BatchMessage } from "../../src/collector/mod.ts";
import { Kind } from "../../src/conntrack/mod.ts";
import { ExitCode } from "../../src/errors.ts";
import { RemoteError, ServerConnection, silenceLimitMs } from "../../src/client/mod.ts";
import { VERSION } from "../../src/version.ts";
import { FakeServer, until, welcome } from "./_fake_server.ts";

const TOKEN = "s3cr3t-T0KEN";

function conns(n: number, kind: number = Kind.NEW): TestConn[] {
  return Array.from({ length: n }, (_, i) => ({
    slot: i,
    kind,
    src: `10.0.0.${i + 1}`,
    dst: "192.0.2.1",
    sport: 40000 + i,
    dport: 443,
    txBytes: 100 * i,
  }));
}

/** Opens a connection that must fail; returns its error. */
async function refused(server: FakeServer, over = {}): Promise<RemoteError> {
  const err = await assertRejects(
    () => ServerConnection.open(server.options(over)),
    RemoteError,
  );
  return err as RemoteError;
}

Deno.test("ServerConnection.open() sends the hello the banner asks for and keeps the welcome", async () => {
  await using server = FakeServer.start(async (c) => {
    await c.handshake({
      banner: { auth: ["token"] },
      welcome: { name: "router", intervalMs: 500, netns: "lab" },
    });
    await c.drain();
  });
  await using conn = await ServerConnection.open(server.options({ token: TOKEN, name: "laptop" }));
  assertEquals(conn.welcome.name, "router");
  assertEquals(conn.welcome.netns, "lab");
  assertEquals(conn.banner.software, "conntopd 0.1.0");
  await until(() => server.conns[0]?.received.length === 1, "the hello");
  assertEquals(server.conns[0]!.received[0], {
    type: "hello",
    version: 1,
    software: `conntop ${VERSION}`,
    name: "laptop",
    token: TOKEN,
  });
});

Deno.test("ServerConnection.open() sends no token to a server that asks for none", async () => {
  await using server = FakeServer.start(async (c) => {
    await c.handshake();
    await c.drain();
  });
  await using _conn = await ServerConnection.open(server.options({ token: TOKEN }));
  await until(() => server.conns[0]?.received.length === 1, "the hello");
  const hello = server.conns[0]!.received[0]!;
  assert(hello.type === "hello" && hello.token === undefined, JSON.stringify(hello));
});

Deno.test("refused handshakes become errors that say why, with the exit code to leave with", async (t) => {
  await t.step("a server that is not conntop (an SSH banner): not retryable, exit 2", async () => {
    await using server = FakeServer.start(async (c) => {
      await c.raw("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
      await c.drain();
    });
    const err = await refused(server);
    assertMatch(err.message, /^Server 127\.0\.0\.1:\d+ is not a conntop server: /);
    assertEquals([err.kind, err.retryable, err.exitCode], ["version", false, ExitCode.USAGE]);
  });

  await t.step("a banner of another protocol name: not conntop", async () => {
    await using server = FakeServer.start(async (c) => {
      await c.raw('{"type":"banner","protocol":"other","versions":[1],"software":"x","auth":[]}\n');
      await c.drain();
    });
    const err = await refused(server);
    assertMatch(err.message, /is not a conntop server/);
  });

  await t.step("no version in common: bye version_mismatch, then a version error", async () => {
    await using server = FakeServer.start(async (c) => {
      await c.send({
        type: "banner",
        protocol: "conntop",
        versions: [2, 3],
        software: "conntopd 9",
        auth: [],
      });
      await c.drain();
    });
    const err = await refused(server);
    assertEquals(
      err.message,
      `Server 127.0.0.1:${server.port} speaks protocol version 2, 3, this conntop speaks 1: ` +
        "upgrade the older of the two",
    );
    assertEquals([err.kind, err.exitCode], ["version", ExitCode.USAGE]);
    await until(() => server.conns[0]?.received.length === 1, "the bye");
    assertEquals(server.conns[0]!.received[0]!.type, "bye");
    assertEquals((server.conns[0]!.received[0] as { reason: string }).reason, "version_mismatch");
  });

  await t.step("bye auth_failed: the authentication message, exit 2, never the token", async () => {
    await using server = FakeServer.start(async (c) => {
      await c.send({
        type: "banner",
        protocol: "conntop",
        versions: [1],
        software: "d",
        auth: ["token"],
      });
      await c.read();
      await c.send({ type: "bye", reason: "auth_failed", message: "wrong or missing token" });
    });
    const err = await refused(server, { token: TOKEN });
    assertEquals(err.message, "Authentication failed: wrong or missing token (--token-file)");
    assertEquals([err.kind, err.retryable, err.exitCode], ["auth", false, ExitCode.USAGE]);
    assert(!err.message.includes(TOKEN) && !err.brief.includes(TOKEN));
  });

  await t.step("a token asked for and none given: fails before sending a hello", async () => {
    await using server = FakeServer.start(async (c) => {
      await c.send({
        type: "banner",
        protocol: "conntop",
        versions: [1],
        software: "d",
        auth: ["token"],
      });
      await c.drain();
    });
    const err = await refused(server);
    assertMatch(
      err.message,
      /^Authentication failed: server .* requires a token \(--token-file\)$/,
    );
    assertEquals(err.exitCode, ExitCode.USAGE);
    await until(() => server.conns[0]?.received.length === 1, "the bye");
    assertEquals(server.conns[0]!.received.map((m) => m.type), ["bye"]);
  });

  await t.step("a welcome with another record size: bye version_mismatch", async () => {
    await using server = FakeServer.start(async (c) => {
      await c.handshake({ welcome: { recordSize: 176 } });
      await c.drain();
    });
    const err = await refused(server);
    assertMatch(err.message, /sends records of 176 bytes, this conntop reads 168/);
    assertEquals(err.exitCode, ExitCode.USAGE);
    await until(() => server.conns[0]?.received.length === 2, "the bye");
    assertEquals(server.conns[0]!.received[1], {
      type: "bye",
      reason: "version_mismatch",
      message: "records of 168 bytes expected",
    });
  });

  await t.step("server_full and rate_limited are for later: retryable, exit 1", async () => {
    for (const [reason, re] of [["server_full", /as many clients/], ["rate_limited", /for now/]]) {
      await using server = FakeServer.start(async (c) => {
        await c.send({ type: "bye", reason, message: "try later" });
      });
      const err = await refused(server);
      assertMatch(err.message, re as RegExp);
      assertEquals([err.kind, err.retryable, err.exitCode], ["server", true, ExitCode.FAILURE]);
      assertEquals(err.minDelayMs, reason === "rate_limited" ? 10_000 : 0);
    }
  });

  await t.step("nothing listening: a network error naming the server, exit 1", async () => {
    const server = FakeServer.start(() => Promise.resolve());
    const options = server.options();
    await server.close();
    const err = await assertRejects(() => ServerConnection.open(options), RemoteError);
    assertEquals(err.message, `Cannot connect to ${options.display}: connection refused`);
    assertEquals([err.kind, err.brief, err.exitCode], [
      "network",
      "connection refused",
      ExitCode.FAILURE,
    ]);
  });

  await t.step(
    "a TLS record where the banner belongs: told to use TLS at once, exit 2",
    async () => {
      await using server = FakeServer.start(async (c) => {
        // A TLS alert record (fatal, unexpected_message), as some TLS servers send first.
        await c.raw(Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a));
        await c.drain();
      });
      const started = Date.now();
      const err = await refused(server, { handshakeTimeoutMs: 5000 });
      assertEquals(
        err.message,
        `Server 127.0.0.1:${server.port} speaks TLS: connect with --tls or --tls-ca`,
      );
      assertEquals([err.kind, err.exitCode], ["tls", ExitCode.USAGE]);
      assert(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    },
  );
  await t.step("a server that never speaks: the handshake times out, with a TLS hint", async () => {
    await using server = FakeServer.start((c) => c.drain());
    const err = await refused(server, { handshakeTimeoutMs: 200 });
    assertMatch(err.message, /did not complete the handshake within 0\.2 s \(if it uses TLS/);
    assertEquals(err.kind, "network");
  });
});

Deno.test("run() assembles parts into whole batches, a snapshot first with reset", async () => {
  const snapshot = batchOf(conns(3), { seq: 5 });
  const delta = batchOf(conns(1, Kind.UPDATE), { seq: 6 });
  await using server = FakeServer.start(async (c) => {
    await c.handshake();
    await c.sendBatch(snapshot, "snapshot");
    await c.send({ type: "warning", timeMs: 1, message: "accounting is off\u009b[31m" });
    await c.sendBatch(delta, "delta");
    await c.drain();
  });
  const conn = await ServerConnection.open(server.options());
  const got: BatchMessage[] = [];
  const warnings: string[] = [];
  await conn.run({
    onBatch: (b) => {
      got.push(b);
      return got.length === 2;
    },
    onWarning: (m) => warnings.push(m),
  });
  assertEquals(got.map((b) => [b.seq, b.count, b.reset ?? false]), [[5, 3, true], [6, 1, false]]);
  // C1 controls from a server never reach the terminal.
  assertEquals(warnings, ["accounting is off?[31m"]);
  // Ending from this side says bye user.
  await until(() => server.conns[0]!.received.some((m) => m.type === "bye"), "the bye");
  assertEquals(server.conns[0]!.received.at(-1), {
    type: "bye",
    reason: "user",
    message: "the user quit",
  });
});

Deno.test("run() answers pings, and pings every third of the server's idle timeout", async () => {
  let pong: unknown;
  await using server = FakeServer.start(async (c) => {
    await c.handshake({ welcome: { idleTimeoutMs: 1000 } });
    await c.sendBatch(batchOf(conns(1)), "snapshot");
    await c.send({ type: "ping", id: 77 });
    pong = await c.readUntil("pong");
    // Two pings of the client's own within ~0.67 s; allow plenty.
    await c.readUntil("ping");
    await c.readUntil("ping");
    await c.send({ type: "bye", reason: "server_quit", message: "done" });
  });
  const conn = await ServerConnection.open(server.options());
  const err = await assertRejects(() => conn.run({ onBatch: () => {} }), RemoteError);
  assertEquals(pong, { type: "pong", id: 77 });
  assertEquals(err.message, `Server 127.0.0.1:${server.port} stopped (done)`);
  assertEquals(err.retryable, true);
});

Deno.test("run() ends the connection with bye protocol_error on a protocol violation", async (t) => {
  const cases: [string, (c: import("./_fake_server.ts").FakeConn) => Promise<void>, RegExp][] = [
    [
      "a delta before the first snapshot",
      (c) => c.sendBatch(batchOf(conns(1, Kind.UPDATE), { seq: 1 }), "delta"),
      /a delta came before the first snapshot/,
    ],
    [
      "a delta that skips a seq",
      async (c) => {
        await c.sendBatch(batchOf(conns(1), { seq: 1 }), "snapshot");
        await c.sendBatch(batchOf([], { seq: 3 }), "delta");
      },
      /delta 3 does not follow batch 1/,
    ],
    ["a line that is not JSON", (c) => c.raw("hello?\n"), /not JSON/],
    ["a second welcome", (c) => c.send(welcome()), /unexpected 'welcome'/],
    [
      "a line longer than 4 MiB",
      (c) => c.raw(new Uint8Array(4 << 20).fill(0x20)),
      /longer than 4194304 bytes/,
    ],
    [
      "a local address that is not one",
      async (c) => {
        const b = batchOf(conns(1), { seq: 1 });
        b.local = { v4: ["10.0.0.1"], v6: ["10.0.0.2"], broadcast: [] };
        await c.sendBatch(b, "snapshot");
      },
      /local address '10\.0\.0\.2' in 'v6' is not an IPv6 address/,
    ],
    [
      "a snapshot whose extras never end",
      async (c) => {
        const secctx = "s".repeat(4000);
        const extras = Array.from({ length: 1000 }, (_, i) => [i, { secctx }]);
        for (let part = 0; part < 64; part++) {
          await c.send({
            type: "batch",
            kind: "snapshot",
            seq: 1,
            part,
            last: false,
            count: 0,
            records: [],
            extras,
            owners: [],
          }).catch(() => {});
        }
      },
      /batch 1 holds more than 64 MiB of extras and owners/,
    ],
    [
      "a delta with more owners than a batch may hold",
      async (c) => {
        await c.sendBatch(batchOf(conns(1), { seq: 1 }), "snapshot");
        const owners = Array.from({ length: 8192 }, (_, i) => [i, null]);
        for (let part = 0; part < 200; part++) {
          await c.send({
            type: "batch",
            kind: "delta",
            seq: 2,
            part,
            last: false,
            count: 0,
            records: [],
            extras: [],
            owners,
          }).catch(() => {});
        }
      },
      /batch 2 holds more than 1048576 owners/,
    ],
  ];
  for (const [name, misbehave, re] of cases) {
    await t.step(name, async () => {
      await using server = FakeServer.start(async (c) => {
        await c.handshake();
        await misbehave(c);
        await c.drain();
      });
      const conn = await ServerConnection.open(server.options());
      const err = await assertRejects(() => conn.run({ onBatch: () => {} }), RemoteError);
      assertMatch(err.message, /^Server 127\.0\.0\.1:\d+ broke the protocol: /);
      assertMatch(err.message, re);
      assertEquals([err.kind, err.retryable, err.exitCode], ["protocol", true, ExitCode.FAILURE]);
      await until(() => server.conns[0]!.received.length === 2, "the bye");
      const bye = server.conns[0]!.received[1]!;
      assert(bye.type === "bye" && bye.reason === "protocol_error", JSON.stringify(bye));
    });
  }
});

Deno.test("run() counts a silent server as lost", async () => {
  await using server = FakeServer.start(async (c) => {
    await c.handshake();
    await c.sendBatch(batchOf(conns(1)), "snapshot");
    await c.drain(); // and never another word
  });
  const conn = await ServerConnection.open(server.options());
  const t0 = Date.now();
  const err = await assertRejects(() => conn.run({ onBatch: () => {} }, 300), RemoteError);
  assert(Date.now() - t0 >= 300);
  assertMatch(err.message, /^Connection to 127\.0\.0\.1:\d+ lost: nothing received for 0\.3 s$/);
  assertEquals([err.kind, err.retryable], ["network", true]);
});

Deno.test("run() reports a server that closes as a lost connection", async () => {
  await using server = FakeServer.start(async (c) => {
    await c.handshake();
    await c.sendBatch(batchOf(conns(1)), "snapshot");
  });
  const conn = await ServerConnection.open(server.options());
  const err = await assertRejects(() => conn.run({ onBatch: () => {} }), RemoteError);
  assertMatch(err.message, /lost: the server closed it/);
  assertEquals(err.brief, "closed by the server");
});

Deno.test("close() says bye user and run() then resolves", async () => {
  await using server = FakeServer.start(async (c) => {
    await c.handshake();
    await c.sendBatch(batchOf(conns(2)), "snapshot");
    await c.drain();
  });
  const conn = await ServerConnection.open(server.options());
  let batches = 0;
  const running = conn.run({ onBatch: () => void batches++ });
  await until(() => batches === 1, "the snapshot");
  await conn.close();
  await running;
  await conn.close(); // twice is fine
  await until(() => server.conns[0]!.received.length === 2, "the bye");
  assertEquals(server.conns[0]!.received[1]!.type, "bye");
});

Deno.test("silenceLimitMs() is three intervals, at least 15 s, at most the idle timeout", () => {
  assertEquals(silenceLimitMs(welcome({ intervalMs: 1000, idleTimeoutMs: 60_000 })), 15_000);
  assertEquals(silenceLimitMs(welcome({ intervalMs: 10_000, idleTimeoutMs: 60_000 })), 30_000);
  assertEquals(silenceLimitMs(welcome({ intervalMs: 3_600_000, idleTimeoutMs: 60_000 })), 60_000);
});
