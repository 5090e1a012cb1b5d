/**
 * conntop's modes: the live monitor, --once, --stream and --restore.
 *
 * @module
 */

export { runMonitor } from "./monitor.ts";
export { runOnce } from "./once.ts";
export { runRestore } from "./restore.ts";
export { runStream } from "./stream.ts";
