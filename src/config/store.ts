/**
 * Where conntop's settings live and how they are read and written. This module knows nothing of
 * the settings' shape: it loads and saves one JSON object, and the caller decides what the keys
 * mean.
 *
 * Two promises it keeps: a file it could not read is never overwritten (it may be a file the
 * user cares about, behind a permission we lack), and a file it could read but not parse is
 * copied aside before anything replaces it. Saving is atomic: a crash leaves the old file or the
 * new one, never half of either.
 *
 * The path follows the process's own `$XDG_CONFIG_HOME` and `$HOME`. conntop usually runs as
 * root through sudo, and whether sudo keeps the caller's `$HOME` depends on its configuration;
 * this module does not guess from `$SUDO_USER`.
 *
 * Requires `--allow-env` (for the path), `--allow-read` and `--allow-write`.
 *
 * @example
 * ```ts
 * import { configPath, loadConfig, saveConfig } from "./store.ts";
 *
 * const path = configPath(Deno.env);
 * if (path !== undefined) {
 *   const loaded = loadConfig(path);
 *   if (loaded.warning) console.error(loaded.warning);
 *   const settings = { ...loaded.data, theme: "dark" };
 *   if (loaded.writable) saveConfig(path, settings);
 * }
 * ```
 *
 * @module
 */

import { ConntopError, errorReason, ExitCode } from "../errors.ts";

/** What {@linkcode loadConfig} found. */
export interface LoadedConfig {
  /** The JSON object read, or undefined when there was none to use (missing or bad file). */
  data: Record<string, unknown> | undefined;
  /** One line for the user when the file exists but could not be used. */
  warning?: string;
  /** Whether {@linkcode saveConfig} may replace the file. */
  writable: boolean;
}

/**
 * The config file's path: `$XDG_CONFIG_HOME/conntop/config.json`, or
 * `$HOME/.config/conntop/config.json` when `XDG_CONFIG_HOME` is unset, empty or relative (the
 * XDG Base Directory spec says to ignore a relative one). Undefined when neither gives an
 * absolute directory.
 *
 * The variables are the process's: under sudo, `$HOME` may be root's or the caller's depending
 * on sudo's configuration.
 */
export function configPath(env: { get(name: string): string | undefined }): string | undefined {
  const xdg = env.get("XDG_CONFIG_HOME");
  if (xdg !== undefined && xdg.startsWith("/")) return `${trimSlashes(xdg)}/conntop/config.json`;
  const home = env.get("HOME");
  if (home !== undefined && home.startsWith("/")) {
    return `${trimSlashes(home)}/.config/conntop/config.json`;
  }
  return undefined;
}

/**
 * Reads the JSON object at `path`.
 *
 * - A missing file gives no data and no warning, and may be written.
 * - A file that cannot be read (a directory, no permission…) gives a warning and must not be
 *   written: it is never overwritten with defaults.
 * - A file that is not a JSON object is first copied, byte for byte, to
 *   `<path>.bad-YYYYMMDDTHHMMSS` (local time; `-1`, `-2`… appended when that exists), then may
 *   be written. If the copy fails, it must not be written.
 */
export function loadConfig(path: string): LoadedConfig {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { data: undefined, writable: true };
    return {
      data: undefined,
      warning: `Cannot read config file '${path}': ${errorReason(err)}; using defaults`,
      writable: false,
    };
  }
  const detail = parseObject(bytes);
  if (typeof detail !== "string") return { data: detail, writable: true };
  const prefix = `Config file '${path}' is not valid JSON (${detail}); using defaults`;
  let backup = backupName(path, new Date());
  try {
    backup = keepCopy(backup, bytes);
  } catch (err) {
    const why = `since a copy could not be kept as '${backup}' (${errorReason(err)})`;
    return {
      data: undefined,
      warning: `${prefix}; it will not be overwritten, ${why}`,
      writable: false,
    };
  }
  return { data: undefined, warning: `${prefix}, kept a copy as '${backup}'`, writable: true };
}

/**
 * Writes `data` as JSON (2-space indent, trailing newline) to `path`, atomically: creates the
 * directory if needed (mode 0700), writes `<path>.tmp-<pid>` beside the target, syncs it to
 * disk and renames it over the target. The file keeps the old file's mode (and, where allowed,
 * its owner, so a config saved under sudo stays its user's); a new file gets mode 0600.
 *
 * Throws a {@linkcode ConntopError} naming the path when anything fails, after removing the
 * temporary file.
 */
export function saveConfig(path: string, data: unknown): void {
  const tmp = `${path}.tmp-${Deno.pid}`;
  let created = false;
  try {
    const text = JSON.stringify(data, null, 2);
    if (text === undefined) throw new TypeError(`cannot write ${typeof data} as JSON`);
    const dir = dirname(path);
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    let old: Deno.FileInfo | undefined;
    try {
      old = Deno.statSync(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const mode = old !== undefined && old.mode !== null ? old.mode & 0o7777 : 0o600;
    const file = Deno.openSync(tmp, { write: true, create: true, truncate: true, mode });
    created = true;
    try {
      // The umask may have narrowed the mode at creation.
      Deno.chmodSync(tmp, mode);
      if (old !== undefined && old.uid !== null && old.gid !== null) {
        chownQuietly(tmp, old.uid, old.gid);
      }
      const bytes = new TextEncoder().encode(text + "\n");
      let off = 0;
      while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(tmp, path);
    created = false;
    syncDirQuietly(dir);
  } catch (err) {
    if (created) {
      try {
        Deno.removeSync(tmp);
      } catch {
        // Best effort: the original error is the one to report.
      }
    }
    throw new ConntopError(
      `Cannot save config file '${path}': ${errorReason(err)}`,
      ExitCode.FAILURE,
      { cause: err },
    );
  }
}

/** The parsed object, or a short description of why the bytes are not a JSON object. */
function parseObject(bytes: Uint8Array): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  if (value === null) return "expected an object, got null";
  if (Array.isArray(value)) return "expected an object, got an array";
  if (typeof value !== "object") return `expected an object, got a ${typeof value}`;
  return value as Record<string, unknown>;
}

/** `<path>.bad-YYYYMMDDTHHMMSS` in local time. */
function backupName(path: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}T` +
    `${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${path}.bad-${stamp}`;
}

/** Writes `bytes` to a new file named `name`, or `name-1`, `name-2`…; returns the name used. */
function keepCopy(name: string, bytes: Uint8Array): string {
  for (let n = 0;; n++) {
    const candidate = n === 0 ? name : `${name}-${n}`;
    try {
      // createNew: never clobber an earlier copy, even one made in the same second.
      Deno.writeFileSync(candidate, bytes, { createNew: true, mode: 0o600 });
      return candidate;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists) || n >= 1000) throw err;
    }
  }
}

/** Gives the file the old file's owner; not being allowed to (not root) is fine. */
function chownQuietly(path: string, uid: number, gid: number): void {
  if (uid === Deno.uid() && gid === Deno.gid()) return;
  try {
    Deno.chownSync(path, uid, gid);
  } catch {
    // Not root: the new file keeps our ownership.
  }
}

/** Syncs the directory so the rename itself survives a crash; not every filesystem allows it. */
function syncDirQuietly(dir: string): void {
  try {
    const d = Deno.openSync(dir);
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch {
    // The file's own data is already on disk; only the rename could be lost.
  }
}

/** The directory part of `path`. */
function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}

/** Drops trailing slashes ("/" becomes "", so joining with "/conntop" stays right). */
function trimSlashes(dir: string): string {
  return dir.replace(/\/+$/, "");
}
