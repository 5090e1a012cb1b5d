/**
 * `--sort` and `--reverse` as sort levels over the records, with the monitor's own sort keys
 * (so `--once --sort rate` orders as the monitor sorted on RATE/s does), each column in the
 * direction a first click sorts it in: numbers biggest first, names A to Z.
 *
 * @module
 */

import { type ColumnId, SORT_KEYS, type SortContext } from "../engine/mod.ts";
import type { SortLevel } from "./once_rows.ts";

/** Columns whose keys read enrichment answers: sorting on them waits for the answers. */
export const ENRICHED_SORT: ReadonlySet<ColumnId> = new Set([
  "src_host",
  "dst_host",
  "src_country",
  "dst_country",
  "src_asn",
  "dst_asn",
  "src_org",
  "dst_org",
  "src_city",
  "dst_city",
  "src_class",
  "dst_class",
]);

/** The levels of `--sort COLUMNS` (`reverse`: each the other way round). */
export function sortLevels(
  columns: readonly ColumnId[],
  reverse: boolean,
  ctx: SortContext,
): SortLevel[] {
  const levels: SortLevel[] = [];
  for (const id of columns) {
    const d = SORT_KEYS[id];
    const desc = d.defaultDesc !== reverse;
    const textKey = d.textKey;
    if (textKey !== undefined) {
      levels.push({ text: (v, i) => textKey(v, i, ctx), desc });
      continue;
    }
    levels.push({ num: (v, i) => d.key(v, i, ctx), desc });
    for (const m of d.more ?? []) levels.push({ num: m, desc });
  }
  return levels;
}
