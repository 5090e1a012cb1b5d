/**
 * Connection filters with conntrack-tools' meaning: `-p`, `--state`, `-s/--src` and
 * `-d/--dst` (original direction, with an optional /prefix), `--sport`/`--dport` (original
 * direction), `--family`, `-m/--mark VALUE[/MASK]`, `-w/--zone`.
 *
 * A filter is checked against a record, without building an object.
 *
 * @module
 */

import {
  Has,
  IPPROTO,
  OFF,
  type Prefix,
  prefixContains,
  RECORD_SIZE,
  type RecordView,
  stateName,
} from "../conntrack/mod.ts";

/** Filter criteria; every one given must match. */
export interface Filter {
  proto?: number;
  states?: ReadonlySet<string>;
  src?: Prefix;
  dst?: Prefix;
  sport?: number;
  dport?: number;
  family?: 2 | 10;
  mark?: { value: number; mask: number };
  zone?: number;
}

/** Whether the filter has no criteria. */
export function isEmptyFilter(f: Filter): boolean {
  return Object.values(f).every((v) => v === undefined);
}

/** Whether record `i` of `v` matches `f`. */
export function matches(f: Filter, v: RecordView, i: number): boolean {
  const l4 = v.u8At(i, OFF.L4);
  const fam = v.u8At(i, OFF.FAMILY);
  if (f.proto !== undefined && l4 !== f.proto) return false;
  if (f.family !== undefined && fam !== f.family) return false;
  if (f.states !== undefined) {
    const name = stateName(l4, v.u8At(i, OFF.STATE));
    if (name === undefined || !f.states.has(name)) return false;
  }
  const base = i * RECORD_SIZE;
  if (f.src !== undefined && !prefixContains(f.src, fam, v.u8, base + OFF.ORIG_SRC)) return false;
  if (f.dst !== undefined && !prefixContains(f.dst, fam, v.u8, base + OFF.ORIG_DST)) return false;
  if (f.sport !== undefined || f.dport !== undefined) {
    const hasPorts = v.has(i, Has.PORTS) && l4 !== IPPROTO.GRE;
    if (!hasPorts) return false;
    if (f.sport !== undefined && v.u16At(i, OFF.ORIG_SPORT) !== f.sport) return false;
    if (f.dport !== undefined && v.u16At(i, OFF.ORIG_DPORT) !== f.dport) return false;
  }
  if (f.mark !== undefined && ((v.u32At(i, OFF.MARK) & f.mark.mask) >>> 0) !== f.mark.value) {
    return false;
  }
  if (f.zone !== undefined && (v.has(i, Has.ZONE) ? v.u16At(i, OFF.ZONE) : 0) !== f.zone) {
    return false;
  }
  return true;
}
