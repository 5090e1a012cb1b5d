/**
 * The main thread's model of the table, the connection objects built from it, and filters.
 *
 * @module
 */

export { ConnectionModel } from "./model.ts";
export {
  type Connection,
  CONNECTION_FIELDS,
  type EnrichedFields,
  toConnection,
} from "../core/mod.ts";
export { type Filter, isEmptyFilter, matches } from "../core/mod.ts";
