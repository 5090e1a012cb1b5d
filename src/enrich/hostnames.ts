/**
 * Reverse DNS for the enrichment worker: a name for each address, found with the system's
 * resolver (getnameinfo, so /etc/hosts and nsswitch.conf apply, as for `ss -r`), cached with
 * positive and negative lifetimes, with a bounded cache, bounded concurrency, a bounded queue and
 * a per-lookup timeout. Each final result is reported through `onResult` as it arrives.
 *
 * It runs in a Web Worker and never on the UI thread: the lookups themselves run on Deno's
 * blocking threads (nonblocking FFI), but results, timers and callbacks belong to the thread
 * that owns the resolver.
 *
 * ## Timeouts and stuck calls
 *
 * A lookup that has not returned within `timeoutMs` is reported as "timeout". The C call cannot
 * be cancelled: it goes on in the background (glibc gives up on a silent server only after
 * `timeout × attempts` of resolv.conf, 10 s by default) and holds a thread until it returns.
 * Such a call is "stuck". The rules that keep a dead DNS server from exhausting threads while
 * every request still gets an answer promptly:
 *
 * 1. Every call counts in `inFlight` until it really returns; at most one call per address.
 * 2. A new call starts only while `inFlight - min(stuck, maxStuck) < concurrency`: up to
 *    `maxStuck` stuck calls are set aside so that a few slow reverse zones do not hold up the
 *    rest, and every stuck call beyond them keeps its slot. So there are never more than
 *    `concurrency + maxStuck` threads in lookups, however long the server stays silent.
 * 3. While the stuck allowance is used up (`stuck >= maxStuck`, at least one), a queued request
 *    that has waited `timeoutMs` is reported "timeout" without a call: with a dead server every
 *    request is answered within about `timeoutMs` of being asked, while no more threads are
 *    spent on it. When a stuck call returns its slot is free again and the queue moves on.
 * 4. A stuck call that returns late with a name or a definite "not found" replaces its
 *    "timeout" entry (and is reported); a late failure is dropped.
 *
 * ## Quitting
 *
 * Nothing here is ever awaited on the way out, and {@linkcode HostnameResolver.close} only
 * forgets. Deno does wait for nonblocking FFI calls still running when a thread's event loop
 * runs dry, so the thread that owns a resolver must end with `Deno.exit()` or be ended with
 * `worker.terminate()`: neither waits (test/enrich/hostnames_dns_test.ts shows both, and that
 * simply returning does wait).
 *
 * Requires `--allow-ffi` for the default lookup.
 *
 * @example Resolve with a lookup of one's own
 * ```ts
 * import { HostnameResolver } from "./hostnames.ts";
 *
 * const resolver = new HostnameResolver({
 *   lookup: (_family, bytes) => Promise.resolve(bytes[3] === 1 ? "one.example" : -2),
 *   onResult: (address, entry) => console.log(address, entry),
 * });
 * resolver.get("192.0.2.1"); // { status: "pending" }
 * // soon after: onResult("192.0.2.1", { status: "resolved", name: "one.example" })
 * ```
 *
 * @module
 */

import { AF_INET, AF_INET6, EaiError, gaiStrerror, lookupName } from "../../ffi/libc.ts";
import { parseAddress } from "../conntrack/mod.ts";
import type { HostEntry } from "../core/mod.ts";

/**
 * A reverse lookup of 4 (IPv4) or 16 (IPv6) address bytes: the name, or a negative EAI_* code
 * of glibc when there is none or the lookup failed.
 */
export type ReverseLookup = (family: 4 | 6, bytes: Uint8Array) => Promise<string | number>;

/** Options of {@linkcode HostnameResolver}. */
export interface HostnameResolverOptions {
  /** The lookup; default getnameinfo(NI_NAMEREQD) through the C library, run off-thread. */
  lookup?: ReverseLookup;
  /** How long a name is kept, in ms (default 30 minutes). */
  positiveTtlMs?: number;
  /** How long "not-found" is kept, in ms (default 5 minutes). */
  negativeTtlMs?: number;
  /** How long "failed" and "timeout" are kept before asking again, in ms (default 1 minute). */
  failureTtlMs?: number;
  /** Most results kept; the least recently used go first (default 100 000). */
  maxEntries?: number;
  /** Lookups waited on at once (default 16); see the module's rules on stuck calls. */
  concurrency?: number;
  /**
   * Timed-out calls still running that do not count against `concurrency` (default 16); those
   * beyond keep their slot until they return. 0 makes every stuck call keep its slot.
   */
  maxStuck?: number;
  /**
   * Requests kept waiting for a slot (default 4096); beyond it the least recently requested are
   * dropped, to be asked again when still needed.
   */
  maxQueue?: number;
  /** How long a lookup may take before it is reported as "timeout", in ms (default 2000). */
  timeoutMs?: number;
  /**
   * The clock of the cache lifetimes, in ms (default `performance.now`). Timeouts run on real
   * timers whatever this clock says.
   */
  now?: () => number;
  /**
   * Called with each final result as it arrives (never with "pending"). It must not throw;
   * asking the resolver again from inside it is fine.
   */
  onResult?: (address: string, entry: HostEntry) => void;
}

/** Counters of {@linkcode HostnameResolver.stats}. */
export interface HostnameStats {
  /** Results in the cache, expired ones included until they are replaced or evicted. */
  entries: number;
  /** Addresses asked for (by `get` or `request`) that had a fresh result. */
  hits: number;
  /** Addresses asked for that needed a lookup: unknown, expired or evicted. */
  misses: number;
  /** Calls running, stuck ones included. */
  inFlight: number;
  /** Calls running past their timeout. */
  stuck: number;
  /** Requests waiting for a slot. */
  queued: number;
  /** Results reported as "timeout", of calls and of queued requests alike. */
  timeouts: number;
}

const MINUTE = 60_000;
const DEFAULTS = {
  positiveTtlMs: 30 * MINUTE,
  negativeTtlMs: 5 * MINUTE,
  failureTtlMs: MINUTE,
  maxEntries: 100_000,
  concurrency: 16,
  maxStuck: 16,
  maxQueue: 4096,
  timeoutMs: 2000,
} as const;

const PENDING: HostEntry = Object.freeze({ status: "pending" });
const NOT_FOUND: HostEntry = Object.freeze({ status: "not-found" });
const TIMEOUT: HostEntry = Object.freeze({ status: "timeout" });

/** A result and when it expires, on the resolver's clock. */
interface CacheRecord {
  readonly entry: HostEntry;
  readonly expires: number;
}

/** What a lookup needs: the family and the bytes the C library gets. */
interface Target {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** A call to the lookup that has not returned yet. */
interface Call {
  readonly address: string;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The "timeout" record it left in the cache once it timed out. */
  timeoutRecord: CacheRecord | undefined;
}

/** A request waiting for a slot, in a list ordered from most to least recently requested. */
interface Waiting {
  readonly address: string;
  readonly target: Target;
  /** When it was first requested (performance.now()); the queue deadline counts from here. */
  readonly since: number;
  newer: Waiting | undefined;
  older: Waiting | undefined;
}

/**
 * The requests waiting for a slot. Served newest first (the rows on screen now), dropped oldest
 * first; the map keeps first-request order, so the earliest queue deadline is its first entry.
 */
class RequestQueue {
  #byAddress = new Map<string, Waiting>();
  #newest: Waiting | undefined;
  #oldest: Waiting | undefined;

  get size(): number {
    return this.#byAddress.size;
  }

  has(address: string): boolean {
    return this.#byAddress.has(address);
  }

  /** Puts a new request in front, or moves a waiting one there (keeping its deadline). */
  pushNewest(address: string, target: Target | null, since: number): void {
    let item = this.#byAddress.get(address);
    if (item !== undefined) {
      this.#unlink(item);
    } else if (target !== null) {
      item = { address, target, since, newer: undefined, older: undefined };
      this.#byAddress.set(address, item);
    } else {
      return;
    }
    item.older = this.#newest;
    if (this.#newest !== undefined) this.#newest.newer = item;
    this.#newest = item;
    this.#oldest ??= item;
  }

  /** Takes the most recently requested. */
  takeNewest(): Waiting | undefined {
    const item = this.#newest;
    if (item !== undefined) this.#remove(item);
    return item;
  }

  /** Drops the least recently requested. */
  dropOldest(): void {
    if (this.#oldest !== undefined) this.#remove(this.#oldest);
  }

  /** The request first asked for, whose deadline comes first. */
  firstAsked(): Waiting | undefined {
    for (const item of this.#byAddress.values()) return item;
    return undefined;
  }

  remove(item: Waiting): void {
    this.#remove(item);
  }

  clear(): void {
    this.#byAddress.clear();
    this.#newest = this.#oldest = undefined;
  }

  #remove(item: Waiting): void {
    this.#unlink(item);
    this.#byAddress.delete(item.address);
  }

  #unlink(item: Waiting): void {
    if (item.newer !== undefined) item.newer.older = item.older;
    else this.#newest = item.older;
    if (item.older !== undefined) item.older.newer = item.newer;
    else this.#oldest = item.newer;
    item.newer = item.older = undefined;
  }
}

/**
 * A caching reverse-DNS resolver with bounded resources; see the module documentation for how
 * it treats timeouts and calls that never return.
 *
 * @example
 * ```ts ignore
 * using resolver = new HostnameResolver({ onResult: (address, entry) => send(address, entry) });
 * resolver.request(visibleAddresses);
 * ```
 */
export class HostnameResolver implements Disposable {
  #lookup: ReverseLookup;
  #positiveTtlMs: number;
  #negativeTtlMs: number;
  #failureTtlMs: number;
  #maxEntries: number;
  #concurrency: number;
  #maxStuck: number;
  #maxQueue: number;
  #timeoutMs: number;
  #now: () => number;
  #onResult: ((address: string, entry: HostEntry) => void) | undefined;

  /** Results, least recently used first. */
  #cache = new Map<string, CacheRecord>();
  #queue = new RequestQueue();
  #calls = new Map<string, Call>();
  #stuck = 0;
  #hits = 0;
  #misses = 0;
  #timeouts = 0;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #pumping = false;
  #pumpAgain = false;
  #closed = false;

  /**
   * Makes a resolver; nothing is looked up until an address is asked for.
   *
   * @param options Lookup, lifetimes, bounds, clock and result callback.
   * @throws {RangeError} When a bound or lifetime is out of range.
   */
  constructor(options: HostnameResolverOptions = {}) {
    this.#lookup = options.lookup ?? systemLookup;
    this.#positiveTtlMs = atLeast("positiveTtlMs", options.positiveTtlMs, 0);
    this.#negativeTtlMs = atLeast("negativeTtlMs", options.negativeTtlMs, 0);
    this.#failureTtlMs = atLeast("failureTtlMs", options.failureTtlMs, 0);
    this.#maxEntries = atLeast("maxEntries", options.maxEntries, 1);
    this.#concurrency = atLeast("concurrency", options.concurrency, 1);
    this.#maxStuck = atLeast("maxStuck", options.maxStuck, 0);
    this.#maxQueue = atLeast("maxQueue", options.maxQueue, 1);
    this.#timeoutMs = atLeast("timeoutMs", options.timeoutMs, 1);
    this.#now = options.now ?? (() => performance.now());
    this.#onResult = options.onResult;
  }

  /**
   * The current entry for an address as conntop prints it ("10.0.0.1", "2001:db8::1"). When
   * there is no fresh result, a lookup is queued in front (unless one is waiting or running) and
   * "pending" is returned; text that is no address is "failed" at once. While a stuck call for
   * the address is still running, its "timeout" entry is returned even once expired, since no
   * second call is made. After {@linkcode HostnameResolver.close} nothing new is looked up.
   *
   * @param address The address text.
   * @returns The entry; frozen, shared by later calls.
   */
  get(address: string): HostEntry {
    const found = this.#check(address);
    if ("status" in found) return found;
    this.#enqueue([[address, found.target]]);
    return PENDING;
  }

  /**
   * Asks for many addresses at once, for example the rows on screen. They go in front of
   * everything already waiting, in the order given, so the most recently requested are looked
   * up first. Those with a fresh result or a running call are left alone; waiting ones move to
   * the front but keep their deadline (rule 3).
   *
   * @param addresses Address texts, as for {@linkcode HostnameResolver.get}.
   */
  request(addresses: Iterable<string>): void {
    const wanted: [string, Target | null][] = [];
    const seen = new Set<string>();
    for (const address of addresses) {
      if (seen.has(address)) continue;
      seen.add(address);
      const found = this.#check(address);
      if (!("status" in found)) wanted.push([address, found.target]);
    }
    this.#enqueue(wanted);
  }

  /** Counters for the status line and the tests. */
  stats(): HostnameStats {
    return {
      entries: this.#cache.size,
      hits: this.#hits,
      misses: this.#misses,
      inFlight: this.#calls.size,
      stuck: this.#stuck,
      queued: this.#queue.size,
      timeouts: this.#timeouts,
    };
  }

  /**
   * Stops: waiting requests are forgotten, timers cleared, and running calls abandoned (their
   * results, whenever they come, are ignored; nothing waits for them). Cached results can still
   * be read with {@linkcode HostnameResolver.get}. Safe to call twice.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    this.#queue.clear();
    for (const call of this.#calls.values()) {
      clearTimeout(call.timer);
      call.timer = undefined;
    }
  }

  /** Same as {@linkcode HostnameResolver.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The entry to answer with when no request needs queueing, or what to queue: a target for a
   * new request, null for one already waiting (to be moved in front).
   */
  #check(address: string): HostEntry | { target: Target | null } {
    const record = this.#cache.get(address);
    if (record !== undefined && record.expires > this.#now()) {
      this.#cache.delete(address);
      this.#cache.set(address, record);
      this.#hits++;
      return record.entry;
    }
    const call = this.#calls.get(address);
    if (call !== undefined) return call.timeoutRecord?.entry ?? PENDING;
    if (this.#closed) return record?.entry ?? PENDING;
    if (this.#queue.has(address)) return { target: null };
    this.#misses++;
    const parsed = parseAddress(address);
    if (parsed === undefined) {
      const entry: HostEntry = Object.freeze({
        status: "failed",
        error: `Failed to look up '${address}': not an IP address`,
      });
      this.#settle(address, entry);
      this.#onResult?.(address, entry);
      return entry;
    }
    const target: Target = parsed.family === AF_INET
      ? { family: 4, bytes: parsed.bytes.slice(0, 4) }
      : { family: 6, bytes: parsed.bytes };
    return { target };
  }

  #enqueue(wanted: readonly [string, Target | null][]): void {
    if (wanted.length === 0) return;
    const since = performance.now();
    // Pushed last to first, so the first asked for ends up in front.
    for (let i = wanted.length - 1; i >= 0; i--) {
      const [address, target] = wanted[i]!;
      this.#queue.pushNewest(address, target, since);
    }
    while (this.#queue.size > this.#maxQueue) this.#queue.dropOldest();
    this.#pump();
  }

  /** Records a final result, evicting the least recently used beyond the bound. */
  #settle(address: string, entry: HostEntry): CacheRecord {
    const ttl = entry.status === "resolved"
      ? this.#positiveTtlMs
      : entry.status === "not-found"
      ? this.#negativeTtlMs
      : this.#failureTtlMs;
    const record: CacheRecord = { entry, expires: this.#now() + ttl };
    this.#cache.delete(address);
    this.#cache.set(address, record);
    while (this.#cache.size > this.#maxEntries) {
      const oldest = this.#cache.keys().next();
      if (oldest.done === true) break;
      this.#cache.delete(oldest.value);
    }
    return record;
  }

  /** Whether another call may start (rule 2 of the module documentation). */
  #canStart(): boolean {
    return this.#calls.size - Math.min(this.#stuck, this.#maxStuck) < this.#concurrency;
  }

  /** Whether queued requests time out at their deadline (rule 3). */
  #stalled(): boolean {
    return this.#stuck > 0 && this.#stuck >= this.#maxStuck;
  }

  /**
   * Times out overdue requests when stalled, starts calls while slots are free, and arms the
   * deadline timer. Re-entrant calls (from `onResult`) are folded into the running one.
   */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        if (this.#closed) return;
        if (this.#stalled()) this.#expireOverdue();
        while (this.#queue.size > 0 && this.#canStart()) this.#start(this.#queue.takeNewest()!);
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
      this.#armDeadline();
    }
  }

  #expireOverdue(): void {
    const now = performance.now();
    for (;;) {
      const item = this.#queue.firstAsked();
      if (item === undefined || item.since + this.#timeoutMs > now) return;
      this.#queue.remove(item);
      this.#timeouts++;
      this.#settle(item.address, TIMEOUT);
      this.#onResult?.(item.address, TIMEOUT);
    }
  }

  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    const first = this.#queue.firstAsked();
    if (this.#closed || first === undefined || !this.#stalled()) return;
    const delay = Math.max(0, first.since + this.#timeoutMs - performance.now());
    this.#deadlineTimer = setTimeout(() => {
      this.#deadlineTimer = undefined;
      this.#pump();
    }, delay);
  }

  #start(item: Waiting): void {
    const call: Call = { address: item.address, timer: undefined, timeoutRecord: undefined };
    this.#calls.set(item.address, call);
    let answer: Promise<string | number>;
    try {
      answer = this.#lookup(item.target.family, item.target.bytes);
    } catch (err) {
      answer = Promise.reject(err);
    }
    call.timer = setTimeout(() => this.#timeOut(call), this.#timeoutMs);
    answer.then(
      (outcome) => this.#finish(call, toEntry(outcome)),
      (err: unknown) =>
        this.#finish(call, failed(err instanceof Error ? err.message : String(err))),
    );
  }

  #timeOut(call: Call): void {
    call.timer = undefined;
    if (this.#closed) return;
    this.#stuck++;
    this.#timeouts++;
    call.timeoutRecord = this.#settle(call.address, TIMEOUT);
    try {
      this.#onResult?.(call.address, TIMEOUT);
    } finally {
      this.#pump();
    }
  }

  #finish(call: Call, entry: HostEntry): void {
    this.#calls.delete(call.address);
    const late = call.timeoutRecord !== undefined;
    if (late) this.#stuck--;
    else clearTimeout(call.timer);
    if (this.#closed) return;
    // A late answer counts only when definite and while its "timeout" is still the record.
    const keep = !late ||
      ((entry.status === "resolved" || entry.status === "not-found") &&
        this.#cache.get(call.address) === call.timeoutRecord);
    try {
      if (keep) {
        this.#settle(call.address, entry);
        this.#onResult?.(call.address, entry);
      }
    } finally {
      this.#pump();
    }
  }
}

function systemLookup(family: 4 | 6, bytes: Uint8Array): Promise<string | number> {
  return lookupName(family === 4 ? AF_INET : AF_INET6, bytes);
}

function toEntry(outcome: string | number): HostEntry {
  if (typeof outcome === "string") return Object.freeze({ status: "resolved", name: outcome });
  if (outcome === EaiError.EAI_NONAME) return NOT_FOUND;
  return failed(describeEai(outcome));
}

function failed(error: string): HostEntry {
  return Object.freeze({ status: "failed", error });
}

function describeEai(code: number): string {
  try {
    return gaiStrerror(code);
  } catch {
    // Only with a lookup of one's own and no --allow-ffi; the code still tells what happened.
    return `Resolver error ${code}`;
  }
}

function atLeast(name: keyof typeof DEFAULTS, value: number | undefined, min: number): number {
  const v = value ?? DEFAULTS[name];
  if (!Number.isFinite(v) || v < min) {
    throw new RangeError(
      `Failed to create hostname resolver: expected '${name}' of at least ${min}, got ${value}`,
    );
  }
  return v;
}
