/**
 * conntop's settings file: where it lives, and loading and saving it safely. The shape of the
 * settings belongs to their user (the UI); this folder only stores a JSON object, and merges
 * one program's changes with another's ({@linkcode ConfigFile}).
 *
 * @module
 */

export {
  type ConfigLocation,
  configLocation,
  type ConfigOptions,
  configPath,
  loadConfig,
  type LoadedConfig,
  saveConfig,
  updateConfig,
} from "./store.ts";
export { ConfigFile } from "./file.ts";
