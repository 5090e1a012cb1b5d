/**
 * The reference for the AS range table: ip-location-db's source CSV rows, extracted from the
 * tarball scripts/geodata.ts cached (with the `tar` command) and parsed here with code of the
 * test's own, then searched directly: an address belongs to the row holding it that starts
 * last (on equal starts, the later row), which is the rule the table documents.
 *
 * @module
 */

import { EMBEDDED_PACKAGES } from "../../../src/enrich/geoip/embedded.ts";
import { cachedTarball } from "../../../scripts/geodata.ts";

/** One CSV row with its addresses as integers. */
export interface CsvRow {
  start: bigint;
  end: bigint;
  asn: number;
  org: string;
}

/** IPv4 text → integer, by splitting on dots. */
export function v4Value(text: string): bigint {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
    throw new Error(`Failed to parse IPv4 address '${text}'`);
  }
  return BigInt(((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0);
}

/** IPv6 text → integer, by expanding "::" into zero groups. */
export function v6Value(text: string): bigint {
  const [head, tail, more] = text.split("::");
  if (more !== undefined) throw new Error(`Failed to parse IPv6 address '${text}'`);
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined
    ? h
    : [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t];
  if (groups.length !== 8) throw new Error(`Failed to parse IPv6 address '${text}'`);
  return BigInt("0x" + groups.map((g) => g.padStart(4, "0")).join(""));
}

/** Integer → the bytes of an address of `family` (4 or 16 bytes). */
export function valueBytes(v: bigint, family: 4 | 6): Uint8Array {
  const n = family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** Reads one CSV file of the cached asn tarball (`asn-ipv4.csv` or `asn-ipv6.csv`). */
export async function readAsnCsv(name: "asn-ipv4.csv" | "asn-ipv6.csv"): Promise<CsvRow[]> {
  const tgz = cachedTarball(EMBEDDED_PACKAGES.asn).pathname;
  const out = await new Deno.Command("tar", {
    args: ["-xzOf", tgz, `package/${name}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(
      `Failed to extract '${name}' from '${tgz}': ${
        new TextDecoder().decode(out.stderr).trim()
      } (run 'deno task geodata --force' to fetch it)`,
    );
  }
  const parse = name === "asn-ipv4.csv" ? v4Value : v6Value;
  const rows: CsvRow[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    if (line === "") continue;
    const m = /^([^,]+),([^,]+),(\d+),(.*)$/.exec(line);
    if (m === null) throw new Error(`Failed to parse CSV line '${line}'`);
    let org = m[4]!;
    if (org.startsWith('"')) org = org.slice(1, -1).replaceAll('""', '"');
    rows.push({ start: parse(m[1]!), end: parse(m[2]!), asn: Number(m[3]), org });
  }
  return rows;
}

/** Rows sorted by start (stably), searched by binary search and a walk back over overlaps. */
export class CsvReference {
  readonly rows: CsvRow[];
  #maxEnd: bigint[];

  constructor(rows: readonly CsvRow[]) {
    this.rows = rows.map((r, i) => ({ r, i })).sort((a, b) =>
      a.r.start < b.r.start ? -1 : a.r.start > b.r.start ? 1 : a.i - b.i
    ).map((x) => x.r);
    this.#maxEnd = [];
    let m = -1n;
    for (const r of this.rows) {
      if (r.end > m) m = r.end;
      this.#maxEnd.push(m);
    }
  }

  /** The row holding `addr` that starts last, or null. */
  lookup(addr: bigint): CsvRow | null {
    let lo = 0, hi = this.rows.length - 1, i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid]!.start <= addr) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Walk back while an earlier row could still reach addr.
    for (let j = i; j >= 0 && this.#maxEnd[j]! >= addr; j--) {
      if (this.rows[j]!.end >= addr) return this.rows[j]!;
    }
    return null;
  }
}
