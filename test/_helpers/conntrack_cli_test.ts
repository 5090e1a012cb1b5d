/**
 * Tests of the conntrack output parsers: against the real tool's output from a throw-away
 * network namespace, and against fixed samples for the shapes a namespace cannot produce here.
 *
 * Requires root, conntrack, nft, iproute2 and python3 (scripts/setup.sh installs them).
 *
 * @module
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  type CliTuple,
  type ExtendedFlow,
  parseConntrackExtended,
  parseConntrackXml,
  type XmlFlow,
} from "./conntrack_cli.ts";
import { loadConntrack, Netns, ping, tcpRoundTrip, vethPair } from "../../tools/netns.ts";

/** One entry inserted with `conntrack -I`, and what both formats must print for it. */
interface Inserted {
  line: string;
  l3: "ipv4" | "ipv6";
  l4proto: number;
  l4name: string;
  orig: CliTuple;
  reply: CliTuple;
  /** State in `-o extended`; the XML names SCTP states wrongly (see conntrack_cli.ts). */
  state?: string;
  mark: number;
  zone?: number;
  flags: string[];
}

// Every entry has its own source address, which is how the tests find it again.
const INSERTED: Record<string, Inserted> = {
  tcp4: {
    line: "-I -t 100 -s 10.1.0.1 -d 10.1.0.2 -p tcp --sport 40001 --dport 80 " +
      "--state ESTABLISHED -u SEEN_REPLY,ASSURED -m 7 -w 3",
    l3: "ipv4",
    l4proto: 6,
    l4name: "tcp",
    orig: { src: "10.1.0.1", dst: "10.1.0.2", sport: 40001, dport: 80 },
    reply: { src: "10.1.0.2", dst: "10.1.0.1", sport: 80, dport: 40001 },
    state: "ESTABLISHED",
    mark: 7,
    zone: 3,
    flags: ["assured"],
  },
  udp4: {
    line: "-I -t 100 -s 10.1.0.3 -d 10.1.0.4 -p udp --sport 40002 --dport 53 -u SEEN_REPLY -m 16",
    l3: "ipv4",
    l4proto: 17,
    l4name: "udp",
    orig: { src: "10.1.0.3", dst: "10.1.0.4", sport: 40002, dport: 53 },
    reply: { src: "10.1.0.4", dst: "10.1.0.3", sport: 53, dport: 40002 },
    mark: 16,
    flags: [],
  },
  udplite4: {
    line: "-I -t 100 -s 10.1.0.5 -d 10.1.0.6 -p udplite --sport 40003 --dport 5004",
    l3: "ipv4",
    l4proto: 136,
    l4name: "udplite",
    orig: { src: "10.1.0.5", dst: "10.1.0.6", sport: 40003, dport: 5004 },
    reply: { src: "10.1.0.6", dst: "10.1.0.5", sport: 5004, dport: 40003 },
    mark: 0,
    flags: ["unreplied"],
  },
  sctp4: {
    line: "-I -t 100 -s 10.1.0.7 -d 10.1.0.8 -p sctp --sport 40004 --dport 36412 " +
      "--state ESTABLISHED --orig-vtag 1 --reply-vtag 2 -u SEEN_REPLY,ASSURED",
    l3: "ipv4",
    l4proto: 132,
    l4name: "sctp",
    orig: { src: "10.1.0.7", dst: "10.1.0.8", sport: 40004, dport: 36412 },
    reply: { src: "10.1.0.8", dst: "10.1.0.7", sport: 36412, dport: 40004 },
    state: "ESTABLISHED",
    mark: 0,
    flags: ["assured"],
  },
  icmp4: {
    line: "-I -t 100 -s 10.1.0.11 -d 10.1.0.12 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 77",
    l3: "ipv4",
    l4proto: 1,
    l4name: "icmp",
    orig: { src: "10.1.0.11", dst: "10.1.0.12", type: 8, code: 0, id: 77 },
    reply: { src: "10.1.0.12", dst: "10.1.0.11", type: 0, code: 0, id: 77 },
    mark: 0,
    flags: ["unreplied"],
  },
  gre4: {
    // 0x12345 does not fit: conntrack-tools keeps 16 bits of a GRE key.
    line: "-I -t 100 -s 10.1.0.13 -d 10.1.0.14 -p gre --srckey 0x12345 --dstkey 0x22 -w 9",
    l3: "ipv4",
    l4proto: 47,
    l4name: "gre",
    orig: { src: "10.1.0.13", dst: "10.1.0.14", srckey: 0x2345, dstkey: 0x22 },
    reply: { src: "10.1.0.14", dst: "10.1.0.13", srckey: 0x22, dstkey: 0x2345 },
    mark: 0,
    zone: 9,
    flags: ["unreplied"],
  },
  zoneOrig4: {
    line: "-I -t 100 -s 10.1.0.15 -d 10.1.0.16 -p udp --sport 40006 --dport 53 --orig-zone 4",
    l3: "ipv4",
    l4proto: 17,
    l4name: "udp",
    orig: { src: "10.1.0.15", dst: "10.1.0.16", sport: 40006, dport: 53, zone: 4 },
    reply: { src: "10.1.0.16", dst: "10.1.0.15", sport: 53, dport: 40006 },
    mark: 0,
    flags: ["unreplied"],
  },
  tcp6: {
    line: "-I -t 100 -s fd00::1 -d fd00::2 -p tcp --sport 40007 --dport 443 --state SYN_SENT " +
      "-m 4294967295",
    l3: "ipv6",
    l4proto: 6,
    l4name: "tcp",
    orig: { src: "fd00::1", dst: "fd00::2", sport: 40007, dport: 443 },
    reply: { src: "fd00::2", dst: "fd00::1", sport: 443, dport: 40007 },
    state: "SYN_SENT",
    mark: 4294967295,
    flags: ["unreplied"],
  },
  udp6: {
    line: "-I -t 100 -s fd00::3 -d fd00::4 -p udp --sport 40008 --dport 53 -u SEEN_REPLY,ASSURED",
    l3: "ipv6",
    l4proto: 17,
    l4name: "udp",
    orig: { src: "fd00::3", dst: "fd00::4", sport: 40008, dport: 53 },
    reply: { src: "fd00::4", dst: "fd00::3", sport: 53, dport: 40008 },
    mark: 0,
    flags: ["assured"],
  },
  icmp6: {
    line: "-I -t 100 -s fd00::5 -d fd00::6 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 " +
      "--icmpv6-id 78",
    l3: "ipv6",
    l4proto: 58,
    l4name: "icmpv6",
    orig: { src: "fd00::5", dst: "fd00::6", type: 128, code: 0, id: 78 },
    reply: { src: "fd00::6", dst: "fd00::5", type: 129, code: 0, id: 78 },
    mark: 0,
    flags: ["unreplied"],
  },
};

// DCCP is checked apart: what comes back depends on whether the kernel still has a DCCP tracker
// (it was removed in 6.16; without it the flow is tracked generically, without ports or state).
const DCCP_LINE = "-I -t 100 -s 10.1.0.9 -d 10.1.0.10 -p dccp --sport 40005 --dport 5001 " +
  "--state OPEN --role client";

/** Fields compared for a tuple; ICMP fields only where the format has them. */
function tupleFields(tuple: CliTuple, withIcmp: boolean): CliTuple {
  const { packets: _packets, bytes: _bytes, ...rest } = tuple;
  if (!withIcmp) {
    delete rest.type;
    delete rest.code;
    delete rest.id;
  }
  return rest;
}

function findBySource<T extends XmlFlow | ExtendedFlow>(flows: T[], src: string): T {
  const found = flows.filter((flow) => flow.orig.src === src);
  assertEquals(found.length, 1, `expected one flow from ${src}, got ${found.length}`);
  return found[0] as T;
}

/** A namespace with accounting and timestamps on, holding every entry of INSERTED and DCCP. */
async function namespaceWithEntries(): Promise<{ ns: Netns; hasDccpTracker: boolean }> {
  const ns = await Netns.create("cli");
  try {
    await ns.sysctl("net.netfilter.nf_conntrack_acct", 1);
    await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 1);
    await loadConntrack(ns, [...Object.values(INSERTED).map((entry) => entry.line), DCCP_LINE]);
    const probe = await ns.exec(
      ["test", "-e", "/proc/sys/net/netfilter/nf_conntrack_dccp_timeout_open"],
      { check: false },
    );
    return { ns, hasDccpTracker: probe.code === 0 };
  } catch (err) {
    await ns.close();
    throw err;
  }
}

function assertDccp(flow: XmlFlow | ExtendedFlow, hasDccpTracker: boolean): void {
  assertEquals(flow.l4proto, 33);
  assertEquals(flow.l4name, "dccp");
  const [sport, dport] = hasDccpTracker ? [40005, 5001] : [0, 0];
  assertEquals(tupleFields(flow.orig, false), {
    src: "10.1.0.9",
    dst: "10.1.0.10",
    sport,
    dport,
  });
  assertEquals(tupleFields(flow.reply, false), {
    src: "10.1.0.10",
    dst: "10.1.0.9",
    sport: dport,
    dport: sport,
  });
  if (!hasDccpTracker) assertEquals(flow.state, undefined);
}

Deno.test("parseConntrackXml() reads every protocol inserted with conntrack -I", async () => {
  const { ns: opened, hasDccpTracker } = await namespaceWithEntries();
  await using ns = opened;
  const { stdout } = await ns.conntrack(["-L", "-o", "xml,ktimestamp"]);
  const flows = parseConntrackXml(stdout);
  assertEquals(flows.length, Object.keys(INSERTED).length + 1);

  for (const [name, want] of Object.entries(INSERTED)) {
    const flow = findBySource(flows, want.orig.src);
    const message = `flow ${name}`;
    assertEquals(flow.l3, want.l3, message);
    assertEquals(flow.l4proto, want.l4proto, message);
    assertEquals(flow.l4name, want.l4name, message);
    // The XML has no ICMP type, code or id.
    assertEquals(flow.orig, { ...tupleFields(want.orig, false), packets: 0, bytes: 0 }, message);
    assertEquals(flow.reply, { ...tupleFields(want.reply, false), packets: 0, bytes: 0 }, message);
    if (want.l4name === "sctp") {
      // libnetfilter_conntrack 1.0.9 looks SCTP states up in the TCP name table.
      assert(["FIN_WAIT", "ESTABLISHED"].includes(flow.state ?? ""), `${message}: ${flow.state}`);
    } else {
      assertEquals(flow.state, want.state, message);
    }
    assertEquals(flow.mark, want.mark, message);
    assertEquals(flow.zone, want.zone, message);
    assertEquals(flow.flags, want.flags, message);
    assertEquals(flow.use, 1, message);
    assert(flow.timeout > 90 && flow.timeout <= 100, `${message}: timeout ${flow.timeout}`);
    assert(flow.id > 0, `${message}: id ${flow.id}`);
    assert(flow.start !== undefined && flow.start > 1_000_000_000_000_000_000n, message);
    assertEquals(flow.stop, undefined, message);
    assert(flow.deltatime !== undefined && flow.deltatime < 60, message);
  }
  assertDccp(findBySource(flows, "10.1.0.9"), hasDccpTracker);
  assertEquals(new Set(flows.map((flow) => flow.id)).size, flows.length, "ids are unique");
});

Deno.test("parseConntrackExtended() reads every protocol inserted with conntrack -I", async () => {
  const { ns: opened, hasDccpTracker } = await namespaceWithEntries();
  await using ns = opened;
  const { stdout } = await ns.conntrack(["-L", "-o", "extended,ktimestamp,id"]);
  const flows = parseConntrackExtended(stdout);
  assertEquals(flows.length, Object.keys(INSERTED).length + 1);

  for (const [name, want] of Object.entries(INSERTED)) {
    const flow = findBySource(flows, want.orig.src);
    const message = `flow ${name}`;
    assertEquals(flow.l3, want.l3, message);
    assertEquals(flow.l4proto, want.l4proto, message);
    assertEquals(flow.l4name, want.l4name, message);
    assertEquals(flow.orig, { ...want.orig, packets: 0, bytes: 0 }, message);
    assertEquals(flow.reply, { ...want.reply, packets: 0, bytes: 0 }, message);
    assertEquals(flow.state, want.state, message);
    assertEquals(flow.mark, want.mark, message);
    assertEquals(flow.zone, want.zone, message);
    assertEquals(flow.flags, want.flags, message);
    assertEquals(flow.use, 1, message);
    assert(flow.timeout > 90 && flow.timeout <= 100, `${message}: timeout ${flow.timeout}`);
    assert(flow.id !== undefined && flow.id > 0, message);
    assert(flow.start !== undefined && !Number.isNaN(Date.parse(flow.start)), message);
    assert(flow.deltatime !== undefined && flow.deltatime < 60, message);
  }
  assertDccp(findBySource(flows, "10.1.0.9"), hasDccpTracker);
});

Deno.test("parseConntrackXml() and parseConntrackExtended() agree on the same table", async () => {
  const { ns: opened } = await namespaceWithEntries();
  await using ns = opened;
  const xml = parseConntrackXml((await ns.conntrack(["-L", "-o", "xml,ktimestamp"])).stdout);
  const text = parseConntrackExtended(
    (await ns.conntrack(["-L", "-o", "extended,ktimestamp,id"])).stdout,
  );
  assertEquals(text.length, xml.length);
  for (const x of xml) {
    const t = text.find((flow) => flow.id === x.id);
    assert(t !== undefined, `flow id ${x.id} is in both listings`);
    assertEquals(t.orig.src, x.orig.src);
    assertEquals(tupleFields(t.orig, false), tupleFields(x.orig, false));
    assertEquals(tupleFields(t.reply, false), tupleFields(x.reply, false));
    assertEquals(
      { l3: t.l3, l4proto: t.l4proto, mark: t.mark, zone: t.zone, use: t.use, flags: t.flags },
      { l3: x.l3, l4proto: x.l4proto, mark: x.mark, zone: x.zone, use: x.use, flags: x.flags },
    );
    if (x.l4name === "tcp") assertEquals(t.state, x.state);
    assert(Math.abs(t.timeout - x.timeout) <= 1, `timeouts ${t.timeout} and ${x.timeout}`);
    // ktimestamp prints the same start: in ns in XML, as local ctime() text in extended.
    assert(x.start !== undefined && t.start !== undefined);
    const startSeconds = Number(x.start / 1_000_000_000n);
    assertEquals(Math.floor(Date.parse(t.start) / 1000), startSeconds);
  }
});

Deno.test("parseConntrackXml() and parseConntrackExtended() read counters and timestamps after real traffic", async () => {
  await using client = await Netns.create("cli");
  await using server = await Netns.create("srv");
  await vethPair(client, server, {
    aAddr: "10.77.0.1",
    bAddr: "10.77.0.2",
    prefixLen: 24,
    aAddr6: "fd77::1",
    bAddr6: "fd77::2",
  });
  await server.sysctl("net.netfilter.nf_conntrack_acct", 1);
  await server.sysctl("net.netfilter.nf_conntrack_timestamp", 1);
  // Conntrack only runs in a namespace once a rule there needs it.
  await server.nft(`table inet conntop_test {
    chain input {
      type filter hook input priority 0; policy accept;
      ct state established,related accept
    }
  }`);
  const ping4 = await ping(client, "10.77.0.2");
  const ping6 = await ping(client, "fd77::2");
  const tcp = await tcpRoundTrip(client, server, { address: "10.77.0.2", port: 8080, size: 1000 });

  const xml = parseConntrackXml((await server.conntrack(["-L", "-o", "xml,ktimestamp"])).stdout);
  const text = parseConntrackExtended(
    (await server.conntrack(["-L", "-o", "extended,ktimestamp,id"])).stdout,
  );

  assertEchoFlow(xml, text, "icmp", "10.77.0.1", ping4.id);
  assertEchoFlow(xml, text, "icmpv6", "fd77::1", ping6.id);

  const xmlTcp = xml.find((flow) => flow.l4name === "tcp" && flow.orig.sport === tcp.sport);
  const textTcp = text.find((flow) => flow.l4name === "tcp" && flow.orig.sport === tcp.sport);
  assert(xmlTcp !== undefined && textTcp !== undefined, `tcp flow from port ${tcp.sport}`);
  assertEquals(xmlTcp.id, textTcp.id);
  assertEquals(tupleFields(xmlTcp.orig, false), {
    src: "10.77.0.1",
    dst: "10.77.0.2",
    sport: tcp.sport,
    dport: 8080,
  });
  assertEquals(xmlTcp.flags, ["assured"]);
  assertEquals(textTcp.flags, ["assured"]);
  assert(
    ["TIME_WAIT", "CLOSE", "LAST_ACK", "FIN_WAIT", "CLOSE_WAIT"].includes(textTcp.state ?? ""),
  );
  // Handshake, 1000 bytes, teardown: at least 3 packets and the payload each way.
  for (const flow of [xmlTcp, textTcp]) {
    assert((flow.orig.packets ?? 0) >= 3 && (flow.orig.bytes ?? 0) > 1000, "orig counters");
    assert((flow.reply.packets ?? 0) >= 3 && (flow.reply.bytes ?? 0) > 1000, "reply counters");
  }
  assertEquals(textTcp.orig.packets, xmlTcp.orig.packets);
  assertEquals(textTcp.reply.bytes, xmlTcp.reply.bytes);
  const now = BigInt(Date.now()) * 1_000_000n;
  assert(xmlTcp.start !== undefined && now - xmlTcp.start < 60_000_000_000n, "start is recent");
});

/** Checks one ping's flow in both listings: echo id, types and one packet each way. */
function assertEchoFlow(
  xml: XmlFlow[],
  text: ExtendedFlow[],
  l4name: string,
  src: string,
  echoId: number,
): void {
  const t = text.find((flow) => flow.l4name === l4name && flow.orig.src === src);
  assert(t !== undefined, `${l4name} flow from ${src}`);
  const x = xml.find((flow) => flow.id === t.id);
  assert(x !== undefined, `${l4name} flow id ${t.id} in XML`);
  assertEquals(t.orig.id, echoId);
  assertEquals(t.reply.id, echoId);
  assertEquals([t.orig.type, t.reply.type], l4name === "icmp" ? [8, 0] : [128, 129]);
  // One request, one reply, each counted once; the XML has the same counters.
  for (const flow of [x, t]) {
    assertEquals(flow.orig.packets, 1);
    assertEquals(flow.reply.packets, 1);
    assert((flow.orig.bytes ?? 0) > 0 && flow.orig.bytes === flow.reply.bytes);
    // Echo flows are answered but never assured.
    assertEquals(flow.flags, []);
  }
}

// Samples as conntrack 1.4.7 prints them, for what a namespace cannot show on every kernel
// (events, stop times, labels) and for malformed input.

const SAMPLE_FLOW_XML = `<?xml version="1.0" encoding="utf-8"?>
<conntrack>
<flow type="destroy">
  <meta direction="original">
    <layer3 protoname="ipv6" protonum="10"><src>2001:db8::1</src><dst>2001:db8::2</dst></layer3>
    <layer4 protonum="6" protoname="tcp"><sport>1</sport><dport>2</dport></layer4>
    <counters><packets>18446744073709</packets><bytes>3</bytes></counters>
  </meta>
  <meta direction="reply">
    <layer3 protonum="10" protoname="ipv6"><src>2001:db8::2</src><dst>2001:db8::1</dst></layer3>
    <layer4 protonum="6" protoname="tcp"><sport>2</sport><dport>1</dport></layer4>
    <zone>5</zone>
  </meta>
  <meta direction="independent">
    <state>CLOSE</state><timeout>0</timeout><mark>1</mark><labels><label>a&amp;b</label></labels>
    <secmark>2</secmark><zone>6</zone><use>1</use><id>42</id><assured/>
    <timestamp><start>1700000000123456789</start><stop>1700000005000000000</stop></timestamp>
    <deltatime>4</deltatime>
  </meta>
  <when><hour>1</hour></when>
  <helper>ftp</helper>
</flow>
</conntrack>
`;

Deno.test("parseConntrackXml() tolerates line breaks and reads events, stop times and labels", () => {
  assertEquals(parseConntrackXml(SAMPLE_FLOW_XML), [{
    l3: "ipv6",
    l4proto: 6,
    l4name: "tcp",
    orig: {
      src: "2001:db8::1",
      dst: "2001:db8::2",
      sport: 1,
      dport: 2,
      packets: 18446744073709,
      bytes: 3,
    },
    reply: { src: "2001:db8::2", dst: "2001:db8::1", sport: 2, dport: 1, zone: 5 },
    event: "destroy",
    state: "CLOSE",
    timeout: 0,
    mark: 1,
    secmark: 2,
    zone: 6,
    use: 1,
    id: 42,
    start: 1700000000123456789n,
    stop: 1700000005000000000n,
    deltatime: 4,
    helper: "ftp",
    flags: ["assured"],
    labels: ["a&b"],
  }]);
  assertEquals(
    parseConntrackXml('<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n</conntrack>\n'),
    [],
  );
});

Deno.test("parseConntrackXml() throws on output that is not conntrack's", async (t) => {
  await t.step("a flow cut short", () => {
    assertThrows(
      () => parseConntrackXml(SAMPLE_FLOW_XML.slice(0, SAMPLE_FLOW_XML.indexOf("</flow>"))),
      Error,
      "expected '</flow>' before the end",
    );
  });
  await t.step("a flow without addresses", () => {
    assertThrows(
      () =>
        parseConntrackXml(
          '<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"></layer3>' +
            '<layer4 protonum="6" protoname="tcp"></layer4></meta><meta direction="reply">' +
            '<layer3 protonum="2" protoname="ipv4"><src>1.1.1.1</src><dst>2.2.2.2</dst></layer3>' +
            '</meta><meta direction="independent"><timeout>1</timeout><id>1</id></meta></flow>',
        ),
      Error,
      "expected src and dst in the original direction",
    );
  });
  await t.step("a malformed number", () => {
    assertThrows(
      () => parseConntrackXml(SAMPLE_FLOW_XML.replace("<mark>1</mark>", "<mark>x1</mark>")),
      Error,
      "expected a number in <mark>, got 'x1'",
    );
  });
  await t.step("tags that do not nest", () => {
    assertThrows(
      () => parseConntrackXml(SAMPLE_FLOW_XML.replace("</layer4>", "</layer3>")),
      Error,
      "expected '</layer4>', got '</layer3>'",
    );
  });
});

Deno.test("parseConntrackExtended() reads plain lines, events, per-direction zones and labels", () => {
  const text = [
    "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.",
    "udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 zone-orig=4 [UNREPLIED] " +
    "src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 zone-reply=5 mark=0 use=1",
    "",
    "    [NEW] ipv6     10 icmpv6   58 30 src=fd00::1 dst=fd00::2 type=128 code=0 id=5 " +
    "[UNREPLIED] src=fd00::2 dst=fd00::1 type=129 code=0 id=5 id=99",
    " [UPDATE] ipv4     2 tcp      6 120 TIME_WAIT src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 " +
    "packets=4 bytes=200 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 packets=3 bytes=180 " +
    "[ASSURED] [OFFLOAD] mark=3 secmark=1 secctx=system_u:object_r:x:s0 zone=7 delta-time=12 " +
    "[start=Tue Nov 24 18:18:04 2026] [stop=Tue Nov 24 18:18:16 2026] helper=ftp use=2 " +
    "id=123 labels=a,b",
  ].join("\n");
  assertEquals(parseConntrackExtended(text), [
    {
      l3: "ipv4",
      l4proto: 17,
      l4name: "udp",
      orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, zone: 4 },
      reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 2, dport: 1, zone: 5 },
      timeout: 29,
      flags: ["unreplied"],
      mark: 0,
      use: 1,
    },
    {
      l3: "ipv6",
      l4proto: 58,
      l4name: "icmpv6",
      orig: { src: "fd00::1", dst: "fd00::2", type: 128, code: 0, id: 5 },
      reply: { src: "fd00::2", dst: "fd00::1", type: 129, code: 0, id: 5 },
      timeout: 30,
      event: "new",
      flags: ["unreplied"],
      id: 99,
    },
    {
      l3: "ipv4",
      l4proto: 6,
      l4name: "tcp",
      orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, packets: 4, bytes: 200 },
      reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 2, dport: 1, packets: 3, bytes: 180 },
      timeout: 120,
      event: "update",
      state: "TIME_WAIT",
      flags: ["assured", "offload"],
      mark: 3,
      secmark: 1,
      secctx: "system_u:object_r:x:s0",
      zone: 7,
      deltatime: 12,
      start: "Tue Nov 24 18:18:04 2026",
      stop: "Tue Nov 24 18:18:16 2026",
      helper: "ftp",
      use: 2,
      id: 123,
      labels: ["a", "b"],
    },
  ]);
});

Deno.test("parseConntrackExtended() throws on a line that is not a flow", async (t) => {
  await t.step("no protocol", () => {
    assertThrows(
      () => parseConntrackExtended("src=1.1.1.1 dst=2.2.2.2"),
      Error,
      "expected a protocol name and number, in 'src=1.1.1.1 dst=2.2.2.2'",
    );
  });
  await t.step("no reply tuple", () => {
    assertThrows(
      () => parseConntrackExtended("udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2"),
      Error,
      "expected an original and a reply tuple",
    );
  });
  await t.step("a malformed port", () => {
    assertThrows(
      () =>
        parseConntrackExtended(
          "udp 17 29 src=10.0.0.1 dst=10.0.0.2 sport=x dport=2 src=10.0.0.2 dst=10.0.0.1",
        ),
      Error,
      "expected a number in 'sport=', got 'x'",
    );
  });
});
