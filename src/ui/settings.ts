/**
 * The settings a user keeps between runs — visible columns, their order and widths, the sort,
 * and the toggles — with their defaults and the check that turns a config file's contents into
 * settings. A bad field falls back to its default on its own, with a warning; it never costs
 * the rest of the file.
 *
 * @module
 */

import { type ColumnId, COLUMNS, DEFAULT_COLUMNS, isColumnId } from "./columns.ts";
import type { SortKey } from "../engine/mod.ts";

export type { SortKey } from "../engine/mod.ts";

/** A column on screen and its width. */
export interface ColumnSetting {
  id: ColumnId;
  width: number;
}

/** What is stored in the config file. */
export interface Settings {
  /** Visible columns in order. */
  columns: ColumnSetting[];
  sort: SortKey;
  /** Orders rows the primary key leaves equal. */
  sort2: SortKey | null;
  /** Highlight bar on a row (c). */
  cursor: boolean;
  /** Hostnames instead of addresses (H). */
  hostnames: boolean;
  /** Service names instead of ports (P). */
  services: boolean;
  /** The view mode (F7/F8). */
  mode: string;
  /**
   * NAT shows by itself while a listed connection is translated (when it is not among
   * `columns`); hiding it in the columns dialog turns this off.
   */
  autoNat: boolean;
}

/** Narrowest and widest a column may be set. */
export const MIN_WIDTH = 3;
export const MAX_WIDTH = 80;

/** The view modes F7/F8 cycle through (enrichment and aggregation add more). */
export const MODES = ["connections"] as const;

/** Fresh default settings. */
export function defaultSettings(): Settings {
  return {
    columns: DEFAULT_COLUMNS.map((id) => ({ id, width: COLUMNS[id].width })),
    sort: { column: "rate", desc: true },
    sort2: { column: "tx_bytes", desc: true },
    cursor: true,
    hostnames: true,
    services: true,
    mode: "connections",
    autoNat: true,
  };
}

/**
 * The columns on screen: the chosen ones, and NAT when it shows by itself (`autoNat`) and
 * some listed connection is translated — after RATE/s, or DPORT, or at the end.
 */
export function shownColumns(s: Settings, natListed: boolean): ColumnSetting[] {
  if (!s.autoNat || !natListed || s.columns.some((c) => c.id === "nat")) return s.columns;
  const after = ["rate", "dport"].map((id) => s.columns.findIndex((c) => c.id === id))
    .find((i) => i >= 0) ?? s.columns.length - 1;
  const out = [...s.columns];
  out.splice(after + 1, 0, { id: "nat", width: COLUMNS.nat.width });
  return out;
}

function sortKey(x: unknown): SortKey | undefined {
  if (typeof x !== "object" || x === null) return undefined;
  const o = x as Record<string, unknown>;
  if (!isColumnId(o.column) || typeof o.desc !== "boolean") return undefined;
  return { column: o.column, desc: o.desc };
}

/**
 * Settings from a config file's JSON object: every valid field is taken, every invalid one
 * keeps its default and adds a warning naming it.
 */
export function settingsFromJson(
  data: Record<string, unknown>,
): { settings: Settings; warnings: string[] } {
  const s = defaultSettings();
  const warnings: string[] = [];
  const bad = (field: string) => warnings.push(`Config field '${field}' is invalid; using default`);
  if ("columns" in data) {
    const cols = data.columns;
    const out: ColumnSetting[] = [];
    const seen = new Set<string>();
    if (Array.isArray(cols)) {
      for (const c of cols) {
        const o = (typeof c === "object" && c !== null ? c : {}) as Record<string, unknown>;
        if (!isColumnId(o.id) || seen.has(o.id)) continue;
        seen.add(o.id);
        const w = typeof o.width === "number" && Number.isInteger(o.width)
          ? Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, o.width))
          : COLUMNS[o.id].width;
        out.push({ id: o.id, width: w });
      }
    }
    if (out.length > 0) s.columns = out;
    else bad("columns");
  }
  if ("sort" in data) {
    const k = sortKey(data.sort);
    if (k) s.sort = k;
    else bad("sort");
  }
  if ("sort2" in data) {
    const k = data.sort2 === null ? null : sortKey(data.sort2);
    if (k !== undefined) s.sort2 = k;
    else bad("sort2");
  }
  // The secondary key orders what the primary leaves equal: the same column would do nothing.
  if (s.sort2?.column === s.sort.column) {
    const fallback = defaultSettings().sort2;
    s.sort2 = fallback?.column === s.sort.column ? null : fallback;
    if ("sort2" in data) bad("sort2");
  }
  for (const f of ["cursor", "hostnames", "services", "autoNat"] as const) {
    if (!(f in data)) continue;
    const v = data[f];
    if (typeof v === "boolean") s[f] = v;
    else bad(f);
  }
  if ("mode" in data) {
    if ((MODES as readonly unknown[]).includes(data.mode)) s.mode = data.mode as string;
    else bad("mode");
  }
  return { settings: s, warnings };
}

/** The JSON object to store (plain data, stable key order). */
export function settingsToJson(s: Settings): Record<string, unknown> {
  return {
    columns: s.columns.map((c) => ({ id: c.id, width: c.width })),
    sort: { column: s.sort.column, desc: s.sort.desc },
    sort2: s.sort2 === null ? null : { column: s.sort2.column, desc: s.sort2.desc },
    cursor: s.cursor,
    hostnames: s.hostnames,
    services: s.services,
    mode: s.mode,
    autoNat: s.autoNat,
  };
}
