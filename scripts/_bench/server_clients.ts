/**
 * The server benchmark's clients, in a process of their own so that their work (parsing and
 * applying every batch) is neither the server's nor the benchmark's: `deno run
 * --allow-net=127.0.0.1 scripts/_bench/server_clients.ts --port P --clients N [--protocol
 * conntop|cpp]` connects N clients at once and keeps all of them reading everything.
 *
 * - `conntop`: {@linkcode WireClient}s (schema-checked lines, batches assembled and applied to
 *   a model each).
 * - `cpp`: clients of the original C++ conntop server (scripts/_bench/server_cpp_client.ts),
 *   each reconnecting when the server drops it (counted).
 *
 * Talks with the benchmark in JSON lines: on stdout `{"ready":…}` once every client holds the
 * whole table, then one `{"stats":…}` line per `stats` line read on stdin; end of stdin (or
 * `stop`) closes the clients and prints a last `{"stats":…}`. A failure is one `{"error":…}`
 * line and exit 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { WireClient } from "./server_client.ts";
import { CppClient } from "./server_cpp_client.ts";

/** What a client host reports: per client, in connection order. */
export interface ClientStats {
  /** Bytes read from the socket so far. */
  bytes: number[];
  /** Batches (conntop) or updates (cpp) received so far. */
  batches: number[];
  /** Connections each client's table holds now. */
  sizes: number[];
  /** Clients whose connection has ended, and why. */
  errors: string[];
  /** Times the server dropped each client (C++ clients reconnect). */
  drops: number[];
}

/** The `ready` line: every client holds the table. */
export interface ClientsReady {
  /** From connect to the table applied, per client, ms. */
  snapshotMs: number[];
  /** Connections each client's table held then. */
  sizes: number[];
  /** Bytes read by each client until then. */
  bytes: number[];
}

interface AnyClient {
  readonly bytes: number;
  readonly batchCount: number;
  readonly size: number;
  readonly failure: string | undefined;
  /** Times the server dropped it (it reconnected each time). */
  readonly drops: number;
  /** Resolves with the table's size once the whole table is held. */
  ready(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

function conntopClient(port: number, name: string): Promise<AnyClient> {
  return WireClient.connect({ port, name, keepBatches: false }).then((c) => ({
    get bytes() {
      return c.bytes;
    },
    get batchCount() {
      return c.batchCount;
    },
    get size() {
      return c.model.size;
    },
    drops: 0,
    get failure() {
      return c.error ?? (c.bye ? `bye ${c.bye.reason}: ${c.bye.message}` : undefined) ??
        (c.closed ? "connection closed" : undefined);
    },
    async ready(timeoutMs: number) {
      await c.firstSnapshot(timeoutMs);
      return c.model.size;
    },
    close: () => c.close(),
  }));
}

/**
 * A C++ protocol client that reconnects when the server drops it (the original server drops a
 * client whose socket would block: "Resource temporarily unavailable"), counting the drops; its
 * bytes and DATA messages are summed over its connections.
 */
function cppClient(port: number, expect: number): Promise<AnyClient> {
  let cur: CppClient;
  let stopped = false;
  let dead: string | undefined;
  let drops = 0;
  let lastDrop = "";
  let bytes = 0;
  let updates = 0;
  const watch = (c: CppClient) => {
    void c.done.then(async () => {
      if (stopped) return;
      drops++;
      lastDrop = c.error ?? "closed";
      bytes += c.bytes;
      updates += c.updates;
      await new Promise((r) => setTimeout(r, 100));
      if (stopped) return;
      try {
        cur = await CppClient.connect({ port });
        watch(cur);
      } catch (err) {
        dead = `reconnect failed: ${err instanceof Error ? err.message : err} (after: ${lastDrop})`;
        stopped = true;
      }
    });
  };
  return CppClient.connect({ port }).then((c) => {
    cur = c;
    watch(c);
    return {
      get bytes() {
        return bytes + cur.bytes;
      },
      get batchCount() {
        return updates + cur.updates;
      },
      get size() {
        return cur.size;
      },
      get drops() {
        return drops;
      },
      get failure() {
        return dead;
      },
      async ready(timeoutMs: number) {
        const deadline = performance.now() + timeoutMs;
        for (;;) {
          const c = cur;
          try {
            await c.untilSize(expect, Math.max(1, deadline - performance.now()));
            return c.size;
          } catch (err) {
            if (stopped || performance.now() >= deadline || !c.closed) {
              throw new Error(
                `${err instanceof Error ? err.message : err}` +
                  (drops > 0 ? ` (dropped ${drops} times, last: ${lastDrop})` : ""),
              );
            }
            // Dropped while waiting: the reconnect above starts over.
            while (cur === c && !stopped && performance.now() < deadline) {
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        }
      },
      close: () => {
        stopped = true;
        return cur.close();
      },
    };
  });
}

async function main(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      clients: { type: "string" },
      protocol: { type: "string" },
      expect: { type: "string" },
      timeout: { type: "string" },
    },
    strict: true,
  });
  const port = Number(v.port);
  const n = Number(v.clients ?? 1);
  const protocol = v.protocol ?? "conntop";
  const expect = Number(v.expect ?? 0);
  const timeoutMs = Number(v.timeout ?? 180) * 1000;
  const out = (x: unknown) => console.log(JSON.stringify(x));
  const clients: AnyClient[] = [];
  try {
    const t0: number[] = [];
    const connecting: Promise<AnyClient>[] = [];
    for (let i = 0; i < n; i++) {
      t0.push(performance.now());
      connecting.push(
        protocol === "cpp" ? cppClient(port, expect) : conntopClient(port, `bench-${i + 1}`),
      );
    }
    clients.push(...await Promise.all(connecting));
    const snapshotMs: number[] = new Array(n);
    const sizes = await Promise.all(clients.map(async (c, i) => {
      const size = await c.ready(timeoutMs);
      snapshotMs[i] = performance.now() - t0[i]!;
      return size;
    }));
    const ready: ClientsReady = { snapshotMs, sizes, bytes: clients.map((c) => c.bytes) };
    out({ ready });
  } catch (err) {
    out({ error: err instanceof Error ? err.message : String(err) });
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    return 1;
  }
  const stats = (): ClientStats => ({
    bytes: clients.map((c) => c.bytes),
    batches: clients.map((c) => c.batchCount),
    sizes: clients.map((c) => c.size),
    errors: clients.flatMap((c, i) => (c.failure ? [`client ${i + 1}: ${c.failure}`] : [])),
    drops: clients.map((c) => c.drops),
  });
  const dec = new TextDecoder();
  let pending = "";
  read: for await (const chunk of Deno.stdin.readable) {
    pending += dec.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const cmd = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (cmd === "stop") break read;
      if (cmd === "stats") out({ stats: stats() });
    }
  }
  const last = stats();
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  out({ stats: last });
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
