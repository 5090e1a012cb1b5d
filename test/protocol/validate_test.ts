import {
  checkRecords,
  MAX_SLOT,
  parseClientMessage,
  parseServerMessage,
} from "../../src/protocol/mod.ts";
import { Buffer } from "node:buffer";
import { Kind, OFF, RECORD_SIZE } from "../../src/conntrack/mod.ts";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { generate } from "../../scripts/gen_protocol.ts";

const line = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

function reason(r: { ok: boolean; reason?: string }): string {
  assert(!r.ok, "expected a refusal");
  return r.reason!;
}

Deno.test("the generated validators are up to date with schema/protocol.schema.json", () => {
  const schema = JSON.parse(
    Deno.readTextFileSync(new URL("../../schema/protocol.schema.json", import.meta.url)),
  );
  const current = Deno.readTextFileSync(
    new URL("../../src/protocol/_validate.js", import.meta.url),
  );
  assert(generate(schema) === current, "run `deno task gen-protocol`");
});

Deno.test("client messages: valid ones pass", () => {
  for (
    const m of [
      { type: "hello", version: 1, software: "conntop 0.1.0", name: "laptop" },
      { type: "hello", version: 1, software: "x", name: "n", token: "s3cret-token" },
      { type: "ping", id: 0 },
      { type: "pong", id: 7 },
      { type: "bye", reason: "user", message: "" },
    ]
  ) {
    const r = parseClientMessage(line(m));
    assert(r.ok, JSON.stringify(m) + (r.ok ? "" : ": " + r.reason));
    assertEquals<unknown>(r.value, m);
  }
});

Deno.test("client messages: every kind of bad input is refused with a reason", () => {
  const enc = new TextEncoder();
  assertEquals(reason(parseClientMessage(new Uint8Array([0xff, 0xfe, 0x7b]))), "not UTF-8");
  assertEquals(reason(parseClientMessage(enc.encode('{"type":"hello"'))), "not JSON");
  assertMatch(reason(parseClientMessage(line([1, 2]))), /^invalid message/);
  assertMatch(reason(parseClientMessage(line("hello"))), /^invalid message/);
  assertMatch(reason(parseClientMessage(line({ type: "welcome" }))), /^invalid 'welcome'/);
  assertMatch(reason(parseClientMessage(line({ type: "hello", version: 1 }))), /^invalid 'hello'/);
  // Extra fields, wrong types, out-of-range numbers, control characters, a huge token.
  const hello = { type: "hello", version: 1, software: "s", name: "n" };
  for (
    const bad of [
      { ...hello, extra: 1 },
      { ...hello, version: "1" },
      { ...hello, version: 0 },
      { ...hello, version: 1.5 },
      { ...hello, name: "x".repeat(256) },
      { ...hello, name: "" },
      { ...hello, token: "" },
      { ...hello, token: "with space" },
      { ...hello, token: "t".repeat(1025) },
      { type: "ping", id: -1 },
      { type: "bye", reason: "because", message: "" },
      { type: "__proto__" },
    ]
  ) {
    assert(!parseClientMessage(line(bad)).ok, JSON.stringify(bad));
  }
  // A type name that is not a word is not echoed into the reason.
  assertMatch(reason(parseClientMessage(line({ type: "<script>" }))), /^invalid message/);
});

Deno.test("server messages: banner, welcome and a batch part pass; a batch with extra fields does not", () => {
  const banner = {
    type: "banner",
    protocol: "conntop",
    versions: [1],
    software: "conntopd 0.1.0",
    auth: ["token"],
  };
  assert(parseServerMessage(line(banner)).ok);
  assert(!parseServerMessage(line({ ...banner, protocol: "other" })).ok);
  const welcome = {
    type: "welcome",
    version: 1,
    name: "router",
    intervalMs: 1000,
    netns: null,
    recordSize: 168,
    chunkRecords: 8192,
    idleTimeoutMs: 60000,
    ready: { warnings: [], flowtables: false },
  };
  assert(parseServerMessage(line(welcome)).ok);
  const part = {
    type: "batch",
    kind: "delta",
    seq: 4,
    part: 0,
    last: false,
    count: 0,
    records: [],
    extras: [[5, { helper: "ftp" }]],
    owners: [[5, { pid: 1, name: "init" }], [6, null]],
  };
  const r = parseServerMessage(line(part));
  assert(r.ok, r.ok ? "" : r.reason);
  assert(!parseServerMessage(line({ ...part, records: ["AAAA", "AAAA"] })).ok);
  assert(!parseServerMessage(line({ ...part, records: ["not base64!"] })).ok);
  assert(!parseServerMessage(line({ ...part, kind: "full" })).ok);
  assert(!parseServerMessage(line({ ...part, count: 8193 })).ok);
  assert(!parseServerMessage(line({ ...part, owners: [[5, { pid: 0, name: "x" }]] })).ok);
});

function records(n: number, edit: (dv: DataView, u8: Uint8Array, at: number) => void): string {
  const buf = new ArrayBuffer(n * RECORD_SIZE);
  const u8 = new Uint8Array(buf);
  const dv = new DataView(buf);
  for (let i = 0; i < n; i++) {
    const at = i * RECORD_SIZE;
    u8[at + OFF.KIND] = Kind.NEW;
    u8[at + OFF.FAMILY] = 2;
    dv.setUint32(at + OFF.SLOT, i, true);
    edit(dv, u8, at);
  }
  return Buffer.from(buf).toString("base64");
}

Deno.test("checkRecords decodes good records and refuses wrong sizes, kinds, families and slots", () => {
  const good = checkRecords(records(3, () => {}), 3, true);
  assert(good.ok);
  assertEquals(good.value.byteLength, 3 * RECORD_SIZE);
  assertMatch(reason(checkRecords(records(3, () => {}), 2, true)), /not 2 records/);
  assertMatch(reason(checkRecords("AAA", 0, true)), /base64/);
  assertMatch(reason(checkRecords(records(1, () => {}).replace(/A/, "*"), 1, true)), /base64/);
  const update = records(1, (_, u8, at) => (u8[at + OFF.KIND] = Kind.UPDATE));
  assertMatch(reason(checkRecords(update, 1, true)), /kind 2/);
  assert(checkRecords(update, 1, false).ok);
  const free = records(1, (_, u8, at) => (u8[at + OFF.KIND] = Kind.FREE));
  assertMatch(reason(checkRecords(free, 1, false)), /kind 0/);
  const fam = records(1, (_, u8, at) => (u8[at + OFF.FAMILY] = 7));
  assertMatch(reason(checkRecords(fam, 1, false)), /family 7/);
  const slot = records(1, (dv, _, at) => dv.setUint32(at + OFF.SLOT, MAX_SLOT + 1, true));
  assertMatch(reason(checkRecords(slot, 1, false)), /slot/);
});

/** Text from outside as a process, a kernel or a host can hold it: every class of character. */
const UNTRUSTED = "e\t\r\n\x1b]0;PWNED\x07\x00\x7f\u0085\u009b\u061c\u202e\u2066\ud800z";

Deno.test("server messages carry any text, escaped: a process name never breaks a batch", () => {
  const part = {
    type: "batch",
    kind: "delta",
    seq: 4,
    part: 0,
    last: false,
    count: 0,
    records: [],
    extras: [[5, { helper: UNTRUSTED, secctx: UNTRUSTED }]],
    owners: [[5, { pid: 1, name: UNTRUSTED }], [6, { pid: 2, name: "ok" }]],
  };
  const r = parseServerMessage(line(part));
  assert(r.ok, r.ok ? "" : r.reason);
  assertEquals<unknown>(r.value, part);
  // The limits stay: in characters (code points), not bytes.
  const long = { ...part, owners: [[5, { pid: 1, name: "\u009b".repeat(65) }]] };
  assert(!parseServerMessage(line(long)).ok);
  const at = { ...part, owners: [[5, { pid: 1, name: "\u{1f995}".repeat(64) }]] };
  assert(parseServerMessage(line(at)).ok);
  const welcome = {
    type: "welcome",
    version: 1,
    name: UNTRUSTED,
    intervalMs: 1000,
    netns: UNTRUSTED,
    recordSize: 168,
    chunkRecords: 8192,
    idleTimeoutMs: 60000,
    ready: { warnings: [UNTRUSTED], flowtables: false },
  };
  assert(parseServerMessage(line(welcome)).ok);
  assert(parseServerMessage(line({ type: "warning", timeMs: 1, message: UNTRUSTED })).ok);
  assert(parseServerMessage(line({ type: "bye", reason: "user", message: UNTRUSTED })).ok);
  const hello = { type: "hello", version: 1, software: UNTRUSTED, name: UNTRUSTED };
  const h = parseClientMessage(line(hello));
  assert(h.ok, h.ok ? "" : h.reason);
  assertEquals<unknown>(h.value, hello);
});
