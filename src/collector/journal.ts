/**
 * The undo journal: what conntop is about to change in a network namespace's kernel state
 * (the --enable-acct sysctls, the --track nftables table), written to /run/conntop before the
 * change is made, and removed once it has been undone. A conntop killed with SIGKILL leaves its
 * journal behind; the next start in that namespace, or `conntop --restore`, reads it and undoes
 * the changes. (After a power loss there is nothing to undo: /run is a tmpfs, and the kernel
 * state went with it.)
 *
 * One file per namespace and run: `/run/conntop/net-<inode>-<pid>.json`, where the inode is the
 * network namespace's own (the one `stat -L /proc/self/ns/net` or `/run/netns/NAME` shows), never
 * a path or name someone else could choose, so the journal of one namespace is never taken for
 * another's. The pid and the process's start time tell whether the run that wrote it is still
 * alive (a pid alone may have been reused).
 *
 * It must never follow a link or write where others can: the directory is created 0700 and
 * refused as unsafe unless it is a real directory, owned by root or this process's user, with no
 * access for group or others; files are created exclusively (0600) and replaced by rename. A
 * directory that is safe but out of reach (read-only /run in a sandboxed service, root's
 * directory for another user, no Deno write permission) is not unsafe: the caller goes on
 * without a journal, and says so. It must never undo anything but
 * the two sysctls and the one table conntop changes, whatever a journal file says.
 *
 * Synchronous like kernel.ts: it runs on the collector worker's thread, which may be inside
 * another network namespace. Requires `--allow-read` and `--allow-write` (for /run/conntop) and
 * `--allow-ffi` (the namespace inode and process start times come from /proc through libc).
 *
 * @module
 */

import { readLink, readSmallFile } from "../../ffi/libc.ts";
import { errorReason } from "../errors.ts";
import { TRACK_TABLE } from "./kernel.ts";
import type { SysctlChange } from "./messages.ts";

/** Where journals are kept. */
export const JOURNAL_DIR = "/run/conntop";

/** The sysctls a journal may name: the ones --enable-acct changes, and no others. */
const SYSCTL_PATHS = [
  "/proc/sys/net/netfilter/nf_conntrack_acct",
  "/proc/sys/net/netfilter/nf_conntrack_timestamp",
];
/** A journal is a few hundred bytes; anything much longer is not one. */
const MAX_JOURNAL_BYTES = 16384;
/** Journals looked at per start, at most (each is one small file). */
const MAX_JOURNALS = 256;

/** What one run changed (or was about to change) in a namespace. */
export interface JournalEntry {
  /** The process that wrote it. */
  pid: number;
  /** That process's start time (field 22 of /proc/PID/stat), so a reused pid is told apart. */
  start: string;
  /** The namespace as the user named it (--netns), for messages; null for conntop's own. */
  netns: string | null;
  /** Sysctls to put back, in the order they were changed. */
  sysctls: SysctlChange[];
  /** The nftables table (family inet) to delete, if any. */
  track: string | null;
}

/** Options of {@linkcode JournalError}. */
export interface JournalErrorOptions extends ErrorOptions {
  /** The directory looks tampered with (a link, a stranger's, open to others). */
  unsafe?: boolean;
}

/** The journal cannot be kept or read; nothing was changed. */
export class JournalError extends Error {
  /** Whether the directory is unsafe, rather than merely out of reach. */
  readonly unsafe: boolean;
  constructor(message: string, options: JournalErrorOptions = {}) {
    super(message, options);
    this.name = "JournalError";
    this.unsafe = options.unsafe ?? false;
  }
}

/** The inode of the network namespace this thread is in: the key of its journals. */
export function netnsKey(): string {
  const link = readLink("/proc/thread-self/ns/net");
  const m = /^net:\[(\d+)\]$/.exec(link);
  if (m === null) throw new JournalError(`Cannot tell the network namespace from '${link}'`);
  return m[1]!;
}

/** This process's start time, as /proc/PID/stat gives it; null when PID does not run. */
export function processStart(pid: number): string | null {
  let stat: string;
  try {
    stat = readSmallFile(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19]; a zombie has ended.
  if (fields[0] === "Z") return null;
  return fields[19] ?? null;
}

/** Whether the run that wrote `entry` still runs. */
export function ownerAlive(entry: JournalEntry): boolean {
  return processStart(entry.pid) === entry.start;
}

/**
 * Makes sure {@linkcode JOURNAL_DIR} exists and is safe and usable: a directory (not a link)
 * owned by this process's effective user, with no access for group or others. Throws
 * {@linkcode JournalError} otherwise (`unsafe` when it is a link, a stranger's or open to
 * others), or when it cannot be created.
 */
function ensureDir(): void {
  try {
    Deno.mkdirSync(JOURNAL_DIR, { mode: 0o700 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) {
      throw new JournalError(
        `Cannot create the undo journal directory '${JOURNAL_DIR}': ${errorReason(err)}`,
        { cause: err },
      );
    }
  }
  checkDir();
}

function checkDir(): void {
  const st = Deno.lstatSync(JOURNAL_DIR);
  const euid = effectiveUid();
  if (
    !st.isDirectory || st.isSymlink || (st.uid !== 0 && st.uid !== euid) ||
    ((st.mode ?? 0o777) & 0o077) !== 0
  ) {
    throw new JournalError(
      `Refusing the undo journal directory '${JOURNAL_DIR}': it must be a directory owned by ${
        euid === null || euid === 0 ? "uid 0" : `uid 0 or ${euid}`
      } with mode 0700`,
      { unsafe: true },
    );
  }
  if (euid !== null && st.uid !== euid) {
    // Root's, and this process is not root: safe, but not this process's to write in.
    throw new JournalError(
      `Cannot use the undo journal directory '${JOURNAL_DIR}': it belongs to root`,
    );
  }
}

function effectiveUid(): number | null {
  try {
    const m = /^Uid:\s+\d+\s+(\d+)/m.exec(readSmallFile("/proc/thread-self/status"));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

function fileName(key: string, pid: number): string {
  return `${JOURNAL_DIR}/net-${key}-${pid}.json`;
}

/** A journal left in the directory, with the file it is in. */
export interface Leftover {
  path: string;
  entry: JournalEntry;
}

/**
 * The journals of namespace `key` other than this process's own, oldest first by pid order;
 * none when the directory does not exist. Files that are not journals (wrong name, not a
 * regular file, too long, not valid) are skipped. Throws {@linkcode JournalError} when the
 * directory is not safe, or cannot be read.
 */
export function leftovers(key: string): Leftover[] {
  let names: string[];
  try {
    checkDir();
    names = [...Deno.readDirSync(JOURNAL_DIR)].map((e) => e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    if (err instanceof JournalError) throw err;
    throw new JournalError(
      `Cannot read the undo journal directory '${JOURNAL_DIR}': ${errorReason(err)}`,
      { cause: err },
    );
  }
  const prefix = `net-${key}-`;
  const out: Leftover[] = [];
  for (const name of names) {
    if (out.length >= MAX_JOURNALS) break;
    const m = /^net-\d+-(\d+)\.json$/.exec(name);
    if (!name.startsWith(prefix) || m === null || Number(m[1]) === Deno.pid) continue;
    const path = `${JOURNAL_DIR}/${name}`;
    const entry = readEntry(path);
    if (entry !== null) out.push({ path, entry });
  }
  return out;
}

function readEntry(path: string): JournalEntry | null {
  try {
    const st = Deno.lstatSync(path);
    if (!st.isFile || st.size > MAX_JOURNAL_BYTES) return null;
    return parseEntry(JSON.parse(Deno.readTextFileSync(path)));
  } catch {
    return null;
  }
}

/** A journal's JSON checked field by field; null when it is not one conntop could have written. */
function parseEntry(v: unknown): JournalEntry | null {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  if (!Number.isSafeInteger(o.pid) || typeof o.start !== "string" || !/^\d+$/.test(o.start)) {
    return null;
  }
  if (o.netns !== null && typeof o.netns !== "string") return null;
  if (!Array.isArray(o.sysctls) || o.sysctls.length > SYSCTL_PATHS.length) return null;
  const sysctls: SysctlChange[] = [];
  for (const s of o.sysctls as unknown[]) {
    const c = s as Record<string, unknown> | null;
    if (
      typeof c !== "object" || c === null || typeof c.path !== "string" ||
      !SYSCTL_PATHS.includes(c.path) || typeof c.previous !== "string" ||
      !/^\d{1,10}$/.test(c.previous)
    ) return null;
    sysctls.push({ path: c.path, previous: c.previous });
  }
  if (o.track !== null && o.track !== TRACK_TABLE) return null;
  return {
    pid: o.pid as number,
    start: o.start,
    netns: o.netns as string | null,
    sysctls,
    track: o.track as string | null,
  };
}

/** This run's journal: created before the first change, rewritten before each next one. */
export class Journal {
  /** The journal file. */
  readonly path: string;
  #entry: JournalEntry;
  #removed = false;

  private constructor(path: string, entry: JournalEntry) {
    this.path = path;
    this.#entry = entry;
  }

  /**
   * Creates this process's (empty) journal for namespace `key`, exclusively. Throws
   * {@linkcode JournalError} when the directory is unsafe or the file cannot be written.
   */
  static create(key: string, netns: string | null): Journal {
    const start = processStart(Deno.pid);
    if (start === null) throw new JournalError("Cannot read this process's start time");
    try {
      ensureDir();
      const journal = new Journal(fileName(key, Deno.pid), {
        pid: Deno.pid,
        start,
        netns,
        sysctls: [],
        track: null,
      });
      // A file of this name can only be a leftover of an earlier process with this pid, long
      // gone (this process is alive): replace it.
      journal.#write();
      return journal;
    } catch (err) {
      if (err instanceof JournalError) throw err;
      throw new JournalError(
        `Cannot write the undo journal in '${JOURNAL_DIR}': ${errorReason(err)}`,
        { cause: err },
      );
    }
  }

  /**
   * Records that sysctl `change.path` is about to be changed from `change.previous`. Throws
   * {@linkcode JournalError} when it cannot be written (then the change must not be made).
   */
  addSysctl(change: SysctlChange): void {
    this.#entry.sysctls.push({ ...change });
    this.#update();
  }

  /** Records that the nftables table `name` is about to be added (or is taken over). */
  setTrack(name: string): void {
    this.#entry.track = name;
    this.#update();
  }

  #update(): void {
    try {
      this.#write();
    } catch (err) {
      throw new JournalError(`Cannot write the undo journal '${this.path}': ${errorReason(err)}`, {
        cause: err,
      });
    }
  }

  /** Removes the journal: everything it recorded has been undone. Never throws. */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    try {
      Deno.removeSync(this.path);
    } catch {
      // Gone already, or not removable: the next start finds nothing left to undo in it.
    }
  }

  // Written to a new file, created exclusively, then renamed over the journal: a run killed
  // mid-write leaves the previous complete journal, never half of one.
  #write(): void {
    const tmp = `${this.path}.tmp`;
    try {
      Deno.removeSync(tmp);
    } catch {
      // Usually absent.
    }
    const file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      const bytes = new TextEncoder().encode(JSON.stringify(this.#entry) + "\n");
      let off = 0;
      while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
    } finally {
      file.close();
    }
    Deno.renameSync(tmp, this.path);
  }
}

/** Removes a leftover journal whose changes have been undone. Never throws. */
export function removeLeftover(leftover: Leftover): void {
  try {
    Deno.removeSync(leftover.path);
  } catch {
    // Nothing more to do.
  }
}
