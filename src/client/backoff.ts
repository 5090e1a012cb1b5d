/**
 * The delays between attempts to reach a server again: exponential (0.5 s doubling up to 10 s
 * by default) with jitter, so that many clients of a restarted server do not all knock at the
 * same instant.
 *
 * @example
 * ```ts
 * import { Backoff } from "./backoff.ts";
 *
 * const backoff = new Backoff({ random: () => 0.5 });
 * backoff.next(); // 500
 * backoff.next(); // 1000
 * backoff.reset();
 * backoff.next(); // 500
 * ```
 *
 * @module
 */

/** Options of {@linkcode Backoff}. */
export interface BackoffOptions {
  /** The first delay, ms (default 500). */
  initialMs?: number;
  /** The largest delay, ms (default 10 000). */
  maxMs?: number;
  /** Each delay is the nominal one times 1 ± `jitter` (default 0.2). */
  jitter?: number;
  /** A source of numbers in [0, 1) (tests fix it; default Math.random). */
  random?: () => number;
}

/** Exponential backoff with jitter. */
export class Backoff {
  #initial: number;
  #max: number;
  #jitter: number;
  #random: () => number;
  #nominal: number;
  #attempts = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialMs ?? 500;
    this.#max = options.maxMs ?? 10_000;
    this.#jitter = options.jitter ?? 0.2;
    this.#random = options.random ?? Math.random;
    this.#nominal = this.#initial;
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The delay before the next attempt, in ms; each call doubles the nominal delay. */
  next(): number {
    const nominal = this.#nominal;
    this.#nominal = Math.min(this.#max, this.#nominal * 2);
    this.#attempts++;
    const factor = 1 + this.#jitter * (2 * this.#random() - 1);
    return Math.round(Math.min(this.#max, nominal * factor));
  }

  /** Starts over from the first delay (after a connection that worked). */
  reset(): void {
    this.#nominal = this.#initial;
    this.#attempts = 0;
  }
}
