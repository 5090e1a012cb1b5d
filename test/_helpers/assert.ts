/**
 * The assertions tests use, in the spirit of @std/assert (which lives on JSR, unreachable
 * here), built on node:assert so failures show a diff.
 *
 * @module
 */

import nodeAssert from "node:assert/strict";

/** Asserts `cond` is truthy. */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Deep strict inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg);
}

/** `actual` within `tolerance` of `expected` (absolute; default 1e-7 relative to expected). */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance?: number,
  msg?: string,
): void {
  const tol = tolerance ?? Math.max(1e-7, Math.abs(expected) * 1e-7);
  if (!(Math.abs(actual - expected) <= tol)) {
    nodeAssert.fail(msg ?? `Expected ${actual} to be within ${tol} of ${expected}`);
  }
}

/** `text` matches `re`. */
export function assertMatch(text: string, re: RegExp, msg?: string): void {
  nodeAssert.match(text, re, msg);
}

/** `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, msg?: string): void {
  if (!text.includes(part)) {
    nodeAssert.fail(msg ?? `Expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`);
  }
}

/** `fn` throws an error of class `cls` whose message includes `includes`. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => E,
  includes?: string,
): E {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof cls)) nodeAssert.fail(`Expected ${cls.name}, got ${err}`);
    if (includes !== undefined) assertStringIncludes(err.message, includes);
    return err;
  }
  return nodeAssert.fail(`Expected ${cls.name} to be thrown`);
}

/** `fn` rejects with an error of class `cls` whose message includes `includes`. */
export async function assertRejects<E extends Error>(
  fn: () => PromiseLike<unknown>,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof cls)) nodeAssert.fail(`Expected ${cls.name}, got ${err}`);
    if (includes !== undefined) assertStringIncludes(err.message, includes);
    return err;
  }
  return nodeAssert.fail(`Expected ${cls.name} to be rejected`);
}
