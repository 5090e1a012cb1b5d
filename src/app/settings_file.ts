/**
 * The monitor's settings on disk: read once at start (with the warnings for the header and for
 * after the terminal is restored), saved when the user changes one. It never throws for a file
 * it cannot read or write: the monitor runs with the defaults, says why, and leaves the file
 * alone; and it never reads the file again during a run (see src/config/file.ts).
 *
 * Requires `--allow-env`, `--allow-read` and `--allow-write` (the config directory).
 *
 * @module
 */

import { ConfigFile, configLocation } from "../config/mod.ts";
import { defaultSettings, type Settings, settingsFromJson, settingsToJson } from "../ui/mod.ts";

/** The settings file of one monitor run, or none (no home to keep one in). */
export class MonitorSettings {
  /** The settings this run starts with. */
  readonly settings: Settings;
  /** What loading said (a damaged file, unknown keys), for the header and the end. */
  readonly notes: readonly string[];
  #config: ConfigFile | undefined;
  #writable: boolean;
  #warned = false;
  #failure: string | undefined;

  /** Loads the settings file named by the environment (the defaults when there is none). */
  constructor(env: Deno.Env = Deno.env) {
    const notes: string[] = [];
    const where = configLocation(env);
    this.#config = where === undefined ? undefined : new ConfigFile(where);
    this.#writable = this.#config !== undefined;
    let settings = defaultSettings();
    if (this.#config !== undefined) {
      const loaded = this.#config.load();
      this.#writable = loaded.writable;
      if (loaded.warning !== undefined) notes.push(loaded.warning);
      if (loaded.data !== undefined) {
        const r = settingsFromJson(loaded.data);
        settings = r.settings;
        notes.push(...r.warnings);
      }
      // This run's own settings: saves write what its user changes, not what another run saved.
      this.#config.start(settingsToJson(settings));
    }
    this.settings = settings;
    this.notes = notes;
  }

  /**
   * The last save that failed (undefined once one succeeds), repeated after the terminal is
   * restored so it is not missed.
   */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Saves `settings`; what went wrong (or a warning about the file) goes to `warn`. */
  save(settings: Settings, warn: (message: string) => void): void {
    const config = this.#config;
    if (config === undefined || !this.#writable) {
      if (!this.#warned && config !== undefined) {
        this.#warned = true;
        const path = config.location.path;
        warn(`Settings are not saved: ${path} could not be read, so it is left alone`);
      }
      return;
    }
    try {
      const warning = config.save(settingsToJson(settings));
      if (warning !== undefined) warn(warning);
      this.#failure = undefined;
    } catch (err) {
      this.#failure = err instanceof Error ? err.message : String(err);
      warn(this.#failure);
    }
  }
}
