/**
 * Fixtures of the end-to-end enrichment tests (enrich_once_test.ts): running `conntop --once`
 * and parsing what it prints, temporary directories that remove themselves, an address-range
 * check of the test's own (from the IANA special-purpose registries, not from conntop's
 * classes.ts) and a small CSV reader.
 *
 * Requires `--allow-run`, `--allow-read` and `--allow-write`.
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import { v4Value, v6Value } from "../enrich/geoip/_asn_reference.ts";
import type { Connection } from "../../src/core/connection.ts";
import { runConntop } from "./_conntop.ts";

/** The parts of a `--once -o json` document these tests read. */
export interface Snapshot {
  warnings: string[];
  connections: Connection[];
}

/** What {@linkcode once} returns: the parsed document, its text and conntop's stderr. */
export interface OnceResult {
  snapshot: Snapshot;
  stdout: string;
  stderr: string;
  /** Wall-clock time of the whole run, ms. */
  ms: number;
}

/** Options of {@linkcode once}. */
export interface OnceOptions {
  /** Environment variables (add CONNTOP_GEOIP_PATH so the machine's databases never count). */
  env?: Record<string, string>;
  /** A command to run conntop under, e.g. `["ip", "netns", "exec", ns.name]`. */
  prefix?: string[];
}

/** Runs `conntop --once -o json` with `args`, expects exit code 0 and parses the document. */
export async function once(args: string[], options: OnceOptions = {}): Promise<OnceResult> {
  const t0 = performance.now();
  const r = await runConntop(["--once", "-o", "json", ...args], options);
  const ms = performance.now() - t0;
  assertEquals(r.code, 0, `conntop ${args.join(" ")} failed: ${r.stderr}`);
  return { snapshot: JSON.parse(r.stdout) as Snapshot, stdout: r.stdout, stderr: r.stderr, ms };
}

/** A temporary directory, removed (with its contents) by `await using`. */
export interface TempDir extends AsyncDisposable {
  path: string;
}

/** Makes a temporary directory whose name starts with `prefix`. */
export async function tempDir(prefix: string): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** An address range as [family, first, last]. */
type Range = [4 | 6, bigint, bigint];

function range(prefix: string): Range {
  const [addr, len] = prefix.split("/");
  const v6 = addr!.includes(":");
  const bits = v6 ? 128n : 32n;
  const first = v6 ? v6Value(addr!) : v4Value(addr!);
  const size = 1n << (bits - BigInt(len!));
  return [v6 ? 6 : 4, first, first + size - 1n];
}

// The blocks the IANA IPv4 and IPv6 Special-Purpose Address Registries list (RFC 6890 and
// later), plus everything outside 2000::/3 for IPv6: an address in none of them is public.
// Deliberately coarse (a few globally reachable sub-blocks are left out as if not public):
// it only has to keep the test's "public" addresses public.
const SPECIAL: readonly Range[] = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/3",
  "::/3",
  "2001::/23",
  "2001:db8::/32",
  "2002::/16",
  "3fff::/20",
  "4000::/2",
  "8000::/1",
].map(range);

/** Whether `text` (an IPv4 or IPv6 address) lies outside every special-purpose block. */
export function isPublic(text: string): boolean {
  const v6 = text.includes(":");
  const n = v6 ? v6Value(text) : v4Value(text);
  return !SPECIAL.some(([fam, a, b]) => fam === (v6 ? 6 : 4) && n >= a && n <= b);
}

/** Parses CSV text (RFC 4180: quoted cells, doubled quotes, CRLF) into rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        cell += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n") {
      row.push(cell.replace(/\r$/, ""));
      rows.push(row);
      row = [];
      cell = "";
    } else {
      cell += ch;
    }
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  return rows;
}

/** The enrichment fields, in the order the schema lists them. */
export const ENRICHMENT_FIELDS = [
  "process",
  "pid",
  "src_host",
  "dst_host",
  "src_class",
  "dst_class",
  "src_country",
  "dst_country",
  "src_asn",
  "dst_asn",
  "src_org",
  "dst_org",
  "src_city",
  "dst_city",
  "sport_service",
  "dport_service",
] as const satisfies readonly (keyof Connection)[];

/** The GeoIP fields of one side of a connection. */
export interface GeoSide {
  country: string | null;
  asn: number | null;
  org: string | null;
  city: string | null;
}

/** The GeoIP fields of the source (`"src"`) or destination (`"dst"`) of `c`. */
export function geoOf(c: Connection, side: "src" | "dst"): GeoSide {
  return {
    country: c[`${side}_country`],
    asn: c[`${side}_asn`],
    org: c[`${side}_org`],
    city: c[`${side}_city`],
  };
}

/** Every GeoIP field null. */
export const NO_GEO_SIDE: GeoSide = { country: null, asn: null, org: null, city: null };
