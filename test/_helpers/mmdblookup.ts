/**
 * The GeoIP tests' reference reader: runs `mmdblookup` (libmaxminddb's command-line tool,
 * Debian package mmdb-bin) and parses what it prints back into values, so that conntop's
 * readers and the test's MaxMind DB writer are checked against the tool, never against
 * themselves.
 *
 * mmdblookup looks one address up per process; {@linkcode mmdblookupMany} runs them in
 * parallel. It prints strings unescaped, so records compared through it must not hold strings
 * with a newline or with `" <` in them. Doubles and floats are printed with six decimals:
 * compare them with {@linkcode assertRecordMatches}.
 *
 * Requires `--allow-run` and the tool: a missing tool fails loudly (scripts/setup.sh installs
 * it).
 *
 * @module
 */

import { assert } from "./assert.ts";

/** The metadata `mmdblookup --verbose` prints. */
export interface MmdblookupMetadata {
  /** "Node count". */
  nodeCount: number;
  /** "Record size", in bits. */
  recordSize: number;
  /** "IP version": 4 or 6. */
  ipVersion: number;
  /** "Binary format", e.g. "2.0". */
  binaryFormat: string;
  /** "Build epoch", seconds. */
  buildEpoch: number;
  /** "Type". */
  databaseType: string;
  /** "Languages". */
  languages: string[];
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let out;
  try {
    out = await new Deno.Command("mmdblookup", { args, stdout: "piped", stderr: "piped" })
      .output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error("Failed to run 'mmdblookup': not installed (run scripts/setup.sh --dev)", {
        cause: err,
      });
    }
    throw err;
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

interface Line {
  text: string;
}

function hexBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** One value starting at `lines[pos.i]`. */
function parseValue(lines: Line[], pos: { i: number }): unknown {
  const line = lines[pos.i++]?.text.trim();
  if (line === undefined) throw new Error("Failed to parse mmdblookup output: it ended early");
  if (line === "{") {
    const out: Record<string, unknown> = {};
    for (;;) {
      const l = lines[pos.i]?.text.trim();
      if (l === "}") {
        pos.i++;
        return out;
      }
      const m = /^"(.*)":$/.exec(l ?? "");
      if (m === null) {
        throw new Error(`Failed to parse mmdblookup output: expected a key, got '${l}'`);
      }
      pos.i++;
      out[m[1]!] = parseValue(lines, pos);
    }
  }
  if (line === "[") {
    const out: unknown[] = [];
    while (lines[pos.i]?.text.trim() !== "]") out.push(parseValue(lines, pos));
    pos.i++;
    return out;
  }
  // Empty bytes print as a bare "<bytes>".
  const m = /^(?:(.*) )?<([a-z0-9_]+)>$/s.exec(line);
  if (m === null) throw new Error(`Failed to parse mmdblookup output: unexpected line '${line}'`);
  const v = m[1] ?? "", type = m[2]!;
  switch (type) {
    case "utf8_string":
      assert(v.startsWith('"') && v.endsWith('"'), `string without quotes: ${v}`);
      return v.slice(1, -1);
    case "uint16":
    case "uint32":
    case "int32":
    case "double":
    case "float":
      return Number(v);
    case "uint64":
      return BigInt(v);
    case "uint128":
      return BigInt(v); // printed as 0x…
    case "boolean":
      return v === "true";
    case "bytes":
      return hexBytes(v);
    default:
      throw new Error(`Failed to parse mmdblookup output: unknown type '${type}'`);
  }
}

/** Parses the record printed by `mmdblookup --file F --ip A`; null for "Could not find". */
export function parseMmdblookup(text: string): unknown | null {
  if (/Could not find an entry for this IP address/.test(text)) return null;
  const lines = text.split("\n").filter((l) => l.trim() !== "").map((text) => ({ text }));
  if (lines.length === 0) throw new Error("Failed to parse mmdblookup output: it is empty");
  const pos = { i: 0 };
  const v = parseValue(lines, pos);
  if (pos.i !== lines.length) {
    throw new Error(
      `Failed to parse mmdblookup output: text after the record: '${lines[pos.i]!.text}'`,
    );
  }
  return v;
}

/** The record of `ip` in `file`, as mmdblookup reads it; null when the address is in none. */
export async function mmdblookup(file: string, ip: string): Promise<unknown | null> {
  const r = await run(["--file", file, "--ip", ip]);
  const text = r.stdout + r.stderr;
  if (r.code !== 0 && !/Could not find an entry/.test(text)) {
    throw new Error(`Failed to run 'mmdblookup --file ${file} --ip ${ip}': ${text.trim()}`);
  }
  return parseMmdblookup(text);
}

/** {@linkcode mmdblookup} for many addresses, `concurrency` processes at a time. */
export async function mmdblookupMany(
  file: string,
  ips: readonly string[],
  concurrency = 16,
): Promise<Map<string, unknown | null>> {
  const out = new Map<string, unknown | null>();
  let next = 0;
  const worker = async () => {
    while (next < ips.length) {
      const ip = ips[next++]!;
      out.set(ip, await mmdblookup(file, ip));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

/** The metadata of `file`, from `mmdblookup --verbose`. */
export async function mmdblookupMetadata(file: string): Promise<MmdblookupMetadata> {
  const r = await run(["--file", file, "--ip", "0.0.0.0", "--verbose"]);
  const text = r.stdout + r.stderr;
  const field = (name: string) => {
    const m = new RegExp(`^\\s*${name}:[ \\t]*(.*)$`, "m").exec(text);
    if (m === null) throw new Error(`Failed to read '${name}' from mmdblookup --verbose: ${text}`);
    return m[1]!.trim();
  };
  return {
    nodeCount: Number(field("Node count")),
    recordSize: parseInt(field("Record size")),
    ipVersion: field("IP version") === "IPv6" ? 6 : 4,
    binaryFormat: field("Binary format"),
    buildEpoch: parseInt(field("Build epoch")),
    databaseType: field("Type"),
    languages: field("Languages").split(/\s+/).filter((s) => s !== ""),
  };
}

/**
 * Asserts that `actual` (a reader's record) equals `expected` (mmdblookup's): same shape and
 * types, numbers equal except doubles and floats, which must round to what mmdblookup printed.
 */
export function assertRecordMatches(actual: unknown, expected: unknown, where = "record"): void {
  if (typeof expected === "number") {
    assert(typeof actual === "number", `${where}: expected a number, got ${String(actual)}`);
    assert(
      Number.isInteger(expected) && actual === expected ||
        Math.abs(actual - expected) <= 5e-7 * Math.max(1, Math.abs(expected)),
      `${where}: expected ${expected}, got ${actual}`,
    );
    return;
  }
  if (expected instanceof Uint8Array) {
    assert(actual instanceof Uint8Array, `${where}: expected bytes`);
    assert(
      actual.length === expected.length && actual.every((b, i) => b === expected[i]),
      `${where}: bytes differ`,
    );
    return;
  }
  if (Array.isArray(expected)) {
    assert(Array.isArray(actual), `${where}: expected an array`);
    assert(actual.length === expected.length, `${where}: expected ${expected.length} items`);
    expected.forEach((e, i) => assertRecordMatches(actual[i], e, `${where}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === "object") {
    assert(
      actual !== null && typeof actual === "object" && !Array.isArray(actual),
      `${where}: expected a map, got ${String(actual)}`,
    );
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const ak = Object.keys(a).sort(), ek = Object.keys(e).sort();
    assert(
      JSON.stringify(ak) === JSON.stringify(ek),
      `${where}: keys ${JSON.stringify(ak)}, expected ${JSON.stringify(ek)}`,
    );
    for (const k of ek) assertRecordMatches(a[k], e[k], `${where}.${k}`);
    return;
  }
  assert(actual === expected, `${where}: expected ${String(expected)}, got ${String(actual)}`);
}
