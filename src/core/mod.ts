/**
 * The shapes that cross threads, the wire and files — a refresh's batch, a connection as an
 * object, a filter, what enrichment knows, the client-server options — and the few pure
 * functions that go with them. Everything above may import this folder; it imports only
 * conntrack/, ffi/ and text/.
 *
 * @module
 */

export {
  type BatchMessage,
  CHUNK_RECORDS,
  type CollectorStatus,
  type LocalAddressList,
  type Totals,
} from "./batch.ts";
export { COLUMN_IDS, type ColumnId, isColumnId } from "./columns.ts";
export { addressClass, LocalAddresses, type LocalAddressesJson } from "./classes.ts";
export {
  type Connection,
  CONNECTION_FIELDS,
  type EnrichedFields,
  toConnection,
} from "./connection.ts";
export {
  ADDRESS_CLASSES,
  type AddressClass,
  type GeoInfo,
  type HostEntry,
  type HostStatus,
  NO_GEO,
  type Owner,
  ownerText,
} from "./enrichment.ts";
export { type Filter, isEmptyFilter, matches } from "./filter.ts";
export { SlotAttributes } from "./slot_attributes.ts";
export {
  DEFAULT_PORT,
  type Endpoint,
  endpointText,
  isLoopback,
  LOG_LEVELS,
  type LogLevel,
  type RemoteOptions,
  type ServerOptions,
} from "./remote.ts";
