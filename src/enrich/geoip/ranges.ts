/**
 * conntop's compact table from address ranges to autonomous systems ("AS range table"): the
 * embedded ASN data, converted at build time (scripts/geodata.ts) from ip-location-db's CSVs
 * and read at run time without parsing: every section is a typed-array view on the file's
 * bytes, and a lookup is one or two binary searches.
 *
 * ## Model
 *
 * The source rows are inclusive ranges `start..end → (asn, organisation)`. They become a sorted
 * list of boundaries `(start, AS)`: an address belongs to the last boundary whose start is not
 * above it. Gaps between rows get a boundary with "no AS"; consecutive boundaries with the same
 * AS are merged. Where rows overlap, the row that starts later wins inside its range, and the
 * earlier one resumes after it (the source has one such overlap, a /16 of the US DoD).
 *
 * ## Format (version 1, little-endian)
 *
 * ```
 * header, 64 bytes:
 *   0  magic "CTASNRT1"         8 bytes
 *   8  u32 format version (1)
 *   12 u32 build epoch           seconds; when the source data was published
 *   16 u32 n4                    IPv4 boundaries
 *   20 u32 n6                    IPv6 coarse boundaries (/64 precision)
 *   24 u32 f6                    IPv6 fine boundaries (full 128 bits)
 *   28 u32 nAs                   (AS number, organisation) pairs
 *   32 u32 nOrg                  distinct organisation names
 *   36 u32 orgBytes              bytes of UTF-8 in the name pool
 *   40 u32 sourceBytes           bytes of the UTF-8 source label
 *   44 reserved (zero) up to 64
 * sections, each starting at a multiple of 8, in this order:
 *   source   u8[sourceBytes]     label, e.g. "@ip-location-db/asn@2.3.2026061719"
 *   v4Bucket u32[65537]          v4Bucket[h] = first boundary whose start's top 16 bits ≥ h
 *   v4Low    u16[n4]             low 16 bits of each IPv4 boundary's start
 *   v4As     u8[3·n4]            24-bit AS index of each IPv4 boundary
 *   v6Start  u32[2·n6]           top 64 bits of each coarse IPv6 start, as (high, low) words
 *   v6As     u8[3·n6]            24-bit AS index, or FINE: look in the fine table
 *   f6Start  u32[4·f6]           full IPv6 starts, four big-endian-order words
 *   f6As     u8[3·f6]
 *   asNumber u32[nAs]            AS numbers, ascending (a number may repeat with another name)
 *   asOrg    u32[nAs]            index of each AS's organisation in the name pool
 *   orgStart u32[nOrg + 1]       offsets of the names in the pool
 *   orgPool  u8[orgBytes]        the names, UTF-8, deduplicated, each once
 * ```
 *
 * AS index 0xFFFFFF means "no AS here", 0xFFFFFE (IPv6 coarse only) "look in the fine table".
 * Nearly every IPv6 boundary falls on a /64, so IPv6 is searched by its top 64 bits; the few
 * /64 blocks holding a finer boundary are marked FINE, and the fine table has an entry at the
 * start of each such block plus every boundary inside it.
 *
 * Pure functions over bytes; no I/O.
 *
 * @module
 */

/** The magic bytes at offset 0. */
export const RANGE_TABLE_MAGIC = "CTASNRT1";
/** The format version this module reads and writes. */
export const RANGE_TABLE_VERSION = 1;

const HEADER = 64;
const NONE = 0xffffff;
const FINE = 0xfffffe;
const BUCKETS = 65536;
const MASK64 = (1n << 64n) - 1n;

/** One source row: an inclusive range of addresses (as integers) and its AS. */
export interface AsRange {
  /** First address, as an integer (IPv4: 32 bits, IPv6: 128). */
  start: bigint;
  /** Last address, inclusive. */
  end: bigint;
  /** AS number. */
  asn: number;
  /** AS organisation (may be empty). */
  org: string;
}

/** What {@linkcode RangeTable.lookup} answers. */
export interface AsInfo {
  /** AS number. */
  asn: number;
  /** AS organisation (empty when the source had none). */
  org: string;
}

/** Options of {@linkcode buildRangeTable}. */
export interface BuildRangeTableOptions {
  /** When the source data was published, seconds since the epoch. */
  buildEpoch: number;
  /** A label naming the source, e.g. the npm package and version. */
  source: string;
}

/** The rows of one family as `(start, AS index)` boundaries, overlaps and gaps resolved. */
function boundaries(
  rows: readonly AsRange[],
  max: bigint,
  asIndex: (r: AsRange) => number,
): { starts: bigint[]; as: number[] } {
  const sorted = rows.map((r, i) => ({ r, i })).sort((a, b) =>
    a.r.start < b.r.start ? -1 : a.r.start > b.r.start ? 1 : a.i - b.i
  );
  const starts: bigint[] = [];
  const as: number[] = [];
  const put = (start: bigint, value: number) => {
    // A later boundary at the same start replaces the earlier one.
    if (starts.length > 0 && starts[starts.length - 1] === start) {
      as[as.length - 1] = value;
    } else {
      starts.push(start);
      as.push(value);
    }
  };
  // Rows still covering the current position; the top one (latest start) is in force.
  const active: { end: bigint; as: number }[] = [];
  const closeBefore = (pos: bigint | null) => {
    while (active.length > 0 && (pos === null || active[active.length - 1]!.end < pos)) {
      const ended = active.pop()!;
      while (active.length > 0 && active[active.length - 1]!.end <= ended.end) active.pop();
      const top = active[active.length - 1];
      if (ended.end < max) put(ended.end + 1n, top === undefined ? NONE : top.as);
    }
  };
  for (const { r } of sorted) {
    if (r.start < 0n || r.end > max || r.end < r.start) {
      throw new Error(`Failed to build AS range table: invalid range for AS${r.asn}`);
    }
    closeBefore(r.start);
    put(r.start, asIndex(r));
    active.push({ end: r.end, as: asIndex(r) });
  }
  closeBefore(null);
  // Merge runs of the same AS.
  const ms: bigint[] = [];
  const ma: number[] = [];
  for (let i = 0; i < starts.length; i++) {
    if (ma.length > 0 && ma[ma.length - 1] === as[i]) continue;
    ms.push(starts[i]!);
    ma.push(as[i]!);
  }
  return { starts: ms, as: ma };
}

/** The AS index in force at `addr` among sorted boundaries. */
function valueAt(starts: readonly bigint[], as: readonly number[], addr: bigint): number {
  let lo = 0, hi = starts.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= addr) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found < 0 ? NONE : as[found]!;
}

/** Lays out sections at multiples of 8 and returns each one's offset and the total size. */
function layout(sizes: number[]): { at: number[]; total: number } {
  const at: number[] = [];
  let pos = HEADER;
  for (const s of sizes) {
    at.push(pos);
    pos += (s + 7) & ~7;
  }
  return { at, total: pos };
}

function put24(out: Uint8Array, i: number, v: number): void {
  out[3 * i] = v & 0xff;
  out[3 * i + 1] = (v >>> 8) & 0xff;
  out[3 * i + 2] = v >>> 16;
}

/**
 * Converts IPv4 and IPv6 rows (addresses as integers, inclusive ends) into the table format.
 * Deterministic: the same rows give the same bytes.
 */
export function buildRangeTable(
  v4: readonly AsRange[],
  v6: readonly AsRange[],
  options: BuildRangeTableOptions,
): Uint8Array {
  // The AS table: one entry per (AS number, organisation) pair, by number then name.
  const pairs = new Map<string, { asn: number; org: string }>();
  for (const r of [...v4, ...v6]) {
    if (!Number.isInteger(r.asn) || r.asn < 0 || r.asn > 0xffffffff) {
      throw new Error(`Failed to build AS range table: invalid AS number '${r.asn}'`);
    }
    pairs.set(`${r.asn}\0${r.org}`, { asn: r.asn, org: r.org });
  }
  const ases = [...pairs.values()].sort((a, b) =>
    a.asn - b.asn || (a.org < b.org ? -1 : a.org > b.org ? 1 : 0)
  );
  if (ases.length >= FINE) throw new Error(`Failed to build AS range table: ${ases.length} ASes`);
  const indexOf = new Map(ases.map((a, i) => [`${a.asn}\0${a.org}`, i]));
  const orgIndex = new Map<string, number>();
  const orgs: string[] = [];
  const asOrg = ases.map(({ org: o }) => {
    let i = orgIndex.get(o);
    if (i === undefined) {
      i = orgs.length;
      orgIndex.set(o, i);
      orgs.push(o);
    }
    return i;
  });
  const enc = new TextEncoder();
  const orgBytes = orgs.map((o) => enc.encode(o));
  const orgTotal = orgBytes.reduce((n, b) => n + b.length, 0);
  const source = enc.encode(options.source);
  const idx = (r: AsRange) => indexOf.get(`${r.asn}\0${r.org}`)!;

  const b4 = boundaries(v4, 0xffffffffn, idx);
  const b6 = boundaries(v6, (1n << 128n) - 1n, idx);

  // IPv6: /64 blocks holding a boundary that is not on a /64 are resolved by the fine table.
  const fineBlocks = new Set<bigint>();
  for (const s of b6.starts) if ((s & MASK64) !== 0n) fineBlocks.add(s >> 64n);
  const keys = new Set<bigint>();
  for (const s of b6.starts) keys.add(s >> 64n);
  for (const b of fineBlocks) if (b < MASK64) keys.add(b + 1n);
  const coarseStarts: bigint[] = [];
  const coarseAs: number[] = [];
  for (const k of [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const v = fineBlocks.has(k) ? FINE : valueAt(b6.starts, b6.as, k << 64n);
    if (coarseAs.length > 0 && coarseAs[coarseAs.length - 1] === v) continue;
    coarseStarts.push(k);
    coarseAs.push(v);
  }
  const inBlock = new Map<bigint, number[]>();
  b6.starts.forEach((s, i) => {
    const b = s >> 64n;
    if (fineBlocks.has(b)) inBlock.set(b, [...(inBlock.get(b) ?? []), i]);
  });
  const fineStarts: bigint[] = [];
  const fineAs: number[] = [];
  for (const b of [...fineBlocks].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const first = b << 64n;
    fineStarts.push(first);
    fineAs.push(valueAt(b6.starts, b6.as, first));
    for (const i of inBlock.get(b)!) {
      if (b6.starts[i] !== first) {
        fineStarts.push(b6.starts[i]!);
        fineAs.push(b6.as[i]!);
      }
    }
  }

  const n4 = b4.starts.length, n6 = coarseStarts.length, f6 = fineStarts.length;
  const { at, total } = layout([
    source.length,
    4 * (BUCKETS + 1),
    2 * n4,
    3 * n4,
    8 * n6,
    3 * n6,
    16 * f6,
    3 * f6,
    4 * ases.length,
    4 * ases.length,
    4 * (orgs.length + 1),
    orgTotal,
  ]);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(enc.encode(RANGE_TABLE_MAGIC), 0);
  const header = [
    RANGE_TABLE_VERSION,
    options.buildEpoch,
    n4,
    n6,
    f6,
    ases.length,
    orgs.length,
    orgTotal,
    source.length,
  ];
  header.forEach((v, i) => dv.setUint32(8 + 4 * i, v, true));
  out.set(source, at[0]!);

  // IPv4
  let bucket = 0;
  for (let i = 0; i < n4; i++) {
    const s = Number(b4.starts[i]!);
    const h = s >>> 16;
    while (bucket <= h) dv.setUint32(at[1]! + 4 * bucket++, i, true);
    dv.setUint16(at[2]! + 2 * i, s & 0xffff, true);
  }
  while (bucket <= BUCKETS) dv.setUint32(at[1]! + 4 * bucket++, n4, true);
  const v4As = out.subarray(at[3]!, at[3]! + 3 * n4);
  b4.as.forEach((v, i) => put24(v4As, i, v));

  // IPv6
  for (let i = 0; i < n6; i++) {
    const k = coarseStarts[i]!;
    dv.setUint32(at[4]! + 8 * i, Number(k >> 32n), true);
    dv.setUint32(at[4]! + 8 * i + 4, Number(k & 0xffffffffn), true);
  }
  const v6As = out.subarray(at[5]!, at[5]! + 3 * n6);
  coarseAs.forEach((v, i) => put24(v6As, i, v));
  for (let i = 0; i < f6; i++) {
    const s = fineStarts[i]!;
    for (let w = 0; w < 4; w++) {
      dv.setUint32(at[6]! + 16 * i + 4 * w, Number((s >> BigInt(96 - 32 * w)) & 0xffffffffn), true);
    }
  }
  const f6As = out.subarray(at[7]!, at[7]! + 3 * f6);
  fineAs.forEach((v, i) => put24(f6As, i, v));

  // ASes and names
  ases.forEach((a, i) => {
    dv.setUint32(at[8]! + 4 * i, a.asn, true);
    dv.setUint32(at[9]! + 4 * i, asOrg[i]!, true);
  });
  let pos = 0;
  orgBytes.forEach((b, i) => {
    dv.setUint32(at[10]! + 4 * i, pos, true);
    out.set(b, at[11]! + pos);
    pos += b.length;
  });
  dv.setUint32(at[10]! + 4 * orgs.length, pos, true);
  return out;
}

/** Reads a 24-bit little-endian AS index. */
function get24(a: Uint8Array, i: number): number {
  return a[3 * i]! | (a[3 * i + 1]! << 8) | (a[3 * i + 2]! << 16);
}

/** A loaded AS range table. */
export class RangeTable {
  /** Where the table was read from, for messages and source lists. */
  readonly file: string;
  /** When the source data was published, seconds since the epoch. */
  readonly buildEpoch: number;
  /** The source label written by the builder. */
  readonly source: string;
  /** Numbers of boundaries and entries, for reports. */
  readonly counts: { v4: number; v6: number; v6Fine: number; as: number; org: number };
  #v4Bucket: Uint32Array;
  #v4Low: Uint16Array;
  #v4As: Uint8Array;
  #v6Start: Uint32Array;
  #v6As: Uint8Array;
  #f6Start: Uint32Array;
  #f6As: Uint8Array;
  #asNumber: Uint32Array;
  #asOrg: Uint32Array;
  #orgStart: Uint32Array;
  #orgPool: Uint8Array;
  #orgs: (string | undefined)[];
  #decoder = new TextDecoder();

  /**
   * Views `bytes` as a table (no copy; keep them unchanged). `file` names it in messages.
   * Throws when the bytes are not a table of this version or are truncated.
   */
  constructor(bytes: Uint8Array, file: string) {
    const fail = (why: string): never => {
      throw new Error(`Failed to load AS range table '${file}': ${why}`);
    };
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) fail("the host is big-endian");
    if (bytes.length < HEADER) fail(`${bytes.length} bytes is too short`);
    const magic = new TextDecoder().decode(bytes.subarray(0, 8));
    if (magic !== RANGE_TABLE_MAGIC) fail(`expected magic '${RANGE_TABLE_MAGIC}', got '${magic}'`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const h = (i: number) => dv.getUint32(8 + 4 * i, true);
    if (h(0) !== RANGE_TABLE_VERSION) fail(`expected version ${RANGE_TABLE_VERSION}, got ${h(0)}`);
    const [n4, n6, f6, nAs, nOrg, orgBytes, sourceBytes] = [2, 3, 4, 5, 6, 7, 8].map(h) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const { at, total } = layout([
      sourceBytes,
      4 * (BUCKETS + 1),
      2 * n4,
      3 * n4,
      8 * n6,
      3 * n6,
      16 * f6,
      3 * f6,
      4 * nAs,
      4 * nAs,
      4 * (nOrg + 1),
      orgBytes,
    ]);
    if (bytes.length < total) fail(`expected ${total} bytes, got ${bytes.length}`);
    // Typed-array views need aligned offsets: copy once if the caller's bytes are not.
    const b = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
    const buf = b.buffer;
    const o = b.byteOffset;
    this.file = file;
    this.buildEpoch = h(1);
    this.source = new TextDecoder().decode(b.subarray(at[0]!, at[0]! + sourceBytes));
    this.#v4Bucket = new Uint32Array(buf, o + at[1]!, BUCKETS + 1);
    this.#v4Low = new Uint16Array(buf, o + at[2]!, n4);
    this.#v4As = new Uint8Array(buf, o + at[3]!, 3 * n4);
    this.#v6Start = new Uint32Array(buf, o + at[4]!, 2 * n6);
    this.#v6As = new Uint8Array(buf, o + at[5]!, 3 * n6);
    this.#f6Start = new Uint32Array(buf, o + at[6]!, 4 * f6);
    this.#f6As = new Uint8Array(buf, o + at[7]!, 3 * f6);
    this.#asNumber = new Uint32Array(buf, o + at[8]!, nAs);
    this.#asOrg = new Uint32Array(buf, o + at[9]!, nAs);
    this.#orgStart = new Uint32Array(buf, o + at[10]!, nOrg + 1);
    this.#orgPool = new Uint8Array(buf, o + at[11]!, orgBytes);
    this.#orgs = new Array<string | undefined>(nOrg);
    this.counts = { v4: n4, v6: n6, v6Fine: f6, as: nAs, org: nOrg };
    if (this.#v4Bucket[BUCKETS] !== n4) fail("the IPv4 index does not match its entries");
  }

  /** The AS of an address (4 or 16 bytes), or null when no range holds it. */
  lookup(family: 4 | 6, b: Uint8Array): AsInfo | null {
    const i = family === 4 ? this.#find4(b) : this.#find6(b);
    return i === NONE ? null : this.#as(i);
  }

  #find4(b: Uint8Array): number {
    const h = (b[0]! << 8) | b[1]!;
    const low = (b[2]! << 8) | b[3]!;
    const from = this.#v4Bucket[h]!;
    // The last boundary in [from, to) whose low half is ≤ low; before the bucket's first, the
    // boundary in force is the previous bucket's last.
    let lo = from, hi = this.#v4Bucket[h + 1]! - 1, found = from - 1;
    const lows = this.#v4Low;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (lows[mid]! <= low) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? NONE : get24(this.#v4As, found);
  }

  #find6(b: Uint8Array): number {
    const w0 = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    const w1 = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
    const s = this.#v6Start;
    let lo = 0, hi = (s.length >>> 1) - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const m0 = s[2 * mid]!, m1 = s[2 * mid + 1]!;
      if (m0 < w0 || (m0 === w0 && m1 <= w1)) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return NONE;
    const v = get24(this.#v6As, found);
    return v === FINE ? this.#findFine(b, w0, w1) : v;
  }

  #findFine(b: Uint8Array, w0: number, w1: number): number {
    const w2 = ((b[8]! << 24) | (b[9]! << 16) | (b[10]! << 8) | b[11]!) >>> 0;
    const w3 = ((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0;
    const w = [w0, w1, w2, w3];
    const s = this.#f6Start;
    let lo = 0, hi = (s.length >>> 2) - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      let cmp = 0;
      for (let k = 0; k < 4 && cmp === 0; k++) {
        const m = s[4 * mid + k]!;
        cmp = m < w[k]! ? -1 : m > w[k]! ? 1 : 0;
      }
      if (cmp <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? NONE : get24(this.#f6As, found);
  }

  #as(i: number): AsInfo {
    const oi = this.#asOrg[i]!;
    let org = this.#orgs[oi];
    if (org === undefined) {
      org = this.#decoder.decode(
        this.#orgPool.subarray(this.#orgStart[oi]!, this.#orgStart[oi + 1]!),
      );
      this.#orgs[oi] = org;
    }
    return { asn: this.#asNumber[i]!, org };
  }
}
