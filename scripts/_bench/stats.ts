/**
 * The few statistics the benchmark reports. Pure functions: no I/O.
 *
 * @module
 */

/** The median of `xs` (NaN when empty). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The arithmetic mean of `xs` (NaN when empty). */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** The largest of `xs` (NaN when empty). */
export function max(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => (b > a ? b : a));
}

/** The smallest of `xs` (NaN when empty). */
export function min(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => (b < a ? b : a));
}

/** Differences between consecutive values of `xs`. */
export function gaps(xs: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < xs.length; i++) out.push(xs[i]! - xs[i - 1]!);
  return out;
}

/** Summary of a sample: median, min and max, and the values themselves. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  values: number[];
}

/** Summarises `xs`. */
export function summarize(xs: readonly number[]): Summary {
  return { median: median(xs), min: min(xs), max: max(xs), values: [...xs] };
}
