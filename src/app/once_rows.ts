/**
 * Which rows `--once` prints and in what order, decided on the records: the slots of the
 * connections that match, in one typed array, ordered by the sort levels (`--sort`), then by
 * protocol number and kernel id (the order of `--once` without `--sort`, which also breaks
 * ties, so equal rows always come out alike). No connection object is made.
 *
 * With `--top N` only N rows are kept while the table is read (a heap of N), so "top 20 by
 * rate" of a quarter-million connections sorts twenty; without it the whole selection is
 * sorted as an index array over numeric keys, a few bytes per row.
 *
 * @module
 */

import { OFF, type RecordView } from "../conntrack/mod.ts";
import type { Filter } from "../core/mod.ts";
import type { ConnectionModel } from "../model/mod.ts";
import type { TableLimit } from "../collector/mod.ts";
import { isEmptyFilter, matches } from "../core/mod.ts";

/** One level of the order: a number or a text read from a record, and its direction. */
export interface SortLevel {
  /** A number (bigger = later ascending); used when `text` is absent. */
  num?: (v: RecordView, i: number) => number;
  /** A text (code-point order; null = missing, below every text ascending). */
  text?: (v: RecordView, i: number) => string | null;
  desc: boolean;
}

/** What {@linkcode selectRows} selects. */
export interface RowSelection {
  filter: Filter;
  /** The order's levels before the default order (empty: the default order). */
  levels: readonly SortLevel[];
  /** Keep only the first `top` rows (undefined: all). */
  top?: number;
}

/** The slots of the rows to print, in order. */
export function selectRows(model: ConnectionModel, sel: RowSelection): Uint32Array {
  const empty = isEmptyFilter(sel.filter);
  if (sel.top !== undefined) return topRows(model, sel, empty);
  const slots = new Uint32Array(model.size);
  let n = 0;
  for (const s of model.slots()) if (empty || model.matches(sel.filter, s)) slots[n++] = s;
  return sortSlots(model, slots.subarray(0, n), sel.levels);
}

// The order without --sort, as one exact number: protocol number above the 32-bit id.
function defaultKey(v: RecordView, i: number): number {
  return v.u8At(i, OFF.L4) * 2 ** 32 + v.u32At(i, OFF.ID);
}

function cmp(x: number, y: number): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Rows below which the default order packs a row's index beside its id (see below). */
const PACKED_ROWS = 2 ** 21;

// The default order without a comparator: rows are bucketed by protocol number, and in each
// bucket the id and the row's index are packed into one exact number (32 + 21 bits) that a
// typed array sorts natively, several times faster than a sort calling a comparator.
function defaultOrder(model: ConnectionModel, slots: Uint32Array): Uint32Array {
  const n = slots.length;
  const proto = new Uint8Array(n);
  const counts = new Uint32Array(257);
  for (let r = 0; r < n; r++) {
    const s = slots[r]!;
    const p = model.page(s).u8At(model.index(s), OFF.L4);
    proto[r] = p;
    counts[p + 1]!++;
  }
  for (let p = 1; p <= 256; p++) counts[p]! += counts[p - 1]!;
  const packed = new Float64Array(n);
  const at = counts.slice(0, 256);
  for (let r = 0; r < n; r++) {
    const s = slots[r]!;
    packed[at[proto[r]!]!++] = model.page(s).u32At(model.index(s), OFF.ID) * PACKED_ROWS + r;
  }
  for (let p = 0; p < 256; p++) {
    if (counts[p + 1]! - counts[p]! > 1) packed.subarray(counts[p]!, counts[p + 1]!).sort();
  }
  const out = new Uint32Array(n);
  for (let j = 0; j < n; j++) out[j] = slots[packed[j]! % PACKED_ROWS]!;
  return out;
}

/** `slots` ordered by `levels`, then the default order. Returns a new array. */
export function sortSlots(
  model: ConnectionModel,
  slots: Uint32Array,
  levels: readonly SortLevel[],
): Uint32Array {
  const n = slots.length;
  if (levels.length === 0 && n < PACKED_ROWS) return defaultOrder(model, slots);
  const keys: Float64Array[] = levels.map((l) => levelKeys(model, slots, l));
  const tie = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const s = slots[r]!;
    tie[r] = defaultKey(model.page(s), model.index(s));
  }
  const idx = new Uint32Array(n);
  for (let r = 0; r < n; r++) idx[r] = r;
  const [k1, k2] = keys;
  // Written out for the usual one or two levels: a comparator without a loop sorts faster.
  const compare = keys.length === 0
    ? (a: number, b: number) => cmp(tie[a]!, tie[b]!)
    : keys.length === 1
    ? (a: number, b: number) => cmp(k1![a]!, k1![b]!) || cmp(tie[a]!, tie[b]!)
    : keys.length === 2
    ? (a: number, b: number) =>
      cmp(k1![a]!, k1![b]!) || cmp(k2![a]!, k2![b]!) || cmp(tie[a]!, tie[b]!)
    : (a: number, b: number) => {
      for (const k of keys) {
        const c = cmp(k[a]!, k[b]!);
        if (c !== 0) return c;
      }
      return cmp(tie[a]!, tie[b]!);
    };
  idx.sort(compare);
  const out = new Uint32Array(n);
  for (let r = 0; r < n; r++) out[r] = slots[idx[r]!]!;
  return out;
}

// One level's key of every row, as numbers with the direction applied; a text level as the
// rank of each row's text among the distinct texts (-1: missing).
function levelKeys(model: ConnectionModel, slots: Uint32Array, l: SortLevel): Float64Array {
  const n = slots.length, sign = l.desc ? -1 : 1;
  const k = new Float64Array(n);
  if (l.text === undefined) {
    const num = l.num!;
    for (let r = 0; r < n; r++) {
      const s = slots[r]!;
      k[r] = sign * num(model.page(s), model.index(s));
    }
    return k;
  }
  const text = l.text;
  const texts: (string | null)[] = new Array(n);
  const rank = new Map<string, number>();
  for (let r = 0; r < n; r++) {
    const s = slots[r]!;
    const t = text(model.page(s), model.index(s));
    texts[r] = t;
    if (t !== null) rank.set(t, 0);
  }
  [...rank.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).forEach((t, i) => rank.set(t, i));
  for (let r = 0; r < n; r++) {
    const t = texts[r]!;
    k[r] = sign * (t === null ? -1 : rank.get(t)!);
  }
  return k;
}

type Key = number | string | null;

// A row's key at one level, compared as levelKeys' ranks would order it.
function compareKey(a: Key, b: Key, desc: boolean): number {
  let c: number;
  if (typeof a === "number" && typeof b === "number") c = cmp(a, b);
  else if (a === null || b === null) c = a === b ? 0 : a === null ? -1 : 1;
  else c = a < b ? -1 : a > b ? 1 : 0;
  return desc ? -c : c;
}

interface Entry {
  slot: number;
  keys: Key[];
  tie: number;
}

/**
 * The first `top` rows of an order, kept in a heap holding the worst of them at its root: rows
 * are offered one at a time and each costs a comparison with the root, a few more when kept.
 */
class Best {
  readonly #levels: readonly SortLevel[];
  readonly #top: number;
  readonly #heap: Entry[] = [];
  /** The row being offered: only a row that enters the heap keeps its entry. */
  #e: Entry;

  constructor(levels: readonly SortLevel[], top: number) {
    this.#levels = levels;
    this.#top = top;
    this.#e = this.#fresh();
  }

  #fresh(): Entry {
    return { slot: 0, keys: this.#levels.map(() => null), tie: 0 };
  }

  #order(a: Entry, b: Entry): number {
    const levels = this.#levels;
    for (let j = 0; j < levels.length; j++) {
      const c = compareKey(a.keys[j]!, b.keys[j]!, levels[j]!.desc);
      if (c !== 0) return c;
    }
    return cmp(a.tie, b.tie);
  }

  #read(e: Entry, v: RecordView, i: number): void {
    const levels = this.#levels;
    for (let j = 0; j < levels.length; j++) {
      const l = levels[j]!;
      e.keys[j] = l.text !== undefined ? l.text(v, i) : l.num!(v, i);
    }
    e.tie = defaultKey(v, i);
  }

  /**
   * Offers the row in `v` at `i`: false when it is not among the first `top` so far; otherwise
   * the slot of the row it replaces, or -1 when there was room. Then call {@linkcode place}.
   */
  offer(v: RecordView, i: number): number | false {
    const heap = this.#heap;
    if (this.#top <= 0) return false;
    this.#read(this.#e, v, i);
    if (heap.length < this.#top) return -1;
    return this.#order(this.#e, heap[0]!) < 0 ? heap[0]!.slot : false;
  }

  /** The row just offered and kept is in `slot`. */
  place(slot: number): void {
    const heap = this.#heap, e = this.#e;
    e.slot = slot;
    if (heap.length < this.#top) {
      heap.push(e);
      this.#up(heap.length - 1);
    } else {
      heap[0] = e;
      this.#down(0);
    }
    this.#e = this.#fresh();
  }

  /** The kept row in `slot` changed (now `v` at `i`): its place is found again. */
  update(slot: number, v: RecordView, i: number): void {
    const heap = this.#heap;
    const at = heap.findIndex((x) => x.slot === slot);
    if (at < 0) return;
    this.#read(heap[at]!, v, i);
    if (at > 0 && this.#order(heap[at]!, heap[(at - 1) >> 1]!) > 0) this.#up(at);
    else this.#down(at);
  }

  /** The kept slots, in order. */
  slots(): Uint32Array {
    return Uint32Array.from(this.#heap.sort((a, b) => this.#order(a, b)), (e) => e.slot);
  }

  // Parents are later in the order than their children: the root is the one to drop first.
  #down(at: number): void {
    const heap = this.#heap;
    for (;;) {
      const l = 2 * at + 1, r = l + 1;
      let worst = at;
      if (l < heap.length && this.#order(heap[l]!, heap[worst]!) > 0) worst = l;
      if (r < heap.length && this.#order(heap[r]!, heap[worst]!) > 0) worst = r;
      if (worst === at) return;
      [heap[at], heap[worst]] = [heap[worst]!, heap[at]!];
      at = worst;
    }
  }

  #up(at: number): void {
    const heap = this.#heap;
    while (at > 0) {
      const p = (at - 1) >> 1;
      if (this.#order(heap[at]!, heap[p]!) <= 0) return;
      [heap[at], heap[p]] = [heap[p]!, heap[at]!];
      at = p;
    }
  }
}

// The first `top` rows by a heap holding the worst of those kept at its root.
function topRows(model: ConnectionModel, sel: RowSelection, empty: boolean): Uint32Array {
  const best = new Best(sel.levels, sel.top!);
  for (const s of model.slots()) {
    if (!empty && !model.matches(sel.filter, s)) continue;
    if (best.offer(model.page(s), model.index(s)) !== false) best.place(s);
  }
  return best.slots();
}

/**
 * `sel`'s rows (its filter, order and `top`) chosen as a table is dumped, for a table bounded
 * by it (`CtTable.limit`): after one dump the table holds exactly the rows
 * {@linkcode selectRows} would choose from the whole table, and nothing else. The levels must
 * read the records alone (not enrichment answers, nor owners, which come after the dump).
 */
export function keepTop(sel: RowSelection): TableLimit {
  const best = new Best(sel.levels, sel.top!);
  const empty = isEmptyFilter(sel.filter);
  return {
    offer: (v, i) => (empty || matches(sel.filter, v, i) ? best.offer(v, i) : false),
    placed: (_v, slot) => best.place(slot),
    updated: (v, slot) => best.update(slot, v, slot),
  };
}
