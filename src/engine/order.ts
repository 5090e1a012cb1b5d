/**
 * The engine's ordering machinery: the sort keys of every slot, cached by slot number so a batch
 * re-reads only the records it changed, a comparator over them, and the in-place selection and
 * sorting of slot arrays.
 *
 * The order is the keys in turn, then the slot number (so equal rows keep their places from one
 * refresh to the next). Text keys (state, hostnames, countries, …) compare as strings in UTF-16
 * code-unit order, a missing text below every text; numeric keys compare as numbers, a missing
 * value below every real one. Descending reverses a level, missing values included.
 *
 * Sorting is written here (not `TypedArray.prototype.sort`): a comparator called from JS code is
 * inlined by the JIT, and the same routines give the selection a window needs without sorting
 * the rest.
 *
 * @module
 */

import { RECORD_SIZE, type RecordView } from "../conntrack/mod.ts";
import { type ColumnId, SORT_KEYS, type SortContext, type SortKey } from "./keys.ts";

/** Reads slot `s`'s record: the page that holds it and its index there. */
export interface RecordReader {
  page(s: number): RecordView;
  index(s: number): number;
}

/** The records, page by page, for reading every live slot in one pass. */
export interface PagedRecords extends RecordReader {
  /** Slots per page. */
  readonly pageSize: number;
  /** The pages (undefined: none there). */
  pages(): readonly (RecordView | undefined)[];
}

/** A slot comparator: negative, zero (only for the same slot) or positive. */
export type SlotCompare = (a: number, b: number) => number;

/** One level of a column's key: numbers or texts, by slot. */
type Level =
  | { kind: "number"; keys: Float64Array; read: (v: RecordView, i: number) => number }
  | { kind: "text"; keys: (string | null)[]; read: (v: RecordView, i: number) => string | null };

/** The sort key of one column for every slot (ascending; a direction only flips the compare). */
class ColumnKeys {
  readonly enriched: boolean;
  readonly levels: Level[] = [];
  #cap = 0;

  constructor(column: ColumnId, ctx: SortContext) {
    const d = SORT_KEYS[column];
    this.enriched = d.enriched === true;
    if (d.textKey !== undefined) {
      const tk = d.textKey;
      this.levels.push({ kind: "text", keys: [], read: (v, i) => tk(v, i, ctx) });
    } else {
      const key = d.key;
      this.levels.push({
        kind: "number",
        keys: new Float64Array(0),
        read: (v, i) => key(v, i, ctx),
      });
      for (const m of d.more ?? []) {
        this.levels.push({ kind: "number", keys: new Float64Array(0), read: m });
      }
    }
  }

  /** Reads slot `s`'s key; returns whether its arrays had to grow. */
  update(s: number, v: RecordView, i: number): boolean {
    const grew = s >= this.#cap;
    if (grew) this.#grow(Math.max(s + 1, this.#cap * 2, 1024));
    for (const lv of this.levels) {
      if (lv.kind === "number") lv.keys[s] = lv.read(v, i);
      else lv.keys[s] = lv.read(v, i);
    }
    return grew;
  }

  /** Makes room for slots below `n` at once (regrowing by doubling would leave copies). */
  reserve(n: number): void {
    if (n > this.#cap) this.#grow(n);
  }

  #grow(cap: number): void {
    for (const lv of this.levels) {
      if (lv.kind !== "number") continue;
      const next = new Float64Array(cap);
      next.set(lv.keys);
      lv.keys = next;
    }
    this.#cap = cap;
  }
}

/** How many columns' keys are kept: going back to a recent sort needs no pass over the table. */
const KEPT_COLUMNS = 4;

/**
 * The sort keys of the last few sort columns, by slot. Every batch updates the changed slots of
 * each; a column not kept is read from every record when a sort asks for it.
 */
export class KeyStore {
  #cols = new Map<ColumnId, ColumnKeys>();
  #ctx: SortContext;
  /** Bumped whenever arrays a comparator holds are replaced. */
  generation = 0;

  constructor(ctx: SortContext) {
    this.#ctx = ctx;
  }

  /**
   * Makes sure `column`'s keys are held, reading them from every record of `rec` when not;
   * returns whether they were read now.
   */
  ensure(column: ColumnId, rec: PagedRecords): boolean {
    const have = this.#cols.get(column);
    if (have !== undefined) {
      // Most recently used last.
      this.#cols.delete(column);
      this.#cols.set(column, have);
      return false;
    }
    const ck = new ColumnKeys(column, this.#ctx);
    const size = rec.pageSize, pages = rec.pages();
    ck.reserve(pages.length * size);
    for (let p = 0; p < pages.length; p++) {
      const v = pages[p];
      if (v === undefined) continue;
      const u8 = v.u8;
      for (let i = 0; i < size; i++) {
        if (u8[i * RECORD_SIZE] !== 0) ck.update(p * size + i, v, i);
      }
    }
    this.#cols.set(column, ck);
    while (this.#cols.size > KEPT_COLUMNS) this.#cols.delete(this.#cols.keys().next().value!);
    this.generation++;
    return true;
  }

  /** Forgets every column (the table was replaced). */
  clear(): void {
    this.#cols.clear();
    this.generation++;
  }

  /** Reads slot `s`'s keys in every column held. */
  update(s: number, rec: RecordReader): void {
    const v = rec.page(s), i = rec.index(s);
    for (const ck of this.#cols.values()) if (ck.update(s, v, i)) this.generation++;
  }

  /** Forgets the columns whose keys come from enrichment (new answers arrived). */
  dropEnriched(): boolean {
    let dropped = false;
    for (const [id, ck] of this.#cols) {
      if (!ck.enriched) continue;
      this.#cols.delete(id);
      dropped = true;
    }
    return dropped;
  }

  /** Whether `column`'s keys come from enrichment. */
  enriched(column: ColumnId): boolean {
    return SORT_KEYS[column].enriched === true;
  }

  /** The comparator of `sort` then `sort2` then the slot; both columns must be held. */
  comparator(sort: SortKey, sort2: SortKey | null): SlotCompare {
    const levels: { lv: Level; sign: number }[] = [];
    for (const k of sort2 === null ? [sort] : [sort, sort2]) {
      const ck = this.#cols.get(k.column)!;
      for (const lv of ck.levels) levels.push({ lv, sign: k.desc ? -1 : 1 });
    }
    return comparator(levels);
  }
}

function cmpNum(x: number, y: number): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function cmpText(x: string | null, y: string | null): number {
  if (x === y) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

// The comparator for these levels, then the slot. The common shapes (one or two numeric levels:
// rate then bytes) are written out: an idle table ties on every level, so every level costs.
function comparator(levels: { lv: Level; sign: number }[]): SlotCompare {
  const [l1, l2] = levels;
  if (levels.length === 1 && l1!.lv.kind === "number") {
    const k = l1!.lv.keys, s = l1!.sign;
    return (a, b) => s * cmpNum(k[a]!, k[b]!) || a - b;
  }
  if (levels.length === 2 && l1!.lv.kind === "number" && l2!.lv.kind === "number") {
    const k1 = l1!.lv.keys, k2 = l2!.lv.keys, s1 = l1!.sign, s2 = l2!.sign;
    return (a, b) => s1 * cmpNum(k1[a]!, k1[b]!) || s2 * cmpNum(k2[a]!, k2[b]!) || a - b;
  }
  let f: SlotCompare = (a, b) => a - b;
  for (let l = levels.length - 1; l >= 0; l--) {
    const { lv, sign } = levels[l]!, next = f;
    if (lv.kind === "number") {
      const k = lv.keys;
      f = (a, b) => sign * cmpNum(k[a]!, k[b]!) || next(a, b);
    } else {
      const k = lv.keys;
      f = (a, b) => sign * cmpText(k[a] ?? null, k[b] ?? null) || next(a, b);
    }
  }
  return f;
}

const SMALL = 16;

function insertionSort(a: Uint32Array, lo: number, hi: number, cmp: SlotCompare): void {
  for (let i = lo + 1; i <= hi; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= lo && cmp(a[j]!, x) > 0) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

// Median of three as the pivot, moved to `lo`; Hoare partition. Returns the pivot's final place.
function partition(a: Uint32Array, lo: number, hi: number, cmp: SlotCompare): number {
  const mid = (lo + hi) >>> 1;
  if (cmp(a[mid]!, a[lo]!) < 0) swap(a, mid, lo);
  if (cmp(a[hi]!, a[lo]!) < 0) swap(a, hi, lo);
  if (cmp(a[hi]!, a[mid]!) < 0) swap(a, hi, mid);
  swap(a, lo, mid);
  const p = a[lo]!;
  let i = lo, j = hi + 1;
  for (;;) {
    while (cmp(a[++i]!, p) < 0) if (i === hi) break;
    while (cmp(p, a[--j]!) < 0) if (j === lo) break;
    if (i >= j) break;
    swap(a, i, j);
  }
  swap(a, lo, j);
  return j;
}

function swap(a: Uint32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/** Sorts `a[lo..hi]` (inclusive) by `cmp`, in place. */
export function sortRange(a: Uint32Array, lo: number, hi: number, cmp: SlotCompare): void {
  // Recurse on the smaller side, loop on the larger: the stack stays O(log n). Keys are distinct
  // (the slot breaks every tie), so the median of three keeps the depth near log n.
  while (hi - lo > SMALL) {
    const p = partition(a, lo, hi, cmp);
    if (p - lo < hi - p) {
      sortRange(a, lo, p - 1, cmp);
      lo = p + 1;
    } else {
      sortRange(a, p + 1, hi, cmp);
      hi = p - 1;
    }
  }
  insertionSort(a, lo, hi, cmp);
}

/**
 * Rearranges `a[lo..hi]` so that `a[k]` holds what a full sort would put there, everything
 * before it is smaller and everything after larger (quickselect).
 */
export function selectNth(
  a: Uint32Array,
  lo: number,
  hi: number,
  k: number,
  cmp: SlotCompare,
): void {
  while (hi - lo > SMALL) {
    const p = partition(a, lo, hi, cmp);
    if (p === k) return;
    if (k < p) hi = p - 1;
    else lo = p + 1;
  }
  insertionSort(a, lo, hi, cmp);
}

/**
 * The first index in `a[0..n)` (sorted by `cmp`) whose slot is not less than `s`, searching from
 * `from` on (the places of a sorted run of insertions only grow).
 */
export function lowerBound(
  a: Uint32Array,
  n: number,
  s: number,
  from: number,
  cmp: SlotCompare,
): number {
  // Gallop: the next insertion is often near the last.
  let lo = from, step = 1, hi = from;
  while (hi < n && cmp(a[hi]!, s) < 0) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  if (hi > n) hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(a[mid]!, s) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Merges the sorted `add[0..k)` into the sorted `a[0..n)`, in place (`a` must hold n + k): from
 * the end, each run of `a` above the next row to add moves up by one block copy, no per-row
 * shifting and no second array of every row. No row of `add` may be in `a`.
 */
export function mergeInPlace(
  a: Uint32Array,
  n: number,
  add: Uint32Array,
  k: number,
  cmp: SlotCompare,
): void {
  let to = n;
  for (let j = k - 1; j >= 0; j--) {
    const s = add[j]!;
    const at = lowerBoundBefore(a, to, s, cmp);
    if (at < to) a.copyWithin(at + j + 1, at, to);
    a[at + j] = s;
    to = at;
  }
}

// The first position in the sorted a[0..to) whose row sorts after `s` (to: none), galloping
// down from `to`: the next insertion is often near the last.
function lowerBoundBefore(a: Uint32Array, to: number, s: number, cmp: SlotCompare): number {
  let hi = to, lo = to - 1, step = 1;
  while (lo >= 0 && cmp(a[lo]!, s) > 0) {
    hi = lo;
    lo -= step;
    step *= 2;
  }
  lo = Math.max(lo + 1, 0); // a[..lo) sorts before s, a[hi..to) after it
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(a[mid]!, s) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The `k` smallest of `a[0..n)` by `cmp`, sorted, in a new array: one pass with a heap of `k`,
 * for a window at the top of a new order (most rows lose to the heap's top in one compare).
 */
export function smallest(a: Uint32Array, n: number, k: number, cmp: SlotCompare): Uint32Array {
  k = Math.min(k, n);
  const heap = new Uint32Array(k); // a max-heap: the largest kept at heap[0]
  let size = 0;
  for (let j = 0; j < n; j++) {
    const s = a[j]!;
    if (size < k) {
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >>> 1;
        if (cmp(heap[p]!, s) >= 0) break;
        heap[c] = heap[p]!;
        c = p;
      }
      heap[c] = s;
    } else if (k > 0 && cmp(s, heap[0]!) < 0) {
      siftDown(heap, k, s, cmp);
    }
  }
  sortRange(heap, 0, k - 1, cmp);
  return heap;
}

function siftDown(heap: Uint32Array, size: number, s: number, cmp: SlotCompare): void {
  let c = 0;
  for (;;) {
    let child = 2 * c + 1;
    if (child >= size) break;
    if (child + 1 < size && cmp(heap[child + 1]!, heap[child]!) > 0) child++;
    if (cmp(heap[child]!, s) <= 0) break;
    heap[c] = heap[child]!;
    c = child;
  }
  heap[c] = s;
}

/** Sorted runs this long are made first; then merged pairwise. */
const RUN = 8192;
/** Rows one step merges at most: a pass over a quarter-million rows takes many steps. */
const MERGE_STEP = 16384;

/**
 * A merge sort that runs in steps: sorting a quarter-million rows takes a tenth of a second or
 * more, and the worker must keep answering in between. Each {@linkcode StepSort.step} sorts one
 * run or merges up to {@linkcode MERGE_STEP} rows of a pair of runs.
 */
export class StepSort {
  #a: Uint32Array<ArrayBuffer>;
  #b: Uint32Array<ArrayBuffer>;
  #n: number;
  #cmp: SlotCompare;
  #width = 0; // 0: still sorting runs
  #at = 0;
  #run: number;
  #step: number;
  /** The pair being merged: read positions in each run, write position (i < 0: none). */
  #i = -1;
  #j = 0;
  #o = 0;

  /**
   * Sorts `a` (taken over) by `cmp`, in runs of `run` rows merged pairwise; `spare`, when long
   * enough, is taken over as the second buffer (its contents do not matter).
   */
  constructor(
    a: Uint32Array<ArrayBuffer>,
    cmp: SlotCompare,
    run = RUN,
    step = MERGE_STEP,
    spare?: Uint32Array<ArrayBuffer>,
  ) {
    this.#run = Math.max(1, run);
    this.#step = Math.max(1, step);
    this.#a = a;
    this.#b = spare !== undefined && spare.length >= a.length && spare.buffer !== a.buffer
      ? spare.subarray(0, a.length)
      : new Uint32Array(a.length);
    this.#n = a.length;
    this.#cmp = cmp;
  }

  /** Whether the array is sorted. */
  get done(): boolean {
    return this.#width >= this.#n && this.#width > 0 || this.#n <= 1;
  }

  /** The sorted array (when done). */
  get result(): Uint32Array<ArrayBuffer> {
    return this.#a;
  }

  /** Does one step of work. */
  step(): void {
    const n = this.#n, cmp = this.#cmp;
    if (this.done) return;
    if (this.#width === 0) {
      const hi = Math.min(n, this.#at + this.#run);
      sortRange(this.#a, this.#at, hi - 1, cmp);
      this.#at = hi;
      if (hi >= n) {
        this.#width = this.#run;
        this.#at = 0;
      }
      return;
    }
    const a = this.#a, out = this.#b, w = this.#width, lo = this.#at;
    const mid = Math.min(n, lo + w), hi = Math.min(n, lo + 2 * w);
    if (this.#i < 0) {
      if (mid >= hi || cmp(a[mid - 1]!, a[mid]!) < 0) {
        out.set(a.subarray(lo, hi), lo); // already in order (or nothing to merge)
        this.#nextPair(hi);
        return;
      }
      this.#i = lo;
      this.#j = mid;
      this.#o = lo;
    }
    let i = this.#i, j = this.#j, o = this.#o;
    const stop = o + this.#step;
    while (i < mid && j < hi && o < stop) out[o++] = cmp(a[i]!, a[j]!) <= 0 ? a[i++]! : a[j++]!;
    if (i < mid && j < hi) {
      this.#i = i;
      this.#j = j;
      this.#o = o;
      return;
    }
    if (i < mid) out.set(a.subarray(i, mid), o);
    else if (j < hi) out.set(a.subarray(j, hi), o);
    this.#i = -1;
    this.#nextPair(hi);
  }

  #nextPair(hi: number): void {
    this.#at = hi;
    if (hi >= this.#n) {
      [this.#a, this.#b] = [this.#b, this.#a];
      this.#width = 2 * this.#width;
      this.#at = 0;
    }
  }
}
