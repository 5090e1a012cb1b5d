/**
 * One client's outgoing queue and the loop that writes it to the socket.
 *
 * The queue holds lines (already encoded, newline included) in items: a delta or a snapshot
 * (the parts of one batch) or a control message (banner, welcome, pong, warning, bye). Lines of
 * deltas are shared by every client (encoded once by the hub); so are the lines of a snapshot.
 *
 * What bounds a slow client's cost:
 *
 * - Queued delta and control bytes are counted against `capBytes`; a snapshot is not (it is the
 *   hub's, shared, and at most one per refresh exists). A delta is always taken when nothing
 *   counted is waiting (one refresh may change more than the cap). A delta past the cap drops
 *   every queued delta and snapshot line not yet begun, and {@linkcode OutQueue.push} answers
 *   "overflow": the client gets a fresh snapshot once the queue has drained, instead of what
 *   it missed.
 * - A client that overflows more than `maxResyncs` times within `resyncWindowMs` cannot keep up
 *   even with snapshots: "too_slow". So is one whose control messages (pongs) alone pass twice
 *   the cap.
 * - A write that makes no progress for `stallMs` (the client stopped reading, its socket buffer
 *   is full) makes {@linkcode OutQueue.stalled} true; the session drops the client.
 *
 * So a client that never reads costs at most about twice `capBytes` of queued lines (plus one
 * refresh's delta) and the one line being written, however long the table churns.
 *
 * @module
 */

/** Where the lines go: a connection. */
export interface QueueWriter {
  write(p: Uint8Array): Promise<number>;
}

/** What an item holds. */
export type ItemKind = "delta" | "snapshot" | "control";

/** Limits of {@linkcode OutQueue}. */
export interface QueueOptions {
  /** Bytes of delta and control lines that may wait. */
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

/** What {@linkcode OutQueue.push} did. */
export type PushResult = "queued" | "overflow" | "too_slow" | "closed";

interface Item {
  kind: ItemKind;
  lines: readonly Uint8Array[];
  /** Index of the next line to write. */
  next: number;
}

/** One client's queue. */
export class OutQueue {
  #items: Item[] = [];
  #counted = 0;
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

  /** Bytes of delta and control lines waiting (the line being written excluded). */
  get queuedBytes(): number {
    return this.#counted;
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

  /**
   * Queues the lines of one message or batch.
   *
   * - A delta that would pass the cap drops itself and every queued delta and snapshot: the
   *   client needs a fresh snapshot ("overflow"), or, after too many, is "too_slow".
   * - A control message never drops a batch (the hub would not know the client missed it);
   *   control messages alone past twice the cap mean the client sends pings and reads
   *   nothing: "too_slow".
   * - A snapshot is not counted.
   */
  push(kind: ItemKind, lines: readonly Uint8Array[]): PushResult {
    if (this.#closed) return "closed";
    const bytes = kind === "snapshot" ? 0 : size(lines);
    const cap = this.#opts.capBytes;
    if (kind === "control" && this.#counted + bytes > 2 * cap) return "too_slow";
    // A batch larger than the cap still goes to a client that has nothing waiting: the cap
    // bounds what piles up, not what one refresh may change.
    if (kind === "delta" && this.#counted > 0 && this.#counted + bytes > cap) {
      this.#dropBatches();
      const now = this.#opts.now();
      this.#resyncs = this.#resyncs.filter((t) => t > now - this.#opts.resyncWindowMs);
      this.#resyncs.push(now);
      return this.#resyncs.length > this.#opts.maxResyncs ? "too_slow" : "overflow";
    }
    this.#items.push({ kind, lines, next: 0 });
    this.#counted += bytes;
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
    this.#items = [];
    this.#counted = 0;
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
    this.#items = [];
    this.#counted = 0;
    this.#wakeDrainWaiters();
  }

  // Drops queued batches, and the rest of the one being written (its line in flight goes out
  // whole): a fresh snapshot follows, and a snapshot may begin while a batch is unfinished.
  // Control messages stay.
  #dropBatches(): void {
    this.#items = this.#items.filter((item) => item.kind === "control");
    this.#counted = 0;
    for (const item of this.#items) this.#counted += size(item.lines.slice(item.next));
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
      if (item.next < item.lines.length) {
        const line = item.lines[item.next++]!;
        if (item.kind !== "snapshot") this.#counted -= line.length;
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

  #wakeDrainWaiters(): void {
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const f of w) f();
  }
}

function size(lines: readonly Uint8Array[]): number {
  let n = 0;
  for (const l of lines) n += l.length;
  return n;
}
