/**
 * A small seeded pseudo-random generator (mulberry32) for the tests and the benchmark: the same
 * cases, tables and key timings on every run, and a failure that can be replayed from its seed.
 * Not for anything that must be unpredictable.
 *
 * @example
 * ```ts
 * import { prng } from "./prng.ts";
 *
 * const rand = prng(1);
 * rand(); // a number in [0, 1), the same for seed 1 on every run
 * ```
 *
 * @module
 */

/** A generator of numbers in [0, 1), deterministic for `seed`. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
