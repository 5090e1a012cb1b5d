/**
 * One client's outgoing queue and the loop that writes it to the socket.
 *
 * The queue holds lines (already encoded, newline included) in items: a delta or a snapshot
 * (the parts of one batch) or a control message (banner, welcome, pong, warning, bye). Lines of
 * deltas are shared by every client (encoded once by the hub); so are the lines of a snapshot.
 *
 * What bounds a slow client's cost:
 *
 * - Everything queued except a snapshot is counted against `capBytes` at what it costs in
 *   memory, not at its length: a line's bytes plus {@linkcode LINE_COST_BYTES} (its
 *   Uint8Array, ArrayBuffer and backing store) plus {@linkcode ITEM_COST_BYTES} per item. A
 *   28-byte pong takes about 620 bytes of RSS; counted at 28, a client that sent pings and read
 *   nothing made the server hold 22 times its cap in pongs.
 * - A snapshot is not counted (it is the hub's, shared, and at most one per refresh exists). A
 *   delta is always taken when nothing counted is waiting (one refresh may change more than the
 *   cap). A delta past the cap drops every queued delta and snapshot line not yet begun, and
 *   {@linkcode OutQueue.push} answers "overflow": the client gets a fresh snapshot once the queue
 *   has drained, instead of what it missed.
 * - At most one pong waits: a ping that comes while the answer to an earlier one has not begun
 *   to go out gets none of its own (see {@linkcode OutQueue.push}).
 * - A client that overflows more than `maxResyncs` times within `resyncWindowMs` cannot keep up
 *   even with snapshots: "too_slow". So is one whose control messages would pass twice the cap.
 * - A write that makes no progress for `stallMs` (the client stopped reading, its socket buffer
 *   is full) makes {@linkcode OutQueue.stalled} true; the session drops the client.
 *
 * So a client that never reads costs at most `capBytes` of queued deltas (or one refresh's
 * delta, shared with every client) plus the server's own few control messages (banner, welcome,
 * one pong, warnings; never past twice `capBytes` in all), and the one line being written,
 * however long the table churns and however fast it pings.
 *
 * @module
 */

/** Where the lines go: a connection. */
export interface QueueWriter {
  write(p: Uint8Array): Promise<number>;
}

/**
 * What a queued line costs beyond its bytes: the Uint8Array and ArrayBuffer objects on V8's
 * heap and the backing store's allocation. Measured with Deno 2.9 on x86-64 (a million queued
 * pongs: about 590 bytes each beyond their 28), rounded up; test/server/queue_test.ts checks
 * that queued pongs cost no more than counted.
 */
export const LINE_COST_BYTES = 640;

/** What a queued item costs beyond its lines: the item and its array of lines. */
export const ITEM_COST_BYTES = 128;

/**
 * What an item holds. A "pong" is a control message of which at most one waits (see
 * {@linkcode OutQueue.push}).
 */
export type ItemKind = "delta" | "snapshot" | "control" | "pong";

/** Limits of {@linkcode OutQueue}. */
export interface QueueOptions {
  /** Memory that delta and control lines may take while they wait, bytes (see the module). */
  capBytes: number;
  /** A write without progress for this long counts as stalled, ms. */
  stallMs: number;
  /** Overflows tolerated within `resyncWindowMs` (default 3). */
  maxResyncs?: number;
  /** Default 60 s. */
  resyncWindowMs?: number;
  /** The clock, ms. */
  now?: () => number;
  /** Called when the queue has been written out and is empty. */
  onDrain?: () => void;
  /** Called once when a write fails (the connection is gone). */
  onError?: (err: unknown) => void;
}

/**
 * Lines made only as they are written: a large snapshot shared by the clients, each reading it
 * at its own pace ({@linkcode OutQueue.push} takes one instead of an array of lines).
 */
export interface LineSource {
  /** A reader from the first line on; the queue closes it when done with it. */
  open(): LineCursor;
}

/** One reader of a {@linkcode LineSource}. */
export interface LineCursor {
  /** The next line, or undefined after the last. */
  next(): Uint8Array | undefined;
  /** Lets go of what this reader held (safe to call twice). */
  close(): void;
}

/** What {@linkcode OutQueue.push} did. */
export type PushResult = "queued" | "overflow" | "too_slow" | "closed";

interface Item {
  kind: ItemKind;
  /** A snapshot's lines are this item's own array, each let go once taken (see #take). */
  lines: readonly (Uint8Array | undefined)[];
  /** Index of the next line to write. */
  next: number;
  /** A snapshot given as a {@linkcode LineSource}: its lines come from here instead. */
  cursor?: LineCursor;
}

/** One client's queue. */
export class OutQueue {
  #items: Item[] = [];
  #counted = 0;
  /** A pong is queued and not begun. */
  #pongWaiting = false;
  #writing = false;
  #lastProgress = 0;
  #closed = false;
  #resyncs: number[] = [];
  #opts: Required<Omit<QueueOptions, "onDrain" | "onError">>;
  #onDrain: (() => void) | undefined;
  #onError: ((err: unknown) => void) | undefined;
  #writer: QueueWriter;
  #drainWaiters: (() => void)[] = [];
  #written = 0;

  constructor(writer: QueueWriter, opts: QueueOptions) {
    this.#writer = writer;
    this.#opts = {
      capBytes: opts.capBytes,
      stallMs: opts.stallMs,
      maxResyncs: opts.maxResyncs ?? 3,
      resyncWindowMs: opts.resyncWindowMs ?? 60_000,
      now: opts.now ?? Date.now,
    };
    this.#onDrain = opts.onDrain;
    this.#onError = opts.onError;
  }

  /**
   * Memory held by the delta and control lines waiting, as counted against the cap: their
   * bytes plus the per-line and per-item costs (the line being written excluded).
   */
  get queuedBytes(): number {
    return this.#counted;
  }

  /** Whether a pong waits, not begun: a "pong" pushed now would not be queued. */
  get pongWaiting(): boolean {
    return this.#pongWaiting;
  }

  /** Bytes written so far. */
  get written(): number {
    return this.#written;
  }

  /** Whether nothing is waiting or being written. */
  get idle(): boolean {
    return !this.#writing && this.#items.length === 0;
  }

  /** Whether the queue was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether a write has been waiting for the client without progress longer than allowed. */
  stalled(now: number = this.#opts.now()): boolean {
    return this.#writing && now - this.#lastProgress > this.#opts.stallMs;
  }

  /** How long a write has been waiting for the client without progress, ms (0: none waits). */
  waitingMs(now: number = this.#opts.now()): number {
    return this.#writing ? Math.max(0, now - this.#lastProgress) : 0;
  }

  /**
   * Queues the lines of one message or batch.
   *
   * - A delta that would pass the cap drops itself and every queued delta and snapshot: the
   *   client needs a fresh snapshot ("overflow"), or, after too many, is "too_slow".
   * - A control message never drops a batch (the hub would not know the client missed it);
   *   control messages past twice the cap mean the client reads nothing: "too_slow".
   * - A "pong" while another pong waits, not begun, is not queued (the result is "queued": the
   *   waiting pong answers it). Why not one pong per ping: a pong only shows the client that
   *   the server is there and how long the way is, which the waiting one shows as well, while
   *   one per ping would let a client that pings and never reads spend the server's memory
   *   (each pong is a line held until the client reads it). Why not answer only while nothing
   *   waits: a client behind a snapshot that takes longer than the idle timeout to read would
   *   get no pong at all and might give the server up.
   * - A snapshot is not counted. It may be a {@linkcode LineSource}, read a line at a time.
   */
  push(kind: ItemKind, lines: readonly Uint8Array[] | LineSource): PushResult {
    if (this.#closed) return "closed";
    if (!Array.isArray(lines)) {
      if (kind !== "snapshot") throw new TypeError(`A ${kind} must be given as lines`);
      this.#items.push({ kind, lines: [], next: 0, cursor: (lines as LineSource).open() });
      if (!this.#writing) void this.#run();
      return "queued";
    }
    lines = lines as readonly Uint8Array[];
    if (kind === "pong" && this.#pongWaiting) return "queued";
    const bytes = kind === "snapshot" ? 0 : cost(lines);
    const cap = this.#opts.capBytes;
    if ((kind === "control" || kind === "pong") && this.#counted + bytes > 2 * cap) {
      return "too_slow";
    }
    // A batch larger than the cap still goes to a client that has nothing waiting: the cap
    // bounds what piles up, not what one refresh may change.
    if (kind === "delta" && this.#counted > 0 && this.#counted + bytes > cap) {
      this.#dropBatches();
      const now = this.#opts.now();
      this.#resyncs = this.#resyncs.filter((t) => t > now - this.#opts.resyncWindowMs);
      this.#resyncs.push(now);
      return this.#resyncs.length > this.#opts.maxResyncs ? "too_slow" : "overflow";
    }
    // A snapshot's array is copied (references only) so that each line can be let go as it is
    // taken: once the hub has a newer snapshot, a slow client holds only what it has not read
    // of its own, not the lines it already has.
    this.#items.push({ kind, lines: kind === "snapshot" ? [...lines] : lines, next: 0 });
    this.#counted += bytes;
    if (kind === "pong") this.#pongWaiting = true;
    if (!this.#writing) void this.#run();
    return "queued";
  }

  /**
   * Drops whatever has not begun, writes `lines` (a bye) after the line being written, and
   * resolves once they are out or after `timeoutMs`, whichever comes first. Nothing can be
   * queued afterwards.
   */
  async finish(lines: readonly Uint8Array[], timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    // The line in flight goes out whole; a bye may come between the parts of a batch.
    this.#closeCursors(this.#items);
    this.#items = [];
    this.#counted = 0;
    this.#pongWaiting = false;
    this.#items.push({ kind: "control", lines, next: 0 });
    this.#closed = true;
    if (!this.#writing) void this.#run();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#drainWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /** Drops everything; nothing more is written or queued. */
  close(): void {
    this.#closed = true;
    this.#closeCursors(this.#items);
    this.#items = [];
    this.#counted = 0;
    this.#pongWaiting = false;
    this.#wakeDrainWaiters();
  }

  // Drops queued batches, and the rest of the one being written (its line in flight goes out
  // whole): a fresh snapshot follows, and a snapshot may begin while a batch is unfinished.
  // Control messages (and the waiting pong) stay.
  #dropBatches(): void {
    this.#closeCursors(this.#items);
    this.#items = this.#items.filter((item) => item.kind === "control" || item.kind === "pong");
    this.#counted = 0;
    for (const item of this.#items) this.#counted += waiting(item);
  }

  async #run(): Promise<void> {
    this.#writing = true;
    this.#lastProgress = this.#opts.now();
    try {
      for (let line = this.#take(); line !== undefined; line = this.#take()) {
        await this.#writeAll(line);
      }
    } catch (err) {
      this.#writing = false;
      const first = !this.#closed;
      this.close();
      if (first) this.#onError?.(err);
      return;
    }
    this.#writing = false;
    this.#wakeDrainWaiters();
    if (!this.#closed) this.#onDrain?.();
  }

  // The next line to write, out of the queue. Only the line is held while it is written: a
  // client that stops reading pins that line, not the whole snapshot it belongs to.
  #take(): Uint8Array | undefined {
    for (;;) {
      const item = this.#items[0];
      if (item === undefined) return undefined;
      if (item.cursor !== undefined) {
        const line = item.cursor.next();
        if (line !== undefined) return line;
        item.cursor.close();
        this.#items.shift();
        continue;
      }
      if (item.next < item.lines.length) {
        if (item.next === 0 && item.kind === "pong") this.#pongWaiting = false;
        const line = item.lines[item.next++]!;
        if (item.kind === "snapshot") {
          (item.lines as (Uint8Array | undefined)[])[item.next - 1] = undefined;
        } else {
          this.#counted -= line.length + LINE_COST_BYTES;
          if (item.next === 1) this.#counted -= ITEM_COST_BYTES;
        }
        if (item.next === item.lines.length) this.#items.shift();
        return line;
      }
      this.#items.shift();
    }
  }

  async #writeAll(line: Uint8Array): Promise<void> {
    let off = 0;
    while (off < line.length) {
      const n = await this.#writer.write(line.subarray(off));
      off += n;
      this.#written += n;
      this.#lastProgress = this.#opts.now();
    }
  }

  #closeCursors(items: readonly Item[]): void {
    for (const item of items) item.cursor?.close();
  }

  #wakeDrainWaiters(): void {
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const f of w) f();
  }
}

/** What `lines` cost while queued as one item. */
function cost(lines: readonly (Uint8Array | undefined)[]): number {
  let n = lines.length === 0 ? 0 : ITEM_COST_BYTES;
  for (const l of lines) n += (l?.length ?? 0) + LINE_COST_BYTES;
  return n;
}

// What is still counted of a queued item: #take gives the item's cost back with its first line.
function waiting(item: Item): number {
  if (item.next === 0) return cost(item.lines);
  let n = 0;
  for (let i = item.next; i < item.lines.length; i++) {
    n += (item.lines[i]?.length ?? 0) + LINE_COST_BYTES;
  }
  return n;
}
