import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import type { BatchMessage } from "../../src/collector/messages.ts";
import { RECORD_SIZE } from "../../src/conntrack/record.ts";
import { ConntopError, ExitCode } from "../../src/errors.ts";
import {
  encodeBatch as encodeBatchBytes,
  encodeEnd,
  encodeHeader,
} from "../../src/record/format.ts";
import { readRecording, Recorder, Replay, type ReplayHandlers } from "../../src/record/mod.ts";

/** A recording's batch line as text (the encoder writes bytes). */
const encodeBatch = (b: Parameters<typeof encodeBatchBytes>[0]): string =>
  new TextDecoder().decode(encodeBatchBytes(b));

const META = { intervalMs: 1000, netns: null, ready: { warnings: [], flowtables: false } };
const T0 = Date.UTC(2025, 5, 1, 12);

/** A batch of `records` records of pseudo-random bytes (so gzip cannot shrink them away). */
function makeBatch(seq: number, timeMs: number, records = 4): BatchMessage {
  const bytes = new Uint8Array(records * RECORD_SIZE);
  let x = seq * 2654435761 >>> 0 || 1;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return {
    type: "batch",
    seq,
    timeMs,
    startedMs: timeMs - 3,
    records: records > 0 ? [bytes.buffer] : [],
    count: records,
    extras: [],
    totals: {
      count: records,
      kernelCount: records,
      max: 65536,
      byProto: { tcp: records },
      ipv4: records,
      ipv6: 0,
      accounting: false,
      timestamps: false,
      offloaded: 0,
    },
    status: {
      dumpMs: 1,
      dumps: seq,
      eventOverruns: 0,
      events: 0,
      dumpInterrupted: false,
      eventsEnabled: false,
    },
  };
}

/** Records `count` batches `gapMs` apart, with the end line. */
async function recordBatches(
  path: string,
  count: number,
  gapMs: number,
  records = 4,
): Promise<void> {
  const recorder = await Recorder.open(path, META);
  for (let i = 1; i <= count; i++) recorder.writeBatch(makeBatch(i, T0 + (i - 1) * gapMs, records));
  await recorder.close();
}

/** The header line as Recorder writes it, with `changes` applied. */
function headerLine(changes: Record<string, unknown> = {}): string {
  const line = JSON.parse(encodeHeader({
    recordSize: RECORD_SIZE,
    chunkRecords: 8192,
    created: new Date(T0).toISOString(),
    host: "test",
    conntop: "0.0.0",
    ...META,
  }));
  return JSON.stringify({ ...line, ...changes }) + "\n";
}

interface Outcome {
  seqs: number[];
  warnings: string[];
  end: { batches: number; damaged?: string } | undefined;
}

async function play(path: string, speed = 64, signal = new AbortController().signal) {
  const replay = await Replay.open(path);
  replay.setSpeed(speed);
  const outcome: Outcome = { seqs: [], warnings: [], end: undefined };
  await replay.run(collect(outcome), signal);
  return { replay, outcome };
}

function collect(outcome: Outcome): ReplayHandlers {
  return {
    onBatch: (b) => outcome.seqs.push(b.seq),
    onWarning: (m) => outcome.warnings.push(m),
    onEnd: (r) => outcome.end = r,
  };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "conntop-replay-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function expectOpenError(path: string, includes: string): Promise<void> {
  const err = await assertRejects(() => Replay.open(path), ConntopError, includes);
  assertEquals(err.exitCode, ExitCode.USAGE);
  assertStringIncludes(err.message, `'${path}'`);
  assert(!err.message.includes("\n"), "one line");
}

Deno.test("readRecording() yields each line decoded with its line number", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson`;
    await Deno.writeTextFile(
      path,
      headerLine() + encodeBatch(makeBatch(1, T0)) + "\n" +
        '{"type":"warning","timeMs":1,"message":"m"}\n' + encodeEnd(T0 + 5),
    );
    const seen = [];
    for await (const { line, value } of readRecording(path)) seen.push([line, value.type]);
    assertEquals(seen, [
      [1, "conntop-recording"],
      [2, "batch"],
      [4, "warning"],
      [5, "end"],
    ]);
  }));

Deno.test("Replay.open() rejects what it cannot play with exit code 2", async (t) => {
  await withTempDir(async (dir) => {
    await t.step(
      "a missing file",
      () => expectOpenError(`${dir}/nope.ndjson`, "Cannot open recording '"),
    );
    await t.step("an empty file", async () => {
      await Deno.writeTextFile(`${dir}/empty.ndjson`, "");
      await expectOpenError(`${dir}/empty.ndjson`, "not a conntop recording");
    });
    await t.step("a text file", async () => {
      await Deno.writeTextFile(`${dir}/notes.txt`, "hello\nworld\n");
      await expectOpenError(`${dir}/notes.txt`, "not a conntop recording");
    });
    await t.step("JSON lines of something else", async () => {
      await Deno.writeTextFile(`${dir}/other.ndjson`, '{"type":"batch","seq":1}\n');
      await expectOpenError(`${dir}/other.ndjson`, "not a conntop recording");
    });
    await t.step("a plain file named .gz", async () => {
      await Deno.writeTextFile(`${dir}/plain.ndjson.gz`, headerLine());
      await expectOpenError(`${dir}/plain.ndjson.gz`, "cannot decompress");
    });
    await t.step("records of another size", async () => {
      await Deno.writeTextFile(`${dir}/160.ndjson`, headerLine({ recordSize: 160 }));
      await expectOpenError(`${dir}/160.ndjson`, "records of 160 bytes (this conntop reads 168)");
    });
    await t.step("another version", async () => {
      await Deno.writeTextFile(`${dir}/v2.ndjson`, headerLine({ version: 2 }));
      await expectOpenError(`${dir}/v2.ndjson`, "unsupported version 2");
    });
  });
});

Deno.test("Replay.open() reads the header and starts the position at its time", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson.gz`;
    await recordBatches(path, 2, 100);
    const replay = await Replay.open(path);
    assertEquals(replay.path, path);
    assertEquals(replay.header.version, 1);
    assertEquals(replay.header.intervalMs, 1000);
    assertEquals(replay.positionMs, Date.parse(replay.header.created));
    assertEquals([replay.batches, replay.ended, replay.paused, replay.speed], [0, false, false, 1]);
    await replay.run(
      collect({ seqs: [], warnings: [], end: undefined }),
      AbortSignal.timeout(5000),
    );
    assertEquals([replay.batches, replay.ended, replay.positionMs], [2, true, T0 + 100]);
  }));

Deno.test("a recording cut in the middle of a line plays up to the cut", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson`;
    await recordBatches(path, 4, 100);
    const text = await Deno.readTextFile(path);
    const lines = text.split("\n");
    // Keep the header, batches 1 and 2, and half of batch 3 (line 4).
    const cut = lines.slice(0, 3).join("\n").length + 1 + Math.floor(lines[3]!.length / 2);
    await Deno.writeTextFile(path, text.slice(0, cut));
    const { replay, outcome } = await play(path);
    assertEquals(outcome.seqs, [1, 2]);
    assertEquals(outcome.end, {
      batches: 2,
      damaged: `Recording '${path}' is damaged at line 4: the line is cut short; ` +
        "played 2 batches up to it",
    });
    assert(replay.ended);
  }));

Deno.test("a .gz recording missing its last 100 bytes plays up to the damage", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson.gz`;
    await recordBatches(path, 6, 100, 20); // ~3 KB of compressed line per batch
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 100));
    const { outcome } = await play(path);
    assertEquals(outcome.seqs, [1, 2, 3, 4, 5], "all but the batch the cut runs through");
    assertEquals(outcome.end?.batches, 5);
    assertMatch(
      outcome.end?.damaged ?? "",
      /^Recording '.*' is damaged at line 7: cannot decompress \(.*\); played 5 batches up to it$/,
    );
  }));

Deno.test("a recording stops at a damaged line in the middle", async (t) => {
  const cases: [string, string, string][] = [
    ["garbage", "}{ not json", "not valid JSON ("],
    ["an unknown line type", '{"type":"snapshot","timeMs":1}', "unknown line type 'snapshot'"],
    [
      "records that are not whole records",
      encodeBatch({ ...makeBatch(9, T0 + 150), records: [new ArrayBuffer(100)] }).trimEnd(),
      "records chunk 1 is 100 bytes, not a multiple of 168",
    ],
    [
      "a count that does not match the records",
      encodeBatch({ ...makeBatch(9, T0 + 150), count: 7 }).trimEnd(),
      "batch holds 4 records but its count is 7",
    ],
    [
      "records that are not base64",
      encodeBatch(makeBatch(9, T0 + 150)).replace(/"records":\["..../, '"records":["*!*!'),
      "records chunk 1 is not valid base64",
    ],
  ];
  for (const [name, bad, detail] of cases) {
    await t.step(name, () =>
      withTempDir(async (dir) => {
        const path = `${dir}/r.ndjson`;
        await recordBatches(path, 4, 100);
        const lines = (await Deno.readTextFile(path)).split("\n");
        lines.splice(3, 0, bad); // after batch 2: line 4
        await Deno.writeTextFile(path, lines.join("\n"));
        const { outcome } = await play(path);
        assertEquals(outcome.seqs, [1, 2]);
        const damaged = outcome.end?.damaged ?? "";
        assertStringIncludes(damaged, `Recording '${path}' is damaged at line 4: ${detail}`);
        assert(damaged.endsWith("; played 2 batches up to it"), damaged);
      }));
  }
});

Deno.test("a recording without its end line plays fully and says it was cut short", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson`;
    await recordBatches(path, 3, 100);
    const lines = (await Deno.readTextFile(path)).split("\n");
    await Deno.writeTextFile(path, lines.slice(0, 4).join("\n") + "\n");
    const { outcome } = await play(path);
    assertEquals(outcome.seqs, [1, 2, 3]);
    assertEquals(outcome.end, {
      batches: 3,
      damaged: `Recording '${path}' is cut short after 3 batches (no end line)`,
    });
  }));

Deno.test("pausing stops delivery until resumed", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson`;
    await recordBatches(path, 2, 200);
    const replay = await Replay.open(path);
    const outcome: Outcome = { seqs: [], warnings: [], end: undefined };
    const handlers = collect(outcome);
    const running = replay.run({
      ...handlers,
      onBatch: (b) => {
        handlers.onBatch(b);
        if (b.seq === 1) replay.pause();
      },
    }, AbortSignal.timeout(10_000));
    await new Promise((r) => setTimeout(r, 400));
    assertEquals(outcome.seqs, [1], "nothing delivered while paused");
    assertEquals(replay.paused, true);
    replay.resume();
    await running;
    assertEquals(outcome.seqs, [1, 2]);
    assertEquals(outcome.end, { batches: 2 });
  }));

Deno.test("batches recorded 1 s apart replay 100 ms apart at speed 10", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson`;
    await recordBatches(path, 2, 1000);
    const replay = await Replay.open(path);
    replay.setSpeed(10);
    const at: number[] = [];
    await replay.run({ onBatch: () => at.push(performance.now()) }, AbortSignal.timeout(10_000));
    const gap = at[1]! - at[0]!;
    assert(gap >= 80 && gap < 2000, `gap of ${gap} ms`);
  }));

Deno.test("a speed change applies to the wait in progress", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson`;
    await recordBatches(path, 2, 1000);
    const replay = await Replay.open(path);
    replay.setSpeed(1 / 16); // 16 s until the second batch
    const start = performance.now();
    const running = replay.run({ onBatch: () => {} }, AbortSignal.timeout(10_000));
    await new Promise((r) => setTimeout(r, 50));
    replay.speed = 64;
    await running;
    assertEquals(replay.batches, 2);
    assert(performance.now() - start < 2000);
  }));

Deno.test("a long gap in a recording is shortened to 5 s of recorded time", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson`;
    await recordBatches(path, 2, 3_600_000);
    const start = performance.now();
    const { outcome } = await play(path, 64); // at most 5000 / 64 ≈ 78 ms
    assertEquals(outcome.seqs, [1, 2]);
    assert(performance.now() - start < 2000);
  }));

Deno.test("aborting stops playback without calling onEnd", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson`;
    await recordBatches(path, 3, 1000);
    const controller = new AbortController();
    const replay = await Replay.open(path);
    const outcome: Outcome = { seqs: [], warnings: [], end: undefined };
    const running = replay.run(collect(outcome), controller.signal);
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await running;
    assertEquals(outcome.seqs, [1]);
    assertEquals(outcome.end, undefined);
    assertEquals(replay.ended, false);
  }));

Deno.test("Replay clamps the speed and toggles the pause", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson`;
    await recordBatches(path, 1, 0);
    const replay = await Replay.open(path);
    replay.setSpeed(1000);
    assertEquals(replay.speed, 64);
    replay.setSpeed(0);
    assertEquals(replay.speed, 1 / 16);
    replay.speed = 3;
    assertEquals(replay.speed, 3);
    replay.setSpeed(NaN);
    assertEquals(replay.speed, 3);
    assertEquals(replay.togglePause(), true);
    assertEquals(replay.paused, true);
    assertEquals(replay.togglePause(), false);
  }));

Deno.test("warnings are delivered in order among the batches", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson.gz`;
    const recorder = await Recorder.open(path, META);
    const order: string[] = [];
    recorder.writeWarning("before", T0 - 10);
    recorder.writeBatch(makeBatch(1, T0));
    recorder.writeWarning("after 1", T0 + 50);
    recorder.writeWarning("also after 1", T0 + 40);
    recorder.writeBatch(makeBatch(2, T0 + 100));
    await recorder.close();
    const replay = await Replay.open(path);
    replay.setSpeed(64);
    await replay.run({
      onBatch: (b) => order.push(`batch ${b.seq}`),
      onWarning: (m) => order.push(m),
      onEnd: (r) => order.push(`end ${r.batches} ${r.damaged ?? "complete"}`),
    }, AbortSignal.timeout(5000));
    assertEquals(order, [
      "before",
      "batch 1",
      "after 1",
      "also after 1",
      "batch 2",
      "end 2 complete",
    ]);
  }));

Deno.test("a recording plays with read permission alone: no FFI, env or sys access", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/r.ndjson.gz`;
    await recordBatches(path, 3, 10);
    const script = `${dir}/play.ts`;
    const replayModule = new URL("../../src/record/replay.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { Replay } from ${JSON.stringify(replayModule)};
const replay = await Replay.open(${JSON.stringify(path)});
replay.setSpeed(64);
const onEnd = (r: unknown) => console.log(JSON.stringify(r));
await replay.run({ onBatch() {}, onEnd }, new AbortController().signal);
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-config", `--allow-read=${dir}`, script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertEquals(new TextDecoder().decode(out.stdout), '{"batches":3}\n');
  }));
