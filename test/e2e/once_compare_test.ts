/**
 * `conntop --once` against `conntrack -L` on the same table: every protocol conntrack tracks,
 * both families, compared field by field with the reference tool's XML (and its extended
 * text output for protocol states, which its XML prints wrongly for SCTP).
 */

import { trackedPair } from "../_helpers/tracked_pair.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns, ping } from "../../tools/netns.ts";
import { parseConntrackExtended, parseConntrackXml } from "../_helpers/conntrack_cli.ts";
import { runConntop } from "./_conntop.ts";
import type { Connection } from "../../src/core/connection.ts";

const ENTRIES = [
  "-I -t 500 -u SEEN_REPLY,ASSURED -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1234 --dport 80 --state ESTABLISHED -m 7",
  "-I -t 490 -s 2001:db8::1 -d 2001:db8::2 -p tcp --sport 1 --dport 2 --state SYN_SENT -w 3",
  "-I -t 480 -u SEEN_REPLY -s fd00::1:2 -d fd00::3 -p tcp --sport 40000 --dport 443 --state TIME_WAIT",
  "-I -t 470 -s 10.0.0.1 -d 10.0.0.2 -p udp --sport 53 --dport 5353 -m 0x10",
  "-I -t 460 -s 2001:db8::5 -d 2001:db8::6 -p udp --sport 500 --dport 4500",
  "-I -t 450 -s 10.0.0.1 -d 10.0.0.3 -p udplite --sport 1 --dport 2",
  "-I -t 440 -s 2001:db8::7 -d 2001:db8::8 -p udplite --sport 3 --dport 4",
  "-I -t 430 -s 10.0.0.1 -d 10.0.0.3 -p sctp --sport 1 --dport 2 --state ESTABLISHED --orig-vtag 5 --reply-vtag 6",
  "-I -t 420 -s 2001:db8::9 -d 2001:db8::a -p sctp --sport 5 --dport 6 --state COOKIE_WAIT --orig-vtag 7 --reply-vtag 8",
  "-I -t 410 -s 10.0.0.1 -d 10.0.0.2 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 55",
  "-I -t 400 -s ::1 -d ::ffff:1.2.3.4 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 3",
  "-I -t 390 -s 10.0.0.1 -d 10.0.0.4 -p gre --srckey 1 --dstkey 2",
  "-I -t 380 -s 10.0.0.1 -d 10.0.0.5 -p dccp --sport 7 --dport 8 --state OPEN --role client",
  "-I -t 370 -s 2001:db8::b -d 2001:db8::c -p gre --srckey 3 --dstkey 4",
  "-I -t 360 -s 2001:db8::d -d 2001:db8::e -p dccp --sport 9 --dport 10 --state OPEN --role client",
];

Deno.test("conntop --once reports every field as conntrack -L does, for every protocol", async () => {
  await using pair = await trackedPair("cmp", 7);
  const { a } = pair;
  await ping(a, "10.7.0.2");
  await loadConntrack(a, ENTRIES);

  const t0 = Date.now();
  const ours = await runConntop(["--once", "-o", "json", "--netns", a.name]);
  const xml = await a.conntrack(["-L", "-o", "xml"]);
  // Timeouts count down between the two reads: by at most the seconds both took (about one
  // here, ten under emulation), give or take a second of rounding.
  const elapsed = Math.ceil((Date.now() - t0) / 1000);
  const ext = await a.conntrack(["-L", "-o", "extended,id"]);
  assertEquals(ours.code, 0, ours.stderr);
  const snap = JSON.parse(ours.stdout) as { connections: Connection[]; accounting: boolean };
  assertEquals(snap.accounting, true);
  const ref = parseConntrackXml(xml.stdout);
  const refExt = parseConntrackExtended(ext.stdout);
  assertEquals(snap.connections.length, ref.length, "same number of connections");
  assert(ref.length >= ENTRIES.length + 1);
  const seenProtos = new Set<string>();
  for (const c of snap.connections) {
    const r = ref.find((f) => f.id === c.id);
    assert(r !== undefined, `conntrack lists id ${c.id}`);
    const e = refExt.find((f) => f.id === c.id)!;
    const where = `id ${c.id} (${c.protocol})`;
    seenProtos.add(`${c.family}/${c.protonum}`);
    assertEquals(c.family, r.l3, where);
    assertEquals(c.protonum, r.l4proto, where);
    assertEquals(c.protocol, r.l4name, where);
    assertEquals([c.orig_src, c.orig_dst, c.reply_src, c.reply_dst], [
      r.orig.src,
      r.orig.dst,
      r.reply.src,
      r.reply.dst,
    ], where);
    const port = (ours: number | null, theirs: number | undefined) => {
      // Without kernel port data (a protocol tracked as generic) conntrack prints 0 or nothing.
      if (ours === null) assert(theirs === undefined || theirs === 0, `${where}: port ${theirs}`);
      else assertEquals(ours, theirs, where);
    };
    port(c.orig_sport, r.orig.sport);
    port(c.orig_dport, r.orig.dport);
    port(c.reply_sport, r.reply.sport);
    port(c.reply_dport, r.reply.dport);
    if (c.icmp_type !== null) {
      assertEquals([c.icmp_type, c.icmp_code, c.icmp_id], [e.orig.type, e.orig.code, e.orig.id]);
      assertEquals([c.reply_icmp_type, c.reply_icmp_code], [e.reply.type, e.reply.code]);
    }
    if (c.gre_src_key !== null) {
      assertEquals([c.gre_src_key, c.gre_dst_key], [r.orig.srckey, r.orig.dstkey], where);
    }
    const ticked = c.timeout! - r.timeout;
    assert(
      ticked >= -1 && ticked <= elapsed + 1,
      `${where}: timeout ${c.timeout} vs ${r.timeout}, ${elapsed} s apart at most`,
    );
    assertEquals(c.mark, r.mark ?? 0, where);
    assertEquals(c.zone ?? 0, r.zone ?? 0, where);
    assertEquals(c.use, r.use ?? null, where);
    assertEquals(c.flags.includes("ASSURED"), r.flags.includes("assured"), where);
    assertEquals(c.flags.includes("UNREPLIED"), r.flags.includes("unreplied"), where);
    assertEquals(c.state, e.state ?? null, where);
    assertEquals(
      [c.tx_packets, c.tx_bytes, c.rx_packets, c.rx_bytes],
      [
        r.orig.packets ?? null,
        r.orig.bytes ?? null,
        r.reply.packets ?? null,
        r.reply.bytes ?? null,
      ],
      where,
    );
  }
  for (
    const p of [
      "ipv4/6",
      "ipv6/6",
      "ipv4/17",
      "ipv6/17",
      "ipv4/136",
      "ipv6/136",
      "ipv4/132",
      "ipv6/132",
      "ipv4/1",
      "ipv6/58",
      "ipv4/47",
      "ipv4/33",
    ]
  ) {
    assert(seenProtos.has(p), `the table had ${p}`);
  }
  const pinged = snap.connections.find((c) => c.orig_dst === "10.7.0.2")!;
  assert(pinged.tx_packets! >= 1 && pinged.rx_bytes! > 0, "real traffic was counted");
  assert(pinged.start !== null && pinged.age_seconds !== null, "timestamps are reported");
});

Deno.test("conntop --once filters as conntrack -L does", async (t) => {
  await using a = await Netns.create("flt");
  await loadConntrack(a, ENTRIES);
  const ids = async (args: string[], ctArgs: string[]) => {
    const ours = await runConntop(["--once", "-o", "ndjson", "--netns", a.name, ...args]);
    assertEquals(ours.code, 0, ours.stderr);
    const got = ours.stdout.trim().split("\n").filter((l) => l).map((l) => JSON.parse(l).id)
      .sort();
    const ref = await a.exec(["conntrack", "-L", "-o", "xml", ...ctArgs], { check: false });
    const want = parseConntrackXml(ref.stdout).map((f) => f.id).sort();
    assertEquals(got, want, args.join(" "));
    return got.length;
  };
  await t.step("-p tcp", async () => assertEquals(await ids(["-p", "tcp"], ["-p", "tcp"]), 3));
  await t.step("-p udp --dport 5353", async () => {
    assertEquals(await ids(["-p", "udp", "--dport", "5353"], ["-p", "udp", "--dport", "5353"]), 1);
  });
  await t.step("--src", async () => {
    assert(await ids(["--src", "10.0.0.1"], ["-s", "10.0.0.1"]) >= 5);
  });
  await t.step("--family 6", async () => {
    assertEquals(await ids(["--family", "6"], ["-f", "ipv6"]), 8);
  });
  await t.step("--mark", async () => assertEquals(await ids(["--mark", "16"], ["-m", "16"]), 1));
  await t.step("--zone", async () => assertEquals(await ids(["--zone", "3"], ["-w", "3"]), 1));
  await t.step("--state", async () => {
    assertEquals(
      await ids(["-p", "tcp", "--state", "ESTABLISHED"], ["-p", "tcp", "--state", "ESTABLISHED"]),
      1,
    );
  });
  await t.step("--dst prefix", async () => {
    const ours = await runConntop([
      "--once",
      "-o",
      "ndjson",
      "--netns",
      a.name,
      "-d",
      "2001:db8::/32",
    ]);
    const n = ours.stdout.trim().split("\n").filter((l) => l).length;
    assertEquals(n, 6);
  });
});

Deno.test("conntop reports per-direction zones as conntrack -L does", async () => {
  await using pair = await trackedPair("zone", 4);
  const { a } = pair;
  // Zones per direction come only from rules (conntrack -I refuses them here).
  await a.nft(
    "table inet z {\n chain out {\n type filter hook output priority -300;\n ct original zone set 5\n }\n}\n",
  );
  await a.exec([
    "python3",
    "-c",
    "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('10.4.0.2', 9))",
  ]);
  const ours = await runConntop(["--once", "-o", "ndjson", "--netns", a.name, "-p", "udp"]);
  assertEquals(ours.code, 0, ours.stderr);
  const c = JSON.parse(ours.stdout.trim()) as Connection;
  const ref = parseConntrackExtended(
    (await a.conntrack(["-L", "-p", "udp", "-o", "extended"])).stdout,
  );
  assertEquals(ref.length, 1);
  assertEquals(ref[0]!.orig.zone, 5);
  assertEquals([c.orig_zone, c.reply_zone, c.zone], [5, ref[0]!.reply.zone ?? null, null]);
});
