/**
 * The direct encoders (record → bytes, src/output/records.ts) against the object path they
 * replace in `--once` (record → `toConnection()` → `jsonObjectEncoder()`/`csvRowEncoder()`,
 * which test/output/encode_test.ts holds to `printableJson()` and RFC 4180): equal bytes on
 * random records of every protocol and family, with and without NAT, counters, rates,
 * timestamps, huge and fractional numbers, and hostile text in the extras, the owner and the
 * enrichment fields, for every format and for random subsets of the fields in random order.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import { prng } from "../../tools/prng.ts";
import {
  type Extra,
  formatIPv4,
  formatIPv6,
  OFF,
  parseAddress,
  RECORD_SIZE,
  RecordView,
} from "../../src/conntrack/mod.ts";
import {
  type Connection,
  CONNECTION_FIELDS,
  type EnrichedFields,
  type Owner,
  toConnection,
} from "../../src/core/mod.ts";
import { csvRowEncoder, type Field, jsonObjectEncoder } from "../../src/output/encode.ts";
import {
  ByteSink,
  isoTime,
  recordCsvEncoder,
  type RecordEncoder,
  recordJsonEncoder,
  type RecordRow,
} from "../../src/output/records.ts";

const EVIL = 'e\t\r\n\x1b]0;PWNED\x07\x7f\u009b\u202e\u2066\ud800,"z\\';
const TEXTS = [
  EVIL,
  "",
  "plain",
  "São Paulo",
  'Org "q", Inc.',
  "\u4e2d\ud83d\ude00",
  "a,b",
  "x\\y",
];
const L4 = [6, 17, 1, 58, 47, 132, 33, 136, 2, 255];
const NOW = 1_800_000_000_000;

interface Sample {
  v: RecordView;
  extras: (Extra | undefined)[];
  owners: (Owner | undefined)[];
  enriched: (EnrichedFields | undefined)[];
}

function sample(seed: number, n: number): Sample {
  const rand = prng(seed);
  const int = (k: number) => Math.floor(rand() * k);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const v = new RecordView(new ArrayBuffer(n * RECORD_SIZE));
  const dv = v.dv, u8 = v.u8;
  const extras: (Extra | undefined)[] = [];
  const owners: (Owner | undefined)[] = [];
  const enriched: (EnrichedFields | undefined)[] = [];
  const text = () => (rand() < 0.2 ? null : pick(TEXTS));
  const num = () => (rand() < 0.3 ? null : int(70000));
  for (let i = 0; i < n; i++) {
    const at = i * RECORD_SIZE;
    u8[at + OFF.KIND] = 1;
    u8[at + OFF.FAMILY] = rand() < 0.7 ? 2 : 10;
    u8[at + OFF.L4] = pick(L4);
    u8[at + OFF.STATE] = rand() < 0.3 ? 0xff : int(14);
    for (const off of [OFF.ID, OFF.STATUS, OFF.TIMEOUT, OFF.MARK, OFF.USE]) {
      dv.setUint32(at + off, rand() < 0.3 ? int(10) : int(2 ** 32), true);
    }
    dv.setUint16(at + OFF.ZONE, int(65536), true);
    dv.setUint16(at + OFF.HAS, int(65536), true);
    for (let off = OFF.ORIG_SPORT; off < OFF.ORIG_SRC; off += 2) {
      dv.setUint16(at + off, rand() < 0.5 ? 443 : int(65536), true);
    }
    for (let k = 0; k < 32; k++) {
      u8[at + OFF.ORIG_SRC + k] = rand() < 0.3 ? 0 : int(256);
    }
    // The reply tuple mirrors the original (no NAT), differs in one byte (any of the 16), or
    // is another address.
    for (const [to, from] of [[OFF.REPLY_SRC, OFF.ORIG_DST], [OFF.REPLY_DST, OFF.ORIG_SRC]]) {
      const r = rand();
      for (let k = 0; k < 16; k++) u8[at + to! + k] = r < 0.8 ? u8[at + from! + k]! : int(256);
      const k = at + to! + int(16);
      if (r >= 0.5 && r < 0.8) u8[k] = u8[k]! ^ (1 + int(255));
    }
    if (rand() < 0.5) {
      dv.setUint16(at + OFF.REPLY_SPORT, dv.getUint16(at + OFF.ORIG_DPORT, true), true);
      dv.setUint16(at + OFF.REPLY_DPORT, dv.getUint16(at + OFF.ORIG_SPORT, true), true);
    }
    for (let off = OFF.ORIG_PACKETS; off < OFF.START_MS; off += 8) {
      const r = rand();
      dv.setFloat64(
        at + off,
        r < 0.1 ? 2 ** 60 : r < 0.2 ? 2 ** 53 + 2 : r < 0.3 ? 0.5 : int(2 ** 40),
        true,
      );
    }
    // Starts over some days, and before 1970 or after 9999 (the path through Date).
    const start = rand();
    dv.setFloat64(
      at + OFF.START_MS,
      start < 0.03
        ? -1500.25
        : start < 0.06
        ? 253402300800000 + int(1e6)
        : NOW - int(1e9) + (rand() < 0.5 ? 0.25 : 0),
      true,
    );
    for (let off = OFF.TX_BPS; off < OFF.SAMPLED_MS; off += 4) {
      const r = rand();
      dv.setFloat32(at + off, r < 0.3 ? 0 : r < 0.4 ? Infinity : rand() * 1e7, true);
    }
    dv.setFloat64(at + OFF.SAMPLED_MS, NOW - int(5000), true);
    extras.push(
      rand() < 0.5 ? undefined : {
        ...(rand() < 0.5 ? { secctx: pick(TEXTS) } : {}),
        ...(rand() < 0.5 ? { helper: pick(TEXTS) } : {}),
        ...(rand() < 0.5 ? { labels: rand() < 0.3 ? [] : [1, int(128)] } : {}),
        ...(rand() < 0.5 ? { origZone: int(65536), replyZone: int(65536) } : {}),
      },
    );
    owners.push(rand() < 0.5 ? undefined : { name: pick(TEXTS), pid: int(4e6) });
    enriched.push(
      rand() < 0.3 ? undefined : {
        process: null,
        pid: null,
        "src_host": text(),
        "dst_host": text(),
        "src_class": text(),
        "dst_class": text(),
        "src_country": text(),
        "dst_country": text(),
        "src_asn": num(),
        "dst_asn": num(),
        "src_org": text(),
        "dst_org": text(),
        "src_city": text(),
        "dst_city": text(),
        "sport_service": text(),
        "dport_service": text(),
      },
    );
  }
  return { v, extras, owners, enriched };
}

/** The object path: the connection, its enrichment fields filled as --once fills them. */
function connection(s: Sample, i: number): Connection {
  const c = toConnection(s.v, i, s.extras[i], NOW, s.owners[i]);
  const e = s.enriched[i];
  if (e !== undefined) {
    for (const [k, x] of Object.entries(e)) {
      if (k !== "process" && k !== "pid") (c as unknown as Record<string, unknown>)[k] = x;
    }
  }
  return c;
}

/** Every row of `s` through `encode` into one string. */
async function direct(s: Sample, encode: RecordEncoder, end: string): Promise<string> {
  const parts: Uint8Array[] = [];
  const sink = new ByteSink((b) => Promise.resolve(void parts.push(b.slice())));
  for (let i = 0; i < s.v.count; i++) {
    const row: RecordRow = {
      v: s.v,
      i,
      extra: s.extras[i],
      owner: s.owners[i],
      enriched: s.enriched[i],
    };
    encode(sink, row);
    sink.text(end);
    if (sink.full) await sink.flush();
  }
  await sink.flush();
  const dec = new TextDecoder();
  return parts.map((p) => dec.decode(p, { stream: true })).join("") + dec.decode();
}

function shuffled(fields: readonly Field[], rand: () => number): Field[] {
  const out = fields.filter(() => rand() < 0.5);
  for (let k = out.length - 1; k > 0; k--) {
    const j = Math.floor(rand() * (k + 1));
    [out[k], out[j]] = [out[j]!, out[k]!];
  }
  return out;
}

Deno.test("direct record encoders write the object path's bytes on random records", async () => {
  const rand = prng(14);
  for (let round = 0; round < 12; round++) {
    const s = sample(1000 + round, 400);
    const fields = round < 3 ? [...CONNECTION_FIELDS] : shuffled(CONNECTION_FIELDS, rand);
    const conns = Array.from({ length: s.v.count }, (_, i) => connection(s, i));
    const label = `round ${round}, fields ${fields.join(",")}`;
    for (const indent of ["    ", null]) {
      const ref = jsonObjectEncoder(fields, indent);
      assertEquals(
        await direct(s, recordJsonEncoder(fields, indent, NOW), "\n"),
        conns.map((c) => ref(c) + "\n").join(""),
        `JSON (indent ${JSON.stringify(indent)}), ${label}`,
      );
    }
    const ref = csvRowEncoder(fields);
    assertEquals(
      await direct(s, recordCsvEncoder(fields, NOW), ""),
      conns.map((c) => ref(c)).join(""),
      `CSV, ${label}`,
    );
  }
});

Deno.test("isoTime is Date's toISOString, from 1970 to 9999 and beyond", () => {
  const rand = prng(8);
  const times = [0, 0.5, 1, 951782400000, 951868799999, 4107542400000, 253402300799999];
  times.push(253402300800000, -1, -62198755200000, 8.64e15);
  for (let k = 0; k < 20000; k++) times.push(rand() * 253402300800000, rand() * 4e12);
  for (const t of times) assertEquals(isoTime(t), new Date(t).toISOString(), String(t));
});

Deno.test("the byte sink writes numbers as String() does and grows for long rows", async () => {
  const parts: string[] = [];
  const sink = new ByteSink((b) => Promise.resolve(void parts.push(new TextDecoder().decode(b))));
  const nums = [0, -0, 7, 10, 99, 100, 65535, 2 ** 32 - 1, 2 ** 53 - 1, 2 ** 53, 2 ** 60, -1, 0.5];
  for (const n of [...nums, NaN, Infinity]) {
    sink.number(n);
    sink.byte(32);
  }
  const long = EVIL.repeat(40_000);
  sink.text(long);
  await sink.flush();
  const expected = [...nums, NaN, Infinity].map((n) => String(n) + " ").join("") + long;
  assertEquals(parts.join(""), new TextDecoder().decode(new TextEncoder().encode(expected)));
});

Deno.test("the byte sink writes IPv4 and IPv6 addresses as formatIPv4 and formatIPv6 do", async () => {
  const rand = prng(9);
  const v6 = (text: string) => parseAddress(text)!.bytes;
  const addrs: Uint8Array[] = [
    "::",
    "::1",
    "1::",
    "::ffff:1.2.3.4",
    "::1.2.3.4",
    "::ffff:0:1.2.3.4",
    "0:0:0:0:0:1:0:0",
    "1:0:0:1:0:0:0:1",
    "1:0:0:1:0:0:1:0",
    "1:0:1:0:1:0:1:0",
    "fe80::abcd:ef01",
    "2001:db8:0:0:1:0:0:1",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "100:10:1:0:f:ff:fff:ffff",
  ].map(v6);
  // Random addresses, many with zero words (runs of every length and place).
  for (let k = 0; k < 20000; k++) {
    const b = new Uint8Array(16);
    for (let j = 0; j < 16; j += 2) {
      if (rand() < 0.5) continue;
      b[j] = rand() < 0.5 ? 0 : Math.floor(rand() * 256);
      b[j + 1] = Math.floor(rand() * 256);
    }
    if (rand() < 0.05) b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    addrs.push(b);
  }
  const parts: string[] = [];
  const sink = new ByteSink((b) => Promise.resolve(void parts.push(new TextDecoder().decode(b))));
  for (const a of addrs) {
    sink.ipv6(a, 0);
    sink.byte(32);
    sink.ipv4(a, 12);
    sink.byte(32);
  }
  await sink.flush();
  const expected = addrs.map((a) => `${formatIPv6(a)} ${formatIPv4(a, 12)} `).join("");
  assertEquals(parts.join(""), expected);
});
