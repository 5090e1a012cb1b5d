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

import { type ConfigLocation, loadConfig, type LoadedConfig, updateConfig } from "./store.ts";

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
   * on disk now (read under the directory's lock, see {@linkcode updateConfig}). With nothing
   * usable on disk (missing, or not valid JSON, which is copied aside first), all of `data` is
   * written. Without {@linkcode start}, every key counts as changed. Returns a warning about
   * the file that was on disk, if any.
   *
   * Throws a {@linkcode ConntopError} naming the path, as {@linkcode updateConfig} does; a key
   * changed in a save that failed is still written by the next one.
   */
  save(data: Record<string, unknown>): string | undefined {
    const now = snapshot(data);
    const touched = new Set(this.#touched);
    for (const key of new Set([...now.keys(), ...(this.#last?.keys() ?? [])])) {
      if (this.#last === undefined || now.get(key) !== this.#last.get(key)) touched.add(key);
    }
    const warning = updateConfig(this.location.path, (disk) => {
      if (disk === undefined) return data;
      const merged = { ...disk };
      for (const key of touched) {
        if (Object.hasOwn(data, key)) merged[key] = data[key];
        else delete merged[key];
      }
      return merged;
    }, { base: this.location.base });
    this.#touched = touched;
    this.#last = now;
    return warning;
  }
}

/** Each key's value as JSON, for comparing. */
function snapshot(data: Record<string, unknown>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(data)) out.set(k, JSON.stringify(v) ?? "undefined");
  return out;
}
