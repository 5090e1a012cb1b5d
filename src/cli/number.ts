/**
 * The one number parser of the command line: every integer option (ports, counts, zones, marks,
 * sizes, limits) goes through {@linkcode parseInteger}, every duration or factor through
 * {@linkcode parseDecimal}, so that `--port 0x50` and `--sport 0x50` mean the same and a bad
 * value gets the same one-line error whichever option it was given to.
 *
 * Integers are decimal digits or `0x` hex digits, nothing else: no sign, no spaces, no `_`, no
 * exponent, no fraction (conntrack(8) takes marks in hex, so hex is accepted everywhere).
 * Decimals are digits with at most one point that has digits after it (`0.5`, `.5`, `2`).
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** How a value is described in the error message. */
export interface NumberOptions {
  /** The text quoted as "got '…'" (default: the value itself), e.g. a whole `VALUE/MASK`. */
  whole?: string;
  /** What was expected (default: "an integer from MIN to MAX"). */
  what?: string;
}

const INTEGER = /^(?:0[xX]([0-9a-fA-F]+)|([0-9]+))$/;
const DECIMAL = /^(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)$/;

/**
 * `text` as an integer in [`min`, `max`]. Throws {@linkcode UsageError}
 * "Invalid value for OPTION: expected …, got 'TEXT'".
 */
export function parseInteger(
  option: string,
  text: string,
  min: number,
  max: number,
  options: NumberOptions = {},
): number {
  const m = INTEGER.exec(text);
  const n = m === null ? NaN : m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
  if (!(n >= min && n <= max)) {
    const what = options.what ?? `an integer from ${min} to ${max}`;
    throw new UsageError(
      `Invalid value for ${option}: expected ${what}, got '${options.whole ?? text}'`,
    );
  }
  return n;
}

/**
 * `text` as a decimal number in [`min`, `max`]; `what` names it in the error
 * (e.g. "seconds between 0.05 and 3600"). Throws {@linkcode UsageError}.
 */
export function parseDecimal(
  option: string,
  text: string,
  min: number,
  max: number,
  what: string,
): number {
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(`Invalid value for ${option}: expected ${what}, got '${text}'`);
  }
  return n;
}

/** Seconds in [`min`, `max`] as whole milliseconds. Throws {@linkcode UsageError}. */
export function parseSeconds(option: string, text: string, min: number, max: number): number {
  return Math.round(
    parseDecimal(option, text, min, max, `seconds between ${min} and ${max}`) * 1000,
  );
}
