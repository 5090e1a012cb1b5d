/**
 * conntop's settings file: where it lives, and loading and saving it safely. The shape of the
 * settings belongs to their user (the UI); this folder only stores a JSON object.
 *
 * @module
 */

export { configPath, loadConfig, type LoadedConfig, saveConfig } from "./store.ts";
