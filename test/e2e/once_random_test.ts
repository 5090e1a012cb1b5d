/**
 * `conntop --once` in every format against `conntrack -L` on a random table: every protocol
 * conntrack tracks, both families, source and destination NAT, random marks and zones, loaded
 * with `conntrack -I` into a test namespace. The seed is in every failure message;
 * CONNTOP_TEST_SEED=N replays one. Also run on aarch64 inside the emulated VM
 * (test/vm/aarch64.vm.ts), where the kernel-facing code is otherwise never executed.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { parseConntrackXml, type XmlFlow } from "../_helpers/conntrack_cli.ts";
import { runConntop } from "./_conntop.ts";
import type { Connection } from "../../src/core/connection.ts";

const SEED = Number(Deno.env.get("CONNTOP_TEST_SEED") ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = 48;

/** mulberry32: a small seeded generator, so that a failing table can be made again. */
function generator(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** `conntrack -I` lines: each protocol in turn, each entry's addresses unique by its index. */
function randomTable(seed: number): string[] {
  const rnd = generator(seed);
  const protos = ["tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "gre"];
  const lines: string[] = [];
  for (let k = 0; k < COUNT; k++) {
    const proto = protos[k % protos.length]!;
    const v6 = proto === "icmpv6" || (proto !== "icmp" && rnd(2) === 1);
    const addr = (host: number) =>
      v6 ? `2001:db8:${k.toString(16)}::${(host + 1).toString(16)}` : `10.${k}.${rnd(256)}.${host}`;
    const [src, dst, natAddr] = [addr(1), addr(2), addr(3)];
    const port = () => 1 + rnd(65535);
    // Timeouts of an hour or more: under emulation the four runs take minutes.
    const parts = ["-I", "-t", String(3600 + rnd(3600)), "-s", src, "-d", dst, "-p", proto];
    switch (proto) {
      case "tcp":
        parts.push("--sport", String(port()), "--dport", String(port()), "--state");
        parts.push(["ESTABLISHED", "SYN_SENT", "TIME_WAIT", "CLOSE_WAIT"][rnd(4)]!);
        if (rnd(2) === 1) parts.push("-u", "SEEN_REPLY,ASSURED");
        break;
      case "udp":
      case "udplite":
        parts.push("--sport", String(port()), "--dport", String(port()));
        break;
      case "sctp":
        parts.push("--sport", String(port()), "--dport", String(port()), "--state");
        parts.push(["ESTABLISHED", "COOKIE_WAIT"][rnd(2)]!, "--orig-vtag", String(1 + rnd(1000)));
        parts.push("--reply-vtag", String(1 + rnd(1000)));
        break;
      case "dccp":
        parts.push("--sport", String(port()), "--dport", String(port()), "--state", "OPEN");
        parts.push("--role", "client");
        break;
      case "icmp":
        parts.push("--icmp-type", "8", "--icmp-code", "0", "--icmp-id", String(rnd(65536)));
        break;
      case "icmpv6":
        parts.push("--icmpv6-type", "128", "--icmpv6-code", "0", "--icmpv6-id");
        parts.push(String(rnd(65536)));
        break;
      case "gre":
        parts.push("--srckey", String(rnd(65536)), "--dstkey", String(rnd(65536)));
        break;
    }
    // A mark of any 32-bit value, a zone for one entry in three, NAT for one in two.
    parts.push("-m", String(rnd(2 ** 32)));
    if (rnd(3) === 0) parts.push("-w", String(1 + rnd(65535)));
    const nat = rnd(4);
    if (nat === 1) parts.push("--src-nat", natAddr);
    if (nat === 2) parts.push("--dst-nat", natAddr);
    lines.push(parts.join(" "));
  }
  return lines;
}

/** Splits a CSV line (fields with a comma or quote are quoted, quotes doubled). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (cur += '"', i++);
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") (out.push(cur), cur = "");
    else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * What conntrack -L says of a flow, in conntop's field names. A protocol the kernel tracks as
 * generic (DCCP without its module) has no ports: conntrack prints 0, conntop null (the table
 * never has port 0 otherwise).
 */
function reference(r: XmlFlow): Record<string, unknown> {
  return {
    id: r.id,
    family: r.l3,
    protonum: r.l4proto,
    orig_src: r.orig.src,
    orig_dst: r.orig.dst,
    reply_src: r.reply.src,
    reply_dst: r.reply.dst,
    orig_sport: r.orig.sport || null,
    orig_dport: r.orig.dport || null,
    reply_sport: r.reply.sport || null,
    reply_dport: r.reply.dport || null,
    mark: r.mark ?? 0,
    zone: r.zone ?? null,
  };
}

const KEYS = Object.keys(reference({
  id: 0,
  l3: "",
  l4proto: 0,
  orig: { src: "", dst: "" },
  reply: { src: "", dst: "" },
} as unknown as XmlFlow));

function pick(c: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) out[k] = c[k] ?? null;
  return out;
}

Deno.test(`conntop --once in every format equals conntrack -L on a random table (seed ${SEED})`, async (t) => {
  await using ns = await Netns.create("rnd");
  const lines = randomTable(SEED);
  await loadConntrack(ns, lines);
  const xml = await ns.conntrack(["-L", "-o", "xml"]);
  const ref = new Map(parseConntrackXml(xml.stdout).map((r) => [r.id, reference(r)]));
  assertEquals(ref.size, COUNT, `seed ${SEED}: conntrack lists every entry`);
  const protos = new Set([...ref.values()].map((r) => `${r.family}/${r.protonum}`));
  for (const p of ["ipv4/6", "ipv4/1", "ipv6/58", "ipv4/47", "ipv4/132", "ipv4/33"]) {
    assert(protos.has(p) || protos.has(p.replace("ipv4", "ipv6")), `seed ${SEED}: has ${p}`);
  }
  const nat = [...ref.values()].filter((r) =>
    r.reply_src !== r.orig_dst || r.reply_dst !== r.orig_src
  );
  assert(nat.length > 0, `seed ${SEED}: the table has NAT`);

  const once = async (format: string) => {
    const r = await runConntop(["--once", "-o", format, "--netns", ns.name]);
    assertEquals(r.code, 0, `seed ${SEED}, -o ${format}: ${r.stderr}`);
    return r.stdout;
  };

  let json: Connection[] = [];
  await t.step("json", async () => {
    const snap = JSON.parse(await once("json")) as { connections: Connection[] };
    json = snap.connections;
    const got = new Map(json.map((c) => [c.id, pick(c as unknown as Record<string, unknown>)]));
    assertEquals(got, ref, `seed ${SEED}`);
  });

  await t.step("ndjson", async () => {
    const rows = (await once("ndjson")).split("\n").filter((l) => l !== "").map((l) =>
      pick(JSON.parse(l))
    );
    assertEquals(new Map(rows.map((r) => [r.id, r])), ref, `seed ${SEED}`);
  });

  await t.step("csv", async () => {
    const [head, ...rows] = (await once("csv")).split("\n").filter((l) => l !== "");
    const names = csvFields(head!);
    const got = new Map<unknown, Record<string, unknown>>();
    for (const row of rows) {
      const f = csvFields(row);
      const rec: Record<string, unknown> = {};
      for (const k of KEYS) {
        const v = f[names.indexOf(k)];
        assert(v !== undefined, `seed ${SEED}: csv has column ${k}`);
        rec[k] = v === "" ? null : /^\d+$/.test(v) ? Number(v) : v;
      }
      got.set(rec.id, rec);
    }
    assertEquals(got, ref, `seed ${SEED}`);
  });

  await t.step("table", async () => {
    // The table has no id: each of conntrack's flows has its own row naming its original
    // source and destination (address, and port where the protocol has one).
    const [head, ...rows] = (await once("table")).split("\n").filter((l) => l !== "");
    assert(/^PROTO\s+STATE\s+SOURCE\s+DESTINATION\s+NAT\b/.test(head!), head);
    assertEquals(rows.length, ref.size, `seed ${SEED}: one row a connection`);
    const endpoint = (addr: unknown, port: unknown) =>
      port === null ? String(addr) : `${String(addr).includes(":") ? `[${addr}]` : addr}:${port}`;
    const left = rows.map((r) => r.trim().split(/\s+/));
    for (const r of ref.values()) {
      const want = [endpoint(r.orig_src, r.orig_sport), endpoint(r.orig_dst, r.orig_dport)];
      const i = left.findIndex((tokens) => want.every((w) => tokens.includes(w)));
      assert(i >= 0, `seed ${SEED}: no row has ${want.join(" → ")}:\n${rows.join("\n")}`);
      left.splice(i, 1);
    }
  });
});
