/**
 * Command-line options: parsing with parse_args.ts (`node:util`'s parseArgs without Node's
 * compatibility layer; JSR's @std/cli is unreachable from here) and validation into typed {@linkcode Options}. Every bad value becomes a
 * {@linkcode UsageError} naming the option and quoting the value.
 *
 * @module
 */

import { parseArgs } from "./parse_args.ts";
import { ALL_STATE_NAMES, parsePrefix, parseProto } from "../conntrack/mod.ts";
import { UsageError } from "../errors.ts";
import type { Filter } from "../core/mod.ts";
import { COLUMN_IDS, type ColumnId, isColumnId } from "../core/mod.ts";
import { parseDecimal, parseInteger, parseSeconds } from "./number.ts";
import {
  parseRemoteOptions,
  parseServerOptions,
  REMOTE_SPEC,
  type RemoteOptions,
  type RemoteValues,
  type ServerOptions,
} from "./remote.ts";

/** Output formats of --once and --stream. */
export type Format = "table" | "json" | "ndjson" | "csv";

/** What the user asked for. */
export interface Options {
  mode: "help" | "version" | "once" | "stream" | "monitor" | "server" | "restore";
  format: Format;
  /** Refresh interval in ms. */
  intervalMs: number;
  /** Whether --interval was given (with --once: sample twice, so rates are filled). */
  intervalGiven: boolean;
  filter: Filter;
  netns?: string;
  enableAcct: boolean;
  track: boolean;
  events: boolean;
  /** Kernel receive buffer for conntrack events, in bytes. */
  eventBufferBytes: number;
  /** Stop --stream after this many refreshes (0: never). */
  count: number;
  color: boolean;
  /** Write the stream of updates the UI receives to this file (NDJSON; gzip for .gz). */
  record?: string;
  /** Play a recording in the UI instead of reading the kernel's table. */
  replay?: string;
  /** Replay speed multiplier. */
  speed: number;
  /** Resolve hostnames (off: -n/--no-hostname). */
  hostnames: boolean;
  /** Show service names (off: -P/--no-servname). */
  servnames: boolean;
  /** GeoIP (off: --no-geoip). */
  geoip: boolean;
  /** --geoip-dir directories, in order. */
  geoipDirs: string[];
  /** --server (and conntopd): serve the table to clients. */
  server?: ServerOptions;
  /** --connect: show a server's table instead of this host's. */
  remote?: RemoteOptions;
  /** --sort: the columns --once sorts by, in order (each in its own default direction). */
  sort: ColumnId[];
  /** --reverse: --once's order reversed. */
  reverse: boolean;
  /** --top: --once prints only the first N rows. */
  top?: number;
  /** --columns: the columns --once prints (the table) and the fields they stand for. */
  columns?: ColumnId[];
}

const SPEC = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  once: { type: "boolean", short: "1" },
  stream: { type: "boolean" },
  format: { type: "string", short: "o" },
  interval: { type: "string", short: "i" },
  count: { type: "string", short: "c" },
  proto: { type: "string", short: "p" },
  state: { type: "string" },
  src: { type: "string", short: "s" },
  dst: { type: "string", short: "d" },
  sport: { type: "string" },
  dport: { type: "string" },
  family: { type: "string" },
  mark: { type: "string", short: "m" },
  zone: { type: "string", short: "w" },
  netns: { type: "string" },
  "enable-acct": { type: "boolean" },
  track: { type: "boolean" },
  restore: { type: "boolean" },
  "no-events": { type: "boolean" },
  "event-buffer": { type: "string" },
  "no-color": { type: "boolean" },
  record: { type: "string" },
  replay: { type: "string" },
  speed: { type: "string" },
  "no-hostname": { type: "boolean", short: "n" },
  "no-servname": { type: "boolean", short: "P" },
  "no-geoip": { type: "boolean" },
  "geoip-dir": { type: "string", multiple: true },
  sort: { type: "string" },
  reverse: { type: "boolean" },
  top: { type: "string" },
  columns: { type: "string" },
  ...REMOTE_SPEC,
} as const;

/** Long option names, for the man page and completion checks. */
export const LONG_OPTIONS: readonly string[] = Object.keys(SPEC);

/** Parses `args` (without the program name). Throws {@linkcode UsageError}. */
export function parseOptions(args: string[], env: { noColor?: boolean } = {}): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: attachValues(args, SPEC),
      options: SPEC,
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err));
  }
  const v = parsed.values;
  const opts: Options = {
    mode: v.help
      ? "help"
      : v.version
      ? "version"
      : v.restore
      ? "restore"
      : v.once
      ? "once"
      : v.stream
      ? "stream"
      : "monitor",
    format: "table",
    intervalMs: 1000,
    intervalGiven: v.interval !== undefined,
    filter: {},
    netns: v.netns,
    enableAcct: v["enable-acct"] ?? false,
    track: v.track ?? false,
    events: !(v["no-events"] ?? false),
    eventBufferBytes: 16 << 20,
    count: 0,
    color: !(v["no-color"] ?? false) && !(env.noColor ?? false),
    record: v.record,
    replay: v.replay,
    speed: 1,
    hostnames: !(v["no-hostname"] ?? false),
    servnames: !(v["no-servname"] ?? false),
    geoip: !(v["no-geoip"] ?? false),
    geoipDirs: v["geoip-dir"] ?? [],
    sort: [],
    reverse: v.reverse ?? false,
  };
  if (opts.mode === "restore") {
    // It only undoes: any option of a run would suggest it does more.
    const other = Object.keys(v).find((k) =>
      !["restore", "netns", "no-color", "server"].includes(k)
    );
    if (other !== undefined) {
      throw new UsageError(`Option --${other} does not apply to --restore (only --netns does)`);
    }
  }
  for (const dir of opts.geoipDirs) {
    if (dir === "") {
      throw new UsageError("Invalid value for --geoip-dir: expected a directory, got ''");
    }
  }
  if (v["no-geoip"] && opts.geoipDirs.length > 0) {
    throw new UsageError("Options --no-geoip and --geoip-dir cannot be combined");
  }
  if (v.once && v.stream) throw new UsageError("Options --once and --stream cannot be combined");
  if (v.format !== undefined) {
    if (!["table", "json", "ndjson", "csv"].includes(v.format)) {
      throw new UsageError(
        `Invalid value for --format: expected table, json, ndjson or csv, got '${v.format}'`,
      );
    }
    opts.format = v.format as Format;
    if (opts.mode === "monitor") opts.mode = "once";
  }
  if (opts.mode === "stream" && v.format === undefined) opts.format = "ndjson";
  if (opts.mode === "stream" && (opts.format === "table" || opts.format === "json")) {
    throw new UsageError(
      `Invalid value for --format with --stream: expected ndjson or csv, got '${opts.format}'`,
    );
  }
  if (v.interval !== undefined) {
    opts.intervalMs = parseSeconds("--interval", v.interval, 0.05, 3600);
  }
  if (v["event-buffer"] !== undefined) {
    opts.eventBufferBytes = integer("--event-buffer", v["event-buffer"], 4096, 1 << 30);
  }
  if (v.count !== undefined) opts.count = integer("--count", v.count, 1, 2 ** 31);
  if (v.netns !== undefined && (v.netns === "" || /[\0]/.test(v.netns))) {
    throw new UsageError(`Invalid value for --netns: got '${v.netns}'`);
  }
  for (const k of ["record", "replay"] as const) {
    const path = v[k];
    if (path === undefined) continue;
    if (path === "") throw new UsageError(`Invalid value for --${k}: expected a file name, got ''`);
    if (opts.mode === "once" || opts.mode === "stream") {
      throw new UsageError(
        `Option --${k} works with the interactive UI, not with --${opts.mode}`,
      );
    }
  }
  if (v.record !== undefined && v.replay !== undefined) {
    throw new UsageError("Options --record and --replay cannot be combined");
  }
  if (v.speed !== undefined) {
    const s = parseDecimal("--speed", v.speed, 1 / 16, 64, "a factor between 0.0625 and 64");
    if (v.replay === undefined) throw new UsageError("Option --speed needs --replay");
    opts.speed = s;
  }
  opts.filter = parseFilter(v);
  parseOnceOrder(v, opts);
  if (v.server) {
    if (opts.mode === "once" || opts.mode === "stream" || opts.mode === "restore") {
      throw new UsageError(`Options --server and --${opts.mode} cannot be combined`);
    }
    for (const k of SERVER_CONFLICTS) {
      if (v[k] !== undefined) throw new UsageError(`Option --${k} does not apply to --server`);
    }
    if (Object.keys(opts.filter).length > 0) {
      throw new UsageError("Filters apply on the client: give them to conntop --connect");
    }
    if (opts.mode === "monitor") opts.mode = "server";
    if (opts.mode === "server") opts.server = parseServerOptions(v as RemoteValues);
    return opts;
  }
  opts.remote = parseRemoteOptions(v as RemoteValues);
  if (opts.remote !== undefined) {
    // The monitor and --stream retry for as long as they run; only --once gives up.
    if (v.deadline !== undefined && opts.mode !== "once") {
      throw new UsageError("Option --deadline is for --connect --once");
    }
    for (const k of CONNECT_CONFLICTS) {
      if (v[k] !== undefined) {
        throw new UsageError(`Option --${k} does not apply to --connect (the server collects)`);
      }
    }
  }
  return opts;
}

/** Options that mean nothing to a server (it has no UI and does no resolving). */
const SERVER_CONFLICTS = [
  "format",
  "count",
  "record",
  "replay",
  "speed",
  "no-hostname",
  "no-servname",
  "no-geoip",
  "geoip-dir",
  "no-color",
] as const;

/** Options of local collection, which the server does for a --connect client. */
const CONNECT_CONFLICTS = [
  "netns",
  "enable-acct",
  "track",
  "no-events",
  "event-buffer",
  "interval",
  "replay",
] as const;

function parseFilter(
  v: Record<string, string | string[] | boolean | boolean[] | undefined>,
): Filter {
  const f: Filter = {};
  const str = (k: string) => v[k] as string | undefined;
  const proto = str("proto");
  if (proto !== undefined) {
    f.proto = parseProto(proto);
    if (f.proto === undefined) {
      throw new UsageError(
        `Invalid value for --proto: expected a protocol name (tcp, udp, udplite, sctp, dccp, icmp, icmpv6, gre) or number 0-255, got '${proto}'`,
      );
    }
  }
  const state = str("state");
  if (state !== undefined) {
    const names = state.split(",").map((s) => s.trim().toUpperCase());
    for (const n of names) {
      if (!ALL_STATE_NAMES.has(n)) {
        throw new UsageError(
          `Invalid value for --state: unknown state '${n}' (e.g. ESTABLISHED, SYN_SENT, TIME_WAIT)`,
        );
      }
    }
    f.states = new Set(names);
  }
  for (const key of ["src", "dst"] as const) {
    const text = str(key);
    if (text === undefined) continue;
    const p = parsePrefix(text);
    if (p === undefined) {
      throw new UsageError(
        `Invalid value for --${key}: expected an IPv4 or IPv6 address with optional /prefix, got '${text}'`,
      );
    }
    f[key] = p;
  }
  const sport = str("sport");
  if (sport !== undefined) f.sport = integer("--sport", sport, 0, 65535);
  const dport = str("dport");
  if (dport !== undefined) f.dport = integer("--dport", dport, 0, 65535);
  const family = str("family");
  if (family !== undefined) {
    const m = { "4": 2, ipv4: 2, inet: 2, "6": 10, ipv6: 10, inet6: 10 }[family.toLowerCase()];
    if (m === undefined) {
      throw new UsageError(`Invalid value for --family: expected 4 or 6, got '${family}'`);
    }
    f.family = m as 2 | 10;
  }
  if (
    f.family !== undefined &&
    ((f.src !== undefined && f.src.family !== f.family) ||
      (f.dst !== undefined && f.dst.family !== f.family))
  ) {
    throw new UsageError("Options --family and --src/--dst name different address families");
  }
  const mark = str("mark");
  if (mark !== undefined) {
    const [value, mask, extra] = mark.split("/");
    if (extra !== undefined) {
      throw new UsageError(`Invalid value for --mark: expected VALUE[/MASK], got '${mark}'`);
    }
    const m = mask === undefined
      ? 0xffffffff
      : integer("--mark", mask, 0, 0xffffffff, { whole: mark });
    const val = integer("--mark", value!, 0, 0xffffffff, { whole: mark });
    f.mark = { value: (val & m) >>> 0, mask: m };
  }
  const zone = str("zone");
  if (zone !== undefined) f.zone = integer("--zone", zone, 0, 65535);
  return f;
}

const integer = parseInteger;

/** Options of --once's rows; any of them without --once is refused. */
const ONCE_ONLY = ["sort", "reverse", "top", "columns"] as const;

// --sort, --reverse, --top and --columns: column names as the monitor's (its config file's).
function parseOnceOrder(
  v: Record<string, string | string[] | boolean | boolean[] | undefined>,
  opts: Options,
): void {
  for (const k of ONCE_ONLY) {
    if (v[k] !== undefined && opts.mode !== "once") {
      throw new UsageError(`Option --${k} works with --once only`);
    }
  }
  const sort = v.sort as string | undefined;
  if (sort !== undefined) {
    opts.sort = columnList("--sort", sort);
    if (opts.sort.length > 2) {
      throw new UsageError(
        `Invalid value for --sort: expected one or two column names, got '${sort}'`,
      );
    }
  }
  const top = v.top as string | undefined;
  if (top !== undefined) opts.top = integer("--top", top, 1, 2 ** 31);
  const columns = v.columns as string | undefined;
  if (columns !== undefined) opts.columns = columnList("--columns", columns);
}

// A comma-separated list of column names, each known and given once.
function columnList(option: string, text: string): ColumnId[] {
  const names = text.split(",").map((s) => s.trim());
  const seen = new Set<string>();
  for (const n of names) {
    if (!isColumnId(n)) {
      throw new UsageError(
        `Invalid value for ${option}: unknown column '${n}' (columns: ${COLUMN_IDS.join(", ")})`,
      );
    }
    if (seen.has(n)) throw new UsageError(`Invalid value for ${option}: column '${n}' given twice`);
    seen.add(n);
  }
  return names as ColumnId[];
}

/**
 * `args` with each option that takes a value joined to its next argument (`-i -1` becomes
 * `--interval=-1`), as GNU getopt reads them: node's parseArgs would otherwise refuse a value
 * that starts with "-" as ambiguous. Arguments after "--" are left alone.
 */
export function attachValues(
  args: readonly string[],
  spec: Readonly<Record<string, { type: string; short?: string }>>,
): string[] {
  const takesValue = new Map<string, string>();
  for (const [name, o] of Object.entries(spec)) {
    if (o.type !== "string") continue;
    takesValue.set(`--${name}`, name);
    if (o.short !== undefined) takesValue.set(`-${o.short}`, name);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      for (let j = i; j < args.length; j++) out.push(args[j]!);
      break;
    }
    const name = takesValue.get(arg);
    if (name !== undefined && i + 1 < args.length) {
      out.push(`--${name}=${args[++i]}`);
    } else {
      out.push(arg);
    }
  }
  return out;
}

function parseArgsMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = e.message ?? String(err);
  const quoted = /'(-[^']*)'/.exec(msg)?.[1] ?? "";
  const opt = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown option '${opt || msg}'`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /argument missing/.test(msg)
        ? `Option '${opt}' needs a value`
        : `Option '${opt}' takes no value`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `Unexpected argument '${/'([^']*)'/.exec(msg)?.[1] ?? msg}'`;
    default:
      return msg.split("\n")[0]!;
  }
}
