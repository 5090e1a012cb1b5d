/**
 * The rows of the connection list: which connections show (the command line's filter and the
 * `\` text filter) and in what order (the sort keys, or the order locked with `L`).
 *
 * Built from the records for the whole table at once, with typed arrays: sort keys are numbers
 * read straight from the records, and the only objects made are the search texts, cached per
 * slot and rebuilt only for connections that changed.
 *
 * @module
 */

import { IPS_DST_NAT, IPS_SRC_NAT, OFF, type RecordView } from "../conntrack/mod.ts";
import type { Filter } from "../core/mod.ts";
import type { ConnectionModel } from "../model/mod.ts";
import { isEmptyFilter } from "../core/mod.ts";
import { recordText } from "../engine/mod.ts";
import { type ColumnDef, COLUMNS, type SortContext } from "./columns.ts";
import type { SortKey } from "./settings.ts";

/** What decides the rows. */
export interface RowQuery {
  sort: SortKey;
  sort2: SortKey | null;
  /** The command line's filter. */
  filter?: Filter;
  /** Text filter (`\`), matched case-insensitively against {@linkcode SearchTexts}; "" = none. */
  text: string;
  /** Keep the current order: rows that stay keep their place, new ones are added at the end. */
  locked: boolean;
  /** What enrichment sort keys read. */
  ctx?: SortContext;
}

/**
 * The searchable text of each connection (protocol, state, both endpoints, NAT addresses, and
 * what enrichment adds), lower-case, cached per slot. Call {@linkcode SearchTexts.invalidate} for every slot a batch
 * touched.
 */
export class SearchTexts {
  #texts: (string | undefined)[] = [];
  #extra: ((model: ConnectionModel, slot: number) => string) | undefined;

  /** `extra` adds text that is not in the record (hostnames, countries, process). */
  constructor(extra?: (model: ConnectionModel, slot: number) => string) {
    this.#extra = extra;
  }

  /** Forgets the text of `slot`. */
  invalidate(slot: number): void {
    this.#texts[slot] = undefined;
  }

  /** Forgets every text (new enrichment answers arrived). */
  invalidateAll(): void {
    this.#texts = [];
  }

  /** The text of the connection in `slot`. */
  get(model: ConnectionModel, slot: number): string {
    let t = this.#texts[slot];
    if (t === undefined) {
      t = searchText(model, slot);
      if (this.#extra !== undefined) t += " " + this.#extra(model, slot).toLowerCase();
      this.#texts[slot] = t;
    }
    return t;
  }
}

function searchText(model: ConnectionModel, slot: number): string {
  return recordText(model.page(slot), model.index(slot));
}

/** The ordered rows: slot numbers and the kernel id each slot had when placed. */
export class RowList {
  #slots: Uint32Array = new Uint32Array(0);
  #ids: Uint32Array = new Uint32Array(0);
  #n = 0;
  /** Sum of the listed connections' rates at the last update, bytes per second. */
  txRate = 0;
  rxRate = 0;
  /** How many listed connections are translated (SNAT or DNAT) at the last update. */
  natCount = 0;

  /** Number of rows. */
  get length(): number {
    return this.#n;
  }

  /** The slot shown at `row`. */
  slot(row: number): number {
    return this.#slots[row]!;
  }

  /** The row showing `slot`, or -1. */
  indexOf(slot: number): number {
    const s = this.#slots;
    for (let r = 0; r < this.#n; r++) if (s[r] === slot) return r;
    return -1;
  }

  /** The slots in row order (a copy). */
  toArray(): number[] {
    return Array.from(this.#slots.subarray(0, this.#n));
  }

  /** Recomputes the rows from the model. */
  update(model: ConnectionModel, q: RowQuery, texts: SearchTexts): void {
    const cli = q.filter !== undefined && !isEmptyFilter(q.filter) ? q.filter : undefined;
    const needle = q.text.toLowerCase();
    const keep = (s: number) =>
      (cli === undefined || model.matches(cli, s)) &&
      (needle === "" || texts.get(model, s).includes(needle));
    if (q.locked && this.#n > 0) this.#updateLocked(model, q, keep);
    else this.#updateSorted(model, q, keep);
    let tx = 0, rx = 0, nat = 0;
    for (let r = 0; r < this.#n; r++) {
      const s = this.#slots[r]!;
      const v = model.page(s), i = model.index(s);
      tx += v.f32At(i, OFF.TX_BPS);
      rx += v.f32At(i, OFF.RX_BPS);
      if (v.u32At(i, OFF.STATUS) & (IPS_SRC_NAT | IPS_DST_NAT)) nat++;
    }
    this.txRate = tx;
    this.rxRate = rx;
    this.natCount = nat;
  }

  #updateSorted(model: ConnectionModel, q: RowQuery, keep: (s: number) => boolean): void {
    const all = new Uint32Array(model.size);
    let n = 0;
    for (const s of model.slots()) if (keep(s)) all[n++] = s;
    this.#slots = sortSlots(model, all.subarray(0, n), q.sort, q.sort2, q.ctx);
    this.#n = n;
    this.#ids = idsOf(model, this.#slots, n);
  }

  // Rows that are still there (same slot, same kernel id, still matching) keep their order;
  // connections not yet listed are sorted among themselves and added at the end.
  #updateLocked(model: ConnectionModel, q: RowQuery, keep: (s: number) => boolean): void {
    const placed = new Set<number>();
    const out = new Uint32Array(model.size);
    let n = 0;
    for (let r = 0; r < this.#n; r++) {
      const s = this.#slots[r]!;
      if (!model.live(s) || model.id(s) !== this.#ids[r] || !keep(s)) continue;
      placed.add(s);
      out[n++] = s;
    }
    const fresh: number[] = [];
    for (const s of model.slots()) if (!placed.has(s) && keep(s)) fresh.push(s);
    const sorted = sortSlots(model, Uint32Array.from(fresh), q.sort, q.sort2, q.ctx);
    out.set(sorted, n);
    n += sorted.length;
    this.#slots = out.subarray(0, n);
    this.#n = n;
    this.#ids = idsOf(model, this.#slots, n);
  }
}

function idsOf(model: ConnectionModel, slots: Uint32Array, n: number): Uint32Array {
  const ids = new Uint32Array(n);
  for (let r = 0; r < n; r++) ids[r] = model.id(slots[r]!);
  return ids;
}

/**
 * `slots` ordered by `sort`, then `sort2`, then slot number (so equal rows keep their places
 * from one refresh to the next). Returns a new array.
 */
export function sortSlots(
  model: ConnectionModel,
  slots: Uint32Array,
  sort: SortKey,
  sort2: SortKey | null,
  ctx: SortContext = {},
): Uint32Array {
  const n = slots.length;
  const d1 = COLUMNS[sort.column], d2 = sort2 === null ? undefined : COLUMNS[sort2.column];
  // One array of exact numeric keys per level, by row: the column's key, then its further keys
  // (text columns: the rank of each row's text).
  const keys: Float64Array[] = [];
  const add = (d: ColumnDef, desc: boolean) => {
    const sign = desc ? -1 : 1;
    if (d.textKey !== undefined) {
      keys.push(textRanks(model, slots, d.textKey, ctx, sign));
      return;
    }
    keys.push(numberKeys(model, slots, (v, i) => d.key(v, i, ctx), sign));
    for (const m of d.more ?? []) keys.push(numberKeys(model, slots, m, sign));
  };
  add(d1, sort.desc);
  if (d2 !== undefined && sort2 !== null) add(d2, sort2.desc);
  const idx = new Uint32Array(n);
  for (let r = 0; r < n; r++) idx[r] = r;
  idx.sort(comparator(keys, slots));
  const out = new Uint32Array(n);
  for (let r = 0; r < n; r++) out[r] = slots[idx[r]!]!;
  return out;
}

function numberKeys(
  model: ConnectionModel,
  slots: Uint32Array,
  fn: (v: RecordView, i: number) => number,
  sign: number,
): Float64Array {
  const k = new Float64Array(slots.length);
  for (let r = 0; r < slots.length; r++) {
    const s = slots[r]!;
    k[r] = sign * fn(model.page(s), model.index(s));
  }
  return k;
}

// A text column as numbers: each distinct text's rank in code-point order (-1: missing). Texts
// are read once per row; only the distinct ones are sorted.
function textRanks(
  model: ConnectionModel,
  slots: Uint32Array,
  textKey: NonNullable<ColumnDef["textKey"]>,
  ctx: SortContext,
  sign: number,
): Float64Array {
  const n = slots.length;
  const texts: (string | null)[] = new Array(n);
  const rank = new Map<string, number>();
  for (let r = 0; r < n; r++) {
    const s = slots[r]!;
    const t = textKey(model.page(s), model.index(s), ctx);
    texts[r] = t;
    if (t !== null) rank.set(t, 0);
  }
  [...rank.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).forEach((t, i) => rank.set(t, i));
  const k = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const t = texts[r]!;
    k[r] = sign * (t === null ? -1 : rank.get(t)!);
  }
  return k;
}

// -1, 0 or 1; equal infinities (missing values) compare equal.
function cmp(x: number, y: number): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

type Cmp = (a: number, b: number) => number;

// The comparator for these key levels, then the slot. Written out per number of levels: a
// comparator without a loop or repeated levels is what keeps a quarter-million-row sort fast
// (an idle table ties on every level, so every level costs).
function comparator(keys: Float64Array[], slots: Uint32Array): Cmp {
  const [a1, a2, a3, a4, a5, a6] = keys;
  const last: Cmp = (a, b) => slots[a]! - slots[b]!;
  const level = (k: Float64Array, next: Cmp): Cmp => (a, b) => cmp(k[a]!, k[b]!) || next(a, b);
  switch (keys.length) {
    case 1:
      return (a, b) => cmp(a1![a]!, a1![b]!) || slots[a]! - slots[b]!;
    case 2:
      return (a, b) => cmp(a1![a]!, a1![b]!) || cmp(a2![a]!, a2![b]!) || slots[a]! - slots[b]!;
    case 3:
      return (a, b) =>
        cmp(a1![a]!, a1![b]!) || cmp(a2![a]!, a2![b]!) || cmp(a3![a]!, a3![b]!) ||
        slots[a]! - slots[b]!;
    case 4:
      return (a, b) =>
        cmp(a1![a]!, a1![b]!) || cmp(a2![a]!, a2![b]!) || cmp(a3![a]!, a3![b]!) ||
        cmp(a4![a]!, a4![b]!) || slots[a]! - slots[b]!;
    default: {
      // Five or six levels: both keys are addresses, a rare choice; nested is fast enough.
      let f = last;
      for (const k of [a6, a5, a4, a3, a2, a1]) if (k !== undefined) f = level(k, f);
      return f;
    }
  }
}
