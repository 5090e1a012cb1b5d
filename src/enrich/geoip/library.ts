/**
 * libmaxminddb as `--version` reports it (kept out of src/app/libraries.ts so that conntopd,
 * which has no GeoIP, does not load this binding).
 *
 * @module
 */

import { LIBMAXMINDDB_SONAME, libVersion, maxminddb } from "../../../ffi/maxminddb.ts";
import type { LibraryProbe } from "../../libraries.ts";

/** libmaxminddb, as the GeoIP reader loads it, with the version it reports. */
export const MAXMINDDB_PROBE: LibraryProbe = {
  name: "libmaxminddb",
  open() {
    maxminddb();
    return Deno.env.get("CONNTOP_LIBMAXMINDDB") || LIBMAXMINDDB_SONAME;
  },
  version: libVersion,
};
