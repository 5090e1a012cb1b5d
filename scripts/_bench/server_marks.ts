/**
 * Changes connections of a benchmark table, fast: the server benchmark's source of "N
 * connections changed this tick". Run inside the table's namespace (`ip netns exec NS deno run
 * --allow-ffi --allow-env scripts/_bench/server_marks.ts SIZE`), it rebuilds the table's
 * entries with {@linkcode tableEntries} (deterministic), keeps the original tuples of its TCP and
 * UDP flows, and for each command on stdin sets a new mark on a run of them with one ctnetlink
 * update each (`nfct_query(NFCT_Q_UPDATE)`), answering on stdout when done.
 *
 * Why not `conntrack -U`: it dumps the whole table for every command (a second at 250,000
 * entries), in `-R` batch mode for every line, and in conntrack-tools 1.4.7 it stops at the
 * first entry whose update the kernel refuses; an update by tuple costs one message.
 *
 * A mark is what changes because it changes nothing else: no state, no timeout (which the
 * server deliberately does not count as a change), no counters.
 *
 * Protocol, one line each way: `FROM COUNT MARK` → `DONE FAILED MS` (the updates made, those
 * the kernel refused, and the time taken). End of input: exit 0.
 *
 * Requires root (inside the namespace), `--allow-ffi` and `--allow-env` (CONNTOP_LIBNFCT).
 *
 * @module
 */

import { tableEntries } from "./entries.ts";

const NFCT_Q_UPDATE = 1;
const ATTR_ORIG_IPV4_SRC = 0;
const ATTR_ORIG_IPV4_DST = 1;
const ATTR_ORIG_IPV6_SRC = 4;
const ATTR_ORIG_IPV6_DST = 5;
const ATTR_ORIG_PORT_SRC = 8;
const ATTR_ORIG_PORT_DST = 9;
const ATTR_ORIG_L3PROTO = 15;
const ATTR_ORIG_L4PROTO = 17;
const ATTR_MARK = 25;

/** One flow's original tuple, as ctnetlink wants it. */
export interface Tuple {
  /** 2 (AF_INET) or 10 (AF_INET6). */
  family: number;
  /** 6 or 17. */
  proto: number;
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
}

function ipBytes(text: string): Uint8Array | null {
  if (!text.includes(":")) {
    const parts = text.split(".").map(Number);
    return parts.length === 4 ? new Uint8Array(parts) : null;
  }
  const [head, tail = ""] = text.split("::");
  const h = head === "" ? [] : head!.split(":");
  const t = tail === "" ? [] : tail.split(":");
  const words = [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    const v = parseInt(w, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** The TCP and UDP tuples of a `conntrack -R` line made by tableEntries (null for others). */
export function tupleOf(line: string): Tuple | null {
  const m = / -s (\S+) -d (\S+) -p (tcp|udp) --sport (\d+) --dport (\d+)/.exec(line);
  if (m === null) return null;
  const src = ipBytes(m[1]!);
  const dst = ipBytes(m[2]!);
  if (src === null || dst === null) return null;
  return {
    family: src.length === 4 ? 2 : 10,
    proto: m[3] === "tcp" ? 6 : 17,
    src,
    dst,
    sport: Number(m[4]),
    dport: Number(m[5]),
  };
}

const SYMBOLS = {
  nfct_open: { parameters: ["u8", "u32"], result: "pointer" },
  nfct_close: { parameters: ["pointer"], result: "i32" },
  nfct_new: { parameters: [], result: "pointer" },
  nfct_destroy: { parameters: ["pointer"], result: "void" },
  nfct_set_attr: { parameters: ["pointer", "i32", "buffer"], result: "void" },
  nfct_set_attr_u8: { parameters: ["pointer", "i32", "u8"], result: "void" },
  nfct_set_attr_u16: { parameters: ["pointer", "i32", "u16"], result: "void" },
  nfct_set_attr_u32: { parameters: ["pointer", "i32", "u32"], result: "void" },
  nfct_query: { parameters: ["pointer", "i32", "pointer"], result: "i32" },
} as const;

const htons = (v: number) => ((v & 0xff) << 8) | (v >> 8);

async function main(args: string[]): Promise<number> {
  const size = Number(args[0]);
  if (!Number.isInteger(size) || size < 1) {
    console.error("usage: server_marks.ts SIZE");
    return 2;
  }
  const tuples = tableEntries(size).map(tupleOf).filter((t): t is Tuple => t !== null);
  const lib = Deno.dlopen(
    Deno.env.get("CONNTOP_LIBNFCT") || "libnetfilter_conntrack.so.3",
    SYMBOLS,
  );
  const f = lib.symbols;
  const h = f.nfct_open(1, 0);
  if (h === null) throw new Error("nfct_open failed");
  const ct = f.nfct_new();
  if (ct === null) throw new Error("nfct_new failed");
  const out = new TextEncoder();
  const write = (s: string) => {
    const b = out.encode(s);
    let off = 0;
    while (off < b.length) off += Deno.stdout.writeSync(b.subarray(off));
  };
  write(`ready ${tuples.length}\n`);
  const dec = new TextDecoder();
  let pending = "";
  for await (const chunk of Deno.stdin.readable) {
    pending += dec.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const [from, count, mark] = pending.slice(0, nl).trim().split(/\s+/).map(Number);
      pending = pending.slice(nl + 1);
      const t0 = performance.now();
      let done = 0;
      let failed = 0;
      for (let k = 0; k < count!; k++) {
        const t = tuples[(from! + k) % tuples.length]!;
        f.nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, t.family);
        f.nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, t.proto);
        if (t.family === 2) {
          f.nfct_set_attr(ct, ATTR_ORIG_IPV4_SRC, t.src);
          f.nfct_set_attr(ct, ATTR_ORIG_IPV4_DST, t.dst);
        } else {
          f.nfct_set_attr(ct, ATTR_ORIG_IPV6_SRC, t.src);
          f.nfct_set_attr(ct, ATTR_ORIG_IPV6_DST, t.dst);
        }
        f.nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(t.sport));
        f.nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(t.dport));
        f.nfct_set_attr_u32(ct, ATTR_MARK, mark! >>> 0);
        if (f.nfct_query(h, NFCT_Q_UPDATE, ct) === 0) done++;
        else failed++;
      }
      write(`${done} ${failed} ${(performance.now() - t0).toFixed(1)}\n`);
    }
  }
  f.nfct_destroy(ct);
  f.nfct_close(h);
  lib.close();
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
