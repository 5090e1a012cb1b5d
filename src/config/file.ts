/**
 * One running program's handle on the settings file, for when several run at once (two admins,
 * both root, each with a monitor open). Each keeps the settings it started with; a save writes
 * only the top-level keys this program's user changed during the run, merged with whatever is
 * on disk at that moment, so one monitor never undoes another's changes to other keys, and a
 * running monitor never picks up another's save (it does not read the file again to show it).
 *
 * Like the store, it knows nothing of the settings' shape: keys are compared as JSON.
 *
 * Requires what `store.ts` requires.
 *
 * @example
 * ```ts
 * import { ConfigFile } from "./file.ts";
 *
 * const file = new ConfigFile({ base: "/root", path: "/root/.config/conntop/config.json" });
 * const loaded = file.load();
 * const settings = { theme: "dark", ...loaded.data };
 * file.start(settings);
 * settings.theme = "light";
 * if (loaded.writable) file.save(settings); // writes "theme", keeps the other keys on disk
 * ```
 *
 * @module
 */

import { type ConfigLocation, loadConfig, type LoadedConfig, saveConfig } from "./store.ts";
import { ConntopError, ExitCode } from "../errors.ts";

/** The settings file as one running program sees it. */
export class ConfigFile {
  /** Where the file is. */
  readonly location: ConfigLocation;
  /** Each key's value (as JSON) when last started from or saved. */
  #last: Map<string, string> | undefined;
  /** Keys this program's user changed since it started. */
  #touched = new Set<string>();

  constructor(location: ConfigLocation) {
    this.location = location;
  }

  /** Reads the file (see {@linkcode loadConfig}). */
  load(): LoadedConfig {
    return loadConfig(this.location.path, { base: this.location.base });
  }

  /**
   * The settings this run starts with (the loaded ones with the defaults filled in, in the form
   * they are saved): a later save writes only keys whose value differs from these.
   */
  start(data: Record<string, unknown>): void {
    this.#last = snapshot(data);
    this.#touched.clear();
  }

  /**
   * Saves `data`: the keys changed since {@linkcode start} (or since the last save, so a value
   * changed back still counts) replace those on disk, and keys nobody here touched keep what is
   * on disk now. With nothing usable on disk (missing, or not valid JSON, which is copied aside
   * first), all of `data` is written. Without {@linkcode start}, every key counts as changed.
   *
   * Throws a {@linkcode ConntopError} naming the path, as {@linkcode saveConfig} does, and when
   * the file on disk cannot be read (it is then left alone).
   */
  save(data: Record<string, unknown>): void {
    const now = snapshot(data);
    for (const key of new Set([...now.keys(), ...(this.#last?.keys() ?? [])])) {
      if (this.#last === undefined || now.get(key) !== this.#last.get(key)) {
        this.#touched.add(key);
      }
    }
    const { path, base } = this.location;
    const disk = loadConfig(path, { base });
    if (!disk.writable) {
      throw new ConntopError(
        `Cannot save config file '${path}': ${disk.refusal ?? "it could not be read"}`,
        ExitCode.FAILURE,
      );
    }
    let merged: Record<string, unknown>;
    if (disk.data === undefined) {
      merged = { ...data };
    } else {
      merged = { ...disk.data };
      for (const key of this.#touched) {
        if (Object.hasOwn(data, key)) merged[key] = data[key];
        else delete merged[key];
      }
    }
    saveConfig(path, merged, { base });
    this.#last = now;
  }
}

/** Each key's value as JSON, for comparing. */
function snapshot(data: Record<string, unknown>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(data)) out.set(k, JSON.stringify(v) ?? "undefined");
  return out;
}
