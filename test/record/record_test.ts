import { gunzipSync } from "node:zlib";
import { assert, assertEquals, assertMatch, assertRejects } from "../_helpers/assert.ts";
import type { BatchMessage } from "../../src/collector/messages.ts";
import { CHUNK_RECORDS } from "../../src/collector/messages.ts";
import { RECORD_SIZE } from "../../src/conntrack/record.ts";
import { ConntopError, ExitCode } from "../../src/errors.ts";
import { VERSION } from "../../src/version.ts";
import { readRecording, Recorder, type RecordingMeta, Replay } from "../../src/record/mod.ts";

const META: RecordingMeta = {
  intervalMs: 1000,
  netns: "lab",
  ready: { warnings: ["accounting is off"], flowtables: true },
};

/** A batch whose chunks hold `chunks[i]` records of bytes recognisable by seq, chunk and place. */
function makeBatch(seq: number, timeMs: number, chunks: number[]): BatchMessage {
  const records = chunks.map((n, c) => {
    const bytes = new Uint8Array(n * RECORD_SIZE);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (seq * 31 + c * 7 + i * 13) & 0xff;
    return bytes.buffer;
  });
  const count = chunks.reduce((a, b) => a + b, 0);
  return {
    type: "batch",
    seq,
    timeMs,
    startedMs: timeMs - 12,
    records,
    count,
    extras: [[seq, { helper: "ftp", labels: [1, 3] }], [seq + 100, {
      secctx: "system_u:object_r:unlabeled_t:s0",
      stopMs: timeMs - 5,
      origZone: 2,
      replyZone: 3,
    }]],
    totals: {
      count: count + 10,
      kernelCount: null,
      max: 262144,
      byProto: { tcp: count, udp: 10 },
      ipv4: count,
      ipv6: 10,
      accounting: true,
      timestamps: null,
      offloaded: 1,
    },
    status: {
      dumpMs: 3.25,
      dumps: seq,
      eventOverruns: 0,
      events: 42 * seq,
      dumpInterrupted: seq === 2,
      eventsEnabled: true,
      ...(seq === 3 ? { lastError: "recv: No buffer space available" } : {}),
    },
  };
}

/** What a replay delivered, in order. */
interface Played {
  batches: BatchMessage[];
  order: string[];
  end: { batches: number; damaged?: string } | undefined;
}

async function play(path: string, speed = 64): Promise<Played> {
  const replay = await Replay.open(path);
  replay.setSpeed(speed);
  const played: Played = { batches: [], order: [], end: undefined };
  await replay.run({
    onBatch: (b) => {
      played.batches.push(b);
      played.order.push(`batch ${b.seq}`);
    },
    onWarning: (m) => played.order.push(`warning ${m}`),
    onEnd: (r) => played.end = r,
  }, new AbortController().signal);
  return played;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "conntop-record-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function bytesOf(buffers: ArrayBuffer[]): Uint8Array[] {
  return buffers.map((b) => new Uint8Array(b));
}

Deno.test("a recording replays every batch byte for byte, chunk by chunk", async (t) => {
  const t0 = Date.UTC(2025, 0, 1);
  const originals = [
    makeBatch(1, t0, [CHUNK_RECORDS, 3]), // a full chunk, which the model may adopt as a page
    makeBatch(2, t0 + 1000, [2]),
    makeBatch(3, t0 + 2000, []),
    makeBatch(4, t0 + 3000, [1, 1, 5]),
  ];
  // What the replay must give back, copied before the recorder sees the buffers.
  const expected = originals.map((b) => ({ ...b, records: b.records.map((r) => r.slice(0)) }));
  for (const name of ["plain.ndjson", "compressed.ndjson.gz"]) {
    await t.step(name, () =>
      withTempDir(async (dir) => {
        const path = `${dir}/${name}`;
        const recorder = await Recorder.open(path, META);
        recorder.writeWarning("first warning", t0 - 1);
        recorder.writeBatch(originals[0]!);
        recorder.writeBatch(originals[1]!);
        recorder.writeWarning("between 2 and 3", t0 + 1500);
        recorder.writeWarning("second one there", t0 + 1600);
        recorder.writeBatch(originals[2]!);
        recorder.writeBatch(originals[3]!);
        await recorder.close();
        assertEquals(recorder.error, undefined);

        const played = await play(path);
        assertEquals(played.end, { batches: 4 });
        assertEquals(played.order, [
          "warning first warning",
          "batch 1",
          "batch 2",
          "warning between 2 and 3",
          "warning second one there",
          "batch 3",
          "batch 4",
        ]);
        assertEquals(played.batches.length, expected.length);
        for (const [i, got] of played.batches.entries()) {
          const want = expected[i]!;
          assertEquals(
            got.records.map((r) => r.byteLength),
            want.records.map((r) => r.byteLength),
            `chunk boundaries of batch ${want.seq}`,
          );
          assertEquals(bytesOf(got.records), bytesOf(want.records), `bytes of batch ${want.seq}`);
          assert(got.records.every((r) => r instanceof ArrayBuffer));
          assertEquals({ ...got, records: [] }, { ...want, records: [] });
        }
      }));
  }
});

Deno.test("a .gz recording is gzip and a plain one is NDJSON with the documented header", () =>
  withTempDir(async (dir) => {
    for (const name of ["r.ndjson", "r.ndjson.gz"]) {
      const recorder = await Recorder.open(`${dir}/${name}`, META);
      recorder.writeBatch(makeBatch(1, 5000, [1]));
      await recorder.close();
    }
    const gz = await Deno.readFile(`${dir}/r.ndjson.gz`);
    assertEquals([gz[0], gz[1]], [0x1f, 0x8b]);
    const plain = await Deno.readTextFile(`${dir}/r.ndjson`);
    assertEquals(new TextDecoder().decode(gunzipSync(gz)).split("\n").length, 4);

    const lines = plain.split("\n");
    assertEquals(lines.length, 4, "header, batch, end, and nothing after the last newline");
    assertEquals(lines[3], "");
    const header = JSON.parse(lines[0]!);
    assertMatch(header.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assertEquals(header, {
      type: "conntop-recording",
      version: 1,
      recordSize: 168,
      chunkRecords: 8192,
      created: header.created,
      host: Deno.hostname(),
      conntop: VERSION,
      intervalMs: 1000,
      netns: "lab",
      ready: { warnings: ["accounting is off"], flowtables: true },
    });
    const batch = JSON.parse(lines[1]!);
    assertEquals(Object.keys(batch), [
      "type",
      "seq",
      "timeMs",
      "startedMs",
      "count",
      "records",
      "extras",
      "totals",
      "status",
    ]);
    assertEquals(batch.records.length, 1);
    assertEquals(atob(batch.records[0]).length, RECORD_SIZE);
    assertEquals(Object.keys(JSON.parse(lines[2]!)), ["type", "timeMs"]);
    assertEquals(JSON.parse(lines[2]!).type, "end");
  }));

Deno.test("Recorder.writeBatch() encodes the records before it returns", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson.gz`;
    const batch = makeBatch(1, 1000, [CHUNK_RECORDS, 2]);
    const originals = bytesOf(batch.records.map((r) => r.slice(0)));
    const recorder = await Recorder.open(path, META);
    recorder.writeBatch(batch);
    // What the model does to an adopted page, and to a transferred buffer.
    new Uint8Array(batch.records[0]!).fill(0xee);
    new Uint8Array(batch.records[1]!).fill(0xdd);
    batch.records.length = 0;
    await recorder.close();
    const played = await play(path);
    assertEquals(bytesOf(played.batches[0]!.records), originals);
  }));

Deno.test("Recorder.close() is idempotent and later writes are ignored", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson`;
    const recorder = await Recorder.open(path, META);
    recorder.writeBatch(makeBatch(1, 1000, [1]));
    const first = recorder.close();
    assert(recorder.close() === first, "the same promise");
    recorder.writeBatch(makeBatch(2, 2000, [1]));
    recorder.writeWarning("too late");
    await first;
    await recorder.close();
    const types = [];
    for await (const entry of readRecording(path)) types.push(entry.value.type);
    assertEquals(types, ["conntop-recording", "batch", "end"]);
  }));

Deno.test("Recorder.open() throws a ConntopError naming a path it cannot create", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/missing/r.ndjson`;
    const err = await assertRejects(
      () => Recorder.open(path, META),
      ConntopError,
      `Cannot create recording '${path}': no such file or directory`,
    );
    // Refused before the monitor starts, as a bad --record value (exit 2).
    assertEquals(err.exitCode, ExitCode.USAGE);
  }));

/** What must not change about a file: its bytes, mode, owner and identity. */
async function fileState(path: string) {
  const st = await Deno.lstat(path);
  return {
    bytes: await Deno.readFile(path),
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    ino: st.ino,
    isFile: st.isFile,
  };
}

/** A root-owned (the tests run as root) 0600 file standing in for /etc/shadow. */
async function plantSecret(dir: string): Promise<string> {
  const target = `${dir}/shadow`;
  await Deno.writeTextFile(target, "root:$6$secret:19000:0:99999:7:::\n", { mode: 0o600 });
  await Deno.chmod(target, 0o600);
  return target;
}

Deno.test("Recorder.open() creates the recording exclusively, never through a link, never over a file", async (t) => {
  for (const ext of [".ndjson", ".ndjson.gz"]) {
    await t.step(
      `a link to a root-owned 0600 file (${ext}) is refused, the file untouched`,
      () =>
        withTempDir(async (dir) => {
          const target = await plantSecret(dir);
          const before = await fileState(target);
          const link = `${dir}/x${ext}`;
          await Deno.symlink(target, link);
          const err = await assertRejects(
            () => Recorder.open(link, META),
            ConntopError,
            `Cannot create recording '${link}': it already exists (conntop never overwrites a file)`,
          );
          assertEquals(err.exitCode, ExitCode.USAGE);
          assertEquals(await fileState(target), before);
          assertEquals((await Deno.lstat(link)).isSymlink, true);
        }),
    );
  }
  await t.step(
    "a dangling link is refused, and nothing is created where it points",
    () =>
      withTempDir(async (dir) => {
        const link = `${dir}/x.ndjson`;
        await Deno.symlink(`${dir}/made-by-root`, link);
        await assertRejects(() => Recorder.open(link, META), ConntopError, "already exists");
        await assertRejects(() => Deno.lstat(`${dir}/made-by-root`), Deno.errors.NotFound);
      }),
  );
  await t.step(
    "an existing regular file is refused, not overwritten",
    () =>
      withTempDir(async (dir) => {
        const path = await plantSecret(dir);
        const before = await fileState(path);
        const err = await assertRejects(() => Recorder.open(path, META), ConntopError);
        assertEquals(
          err.message,
          `Cannot create recording '${path}': it already exists (conntop never overwrites a file)`,
        );
        assertEquals(await fileState(path), before);
      }),
  );
  await t.step(
    "a new recording is private: mode 0600, it holds the whole table",
    () =>
      withTempDir(async (dir) => {
        const path = `${dir}/new.ndjson`;
        const recorder = await Recorder.open(path, META);
        await recorder.close();
        assertEquals((await Deno.lstat(path)).mode! & 0o777, 0o600);
      }),
  );
});

/** /dev/full, open for writing: every write fails with ENOSPC, even for root. */
function fullDevice(): Promise<Deno.FsFile> {
  return Deno.open("/dev/full", { write: true });
}

Deno.test("Recorder remembers the first write error and close() rejects with it", async (t) => {
  // /dev/full fails every write with ENOSPC, even for root.
  for (const name of ["full.ndjson", "full.ndjson.gz"]) {
    await t.step(name, () =>
      withTempDir(async (dir) => {
        const path = `${dir}/${name}`;
        // Opened here: the recorder creates its own files and follows no link to /dev/full.
        const recorder = Recorder.start(path, await fullDevice(), META);
        recorder.writeBatch(makeBatch(1, 1000, [4]));
        const err = await assertRejects(() => recorder.close(), ConntopError, `'${path}'`);
        assertEquals(err.exitCode, ExitCode.FAILURE);
        assertEquals(recorder.error, `Cannot write recording '${path}': no space left on device`);
        assert(err.cause instanceof Error);
        recorder.writeBatch(makeBatch(2, 2000, [4])); // dropped, no throw
        await assertRejects(() => recorder.close(), ConntopError);
      }));
  }
});

Deno.test("Recorder reports the first write error at once, before close(), and only once", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/full.ndjson`;
    const reasons: string[] = [];
    const recorder = Recorder.start(path, await fullDevice(), META, {
      onError: (r) => reasons.push(r),
    });
    recorder.writeBatch(makeBatch(1, 1000, [4]));
    const deadline = Date.now() + 2000;
    while (reasons.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(reasons, ["No space left on device"]);
    recorder.writeBatch(makeBatch(2, 2000, [4]));
    await assertRejects(() => recorder.close(), ConntopError);
    assertEquals(reasons, ["No space left on device"]);
  });
});

Deno.test("a server's snapshot keeps its reset flag through a recording, so replay replaces the table", async () => {
  await withTempDir(async (dir) => {
    const t0 = Date.UTC(2025, 0, 1);
    const path = `${dir}/remote.ndjson`;
    const recorder = await Recorder.open(path, { ...META, host: "router" });
    recorder.writeBatch({ ...makeBatch(1, t0, [2]), reset: true });
    recorder.writeBatch(makeBatch(2, t0 + 1000, [1]));
    recorder.writeWarning("Connection to router lost: the server closed it", t0 + 1500);
    recorder.writeBatch({ ...makeBatch(1, t0 + 2000, [3]), reset: true });
    await recorder.close();
    const lines = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines[0].host, "router");
    assertEquals(lines.map((l) => l.reset), [
      undefined,
      true,
      undefined,
      undefined,
      true,
      undefined,
    ]);
    const played = await play(path);
    assertEquals(played.batches.map((b) => [b.seq, b.reset]), [
      [1, true],
      [2, undefined],
      [1, true],
    ]);
  });
});

Deno.test("a recording keeps text from outside exact but escaped: nothing raw for a terminal that shows it", () =>
  withTempDir(async (dir) => {
    const evil = "ev\x1b]0;PWNED\x07\x7f\u009b\u202e\u2066\ud800z";
    const recorder = await Recorder.open(`${dir}/r.ndjson`, {
      ...META,
      netns: evil,
      ready: { warnings: [evil], flowtables: false },
    });
    const batch = makeBatch(1, 5000, [1]);
    batch.owners = [[1, { pid: 42, name: evil }]];
    batch.extras = [[1, { helper: evil, secctx: evil }]];
    recorder.writeBatch(batch);
    recorder.writeWarning(evil, 5001);
    await recorder.close();
    const text = await Deno.readTextFile(`${dir}/r.ndjson`);
    const raw =
      // deno-lint-ignore no-control-regex
      /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
    assertEquals(raw.exec(text), null, text);
    const played = await play(`${dir}/r.ndjson`);
    assertEquals(played.batches[0]!.owners, [[1, { pid: 42, name: evil }]]);
    assertEquals(played.batches[0]!.extras, [[1, { helper: evil, secctx: evil }]]);
    assertEquals(played.order, ["batch 1", `warning ${evil}`]);
  }));
