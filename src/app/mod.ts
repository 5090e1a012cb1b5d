/**
 * conntop's modes: the live monitor, --once and --stream.
 *
 * @module
 */

export { runMonitor } from "./monitor.ts";
export { runOnce } from "./once.ts";
export { runStream } from "./stream.ts";
