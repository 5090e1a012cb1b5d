/**
 * A recording gets the protocol's limits: a .gz of a few hundred kilobytes that unpacks to one
 * line of 400 MB is refused once the line passes its limit (4 MiB for the header, 256 MiB for
 * a batch), with one line and, at open, exit code 2, while memory stays bounded. Batches past
 * the protocol's counts, or with a local address that is not one, are damage too.
 *
 * The recording is read in a process of its own (_replay_probe.ts), whose peak memory is read
 * from /proc; it is killed past 1.5 GB (the old behaviour: 2.7 GB for 600 MB).
 */

import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import {
  encodeBatch as encodeBatchBytes,
  encodeEnd,
  encodeHeader,
} from "../../src/record/format.ts";
import { CHUNK_RECORDS } from "../../src/collector/messages.ts";
import { RECORD_SIZE } from "../../src/conntrack/record.ts";
import type { BatchMessage } from "../../src/collector/messages.ts";

/** A recording's batch line as text (the encoder writes bytes). */
const encodeBatch = (b: Parameters<typeof encodeBatchBytes>[0]): string =>
  new TextDecoder().decode(encodeBatchBytes(b));

const PROBE = new URL("./_replay_probe.ts", import.meta.url).pathname;
const KILL_KIB = 1_500_000;

interface Probe {
  result: Record<string, unknown> | undefined;
  peakMiB: number;
  killed: boolean;
}

async function probe(path: string): Promise<Probe> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", PROBE, path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peakKiB = 0;
  let killed = false;
  const sampler = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`));
      if (m !== null) peakKiB = Math.max(peakKiB, Number(m[1]));
      if (peakKiB > KILL_KIB && !killed) {
        killed = true;
        child.kill("SIGKILL");
      }
    } catch {
      // exited
    }
  }, 10);
  const out = await child.output();
  clearInterval(sampler);
  const text = new TextDecoder().decode(out.stdout).trim();
  return {
    result: text === "" ? undefined : JSON.parse(text),
    peakMiB: Math.round(peakKiB / 1024),
    killed,
  };
}

/** Writes `head`, then `n` bytes of `fill`, then `tail`, gzipped, streaming. */
async function writeGz(path: string, head: string, n: number, fill: number, tail = "") {
  const file = await Deno.open(path, { write: true, createNew: true });
  const enc = new TextEncoder();
  const chunk = new Uint8Array(1 << 20).fill(fill);
  const source = new ReadableStream<BufferSource>({
    start(c) {
      c.enqueue(enc.encode(head));
    },
    pull(c) {
      if (n <= 0) {
        if (tail !== "") c.enqueue(enc.encode(tail));
        c.close();
        return;
      }
      const take = Math.min(n, chunk.length);
      c.enqueue(take === chunk.length ? chunk : chunk.subarray(0, take));
      n -= take;
    },
  });
  await source.pipeThrough<Uint8Array<ArrayBuffer>>(new CompressionStream("gzip")).pipeTo(
    file.writable,
  );
}

function header(): string {
  return encodeHeader({
    recordSize: RECORD_SIZE,
    chunkRecords: CHUNK_RECORDS,
    created: "2026-01-01T00:00:00.000Z",
    host: "h",
    conntop: "0",
    intervalMs: 1000,
    netns: null,
    ready: { warnings: [], flowtables: false },
  });
}

function emptyBatch(over: Partial<BatchMessage> = {}): BatchMessage {
  return {
    type: "batch",
    seq: 1,
    timeMs: 1,
    startedMs: 1,
    records: [],
    count: 0,
    extras: [],
    totals: { count: 0, kernelCount: null, kernelMax: null, byProto: {} } as never,
    status: { eventOverruns: 0 } as never,
    ...over,
  };
}

Deno.test("a recording whose header line unpacks to 400 MB: refused at open, exit 2, memory bounded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-bomb-" });
  try {
    const path = `${dir}/bomb.ndjson.gz`;
    await writeGz(path, "", 400 << 20, 0x20, "\n");
    const size = (await Deno.stat(path)).size;
    assert(size < 1 << 20, `the .gz is ${size} bytes`);
    const p = await probe(path);
    assert(!p.killed, `killed at ${p.peakMiB} MiB`);
    assertEquals(p.result?.exitCode, 2, JSON.stringify(p.result));
    assertMatch(
      String(p.result?.error),
      /^Cannot replay '.*bomb\.ndjson\.gz': not a conntop recording \(line 1 is longer than 4 MiB\)$/,
    );
    assert(p.peakMiB < 400, `peak RSS ${p.peakMiB} MiB`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a recording with a batch line of 400 MB: damaged at that line, memory bounded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-bomb-" });
  try {
    const path = `${dir}/bomb.ndjson.gz`;
    await writeGz(path, header(), 400 << 20, 0x20, "\n");
    const p = await probe(path);
    assert(!p.killed, `killed at ${p.peakMiB} MiB`);
    assertMatch(
      String(p.result?.damaged),
      /^Recording '.*bomb\.ndjson\.gz' is damaged at line 2: the line is longer than 256 MiB$/,
    );
    assert(p.peakMiB < 800, `peak RSS ${p.peakMiB} MiB`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a recorded batch beyond the protocol's counts, or with a bad local address, is damage", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-bomb-" });
  try {
    const cases: [string, BatchMessage, RegExp][] = [
      [
        "more extras than a batch may hold",
        emptyBatch({ extras: Array.from({ length: (1 << 20) + 1 }, (_, i) => [i, {}]) }),
        /more than 1048576 extras/,
      ],
      [
        "a local address that is not one",
        emptyBatch({ local: { v4: ["::1"], v6: [], broadcast: [] } }),
        /local address '::1' in 'v4' is not an IPv4 address/,
      ],
    ];
    for (const [name, batch, re] of cases) {
      await t.step(name, async () => {
        const path = `${dir}/${name.replaceAll(" ", "-")}.ndjson`;
        await Deno.writeTextFile(path, header() + encodeBatch(batch) + encodeEnd(2));
        const p = await probe(path);
        assertMatch(String(p.result?.damaged), /is damaged at line 2: /);
        assertMatch(String(p.result?.damaged), re);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
