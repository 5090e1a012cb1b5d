/**
 * A view query for engine tests: the first page of every row, sorted by rate (fastest first),
 * no filter, no anchor; `over` changes what a test is about.
 *
 * @module
 */

import type { ViewQuery } from "../../src/engine/mod.ts";

export function viewQuery(over: Partial<ViewQuery> = {}): ViewQuery {
  return {
    text: "",
    sort: { column: "rate", desc: true },
    sort2: null,
    locked: false,
    anchor: null,
    cursorRow: 0,
    top: 0,
    height: 100,
    margin: 0,
    cursor: true,
    hostnames: false,
    ...over,
  };
}
