/**
 * The one table the shell completion scripts are generated from: every option of conntop and
 * conntopd with its short letter, the kind of value it takes, a one-line summary and the programs
 * that take it. test/cli/completions_test.ts checks the names against the parser's
 * `LONG_OPTIONS` and against the options `conntopd --help` lists, so a new option cannot be
 * forgotten here.
 *
 * Data only: no I/O, and nothing of the UI, the terminal or GeoIP (conntopd imports it).
 *
 * @module
 */

import { ALL_STATE_NAMES, PROTO_NAMES } from "../../conntrack/mod.ts";
import { COLUMN_IDS } from "../../core/mod.ts";

/** The programs a completion script is made for. */
export type Program = "conntop" | "conntopd";

/**
 * What an option's value is, which decides what the shells offer for it:
 *
 * - `none`: a switch, no value;
 * - `format`, `proto`, `family`: one of {@linkcode VALUE_WORDS};
 * - `state`: a comma-separated list of {@linkcode VALUE_WORDS}`.state`;
 * - `columns`: a comma-separated list of {@linkcode VALUE_WORDS}`.columns` (the monitor's
 *   column names);
 * - `netns`: a name in /run/netns (read when completing), or a path;
 * - `file`, `dir`: a file or a directory;
 * - `host`: a hostname (from the shell's helper: /etc/hosts, ssh's known hosts);
 * - `text`: a number, an address or a name nothing can guess; nothing is offered (and no option:
 *   the next word is the value).
 */
export type ArgKind =
  | "none"
  | "format"
  | "proto"
  | "state"
  | "columns"
  | "family"
  | "netns"
  | "file"
  | "dir"
  | "host"
  | "text";

/** The words offered for the value kinds that have a fixed list. */
export const VALUE_WORDS: Readonly<
  Record<"format" | "proto" | "state" | "columns" | "family", readonly string[]>
> = {
  format: ["table", "json", "ndjson", "csv"],
  proto: Object.values(PROTO_NAMES),
  state: [...ALL_STATE_NAMES],
  columns: COLUMN_IDS,
  family: ["4", "6"],
};

/** One option as the completion scripts see it. */
export interface CompletionOption {
  /** The long name, without the dashes. */
  long: string;
  /** The short letter, without the dash. */
  short?: string;
  /** What its value is ("none": a switch). */
  arg: ArgKind;
  /** The value's name in the help text (FILE, SECONDS); the zsh scripts show it. */
  meta?: string;
  /** One line for the zsh and fish menus: lower case, no final period. */
  help: string;
  /** Whether it may be given more than once. */
  repeatable?: boolean;
  /** The programs that take it. */
  programs: readonly Program[];
}

const BOTH: readonly Program[] = ["conntop", "conntopd"];
const CONNTOP: readonly Program[] = ["conntop"];

/** Every option, in the order of conntop's --help. */
export const COMPLETION_OPTIONS: readonly CompletionOption[] = [
  { long: "help", short: "h", arg: "none", help: "show the help and exit", programs: BOTH },
  { long: "version", short: "V", arg: "none", help: "show the version and exit", programs: BOTH },
  {
    long: "once",
    short: "1",
    arg: "none",
    help: "print the current table once and exit",
    programs: CONNTOP,
  },
  { long: "stream", arg: "none", help: "print every change as it is collected", programs: CONNTOP },
  {
    long: "format",
    short: "o",
    arg: "format",
    meta: "FORMAT",
    help: "output format of --once and --stream",
    programs: CONNTOP,
  },
  {
    long: "count",
    short: "c",
    arg: "text",
    meta: "N",
    help: "with --stream, stop after N refreshes",
    programs: CONNTOP,
  },
  {
    long: "sort",
    arg: "columns",
    meta: "COLUMNS",
    help: "with --once, sort by these columns",
    programs: CONNTOP,
  },
  {
    long: "reverse",
    arg: "none",
    help: "with --once, reverse the order",
    programs: CONNTOP,
  },
  {
    long: "top",
    arg: "text",
    meta: "N",
    help: "with --once, print the first N rows only",
    programs: CONNTOP,
  },
  {
    long: "columns",
    arg: "columns",
    meta: "LIST",
    help: "with --once, print these columns",
    programs: CONNTOP,
  },
  {
    long: "record",
    arg: "file",
    meta: "FILE",
    help: "write every update the monitor receives to FILE",
    programs: CONNTOP,
  },
  {
    long: "replay",
    arg: "file",
    meta: "FILE",
    help: "play a recording in the monitor",
    programs: CONNTOP,
  },
  {
    long: "speed",
    arg: "text",
    meta: "FACTOR",
    help: "replay speed, 0.0625 to 64",
    programs: CONNTOP,
  },
  {
    long: "interval",
    short: "i",
    arg: "text",
    meta: "SECONDS",
    help: "refresh interval in seconds",
    programs: BOTH,
  },
  {
    long: "netns",
    arg: "netns",
    meta: "NAME",
    help: "monitor a network namespace (a name in /run/netns or a path)",
    programs: BOTH,
  },
  {
    long: "enable-acct",
    arg: "none",
    help: "turn on byte and packet accounting while running",
    programs: BOTH,
  },
  {
    long: "track",
    arg: "none",
    help: "make the kernel track connections while running",
    programs: BOTH,
  },
  {
    long: "restore",
    arg: "none",
    help: "undo what a killed conntop left changed, and exit",
    programs: CONNTOP,
  },
  {
    long: "no-events",
    arg: "none",
    help: "read the table by dumps only, no conntrack events",
    programs: BOTH,
  },
  {
    long: "event-buffer",
    arg: "text",
    meta: "BYTES",
    help: "kernel receive buffer for events",
    programs: BOTH,
  },
  {
    long: "proto",
    short: "p",
    arg: "proto",
    meta: "PROTO",
    help: "show only this layer 4 protocol",
    programs: CONNTOP,
  },
  {
    long: "state",
    arg: "state",
    meta: "STATE",
    help: "show only these protocol states (comma-separated)",
    programs: CONNTOP,
  },
  {
    long: "src",
    short: "s",
    arg: "text",
    meta: "ADDR",
    help: "show only this original source address or prefix",
    programs: CONNTOP,
  },
  {
    long: "dst",
    short: "d",
    arg: "text",
    meta: "ADDR",
    help: "show only this original destination address or prefix",
    programs: CONNTOP,
  },
  {
    long: "sport",
    arg: "text",
    meta: "PORT",
    help: "show only this original source port",
    programs: CONNTOP,
  },
  {
    long: "dport",
    arg: "text",
    meta: "PORT",
    help: "show only this original destination port",
    programs: CONNTOP,
  },
  {
    long: "family",
    arg: "family",
    meta: "FAMILY",
    help: "show only this address family",
    programs: CONNTOP,
  },
  {
    long: "mark",
    short: "m",
    arg: "text",
    meta: "VALUE/MASK",
    help: "show only this connection mark",
    programs: CONNTOP,
  },
  {
    long: "zone",
    short: "w",
    arg: "text",
    meta: "ZONE",
    help: "show only this conntrack zone",
    programs: CONNTOP,
  },
  {
    long: "no-hostname",
    short: "n",
    arg: "none",
    help: "do not resolve hostnames",
    programs: CONNTOP,
  },
  {
    long: "no-servname",
    short: "P",
    arg: "none",
    help: "show port numbers, not service names",
    programs: CONNTOP,
  },
  { long: "no-geoip", arg: "none", help: "no GeoIP columns", programs: CONNTOP },
  {
    long: "geoip-dir",
    arg: "dir",
    meta: "DIR",
    help: "look for GeoIP databases in DIR first",
    repeatable: true,
    programs: CONNTOP,
  },
  {
    long: "server",
    arg: "none",
    help: "serve this host's table to conntop clients",
    programs: CONNTOP,
  },
  {
    long: "connect",
    arg: "host",
    meta: "SERVER",
    help: "show a conntop server's table",
    programs: CONNTOP,
  },
  { long: "port", arg: "text", meta: "PORT", help: "server port", programs: BOTH },
  {
    long: "name",
    arg: "text",
    meta: "NAME",
    help: "the name shown to the other side",
    programs: BOTH,
  },
  {
    long: "token-file",
    arg: "file",
    meta: "FILE",
    help: "file holding the shared secret",
    programs: BOTH,
  },
  {
    long: "listen",
    arg: "text",
    meta: "ADDR",
    help: "listen on this address",
    repeatable: true,
    programs: BOTH,
  },
  { long: "listen-any", arg: "none", help: "listen on every address", programs: BOTH },
  {
    long: "tls-cert",
    arg: "file",
    meta: "FILE",
    help: "TLS certificate chain (PEM)",
    programs: BOTH,
  },
  {
    long: "tls-key",
    arg: "file",
    meta: "FILE",
    help: "private key of --tls-cert (PEM)",
    programs: BOTH,
  },
  {
    long: "insecure",
    arg: "none",
    help: "allow a token or the table to cross the network without TLS",
    programs: BOTH,
  },
  {
    long: "log-file",
    arg: "file",
    meta: "FILE",
    help: "log to FILE instead of standard error",
    programs: BOTH,
  },
  {
    long: "verbose",
    short: "v",
    arg: "none",
    help: "log in more detail",
    repeatable: true,
    programs: BOTH,
  },
  { long: "quiet", short: "q", arg: "none", help: "log errors only", programs: BOTH },
  {
    long: "max-clients",
    arg: "text",
    meta: "N",
    help: "clients served at once",
    programs: BOTH,
  },
  {
    long: "idle-timeout",
    arg: "text",
    meta: "SECONDS",
    help: "drop a client silent for this long",
    programs: BOTH,
  },
  {
    long: "handshake-timeout",
    arg: "text",
    meta: "SECONDS",
    help: "drop a client without a hello after this long",
    programs: BOTH,
  },
  {
    long: "client-queue",
    arg: "text",
    meta: "BYTES",
    help: "changes queued for a slow client before a fresh snapshot",
    programs: BOTH,
  },
  {
    long: "tls",
    arg: "none",
    help: "connect with TLS, trusting the system's authorities",
    programs: CONNTOP,
  },
  {
    long: "tls-ca",
    arg: "file",
    meta: "FILE",
    help: "connect with TLS, trusting the CA in FILE",
    programs: CONNTOP,
  },
  {
    long: "deadline",
    arg: "text",
    meta: "S",
    help: "with --connect --once: give up without a table within S seconds",
    programs: CONNTOP,
  },
  {
    long: "no-color",
    arg: "none",
    help: "no colours",
    programs: CONNTOP,
  },
];

/** The options `program` takes. */
export function optionsOf(program: Program): CompletionOption[] {
  return COMPLETION_OPTIONS.filter((o) => o.programs.includes(program));
}

/** The summary of the `completions` subcommand, for the menus. */
export const COMPLETIONS_HELP = "print the completion script for bash, zsh or fish";

/** The shells there are completion scripts for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
/** One of {@linkcode SHELLS}. */
export type Shell = typeof SHELLS[number];
