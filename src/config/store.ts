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
 * this module does not guess from `$SUDO_USER`. Since root may so write into a directory another
 * user controls, everything below that base directory goes through `_dir.ts`: no link is
 * followed, directories owned by someone else are refused, files are created exclusively and
 * given to the base's owner on the open file.
 *
 * Requires `--allow-env` (for the path), `--allow-read`, `--allow-write` and `--allow-ffi`.
 *
 * @example
 * ```ts
 * import { configLocation, loadConfig, saveConfig } from "./store.ts";
 *
 * const where = configLocation(Deno.env);
 * if (where !== undefined) {
 *   const loaded = loadConfig(where.path, { base: where.base });
 *   if (loaded.warning) console.error(loaded.warning);
 *   const settings = { ...loaded.data, theme: "dark" };
 *   if (loaded.writable) saveConfig(where.path, settings, { base: where.base });
 * }
 * ```
 *
 * @module
 */

import { ConfigDir, ExistsError, reasonOf, RefusedError } from "./_dir.ts";
import { ConntopError, ExitCode } from "../errors.ts";

/** Where the settings file is: its path, and the base directory it lies below. */
export interface ConfigLocation {
  /**
   * `$XDG_CONFIG_HOME` or `$HOME`, taken as the environment gives it; everything below it is
   * checked (no links, owned by the user the settings are for).
   */
  base: string;
  /** The settings file. */
  path: string;
}

/** Options of {@linkcode loadConfig} and {@linkcode saveConfig}. */
export interface ConfigOptions {
  /**
   * The directory the path lies below (see {@linkcode ConfigLocation.base}). Default: the
   * file's own directory, taken as given, so only the file itself is checked.
   */
  base?: string;
}

/** What {@linkcode loadConfig} found. */
export interface LoadedConfig {
  /** The JSON object read, or undefined when there was none to use (missing or bad file). */
  data: Record<string, unknown> | undefined;
  /** One line for the user when the file exists but could not be used. */
  warning?: string;
  /** Whether {@linkcode saveConfig} may replace the file. */
  writable: boolean;
  /** When it may not: why, as the end of a "Cannot save config file '…': " line. */
  refusal?: string;
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
  return configLocation(env)?.path;
}

/** {@linkcode configPath} with the base directory it lies below. */
export function configLocation(
  env: { get(name: string): string | undefined },
): ConfigLocation | undefined {
  const xdg = env.get("XDG_CONFIG_HOME");
  if (xdg !== undefined && xdg.startsWith("/")) {
    return { base: xdg, path: `${trimSlashes(xdg)}/conntop/config.json` };
  }
  const home = env.get("HOME");
  if (home !== undefined && home.startsWith("/")) {
    return { base: home, path: `${trimSlashes(home)}/.config/conntop/config.json` };
  }
  return undefined;
}

/**
 * Reads the JSON object at `path`.
 *
 * - A missing file gives no data and no warning, and may be written.
 * - A file that cannot be read or must not be (a directory, a symbolic link, a FIFO, a file over
 *   1 MiB, no permission; a directory below the base that is a link or someone else's) gives a
 *   warning and must not be written: it is never overwritten with defaults.
 * - A file that is not a JSON object is first copied, byte for byte, to
 *   `<path>.bad-YYYYMMDDTHHMMSS` (local time; `-1`, `-2`… appended when that exists), then may
 *   be written. If the copy fails, it must not be written.
 */
export function loadConfig(path: string, options: ConfigOptions = {}): LoadedConfig {
  let dir: ConfigDir | undefined;
  try {
    dir = ConfigDir.open(options.base ?? dirname(path), dirname(path), false);
  } catch (err) {
    return unreadable(path, err);
  }
  if (dir === undefined) return { data: undefined, writable: true };
  using d = dir;
  return readIn(d, path);
}

/**
 * Writes `data` as JSON (2-space indent, trailing newline) to `path`, atomically: creates the
 * missing directories below the base (mode 0700), creates `<path>.tmp-<pid>` exclusively beside
 * the target, syncs it to disk and renames it over the target. The file keeps the old file's
 * permission bits; a new file gets mode 0600. Run as root, the file and the directories made
 * are given to the owner of the base, so a config saved under sudo stays its user's.
 *
 * Refuses, without writing anything: a directory below the base that is a symbolic link or is
 * owned by someone other than that user (or root), a `config.json` that is a link or not a
 * regular file, and a temporary name that already exists (it could be a planted link).
 *
 * Throws a {@linkcode ConntopError} naming the path when anything fails or is refused, after
 * removing a temporary file it made.
 */
export function saveConfig(path: string, data: unknown, options: ConfigOptions = {}): void {
  underLock(path, options, () => data);
}

/**
 * Reads the file and writes what `update` makes of its content, holding the directory's lock
 * from the read to the rename, so two programs updating at once each see the other's result.
 * `update` gets the JSON object on disk, or undefined when there is none to use (missing, or
 * not valid JSON: copied aside first as {@linkcode loadConfig} does). Writes as
 * {@linkcode saveConfig}; returns a warning about the file on disk, if any.
 *
 * Throws a {@linkcode ConntopError} naming the path when the file on disk cannot be read (it
 * is left alone), when the lock stays taken for a second, or as {@linkcode saveConfig} does.
 */
export function updateConfig(
  path: string,
  update: (disk: Record<string, unknown> | undefined) => unknown,
  options: ConfigOptions = {},
): string | undefined {
  let warning: string | undefined;
  underLock(path, options, (dir) => {
    const disk = readIn(dir, path);
    if (!disk.writable) throw new RefusedError(disk.refusal ?? "it could not be read");
    warning = disk.warning;
    return update(disk.data);
  });
  return warning;
}

/** How long a save waits for another one to finish. */
const LOCK_WAIT_MS = 1000;

/** Opens and locks the directory, gets the data from `produce`, and writes it. */
function underLock(path: string, options: ConfigOptions, produce: (dir: ConfigDir) => unknown) {
  const name = basename(path);
  const tmp = `${name}.tmp-${Deno.pid}`;
  try {
    const base = options.base ?? dirname(path);
    // The base is the environment's; it is made as given, like `mkdir -p` would.
    Deno.mkdirSync(base, { recursive: true, mode: 0o700 });
    using dir = ConfigDir.open(base, dirname(path), true)!;
    dir.lock(LOCK_WAIT_MS);
    const data = produce(dir);
    const text = JSON.stringify(data, null, 2);
    if (text === undefined) throw new TypeError(`cannot write ${typeof data} as JSON`);
    const old = dir.status(name);
    if (old?.kind === "link") throw new RefusedError("is a symbolic link");
    if (old !== undefined && old.kind !== "file") throw new RefusedError("is not a regular file");
    dir.create(tmp, new TextEncoder().encode(text + "\n"), old?.mode ?? 0o600);
    try {
      dir.rename(tmp, name);
    } catch (err) {
      dir.remove(tmp);
      throw err;
    }
    dir.sync();
  } catch (err) {
    throw new ConntopError(
      `Cannot save config file '${path}': ${reasonOf(err)}`,
      ExitCode.FAILURE,
      { cause: err },
    );
  }
}

/** {@linkcode loadConfig}'s answer for a file or directory that cannot be read. */
function unreadable(path: string, err: unknown): LoadedConfig {
  return {
    data: undefined,
    warning: `Cannot read config file '${path}': ${reasonOf(err)}; using defaults`,
    writable: false,
    refusal: `it could not be read (${reasonOf(err)})`,
  };
}

/** Reads `path`'s file in its opened directory; see {@linkcode loadConfig}. */
function readIn(dir: ConfigDir, path: string): LoadedConfig {
  let bytes: Uint8Array | undefined;
  try {
    bytes = dir.read(basename(path));
  } catch (err) {
    return unreadable(path, err);
  }
  if (bytes === undefined) return { data: undefined, writable: true };
  const detail = parseObject(bytes);
  if (typeof detail !== "string") return { data: detail, writable: true };
  const prefix = `Config file '${path}' is not valid JSON (${detail}); using defaults`;
  let backup = backupName(path, new Date());
  try {
    backup = keepCopy(dir, backup, bytes);
  } catch (err) {
    const why = `since a copy could not be kept as '${backup}' (${reasonOf(err)})`;
    return {
      data: undefined,
      warning: `${prefix}; it will not be overwritten, ${why}`,
      writable: false,
      refusal: `it is not valid JSON and will not be overwritten, ${why}`,
    };
  }
  return { data: undefined, warning: `${prefix}, kept a copy as '${backup}'`, writable: true };
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

/**
 * Writes `bytes` to a new file named `name`, or `name-1`, `name-2`…, in `dir`; returns the name
 * used.
 */
function keepCopy(dir: ConfigDir, name: string, bytes: Uint8Array): string {
  for (let n = 0;; n++) {
    const candidate = n === 0 ? name : `${name}-${n}`;
    try {
      // Exclusive: never clobber an earlier copy, even one made in the same second.
      dir.create(basename(candidate), bytes, 0o600);
      return candidate;
    } catch (err) {
      if (!(err instanceof ExistsError) || n >= 1000) throw err;
    }
  }
}

/** The directory part of `path`. */
function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}

/** The last part of `path`. */
function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Drops trailing slashes ("/" becomes "", so joining with "/conntop" stays right). */
function trimSlashes(dir: string): string {
  return dir.replace(/\/+$/, "");
}
