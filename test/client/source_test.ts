/**
 * runRemote's state machine against a scripted fake server: reconnection with backoff after a
 * lost connection, a protocol violation or silence, each connection starting with a snapshot;
 * no retry after errors that cannot heal or when the policy says no; a clean end.
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertThrows,
} from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import type { BatchMessage } from "../../src/collector/mod.ts";
import { Kind } from "../../src/conntrack/mod.ts";
import { EnvironmentError, ExitCode } from "../../src/errors.ts";
import { connectOptions, RemoteError, type RemoteState, runRemote } from "../../src/client/mod.ts";
import { FakeServer, until } from "./_fake_server.ts";

const FAST = { initialMs: 20, maxMs: 100, jitter: 0 };

function conns(n: number, from = 0, kind: number = Kind.NEW): TestConn[] {
  return Array.from({ length: n }, (_, i) => ({
    slot: from + i,
    kind,
    src: `10.0.${from}.${i + 1}`,
    dst: "192.0.2.1",
    sport: 40000 + i,
    dport: 443,
  }));
}

/** Records what a source reports: the states' kinds, batches as [seq, count, reset]. */
class Log {
  states: RemoteState[] = [];
  batches: [number, number, boolean][] = [];
  warnings: string[] = [];
  get kinds(): string[] {
    return this.states.map((s) => s.kind);
  }
  handlers(onBatch?: (b: BatchMessage) => boolean | void) {
    return {
      onState: (s: RemoteState) => void this.states.push(s),
      onBatch: (b: BatchMessage) => {
        this.batches.push([b.seq, b.count, b.reset === true]);
        return onBatch?.(b);
      },
      onWarning: (m: string) => void this.warnings.push(m),
    };
  }
}

Deno.test("runRemote() reconnects after a lost connection and takes the fresh snapshot", async () => {
  await using server = FakeServer.start(async (c, n) => {
    await c.handshake({
      welcome: { ready: { warnings: ["accounting is off"], flowtables: false } },
    });
    if (n === 0) {
      await c.sendBatch(batchOf(conns(2), { seq: 1 }), "snapshot");
      await c.sendBatch(batchOf(conns(1, 0, Kind.UPDATE), { seq: 2 }), "delta");
      return; // the server goes away
    }
    await c.sendBatch(batchOf(conns(3, 10), { seq: 1 }), "snapshot");
    await c.drain();
  });
  const log = new Log();
  const stop = new AbortController();
  const running = runRemote(
    server.options(),
    log.handlers(() => log.batches.length === 3 ? stop.abort() : undefined),
    { retry: "always", signal: stop.signal, backoff: FAST },
  );
  await running;
  assertEquals(log.batches, [[1, 2, true], [2, 1, false], [1, 3, true]]);
  assertEquals(log.kinds, [
    "connecting",
    "connected",
    "reconnecting",
    "connecting",
    "connected",
    "closed",
  ]);
  const lost = log.states[2]!;
  assert(lost.kind === "reconnecting");
  assertEquals(lost.error.brief, "closed by the server");
  assertEquals(lost.attempt, 1);
  // The server's start-up warnings are said once, not at every connection.
  assertEquals(log.warnings, ["accounting is off"]);
  assertEquals(server.conns.length, 2);
  // The user's end says bye user.
  await until(() => server.conns[1]!.received.some((m) => m.type === "bye"), "the bye");
});

Deno.test("runRemote() backs off while the server is down, then reconnects", async () => {
  // A port that stays ours: a server, closed, then started again on the same port.
  const first = FakeServer.start(async (c) => {
    await c.handshake();
    await c.sendBatch(batchOf(conns(1), { seq: 1 }), "snapshot");
    await c.drain();
  });
  const port = first.port;
  const log = new Log();
  const stop = new AbortController();
  let second: FakeServer | undefined;
  try {
    const running = runRemote(
      first.options(),
      log.handlers(() => log.batches.length === 2 ? stop.abort() : undefined),
      { retry: "always", signal: stop.signal, backoff: FAST },
    );
    await until(() => log.batches.length === 1, "the first snapshot");
    await first.close();
    // Several failed attempts, refused each time, with a growing delay.
    await until(
      () => log.states.filter((s) => s.kind === "reconnecting").length >= 4,
      "four reconnection attempts",
    );
    second = FakeServer.start(async (c) => {
      await c.handshake();
      await c.sendBatch(batchOf(conns(4), { seq: 9 }), "snapshot");
      await c.drain();
    }, port);
    await running;
    assertEquals(log.batches, [[1, 1, true], [9, 4, true]]);
    const waits = log.states.filter((s) => s.kind === "reconnecting") as Extract<
      RemoteState,
      { kind: "reconnecting" }
    >[];
    assertEquals(waits.slice(1, 4).map((s) => s.error.brief), [
      "connection refused",
      "connection refused",
      "connection refused",
    ]);
    assertEquals(waits.slice(0, 4).map((s) => s.attempt), [1, 2, 3, 4]);
  } finally {
    stop.abort();
    await first.close();
    await second?.close();
  }
});

Deno.test("runRemote() drops a connection that breaks the protocol and connects again", async () => {
  await using server = FakeServer.start(async (c, n) => {
    await c.handshake();
    if (n === 0) {
      await c.sendBatch(batchOf(conns(1, 0, Kind.UPDATE), { seq: 1 }), "delta");
      await c.drain();
      return;
    }
    await c.sendBatch(batchOf(conns(2), { seq: 4 }), "snapshot");
    await c.drain();
  });
  const log = new Log();
  const stop = new AbortController();
  await runRemote(server.options(), log.handlers(() => stop.abort()), {
    retry: "always",
    signal: stop.signal,
    backoff: FAST,
  });
  assertEquals(log.batches, [[4, 2, true]]);
  const lost = log.states.find((s) => s.kind === "reconnecting");
  assert(lost?.kind === "reconnecting");
  assertMatch(lost.error.message, /broke the protocol: a delta came before the first snapshot/);
  const bye = server.conns[0]!.received.find((m) => m.type === "bye");
  assertEquals(bye?.type === "bye" ? bye.reason : undefined, "protocol_error");
});

Deno.test("runRemote() takes an invalid local address as a protocol error and connects again", async () => {
  // It once reached the monitor's address store, which threw: "Unexpected error", exit.
  await using server = FakeServer.start(async (c, n) => {
    await c.handshake();
    const b = batchOf(conns(2), { seq: 1 });
    b.local = n === 0
      ? { v4: ["not-an-address"], v6: [], broadcast: [] }
      : { v4: ["10.0.0.1"], v6: ["fe80::1"], broadcast: ["10.0.0.255"] };
    await c.sendBatch(b, "snapshot");
    await c.drain();
  });
  const log = new Log();
  const stop = new AbortController();
  const locals: unknown[] = [];
  await runRemote(
    server.options(),
    log.handlers((b) => {
      locals.push(b.local);
      stop.abort();
    }),
    { retry: "always", signal: stop.signal, backoff: FAST },
  );
  assertEquals(locals, [{ v4: ["10.0.0.1"], v6: ["fe80::1"], broadcast: ["10.0.0.255"] }]);
  const lost = log.states.find((s) => s.kind === "reconnecting");
  assert(lost?.kind === "reconnecting");
  assertMatch(lost.error.message, /broke the protocol: local address 'not-an-address' in 'v4'/);
});

Deno.test("runRemote() counts a silent server as lost and connects again", async () => {
  await using server = FakeServer.start(async (c, n) => {
    await c.handshake();
    await c.sendBatch(batchOf(conns(1), { seq: 1 + n }), "snapshot");
    await c.drain(); // silent from now on
  });
  const log = new Log();
  const stop = new AbortController();
  await runRemote(
    server.options({ silenceMs: 200 }),
    log.handlers(() => log.batches.length === 2 ? stop.abort() : undefined),
    { retry: "always", signal: stop.signal, backoff: FAST },
  );
  assertEquals(log.batches, [[1, 1, true], [2, 1, true]]);
  const lost = log.states.find((s) => s.kind === "reconnecting");
  assert(lost?.kind === "reconnecting");
  assertEquals(lost.error.brief, "silent for 0.2 s");
});

Deno.test("runRemote() never retries a failed authentication", async () => {
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
  const log = new Log();
  const err = await assertRejects(
    () =>
      runRemote(server.options({ token: "wrong" }), log.handlers(), {
        retry: "always",
        backoff: FAST,
      }),
    RemoteError,
  );
  assertEquals(err.message, "Authentication failed: wrong or missing token (--token-file)");
  assertEquals(err.exitCode, ExitCode.USAGE);
  assertEquals(log.kinds, ["connecting", "failed"]);
  assertEquals(server.conns.length, 1);
});

Deno.test("runRemote()'s retry policy: 'after-connected' fails at once when never connected", async () => {
  const server = FakeServer.start(() => Promise.resolve());
  const options = server.options();
  await server.close();
  const log = new Log();
  const err = await assertRejects(
    () => runRemote(options, log.handlers(), { retry: "after-connected", backoff: FAST }),
    RemoteError,
  );
  assertEquals(err.exitCode, ExitCode.FAILURE);
  assertEquals(log.kinds, ["connecting", "failed"]);
});

Deno.test("runRemote()'s retry policy: 'never' gives up on a lost connection", async () => {
  await using server = FakeServer.start(async (c) => {
    await c.handshake();
  });
  const log = new Log();
  const err = await assertRejects(
    () => runRemote(server.options(), log.handlers(), { retry: "never", backoff: FAST }),
    RemoteError,
  );
  assertMatch(err.message, /lost: the server closed it/);
  assertEquals(log.kinds, ["connecting", "connected", "failed"]);
});

Deno.test("runRemote() waits at least 10 s after rate_limited", async () => {
  await using server = FakeServer.start(async (c) => {
    await c.send({ type: "bye", reason: "rate_limited", message: "later" });
  });
  const log = new Log();
  const stop = new AbortController();
  const running = runRemote(server.options(), log.handlers(), {
    retry: "always",
    signal: stop.signal,
    backoff: FAST,
  });
  await until(() => log.kinds.includes("reconnecting"), "the wait");
  const wait = log.states.find((s) => s.kind === "reconnecting");
  assert(wait?.kind === "reconnecting");
  assert(wait.atMs - Date.now() > 9000, `waits ${wait.atMs - Date.now()} ms`);
  stop.abort();
  await running;
  assertEquals(log.kinds.at(-1), "closed");
  assertEquals(server.conns.length, 1);
});

Deno.test("connectOptions() reads the token once, without its newline, and never quotes it", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-client-" });
  try {
    const remote = {
      server: { host: "127.0.0.1", port: 55555 },
      display: "127.0.0.1",
      tls: false,
      name: "laptop",
      insecure: false,
      deadlineMs: 30_000,
    };
    await t.step("a token file ending in a newline", () => {
      Deno.writeTextFileSync(`${dir}/token`, "abc-DEF_123\n");
      const o = connectOptions({ ...remote, tokenFile: `${dir}/token` });
      assertEquals([o.token, o.name, o.tls], ["abc-DEF_123", "laptop", false]);
    });
    await t.step("a token with a space: refused, the token not quoted", () => {
      Deno.writeTextFileSync(`${dir}/bad`, "secret with space\n");
      const err = assertThrows(
        () => connectOptions({ ...remote, tokenFile: `${dir}/bad` }),
        EnvironmentError,
      );
      assertEquals(
        err.message,
        `Token file '${dir}/bad' holds no usable token: expected 1 to 1024 printable ASCII ` +
          "characters without spaces, on one line",
      );
      assertEquals(err.exitCode, ExitCode.USAGE);
    });
    await t.step("a missing token file", () => {
      const err = assertThrows(
        () => connectOptions({ ...remote, tokenFile: `${dir}/none` }),
        EnvironmentError,
      );
      assertMatch(err.message, /^Cannot read token file '.*\/none': no such file or directory/);
    });
    await t.step("a --tls-ca file that holds no certificate", () => {
      Deno.writeTextFileSync(`${dir}/ca.pem`, "not a certificate\n");
      const err = assertThrows(
        () => connectOptions({ ...remote, tls: true, tlsCa: `${dir}/ca.pem` }),
        EnvironmentError,
      );
      assertMatch(err.message, /holds no PEM certificate/);
    });
    await t.step("the name defaults to the hostname", () => {
      assertEquals(connectOptions({ ...remote, name: undefined }).name, Deno.hostname());
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
