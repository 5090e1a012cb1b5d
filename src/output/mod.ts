/**
 * Turning connections into text: the scripting formats, human units, and writing large
 * outputs without doubling them in memory.
 *
 * @module
 */

export * from "./format.ts";
export * from "./units.ts";
export { writeTextSync } from "./write.ts";
