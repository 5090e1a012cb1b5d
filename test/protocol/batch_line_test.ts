/**
 * The one NDJSON batch codec (src/protocol/batch_line.ts), checked independently of itself: its
 * base64 against the platform's `btoa`, its lines against `JSON.stringify` of the same object,
 * and a real table's batch, as the protocol and a recording write it, read back with nothing but
 * `JSON.parse` and `atob` and compared with `conntrack -L`.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { decodeBase64, encodeBase64 } from "../_helpers/base64.ts";
import { parseConntrackExtended } from "../_helpers/conntrack_cli.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { base64Length, encodeBatchLine, writeBase64 } from "../../src/protocol/batch_line.ts";
import { encodeBatch as encodeWireBatch } from "../../src/protocol/codec.ts";
import { encodeBatch as encodeRecordedBatch } from "../../src/record/format.ts";
import { Collector } from "../../src/collector/client.ts";
import type { BatchMessage } from "../../src/collector/messages.ts";
import { RECORD_SIZE } from "../../src/conntrack/mod.ts";
import { ConnectionModel } from "../../src/model/mod.ts";
import { printableJson } from "../../src/text/json.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

Deno.test("writeBase64() writes what btoa() gives, for every length from 0 to 400 bytes", () => {
  for (let n = 0; n <= 400; n++) {
    const src = randomBytes(n, n + 1);
    const out = new Uint8Array(base64Length(n) + 4).fill(0x21);
    const end = writeBase64(src, out, 2);
    assertEquals(end, 2 + base64Length(n), `end for ${n} bytes`);
    assertEquals(text(out.subarray(2, end)), encodeBase64(src), `base64 of ${n} bytes`);
    assertEquals(out[0], 0x21, "nothing written before the offset");
    assertEquals(out[end], 0x21, "nothing written past the end");
  }
});

Deno.test("encodeBatchLine() equals stringify({...head, records, ...tail}) plus a newline", async (t) => {
  const chunks = [randomBytes(RECORD_SIZE * 3, 7), randomBytes(RECORD_SIZE, 8)];
  const head = { type: "batch", seq: 4, count: 4 };
  const tail = {
    extras: [[1, { helper: "ftp", secctx: "é😀\u0001\u009b\u202e" }]],
    owners: [[2, { pid: 7, name: 'a"b\\c\n' }], [3, null]],
    totals: { count: 4, kernelCount: null },
    skipped: undefined,
  };
  const expect = (
    stringify: (v: unknown) => string,
    h: object,
    c: Uint8Array[],
    tl: object,
  ) => stringify({ ...h, records: c.map(encodeBase64), ...tl }) + "\n";
  await t.step("with JSON.stringify (the wire)", () => {
    assertEquals(
      text(encodeBatchLine(head, chunks, tail)),
      expect(JSON.stringify, head, chunks, tail),
    );
  });
  await t.step("with printableJson (recordings)", () => {
    const line = text(encodeBatchLine(head, chunks, tail, printableJson));
    assertEquals(line, expect(printableJson, head, chunks, tail));
    assert(line.includes("\\u009b") && line.includes("\\u202e"), "C1 and bidi escaped");
  });
  await t.step("with no chunk, one empty chunk, and an empty tail", () => {
    assertEquals(text(encodeBatchLine(head, [], {})), expect(JSON.stringify, head, [], {}));
    const empty = [new Uint8Array(0)];
    assertEquals(text(encodeBatchLine(head, empty, {})), expect(JSON.stringify, head, empty, {}));
  });
  await t.step("bytes are UTF-8 of the text", () => {
    const line = encodeBatchLine(head, chunks, tail);
    assertEquals(line, new TextEncoder().encode(expect(JSON.stringify, head, chunks, tail)));
  });
});

const ENTRIES = [
  "-I -t 500 -u SEEN_REPLY,ASSURED -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1234 --dport 80 --state ESTABLISHED -m 7",
  "-I -t 490 -s 2001:db8::1 -d 2001:db8::2 -p tcp --sport 1 --dport 2 --state SYN_SENT",
  "-I -t 470 -s 10.0.0.1 -d 10.0.0.2 -p udp --sport 53 --dport 5353",
  "-I -t 410 -s 10.0.0.1 -d 10.0.0.2 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 55",
  "-I -t 380 -s 10.9.0.1 -d 192.0.2.9 -r 198.51.100.7 -q 10.9.0.1 -p tcp --sport 4000 --dport 443 --reply-port-src 8443 --reply-port-dst 4000 --state ESTABLISHED",
];

/** The namespace's table as conntrack lists it: id → its fields as text. */
async function reference(ns: Netns): Promise<Map<number, string>> {
  const { stdout } = await ns.conntrack(["-L", "-o", "extended,id"]);
  const out = new Map<number, string>();
  for (const f of parseConntrackExtended(stdout)) {
    out.set(
      f.id!,
      [
        f.l4name,
        f.orig.src,
        f.orig.dst,
        f.orig.sport ?? f.orig.type ?? "",
        f.orig.dport ?? f.orig.code ?? "",
        f.reply.src,
        f.reply.dst,
        f.reply.sport ?? "",
        f.reply.dport ?? "",
        f.mark ?? 0,
      ].join(" "),
    );
  }
  return out;
}

/** The records decoded from lines with JSON.parse and atob only, applied to a fresh model. */
function readBack(lines: Uint8Array[], first: BatchMessage): {
  bytes: Uint8Array;
  table: Map<number, string>;
  objects: Record<string, unknown>[];
} {
  const objects = lines.map((l) => {
    assertEquals(l[l.length - 1], 0x0a, "a line ends in a newline");
    return JSON.parse(text(l)) as Record<string, unknown>;
  });
  const chunks = objects.flatMap((o) => (o.records as string[]).map(decodeBase64));
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  const model = new ConnectionModel();
  model.apply({
    ...first,
    records: [bytes.slice().buffer],
    extras: [],
    owners: [],
  });
  const table = new Map<number, string>();
  for (const s of model.slots()) {
    const c = model.connection(s);
    table.set(
      c.id,
      [
        c.protocol,
        c.orig_src,
        c.orig_dst,
        c.orig_sport ?? c.icmp_type ?? "",
        c.orig_dport ?? c.icmp_code ?? "",
        c.reply_src,
        c.reply_dst,
        c.reply_sport ?? "",
        c.reply_dport ?? "",
        c.mark,
      ].join(" "),
    );
  }
  return { bytes, table, objects };
}

Deno.test("a real table's batch, written for the wire and for a recording, reads back with JSON.parse and atob as conntrack -L lists it", async () => {
  await using ns = await Netns.create("bline");
  await loadConntrack(ns, ENTRIES);
  let first: BatchMessage | undefined;
  const collector = await Collector.start({
    intervalMs: 60_000,
    netns: ns.name,
    enableAcct: false,
    track: false,
    eventBufferBytes: 1 << 20,
    events: false,
  }, { onBatch: (b) => (first ??= b) });
  try {
    const deadline = Date.now() + 30_000;
    while (first === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await collector.stop();
  }
  assert(first !== undefined, "the collector sent its first batch");
  const batch = first;
  const original = new Uint8Array(batch.count * RECORD_SIZE);
  let at = 0;
  for (const r of batch.records) {
    original.set(new Uint8Array(r), at);
    at += r.byteLength;
  }
  const expected = await reference(ns);
  assertEquals(expected.size, ENTRIES.length);

  const wire = readBack(encodeWireBatch(batch, "snapshot"), batch);
  assertEquals(wire.bytes, original, "the wire's records are the collector's bytes");
  assertEquals(wire.table, expected);
  const last = wire.objects.at(-1)!;
  assertEquals(last.type, "batch");
  assertEquals(last.kind, "snapshot");
  assertEquals(last.last, true);
  assertEquals(last.seq, batch.seq);
  assertEquals(last.totals, JSON.parse(JSON.stringify(batch.totals)));
  assertEquals(last.status, JSON.parse(JSON.stringify(batch.status)));
  assertEquals(wire.objects.reduce((n, o) => n + (o.count as number), 0), batch.count);

  const recorded = readBack([encodeRecordedBatch(batch)], batch);
  assertEquals(recorded.bytes, original, "the recording's records are the collector's bytes");
  assertEquals(recorded.table, expected);
  const line = recorded.objects[0]!;
  assertEquals(line.type, "batch");
  assertEquals(line.count, batch.count);
  assertEquals(line.seq, batch.seq);
  assertEquals(line.totals, JSON.parse(JSON.stringify(batch.totals)));
  assertEquals(line.reset, undefined);
});
