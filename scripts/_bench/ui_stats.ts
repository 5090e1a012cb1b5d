/**
 * Percentiles for the UI benchmark's latencies. Pure functions: no I/O.
 *
 * @module
 */

/**
 * The `p`-th percentile of `xs` by nearest rank (the smallest value with at least `p` % of the
 * sample at or below it): with 100 values, p99 is the second largest. NaN when empty.
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(s.length, rank) - 1]!;
}

/** A latency sample: its size, median, 99th percentile and maximum, and the values. */
export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  max: number;
  values: number[];
}

/** Summarises `xs` by percentiles. */
export function percentiles(xs: readonly number[]): Percentiles {
  return {
    n: xs.length,
    p50: percentile(xs, 50),
    p99: percentile(xs, 99),
    max: xs.length === 0 ? NaN : Math.max(...xs),
    values: [...xs],
  };
}
