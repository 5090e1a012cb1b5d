/**
 * The engine: the one copy of the connection table, its filters and its order, answering the
 * UI's view queries with the window it draws. Pure and synchronous (no worker, no FFI, no UI):
 * the collector worker hosts it.
 *
 * @module
 */

export {
  type AddressFacts,
  type AddressLookup,
  COLUMN_IDS,
  type ColumnId,
  isColumnId,
  SORT_KEYS,
  type SortContext,
  type SortKey,
  type SortKeyDef,
} from "./keys.ts";
export {
  type Anchor,
  Engine,
  type EngineOptions,
  type Enrichment,
  type ViewQuery,
  type ViewWindow,
} from "./engine.ts";
export { recordText, SearchTexts } from "./search.ts";
export { EngineHost, type TableAnswer, type TableQuery } from "./host.ts";
export { LocalTable, type TableLink } from "./local.ts";
export type { EngineSetup, FromEngine, ToEngine } from "./messages.ts";
export { type RecordStore, TableRecords, type TableSource } from "./store.ts";
