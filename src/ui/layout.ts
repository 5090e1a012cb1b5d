/**
 * Where each region of the screen goes for a terminal size.
 *
 * ```
 * ┌──────────────────────────────────────────────────────────────┐
 * │ header: host, counts, table meter, rates, status (3 lines,   │
 * │         1 line on short terminals, none on tiny ones)        │
 * ├──────────────────────────────────────────────────────────────┤
 * │ PROTO STATE  SOURCE  SPORT DESTINATION  DPORT  TX/s …        │ column header
 * │ tcp   ESTAB… 10.0.0.1 443  10.0.0.2   51234   1.2M …         │ list (the rest)
 * │ …                                                            │
 * ├──────────────────────────────────────────────────────────────┤
 * │ F1Help F2Setup F3Search …  (or the search/filter line)      │ footer (1 line)
 * └──────────────────────────────────────────────────────────────┘
 * ```
 *
 * @module
 */

/** A rectangle in cells. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The regions of a frame. */
export interface Layout {
  header: Rect;
  /** The column header row. */
  columns: Rect;
  /** The rows of connections. */
  list: Rect;
  /** The function-key bar or the input line. */
  footer: Rect;
}

/** Header lines for a terminal `height` rows tall. */
export function headerLines(height: number): number {
  if (height >= 12) return 3;
  if (height >= 6) return 1;
  return 0;
}

/** The layout of a `width` × `height` terminal; every rect is clipped, none is negative. */
export function layout(width: number, height: number): Layout {
  const w = Math.max(0, width), h = Math.max(0, height);
  const head = Math.min(headerLines(h), h);
  const foot = h - head >= 3 ? 1 : 0;
  const colHead = h - head - foot >= 2 ? 1 : 0;
  const listH = Math.max(0, h - head - foot - colHead);
  return {
    header: { x: 0, y: 0, width: w, height: head },
    columns: { x: 0, y: head, width: w, height: colHead },
    list: { x: 0, y: head + colHead, width: w, height: listH },
    footer: { x: 0, y: h - foot, width: w, height: foot },
  };
}
