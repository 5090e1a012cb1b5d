/**
 * Admission: how many connections the server holds at once (--max-clients, counting those still
 * in their handshake, so a flood of silent connections cannot pile up either), and which source
 * addresses are refused for a while after repeated failed handshakes (wrong token, bad hello,
 * no hello in time, failed TLS handshake).
 *
 * Pure bookkeeping with an injected clock; no I/O.
 *
 * @module
 */

/** Limits of {@linkcode Admission}. */
export interface AdmissionOptions {
  /** Connections held at once. */
  maxClients: number;
  /** Failed handshakes from one address within `windowMs` that get it refused. */
  maxFailures?: number;
  /** The window failures are counted in, ms. */
  windowMs?: number;
  /** How long an address stays refused, ms. */
  banMs?: number;
  /** Addresses remembered at most (the oldest are forgotten first). */
  maxAddresses?: number;
  /** The clock, ms. */
  now?: () => number;
}

/** Why a connection is refused, as a `bye` reason. */
export type Refusal = "server_full" | "rate_limited";

interface Record {
  /** Times of recent failures, oldest first. */
  failures: number[];
  /** Refused until then (0: not refused). */
  bannedUntil: number;
}

/** Decides whether a new connection is taken. */
export class Admission {
  #max: number;
  #maxFailures: number;
  #windowMs: number;
  #banMs: number;
  #maxAddresses: number;
  #now: () => number;
  #open = 0;
  // Insertion-ordered: the first entries are the least recently touched.
  #addresses = new Map<string, Record>();

  constructor(opts: AdmissionOptions) {
    this.#max = opts.maxClients;
    this.#maxFailures = opts.maxFailures ?? 5;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#banMs = opts.banMs ?? 60_000;
    this.#maxAddresses = opts.maxAddresses ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Connections held now. */
  get open(): number {
    return this.#open;
  }

  /**
   * Takes a connection from `address` (counted until {@linkcode Admission.release}), or says
   * why not. A refused connection is not counted.
   */
  admit(address: string): Refusal | undefined {
    const r = this.#addresses.get(address);
    if (r !== undefined && r.bannedUntil > this.#now()) return "rate_limited";
    if (this.#open >= this.#max) return "server_full";
    this.#open++;
    return undefined;
  }

  /** A connection taken by {@linkcode Admission.admit} has ended. */
  release(): void {
    if (this.#open > 0) this.#open--;
  }

  /**
   * A handshake from `address` failed; returns true when this failure got the address refused
   * (from now on, for the ban's length).
   */
  fail(address: string): boolean {
    const now = this.#now();
    let r = this.#addresses.get(address);
    if (r === undefined) {
      r = { failures: [], bannedUntil: 0 };
      if (this.#addresses.size >= this.#maxAddresses) this.#forgetOldest(now);
    } else {
      this.#addresses.delete(address);
    }
    this.#addresses.set(address, r);
    r.failures = r.failures.filter((t) => t > now - this.#windowMs);
    r.failures.push(now);
    if (r.failures.length >= this.#maxFailures && r.bannedUntil <= now) {
      r.bannedUntil = now + this.#banMs;
      r.failures = [];
      return true;
    }
    return false;
  }

  /** Whether `address` is refused now. */
  banned(address: string): boolean {
    return (this.#addresses.get(address)?.bannedUntil ?? 0) > this.#now();
  }

  // Forgets addresses with nothing recent, else the least recently touched one.
  #forgetOldest(now: number): void {
    for (const [a, r] of this.#addresses) {
      if (r.bannedUntil <= now && r.failures.every((t) => t <= now - this.#windowMs)) {
        this.#addresses.delete(a);
      }
    }
    if (this.#addresses.size >= this.#maxAddresses) {
      const first = this.#addresses.keys().next();
      if (!first.done) this.#addresses.delete(first.value);
    }
  }
}

/**
 * The key failures are counted under for a remote address: IPv4-mapped IPv6 addresses (from a
 * dual-stack listener) count as their IPv4 address.
 */
export function addressKey(hostname: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(hostname);
  return m === null ? hostname.toLowerCase() : m[1]!;
}
