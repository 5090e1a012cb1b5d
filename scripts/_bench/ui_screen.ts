/**
 * Reading a screen captured with `tmux capture-pane -p -e`: which line carries the cursor bar,
 * and where the sorted column's arrow is. Pure functions: no I/O.
 *
 * `capture-pane -e` writes only SGR sequences, and only where the style changes from the cell
 * before (across line ends too), so the style of a line's first cell is known only by following
 * the SGR state from the first captured line on. The captures start on a line whose state is
 * the default, as tmux begins each capture from the default style.
 *
 * @module
 */

/** One captured line: its text without escapes, and whether its first cell is highlighted. */
export interface ScreenLine {
  text: string;
  /** The first cell has a background colour or reverse video: a selection bar. */
  highlighted: boolean;
}

// deno-lint-ignore no-control-regex
const SGR = /\x1b\[([0-9;:]*)m/g;

/** `line` without its SGR sequences. */
export function stripSgr(line: string): string {
  return line.replace(SGR, "");
}

interface SgrState {
  bg: boolean;
  reverse: boolean;
}

function applySgr(state: SgrState, params: string): void {
  const p = params === "" ? [0] : params.split(/[;:]/).map((x) => (x === "" ? 0 : Number(x)));
  for (let i = 0; i < p.length; i++) {
    const n = p[i]!;
    if (n === 0) {
      state.bg = false;
      state.reverse = false;
    } else if (n === 7) state.reverse = true;
    else if (n === 27) state.reverse = false;
    else if ((n >= 40 && n <= 47) || (n >= 100 && n <= 107)) state.bg = true;
    else if (n === 49) state.bg = false;
    else if (n === 38 || n === 48 || n === 58) {
      // Extended colour: 5;N or 2;R;G;B follow.
      if (n === 48) state.bg = true;
      i += p[i + 1] === 5 ? 2 : p[i + 1] === 2 ? 4 : 0;
    }
  }
}

/** Parses captured lines (SGR state carried from line to line). */
export function parseScreen(lines: readonly string[]): ScreenLine[] {
  const state: SgrState = { bg: false, reverse: false };
  return lines.map((line) => {
    let highlighted: boolean | undefined;
    let text = "";
    let at = 0;
    SGR.lastIndex = 0;
    for (let m = SGR.exec(line); m !== null; m = SGR.exec(line)) {
      const chunk = line.slice(at, m.index);
      if (chunk !== "" && highlighted === undefined) highlighted = state.bg || state.reverse;
      text += chunk;
      applySgr(state, m[1]!);
      at = m.index + m[0].length;
    }
    const rest = line.slice(at);
    if (rest !== "" && highlighted === undefined) highlighted = state.bg || state.reverse;
    text += rest;
    return { text, highlighted: highlighted ?? false };
  });
}

/** The index of the only highlighted line, or -1 when none or several are. */
export function highlightedLine(lines: readonly string[]): number {
  const parsed = parseScreen(lines);
  let found = -1;
  for (let i = 0; i < parsed.length; i++) {
    if (!parsed[i]!.highlighted) continue;
    if (found >= 0) return -1;
    found = i;
  }
  return found;
}

/**
 * The first `width` characters of the only highlighted line (with `parseScreen`'s state), or
 * null when none or several lines are highlighted.
 */
export function highlightedText(lines: readonly string[], width: number): string | null {
  const hit = parseScreen(lines).filter((l) => l.highlighted);
  return hit.length === 1 ? [...hit[0]!.text].slice(0, width).join("") : null;
}

/** The column (in code points) of the sort arrow ▲/▼ in a column header line, or -1. */
export function arrowColumn(line: string): number {
  const chars = [...stripSgr(line)];
  return chars.findIndex((c) => c === "▲" || c === "▼");
}
