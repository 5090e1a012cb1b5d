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
export { writeAllSync, writeTextSync } from "./write.ts";
export { ByteSink, recordCsvEncoder, recordJsonEncoder, type RecordRow } from "./records.ts";
