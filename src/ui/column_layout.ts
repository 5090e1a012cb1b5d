/**
 * The one layout of the connection list's columns for a screen width and a horizontal scroll:
 * which columns show, where, and which part of each. The title line, every row and a click on
 * a title all go through {@linkcode columnLayout}, so a title can never sit over another
 * column's values (it did when the title line drew an extra label the rows did not have).
 *
 * ```
 *  unscrolled line:  PROTO STATE SOURCE…          SPORT DESTINATION…    DPORT RATE/s
 *                    |<- hscroll ->|
 *  screen:                 …RCE      SPORT DESTINATION…    │ ▼PROTO
 *                                                          end   pinned sort column
 * ```
 *
 * Columns sit left to right, one space apart; the last takes what is left of the line. The sort
 * column is kept in view: when it is scrolled off (or not among the shown columns at all, when
 * chosen in the sort dialog) it is pinned at the right end, title and values, and the other
 * columns end one space before it. Must never depend on the rows or draw anything.
 *
 * @module
 */

/** One column as it shows on a line. */
export interface ColumnCell {
  /** Index into the columns laid out; -1 for a sort column that is not among them. */
  index: number;
  /** Screen column (from the line's left edge) of the first cell shown. */
  x: number;
  /** Width the column's text is fitted to. */
  width: number;
  /** Cells of the fitted text cut off on the left by the horizontal scroll. */
  skip: number;
  /** Cells shown (at most `width - skip`). */
  room: number;
  /** This is the sort column, pinned at the right end. */
  pinned: boolean;
}

/** Where the sort column is, for {@linkcode columnLayout}. */
export interface ColumnLayoutOptions {
  /** Width of the line on screen. */
  screenWidth: number;
  /** Cells scrolled off to the left. */
  hscroll: number;
  /** Index of the sort column among the widths, or -1 when it is not shown. */
  sortAt: number;
  /** The width of a sort column that is not shown (pinned at the right); 0: none. */
  hiddenSortWidth?: number;
}

interface Span {
  x: number;
  width: number;
}

// Each column's place on the unscrolled line `lineWidth` wide.
function spansOf(widths: readonly number[], lineWidth: number): Span[] {
  let x = 0;
  return widths.map((w, i) => {
    const span = { x, width: i === widths.length - 1 ? Math.max(w, lineWidth - x) : w };
    x += w + 1;
    return span;
  });
}

/** Total width of all columns with their separators. */
export function lineWidth(widths: readonly number[]): number {
  return widths.reduce((a, w) => a + w + 1, 0) - (widths.length > 0 ? 1 : 0);
}

// Cells the pinned sort column takes at the right end for this scroll (0: not pinned).
function pinWidth(spans: Span[], widths: readonly number[], o: ColumnLayoutOptions): number {
  const w = Math.max(0, o.screenWidth), h = Math.max(0, o.hscroll);
  if (o.sortAt < 0) return Math.min(w, o.hiddenSortWidth ?? 0);
  const span = spans[o.sortAt];
  if (span === undefined) return 0;
  const x = span.x - h;
  return x >= 0 && x + span.width <= w ? 0 : Math.min(w, widths[o.sortAt]!);
}

/** The columns of a line `widths` describe, as they show on screen, left to right. */
export function columnLayout(widths: readonly number[], o: ColumnLayoutOptions): ColumnCell[] {
  const w = Math.max(0, o.screenWidth), h = Math.max(0, o.hscroll);
  const spans = spansOf(widths, w + h);
  const pin = pinWidth(spans, widths, o);
  const end = pin > 0 ? w - pin - 1 : w; // the others stop a space before the pinned column
  const cells: ColumnCell[] = [];
  spans.forEach((span, index) => {
    if (pin > 0 && index === o.sortAt) return;
    const x = span.x - h;
    const skip = Math.max(0, -x);
    const room = Math.min(span.width - skip, end - Math.max(0, x));
    if (room > 0) {
      cells.push({ index, x: Math.max(0, x), width: span.width, skip, room, pinned: false });
    }
  });
  if (pin > 0) {
    cells.push({ index: o.sortAt, x: w - pin, width: pin, skip: 0, room: pin, pinned: true });
  }
  return cells;
}

/** The furthest the line may scroll so that every column can be brought into view. */
export function maxHscroll(
  widths: readonly number[],
  o: Omit<ColumnLayoutOptions, "hscroll">,
): number {
  const total = lineWidth(widths);
  const base = Math.max(0, total - o.screenWidth);
  const pin = pinWidth(spansOf(widths, o.screenWidth + base), widths, { ...o, hscroll: base });
  return pin > 0 ? Math.max(0, total - (o.screenWidth - pin - 1)) : base;
}

/** The cell at screen column `x`, counting the space after a column as its own, or undefined. */
export function cellAt(cells: readonly ColumnCell[], x: number): ColumnCell | undefined {
  return cells.find((c) => x >= c.x && x < c.x + c.room + 1);
}
