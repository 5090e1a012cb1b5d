/**
 * What the peers printed, read back: the totals and rows of `iptstate -1`, what each monitor's
 * screen shows (its own count of connections, the rows drawn, whether it is still collecting),
 * and how many of a benchmark table's connections flowtop can show at all. Pure functions: no
 * I/O.
 *
 * @module
 */

/**
 * The most states iptstate prints, in single-run mode too: its `NLINES`, the length of its
 * ncurses pad (`limit = min(table size, NLINES)` in its print_table()).
 */
export const IPTSTATE_MAX_ROWS = 16384;

/** `COLS` for `iptstate -1`, which otherwise reads its width from an uninitialised struct. */
export const IPTSTATE_COLS = 160;

/** Lines `iptstate -1 -t` prints before its rows: title, totals, column headers. */
export const IPTSTATE_HEADER_LINES = 3;

/** The totals line of iptstate (`-t`), in single-run and interactive mode. */
const IPTSTATE_TOTALS = /Total States: (\d+) -- TCP: (\d+) UDP: (\d+) ICMP: (\d+) Other: (\d+)/;

/** iptstate's totals, or null when the text holds no totals line. */
export function iptstateTotals(
  text: string,
): { total: number; tcp: number; udp: number; icmp: number; other: number } | null {
  const m = IPTSTATE_TOTALS.exec(text);
  if (m === null) return null;
  return {
    total: Number(m[1]),
    tcp: Number(m[2]),
    udp: Number(m[3]),
    icmp: Number(m[4]),
    other: Number(m[5]),
  };
}

/** Rows `iptstate -1` prints for a table of `n` states (no filter). */
export function iptstateExpectedRows(n: number): number {
  return Math.min(n, IPTSTATE_MAX_ROWS);
}

/** What a monitor's screen shows. */
export interface ScreenState {
  /** The number of connections the program says it holds, or null when the screen says none. */
  count: number | null;
  /** Rows of connections drawn on the screen. */
  rows: number;
  /** The program says it is still reading the table (flowtop's "Collecting flows"). */
  collecting: boolean;
}

const PROTOS = "tcp|udp|udplite|icmp|icmpv6|icmp6|sctp|dccp|gre";

/**
 * conntop's screen: `Conns N` in the header; a row starts with its protocol (the PROTO
 * column, first on the default screen).
 */
export function conntopScreen(lines: readonly string[]): ScreenState {
  const m = /\bConns (\d+)\b/.exec(lines.slice(0, 3).join("\n"));
  const row = new RegExp(`^(${PROTOS}|unknown|\\d+)\\s`);
  return {
    count: m === null ? null : Number(m[1]),
    rows: lines.filter((l) => row.test(l)).length,
    collecting: false,
  };
}

/**
 * iptstate's screen (with `-t`): `Total States: N` under the title; a row holds an address,
 * then (after the destination) its protocol.
 */
export function iptstateScreen(lines: readonly string[]): ScreenState {
  const totals = iptstateTotals(lines.slice(0, 5).join("\n"));
  const row = new RegExp(`^[0-9a-f.:]+\\s+[0-9a-f.:]+\\s+(${PROTOS}|\\d+)\\b`, "i");
  return {
    count: totals?.total ?? null,
    rows: lines.filter((l) => row.test(l.trim())).length,
    collecting: false,
  };
}

/**
 * flowtop's screen: `Kernel netfilter flows(N)` in the header, `[Collecting flows ...]` while
 * it reads the table; a flow takes two lines (with `-s`), the first holding its protocol.
 */
export function flowtopScreen(lines: readonly string[]): ScreenState {
  const head = lines.slice(0, 4).join("\n");
  const m = /flows\((\d+)\)/.exec(head);
  const row = new RegExp(`^\\s*(\\S.*?\\s)?(${PROTOS})\\s+`);
  return {
    count: m === null ? null : Number(m[1]),
    rows: lines.slice(3).filter((l) => row.test(l)).length,
    collecting: /Collecting flows/.test(head),
  };
}

/**
 * How many of the connections made by `tableEntries()` (lines for `conntrack -R`) flowtop
 * shows: all but DNS (source or destination port 53, which flowtop hides on purpose, "since
 * we use it to resolve reverse dns") and GRE (no option of flowtop includes it).
 */
export function flowtopVisible(lines: readonly string[]): number {
  let n = 0;
  for (const line of lines) {
    if (/\s-p gre\b/.test(line)) continue;
    if (/--[sd]port 53(\s|$)/.test(line)) continue;
    n++;
  }
  return n;
}

/** Splits bytes read so far into a line count and the first `keep` characters. */
export class LineCounter {
  lines = 0;
  bytes = 0;
  #head = "";
  readonly #keep: number;
  readonly #decoder = new TextDecoder();

  constructor(keep = 4096) {
    this.#keep = keep;
  }

  /** Counts the newlines of `chunk`, keeping the beginning of the text. */
  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.#head.length < this.#keep) {
      this.#head += this.#decoder.decode(chunk.subarray(0, this.#keep), { stream: true });
    }
    let i = chunk.indexOf(10);
    while (i >= 0) {
      this.lines++;
      i = chunk.indexOf(10, i + 1);
    }
  }

  /** The first characters of the text. */
  get head(): string {
    return this.#head.slice(0, this.#keep);
  }
}
