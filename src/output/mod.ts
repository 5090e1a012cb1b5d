/**
 * Turning connections into text: the scripting formats, human units, the `--once` table and
 * columns, and writing large outputs without doubling them in memory.
 *
 * @module
 */

export * from "./format.ts";
export * from "./units.ts";
export * from "./encode.ts";
export * from "./columns.ts";
export * from "./table.ts";
export { writeTextSync } from "./write.ts";
