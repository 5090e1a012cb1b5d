/**
 * `conntop --once --sort/--reverse/--top/--columns` against `conntrack -L` of the same table,
 * sorted here, independently: the rows come out in the order the test computes from
 * conntrack's own listing (each column in its first-click direction: numbers biggest first,
 * addresses and names A to Z; ties in protocol number, then id), `--top N` keeps that order's
 * first N, and `--columns` prints the columns' fields in CSV and JSON and their titles in the
 * table. Counters come from real traffic between two namespaces.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { trackedPair } from "../_helpers/tracked_pair.ts";
import { type ExtendedFlow, parseConntrackExtended } from "../_helpers/conntrack_cli.ts";
import { runConntop } from "./_conntop.ts";

/** Ties on purpose: few marks, ports, sources and states; both families; portless ICMP. */
function entries(): string[] {
  const lines: string[] = [];
  const marks = [0, 1, 2, 7], dports = [22, 53, 80, 443];
  const states = ["ESTABLISHED", "SYN_SENT", "TIME_WAIT"];
  for (let i = 0; i < 60; i++) {
    const kind = i % 5;
    const mark = marks[(i * 7) % 4]!, dport = dports[(i * 3) % 4]!;
    const v6 = kind === 3 || kind === 4;
    const src = v6 ? `2001:db8::${1 + (i % 3)}` : `10.0.0.${1 + (i % 4)}`;
    const dst = v6 ? `2001:db8:1::${i + 1}` : `10.1.${i}.1`;
    const base = `-I -t ${1000 + i} -s ${src} -d ${dst} -m ${mark}`;
    if (kind === 0 || kind === 3) {
      lines.push(
        `${base} -p tcp --sport ${1000 + i} --dport ${dport} --state ${states[i % 3]}`,
      );
    } else if (kind === 1 || kind === 4) {
      lines.push(`${base} -p udp --sport ${1000 + i} --dport ${dport}`);
    } else {
      lines.push(`${base} -p icmp --icmp-type 8 --icmp-code 0 --icmp-id ${i}`);
    }
  }
  return lines;
}

/** An address as 16 bytes after a family byte (IPv4 first), compared byte by byte. */
function addressBytes(text: string): number[] {
  if (!text.includes(":")) return [4, ...text.split(".").map(Number), ...new Array(12).fill(0)];
  const [head, tail] = text.split("::") as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const h = groups(head), t = groups(tail);
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return [6, ...all.flatMap((g) => [g >> 8, g & 255])];
}

function compareArrays(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

type Cmp = (a: ExtendedFlow, b: ExtendedFlow) => number;
const num = (f: (x: ExtendedFlow) => number): Cmp => (a, b) => f(a) - f(b);
const desc = (c: Cmp): Cmp => (a, b) => c(b, a);
// A missing text sorts below every text; texts in code-point order.
const text = (f: (x: ExtendedFlow) => string | undefined): Cmp => (a, b) => {
  const x = f(a), y = f(b);
  if (x === y) return 0;
  if (x === undefined) return -1;
  if (y === undefined) return 1;
  return x < y ? -1 : 1;
};
const byDefault: Cmp = (a, b) => a.l4proto - b.l4proto || a.id! - b.id!;
const mark = num((x) => x.mark ?? 0);
const dport = num((x) => x.orig.dport ?? -1);
const src: Cmp = (a, b) => compareArrays(addressBytes(a.orig.src), addressBytes(b.orig.src));
const state = text((x) => x.state);
const then = (...cs: Cmp[]): Cmp => (a, b) => {
  for (const c of cs) {
    const r = c(a, b);
    if (r !== 0) return r;
  }
  return 0;
};

Deno.test("conntop --once --sort, --reverse and --top order rows as a sort of conntrack -L does", async (t) => {
  await using ns = await Netns.create("ord");
  await loadConntrack(ns, entries());
  const ref = parseConntrackExtended((await ns.conntrack(["-L", "-o", "extended,id"])).stdout);
  assertEquals(ref.length, 60);
  const ids = async (args: string[]) => {
    const r = await runConntop([
      "--once",
      "-o",
      "ndjson",
      "--columns",
      "id",
      "--netns",
      ns.name,
      ...args,
    ]);
    assertEquals(r.code, 0, r.stderr);
    return r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { id: number }).id);
  };
  const cases: [string[], Cmp, number?][] = [
    [[], byDefault],
    [["--reverse"], desc(byDefault)],
    [["--top", "7"], byDefault, 7],
    [["--sort", "mark"], then(desc(mark), byDefault)],
    [["--sort", "mark", "--reverse"], then(mark, byDefault)],
    [["--sort", "mark", "--top", "5"], then(desc(mark), byDefault), 5],
    [["--sort", "dport,src"], then(dport, src, byDefault)],
    [["--sort", "src", "--reverse", "--top", "9"], then(desc(src), byDefault), 9],
    [["--sort", "state,mark", "--reverse"], then(desc(state), mark, byDefault)],
    [["--sort", "id", "--top", "100"], then(num((x) => x.id!), byDefault)],
  ];
  for (const [args, order, top] of cases) {
    await t.step(args.join(" ") || "(default order)", async () => {
      const want = [...ref].sort(order).slice(0, top ?? ref.length).map((f) => f.id!);
      assertEquals(await ids(args), want);
    });
  }
});

Deno.test("conntop --once --columns prints the columns' fields in CSV and JSON, their titles in the table", async (t) => {
  await using ns = await Netns.create("col");
  await loadConntrack(ns, entries().slice(0, 10));
  const ref = parseConntrackExtended((await ns.conntrack(["-L", "-o", "extended,id"])).stdout);
  const byId = new Map(ref.map((f) => [f.id!, f]));
  const once = async (args: string[]) => {
    const r = await runConntop(["--once", "--netns", ns.name, "-n", ...args]);
    assertEquals(r.code, 0, r.stderr);
    return r.stdout;
  };
  await t.step("csv", async () => {
    const lines = (await once(["-o", "csv", "--columns", "id,mark,dport,src,state"])).split("\r\n");
    assertEquals(lines[0], "id,mark,orig_dport,orig_src,state");
    assertEquals(lines.at(-1), "");
    const rows = lines.slice(1, -1).map((l) => l.split(","));
    assertEquals(rows.length, 10);
    for (const [id, m, dp, s, st] of rows) {
      const f = byId.get(Number(id))!;
      assert(f !== undefined, `conntrack lists id ${id}`);
      assertEquals([m, dp, s, st], [
        String(f.mark ?? 0),
        f.orig.dport === undefined ? "" : String(f.orig.dport),
        f.orig.src,
        f.state ?? "",
      ]);
    }
  });
  await t.step("json", async () => {
    const doc = JSON.parse(await once(["-o", "json", "--columns", "process,id,nat"]));
    assertEquals(doc.connections.length, 10);
    for (const c of doc.connections) {
      assertEquals(Object.keys(c), [
        "process",
        "pid",
        "id",
        "nat_src",
        "nat_sport",
        "nat_dst",
        "nat_dport",
      ]);
      assert(byId.has(c.id));
    }
  });
  await t.step("table", async () => {
    const lines = (await once(["--columns", "id,mark,src", "--sort", "id", "--top", "3"])).split(
      "\n",
    );
    assertEquals(lines.length, 5);
    // ID sorts up (a first click on it does); numbers are right-aligned, as in the monitor.
    const top = [...ref].sort((a, b) => a.id! - b.id!).slice(0, 3);
    const width = Math.max(2, ...top.map((f) => String(f.id).length));
    assertEquals(lines[0], `${"ID".padStart(width)}  MARK  SOURCE`);
    for (const [i, f] of top.entries()) {
      const id = String(f.id).padStart(width), mark = String(f.mark ?? 0).padStart(4);
      assertEquals(lines[i + 1], `${id}  ${mark}  ${f.orig.src}`);
    }
    assertEquals(lines[4], "");
  });
});

Deno.test("conntop refuses --sort, --top and --columns without --once, and unknown column names, with exit 2", async () => {
  for (
    const [args, line] of [
      [["--stream", "--top", "3"], "conntop: Option --top works with --once only"],
      [
        ["--once", "--sort", "speed"],
        "conntop: Invalid value for --sort: unknown column 'speed' (",
      ],
      [
        ["--once", "--columns", "id,pid"],
        "conntop: Invalid value for --columns: unknown column 'pid' (",
      ],
    ] as const
  ) {
    const r = await runConntop([...args]);
    assertEquals(r.code, 2, r.stderr);
    assertEquals(r.stdout, "");
    assert(r.stderr.startsWith(line), r.stderr);
    assert(r.stderr.split("\n")[0]!.includes("proto, state, src") || !line.includes("("), r.stderr);
  }
});

// UDP flows from a to b with different byte counts: flow k sends k datagrams of 100·k bytes.
const SEND_SCRIPT = `
import socket, sys
for k in range(1, 9):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 20000 + k))
    for _ in range(k):
        s.sendto(b"x" * (100 * k), (sys.argv[1], 9))
    s.close()
`;

Deno.test("conntop --once --sort tx_bytes --top ranks real counters as conntrack -L counts them", async () => {
  await using pair = await trackedPair("top", 5);
  const { a } = pair;
  await a.exec(["python3", "-c", SEND_SCRIPT, "10.5.0.2"]);
  const ref = parseConntrackExtended(
    (await a.conntrack(["-L", "-p", "udp", "-o", "extended,id"])).stdout,
  );
  assertEquals(ref.length, 8);
  const r = await runConntop([
    "--once",
    "-o",
    "csv",
    "-p",
    "udp",
    "--sort",
    "tx_bytes",
    "--top",
    "3",
    "--columns",
    "id,tx_bytes,sport",
    "--netns",
    a.name,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const want = [...ref].sort((x, y) => y.orig.bytes! - x.orig.bytes!).slice(0, 3);
  assertEquals(want.map((f) => f.orig.sport), [20008, 20007, 20006]);
  assertEquals(
    r.stdout,
    "id,tx_bytes,orig_sport\r\n" +
      want.map((f) => `${f.id},${f.orig.bytes},${f.orig.sport}\r\n`).join(""),
  );
});
