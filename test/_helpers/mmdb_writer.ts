/**
 * A small but complete MaxMind DB writer for tests: it builds GeoLite2-shaped files (or any
 * other shape) with IPv4 and IPv6 networks, so that GeoIP tests run against real .mmdb files
 * whose content the test chose, read back by the reference reader (`mmdblookup`).
 *
 * It follows the MaxMind DB format 2.0 specification: a binary search tree with 24-, 28- or
 * 32-bit records; a data section with every data type (pointers, UTF-8 strings, doubles, bytes,
 * uint16/32/64/128, int32, maps, arrays, booleans, floats), where repeated strings, maps and
 * arrays are written once and pointed to; and the metadata map after the
 * "\xAB\xCD\xEFMaxMind.com" marker. In an IPv6 tree, IPv4 networks live in ::/96, and
 * ::ffff:0:0/96 and 2002::/16 alias that subtree, as MaxMind's own writer does.
 *
 * Inserting a network replaces what earlier insertions said about the addresses it covers.
 *
 * @example
 * ```ts
 * import { MmdbWriter } from "./mmdb_writer.ts";
 * const w = new MmdbWriter({ databaseType: "GeoLite2-ASN", ipVersion: 6, recordSize: 28 });
 * w.insert("8.8.8.0/24", { autonomous_system_number: 15169, autonomous_system_organization: "Google LLC" });
 * await Deno.writeFile("/tmp/asn.mmdb", w.toBytes());
 * ```
 *
 * @module
 */

import { parsePrefix } from "../../src/conntrack/address.ts";

/** A value whose MaxMind DB type is not the default one for its JavaScript type. */
export class Typed {
  /** `value` stored as `type`. */
  constructor(
    readonly type: "uint16" | "uint32" | "int32" | "uint64" | "uint128" | "double" | "float",
    readonly value: number | bigint,
  ) {}
}

/** A uint16 value. */
export function uint16(v: number): Typed {
  return new Typed("uint16", v);
}
/** An int32 value. */
export function int32(v: number): Typed {
  return new Typed("int32", v);
}
/** A uint64 value. */
export function uint64(v: bigint): Typed {
  return new Typed("uint64", v);
}
/** A uint128 value. */
export function uint128(v: bigint): Typed {
  return new Typed("uint128", v);
}
/** A float (32-bit) value. */
export function float(v: number): Typed {
  return new Typed("float", v);
}
/** A double value, even when it is a whole number. */
export function double(v: number): Typed {
  return new Typed("double", v);
}

/**
 * A value to store: strings are utf8_string, booleans boolean, Uint8Array bytes, arrays array,
 * objects map; numbers uint32 when whole and in 0..2³²−1, int32 when whole and negative, else
 * double; {@linkcode Typed} for the rest.
 */
export type WriterValue =
  | string
  | number
  | boolean
  | Uint8Array
  | Typed
  | WriterValue[]
  | { [key: string]: WriterValue };

/** Options of {@linkcode MmdbWriter}. */
export interface MmdbWriterOptions {
  /** `database_type`, e.g. "GeoLite2-City". */
  databaseType: string;
  /** 4 (IPv4 networks only) or 6. */
  ipVersion: 4 | 6;
  /** Bits per record. */
  recordSize: 24 | 28 | 32;
  /** Default ["en"]. */
  languages?: string[];
  /** Default { en: "conntop test database" }. */
  description?: Record<string, string>;
  /** Seconds since the epoch (default 1700000000). */
  buildEpoch?: number;
  /** In an IPv6 tree, alias ::ffff:0:0/96 and 2002::/16 to the IPv4 subtree (default true). */
  ipv4Aliases?: boolean;
}

interface Node {
  kids: [Child, Child];
}
type Child = Node | { data: number } | null;

const TYPE = {
  pointer: 1,
  utf8: 2,
  double: 3,
  bytes: 4,
  uint16: 5,
  uint32: 6,
  map: 7,
  int32: 8,
  uint64: 9,
  uint128: 10,
  array: 11,
  boolean: 14,
  float: 15,
} as const;

const METADATA_MARKER = [0xab, 0xcd, 0xef, ...new TextEncoder().encode("MaxMind.com")];

function isNode(c: Child): c is Node {
  return c !== null && "kids" in c;
}

/** Control byte(s) for a value of `type` and payload size (or entry count) `size`. */
function control(type: number, size: number): number[] {
  const out: number[] = [];
  let first = type <= 7 ? type << 5 : 0;
  const ext = type > 7 ? [type - 7] : [];
  let extra: number[];
  if (size < 29) {
    first |= size;
    extra = [];
  } else if (size < 29 + 256) {
    first |= 29;
    extra = [size - 29];
  } else if (size < 285 + 65536) {
    first |= 30;
    const v = size - 285;
    extra = [v >> 8, v & 0xff];
  } else {
    first |= 31;
    const v = size - 65821;
    extra = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
  }
  out.push(first, ...ext, ...extra);
  return out;
}

/** A pointer to `offset` in the data section, in its shortest form. */
function pointer(offset: number): number[] {
  if (offset < 2048) return [0x20 | (offset >> 8), offset & 0xff];
  if (offset < 526336) {
    const v = offset - 2048;
    return [0x28 | (v >> 16), (v >> 8) & 0xff, v & 0xff];
  }
  if (offset < 526336 + 2 ** 27) {
    const v = offset - 526336;
    return [0x30 | (v >>> 24), (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
  }
  return [0x38, (offset >>> 24) & 0xff, (offset >> 16) & 0xff, (offset >> 8) & 0xff, offset & 0xff];
}

/** Big-endian bytes of an unsigned integer, without leading zeros. */
function uintBytes(v: bigint, max: number): number[] {
  if (v < 0n || v >= 1n << BigInt(8 * max)) throw new Error(`Value ${v} does not fit ${max} bytes`);
  const out: number[] = [];
  while (v > 0n) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** A stable text key of a value, for deduplication. */
function keyOf(v: WriterValue): string {
  if (v instanceof Typed) return `${v.type}:${v.value}`;
  if (v instanceof Uint8Array) return `bytes:${[...v].join(",")}`;
  if (Array.isArray(v)) return `[${v.map(keyOf).join(",")}]`;
  if (typeof v === "object") {
    return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${keyOf(x)}`).join(",")}}`;
  }
  return `${typeof v}:${JSON.stringify(v)}`;
}

/** Encodes values into a data section, writing repeated strings and containers once. */
class DataSection {
  bytes: number[] = [];
  #written = new Map<string, number>();

  /** Appends `v` (or a pointer to an identical earlier value); returns where it starts. */
  add(v: WriterValue, allowPointers = true): number {
    const key = keyOf(v);
    const at = this.bytes.length;
    const prev = this.#written.get(key);
    const pointable = typeof v === "string" ? v.length >= 3 : typeof v === "object";
    if (allowPointers && prev !== undefined && pointable) {
      this.bytes.push(...pointer(prev));
      return at;
    }
    this.#encode(v, allowPointers);
    if (allowPointers && pointable) this.#written.set(key, at);
    return at;
  }

  /** The offset of a record written whole (for the tree), reusing an identical one. */
  record(v: WriterValue): number {
    const key = "record:" + keyOf(v);
    const prev = this.#written.get(key);
    if (prev !== undefined) return prev;
    const at = this.bytes.length;
    this.#encode(v, true);
    this.#written.set(key, at);
    return at;
  }

  #encode(v: WriterValue, ptr: boolean): void {
    const b = this.bytes;
    if (typeof v === "string") {
      const s = new TextEncoder().encode(v);
      b.push(...control(TYPE.utf8, s.length), ...s);
    } else if (typeof v === "boolean") {
      b.push(...control(TYPE.boolean, v ? 1 : 0));
    } else if (typeof v === "number") {
      if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) {
        this.#encode(new Typed("uint32", v), ptr);
      } else if (Number.isInteger(v) && v < 0 && v >= -(2 ** 31)) {
        this.#encode(new Typed("int32", v), ptr);
      } else this.#encode(new Typed("double", v), ptr);
    } else if (v instanceof Uint8Array) {
      b.push(...control(TYPE.bytes, v.length), ...v);
    } else if (v instanceof Typed) {
      switch (v.type) {
        case "uint16":
        case "uint32":
        case "uint64":
        case "uint128": {
          const max = { uint16: 2, uint32: 4, uint64: 8, uint128: 16 }[v.type];
          const p = uintBytes(BigInt(v.value), max);
          b.push(...control(TYPE[v.type], p.length), ...p);
          break;
        }
        case "int32": {
          const n = Number(v.value);
          const p = n >= 0 ? uintBytes(BigInt(n), 4) : uintBytes(BigInt(n >>> 0), 4);
          b.push(...control(TYPE.int32, p.length), ...p);
          break;
        }
        case "double": {
          const dv = new DataView(new ArrayBuffer(8));
          dv.setFloat64(0, Number(v.value));
          b.push(...control(TYPE.double, 8), ...new Uint8Array(dv.buffer));
          break;
        }
        case "float": {
          const dv = new DataView(new ArrayBuffer(4));
          dv.setFloat32(0, Number(v.value));
          b.push(...control(TYPE.float, 4), ...new Uint8Array(dv.buffer));
          break;
        }
      }
    } else if (Array.isArray(v)) {
      b.push(...control(TYPE.array, v.length));
      for (const x of v) this.add(x, ptr);
    } else {
      const entries = Object.entries(v);
      b.push(...control(TYPE.map, entries.length));
      for (const [k, x] of entries) {
        this.add(k, ptr);
        this.add(x, ptr);
      }
    }
  }
}

/** Builds one MaxMind DB file in memory. */
export class MmdbWriter {
  #options: MmdbWriterOptions;
  #root: Node = { kids: [null, null] };
  #data = new DataSection();

  /** An empty database. */
  constructor(options: MmdbWriterOptions) {
    this.#options = options;
  }

  /** Stores `value` for `network` ("1.2.3.0/24", "2001:db8::/32"; no length: one host). */
  insert(network: string, value: WriterValue): void {
    const p = parsePrefix(network);
    if (p === undefined) throw new Error(`Failed to insert network '${network}': not a prefix`);
    let bits: Uint8Array;
    let length: number;
    if (p.family === 2) {
      if (this.#options.ipVersion === 4) {
        bits = p.bytes.subarray(0, 4);
        length = p.length;
      } else {
        bits = new Uint8Array(16);
        bits.set(p.bytes.subarray(0, 4), 12);
        length = 96 + p.length;
      }
    } else {
      if (this.#options.ipVersion === 4) {
        throw new Error(`Failed to insert network '${network}': the tree is IPv4`);
      }
      bits = p.bytes;
      length = p.length;
    }
    if (length === 0) throw new Error(`Failed to insert network '${network}': prefix length 0`);
    const leaf = { data: this.#data.record(value) };
    this.#set(bits, length, leaf);
  }

  /** Points the child at depth `length - 1` along `bits` to `child`, splitting leaves. */
  #set(bits: Uint8Array, length: number, child: Child): void {
    let node = this.#root;
    for (let depth = 0; depth < length; depth++) {
      const bit = (bits[depth >> 3]! >> (7 - (depth & 7))) & 1;
      if (depth === length - 1) {
        node.kids[bit] = child;
        return;
      }
      const next = node.kids[bit]!;
      if (isNode(next)) node = next;
      else {
        const split: Node = { kids: [next, next] };
        node.kids[bit] = split;
        node = split;
      }
    }
  }

  /** The node (or leaf) at `depth` along all-zero bits: where IPv4 starts in an IPv6 tree. */
  #ipv4Subtree(): Child {
    let c: Child = this.#root;
    for (let d = 0; d < 96 && isNode(c); d++) c = c.kids[0];
    return c;
  }

  /** The file's bytes. */
  toBytes(): Uint8Array {
    const o = this.#options;
    if (o.ipVersion === 6 && (o.ipv4Aliases ?? true)) {
      const v4 = this.#ipv4Subtree();
      const mapped = new Uint8Array(16);
      mapped[10] = 0xff;
      mapped[11] = 0xff;
      this.#set(mapped, 96, v4);
      this.#set(new Uint8Array([0x20, 0x02, ...new Array<number>(14).fill(0)]), 16, v4);
    }
    // Number the nodes breadth-first from the root; aliases make it a DAG, so once each.
    const order: Node[] = [];
    const number = new Map<Node, number>();
    const queue: Node[] = [this.#root];
    number.set(this.#root, 0);
    while (queue.length > 0) {
      const n = queue.shift()!;
      order.push(n);
      for (const k of n.kids) {
        if (isNode(k) && !number.has(k)) {
          number.set(k, number.size);
          queue.push(k);
        }
      }
    }
    const nodeCount = order.length;
    const value = (c: Child): number =>
      c === null ? nodeCount : isNode(c) ? number.get(c)! : nodeCount + 16 + c.data;
    const rs = o.recordSize;
    const nodeBytes = rs / 4;
    const max = 2 ** rs;
    const tree = new Uint8Array(nodeCount * nodeBytes);
    order.forEach((n, i) => {
      const l = value(n.kids[0]), r = value(n.kids[1]);
      if (l >= max || r >= max) throw new Error(`Record value too large for ${rs}-bit records`);
      const at = i * nodeBytes;
      if (rs === 24) {
        tree.set([l >> 16, (l >> 8) & 0xff, l & 0xff, r >> 16, (r >> 8) & 0xff, r & 0xff], at);
      } else if (rs === 28) {
        tree.set([
          (l >> 16) & 0xff,
          (l >> 8) & 0xff,
          l & 0xff,
          ((l >>> 24) << 4) | (r >>> 24),
          (r >> 16) & 0xff,
          (r >> 8) & 0xff,
          r & 0xff,
        ], at);
      } else {
        const dv = new DataView(tree.buffer);
        dv.setUint32(at, l);
        dv.setUint32(at + 4, r);
      }
    });
    const meta = new DataSection();
    meta.add({
      binary_format_major_version: uint16(2),
      binary_format_minor_version: uint16(0),
      build_epoch: uint64(BigInt(o.buildEpoch ?? 1700000000)),
      database_type: o.databaseType,
      description: o.description ?? { en: "conntop test database" },
      ip_version: uint16(o.ipVersion),
      languages: o.languages ?? ["en"],
      node_count: nodeCount,
      record_size: uint16(rs),
    }, false);
    const data = this.#data.bytes;
    const out = new Uint8Array(
      tree.length + 16 + data.length + METADATA_MARKER.length +
        meta.bytes.length,
    );
    out.set(tree, 0);
    out.set(data, tree.length + 16);
    out.set(METADATA_MARKER, tree.length + 16 + data.length);
    out.set(meta.bytes, tree.length + 16 + data.length + METADATA_MARKER.length);
    return out;
  }
}
