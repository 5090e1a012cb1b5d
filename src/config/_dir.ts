/**
 * The settings' directory, opened once and then used only through its file descriptor, so a
 * name swapped for a symbolic link between a check and a use changes nothing: the `*at` calls
 * of ffi/libc.ts work inside the directory that was checked.
 *
 * The danger it guards against: conntop usually runs as root, and under sudo `$HOME` may be the
 * caller's, so root writes into a directory another user controls. That user could plant links
 * (`config.json.tmp-<pid>` → /etc/shadow) or swap a directory for a link. So: every directory
 * below the base (`$XDG_CONFIG_HOME` or `$HOME`, taken as given) is opened without following a
 * link and must be owned by the user the settings are for; files are created exclusively,
 * never through a link; mode and owner are set on the open file, never on a path.
 *
 * The user the settings are for: the process's own user; for root, the owner of the base, so a
 * file saved under sudo into a user's home is that user's. A directory owned by root is accepted
 * too: only root decides who may plant names in it (and earlier versions made the directory as
 * root under sudo). Must never follow a link below the base, never chmod or chown a path.
 * Requires `--allow-ffi` (not `--allow-sys`).
 *
 * @module
 */

import {
  AT_FDCWD,
  closeFd,
  effectiveIds,
  Errno,
  fchmod,
  fchown,
  fsync,
  mkdirAt,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  openAt,
  OsError,
  readUpTo,
  renameAt,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  statAt,
  strerror,
  tryLockExclusive,
  unlinkAt,
  writeAll,
} from "../../ffi/libc.ts";
import { errorReason } from "../errors.ts";

/** Why a directory or file cannot be used: one line, lowercase, for "Cannot … '<path>': …". */
export class RefusedError extends Error {
  constructor(reason: string, options?: ErrorOptions) {
    super(reason, options);
    this.name = "RefusedError";
  }
}

/** The name asked for is taken (by anything: a file, a directory, a link). */
export class ExistsError extends RefusedError {
  constructor(path: string, options?: ErrorOptions) {
    super(`'${path}' already exists`, options);
    this.name = "ExistsError";
  }
}

/** A file's size limit: settings are a few hundred bytes, so anything bigger is not ours. */
export const MAX_CONFIG_BYTES = 1 << 20;

/** The lowercase reason of an error from the C calls or from Deno, for one line. */
export function reasonOf(err: unknown): string {
  if (!(err instanceof OsError)) return errorReason(err);
  const text = strerror(err.errno);
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}

/** A checked directory, held open; {@linkcode ConfigDir.close} releases it. */
export class ConfigDir implements Disposable {
  /** The directory's path, for messages. */
  readonly path: string;
  /** The user (and group) the files here are for. */
  readonly owner: { uid: number; gid: number };
  #fd: number;
  #root: boolean;

  private constructor(
    path: string,
    fd: number,
    owner: { uid: number; gid: number },
    root: boolean,
  ) {
    this.path = path;
    this.#fd = fd;
    this.owner = owner;
    this.#root = root;
  }

  /**
   * Opens `dir`, which lies at or below `base`, checking each directory below `base`. Missing
   * ones are created (mode 0700, given to the owner) when `create` is set; otherwise a missing
   * one gives undefined. Throws {@linkcode RefusedError} for a link or a foreign owner, and the
   * C call's error for anything else.
   */
  static open(base: string, dir: string, create: boolean): ConfigDir | undefined {
    const rest = below(base, dir);
    const me = effectiveIds();
    const root = me.uid === 0;
    // The base itself is followed: it is what the environment names (a home may be a link).
    let fd: number;
    try {
      fd = openAt(AT_FDCWD, base, O_RDONLY | O_DIRECTORY);
    } catch (err) {
      if (!create && err instanceof OsError && err.errno === Errno.ENOENT) return undefined;
      throw err;
    }
    let path = trimSlashes(base) || "/";
    try {
      let owner = me;
      if (root) {
        const st = statAt(fd);
        owner = { uid: st.uid, gid: st.gid };
      }
      for (const name of rest) {
        path = path === "/" ? `/${name}` : `${path}/${name}`;
        const next = openChild(fd, name, path, create);
        closeFd(fd);
        fd = -1;
        if (next === undefined) return undefined;
        fd = next.fd;
        let st = statAt(fd);
        if (next.made && root && st.uid === 0 && owner.uid !== 0) {
          // Ours, just made: the user's, like the directories around it.
          fchown(fd, owner.uid, owner.gid);
          st = statAt(fd);
        }
        // Root's directories are trusted as the system itself is; anyone else's could hold a
        // planted name.
        if (st.uid !== owner.uid && st.uid !== 0) {
          throw new RefusedError(`'${path}' is owned by uid ${st.uid}, not uid ${owner.uid}`);
        }
      }
      const opened = new ConfigDir(path, fd, owner, root);
      fd = -1;
      return opened;
    } finally {
      if (fd >= 0) closeFd(fd);
    }
  }

  /**
   * Reads the regular file `name` (at most {@linkcode MAX_CONFIG_BYTES}), or undefined when it
   * does not exist. A link, a FIFO, a device or a bigger file is refused before any read.
   */
  read(name: string): Uint8Array | undefined {
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO must not wait for a writer.
      fd = openAt(this.#fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      if (err instanceof OsError && err.errno === Errno.ENOENT) return undefined;
      if (err instanceof OsError && err.errno === Errno.ELOOP) {
        throw new RefusedError("is a symbolic link", { cause: err });
      }
      throw err;
    }
    try {
      const st = statAt(fd);
      const type = st.mode & S_IFMT;
      if (type === S_IFDIR) throw new RefusedError("is a directory");
      if (type !== S_IFREG) throw new RefusedError("is not a regular file");
      if (st.size > MAX_CONFIG_BYTES) throw new RefusedError("is larger than 1 MiB");
      const bytes = readUpTo(fd, MAX_CONFIG_BYTES + 1);
      if (bytes.length > MAX_CONFIG_BYTES) throw new RefusedError("is larger than 1 MiB");
      return bytes;
    } finally {
      closeFd(fd);
    }
  }

  /**
   * What `name` is, without following a link: its permission bits and whether it is a regular
   * file or a link; undefined when it does not exist.
   */
  status(name: string): { mode: number; kind: "file" | "link" | "other" } | undefined {
    try {
      const st = statAt(this.#fd, name);
      const type = st.mode & S_IFMT;
      const kind = type === S_IFREG ? "file" : type === S_IFLNK ? "link" : "other";
      return { mode: st.mode & 0o777, kind };
    } catch (err) {
      if (err instanceof OsError && err.errno === Errno.ENOENT) return undefined;
      throw err;
    }
  }

  /**
   * Creates `name` exclusively (never through a link or over anything), gives it to the owner
   * with `mode`, writes `bytes` and syncs them. On failure a file it created is removed.
   * Throws {@linkcode RefusedError} when `name` exists.
   */
  create(name: string, bytes: Uint8Array, mode: number): void {
    let fd: number;
    try {
      fd = openAt(this.#fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (err) {
      if (err instanceof OsError && err.errno === Errno.EEXIST) {
        throw new ExistsError(`${this.path}/${name}`, { cause: err });
      }
      throw err;
    }
    try {
      // On the open file: a path could be swapped for a link between two calls.
      if (this.#root) fchown(fd, this.owner.uid, this.owner.gid);
      fchmod(fd, mode);
      writeAll(fd, bytes);
      fsync(fd);
    } catch (err) {
      this.remove(name);
      throw err;
    } finally {
      closeFd(fd);
    }
  }

  /**
   * Takes the directory's exclusive lock (flock), which every save holds from reading the file
   * to renaming the new one over it; released by {@linkcode close}. Waits at most `timeoutMs`
   * (the monitor's loop waits with it), then throws {@linkcode RefusedError}.
   */
  lock(timeoutMs: number): void {
    const deadline = performance.now() + timeoutMs;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (!tryLockExclusive(this.#fd)) {
      if (performance.now() >= deadline) {
        throw new RefusedError(`'${this.path}' is locked by another program`);
      }
      Atomics.wait(pause, 0, 0, 10);
    }
  }

  /** Renames `from` over `to` in this directory, atomically (a link at `to` is replaced). */
  rename(from: string, to: string): void {
    renameAt(this.#fd, from, to);
  }

  /** Removes `name` if it is there; errors are ignored (this is clean-up after a failure). */
  remove(name: string): void {
    try {
      unlinkAt(this.#fd, name);
    } catch {
      // Best effort: the error that led here is the one to report.
    }
  }

  /** Syncs the directory so a rename survives a crash; not every filesystem allows it. */
  sync(): void {
    try {
      fsync(this.#fd);
    } catch {
      // The file's own data is on disk already; only the rename could be lost.
    }
  }

  /** Releases the directory; safe to call twice. */
  close(): void {
    if (this.#fd >= 0) closeFd(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens (or creates) the directory `name` in `fd` without following a link; undefined when it
 * is missing and `create` is not set. `made` says this call created it.
 */
function openChild(
  fd: number,
  name: string,
  path: string,
  create: boolean,
): { fd: number; made: boolean } | undefined {
  let made = false;
  for (;;) {
    try {
      return { fd: openAt(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), made };
    } catch (err) {
      if (!(err instanceof OsError)) throw err;
      if (err.errno === Errno.ELOOP || err.errno === Errno.ENOTDIR) {
        const link = (statAt(fd, name).mode & S_IFMT) === S_IFLNK;
        throw new RefusedError(`'${path}' is ${link ? "a symbolic link" : "not a directory"}`, {
          cause: err,
        });
      }
      if (err.errno !== Errno.ENOENT) throw err;
      if (!create) return undefined;
      if (made) throw err; // created, then gone again: give up rather than loop
    }
    try {
      mkdirAt(fd, name, 0o700);
    } catch (err) {
      // Made by someone else meanwhile: the next open checks whatever is there now.
      if (!(err instanceof OsError) || err.errno !== Errno.EEXIST) throw err;
    }
    made = true;
  }
}

/** The names from `base` down to `dir`; throws when `dir` is not `base` or below it. */
function below(base: string, dir: string): string[] {
  const b = trimSlashes(base);
  const d = trimSlashes(dir);
  if (!base.startsWith("/") || (d !== b && !d.startsWith(`${b}/`))) {
    throw new RefusedError(`'${dir}' is not below the base directory '${base}'`);
  }
  const names = d.slice(b.length).split("/").filter((n) => n !== "" && n !== ".");
  if (names.includes("..")) throw new RefusedError(`'${dir}' goes up with '..'`);
  return names;
}

function trimSlashes(dir: string): string {
  return dir.replace(/\/+$/, "");
}
