/**
 * The setup dialogs: columns (F2: show/hide, reorder, width) and sort (`s`: primary and
 * secondary key). Each lists every column; the state they edit lives in the settings.
 *
 * @module
 */

import type { CellBuffer } from "../term/mod.ts";
import { fit, stringWidth } from "../term/mod.ts";
import { COLUMN_IDS, type ColumnId, COLUMNS } from "./columns.ts";
import { centered, cut, drawBox, drawMoreMarks, ELLIPSIS } from "./draw.ts";
import type { Rect } from "./layout.ts";
import type { ColumnSetting, SortKey } from "./settings.ts";
import type { Theme } from "./theme.ts";

/** The widest column title: the dialogs line titles up to it and never cut one. */
const TITLE_WIDTH = Math.max(...COLUMN_IDS.map((id) => stringWidth(COLUMNS[id].title)));

/**
 * The columns dialog's rows: in `order` when given (the order the dialog opened with), else the
 * shown columns in their order, then the hidden ones.
 */
export function columnsDialogRows(
  columns: ColumnSetting[],
  order?: readonly ColumnId[],
): { id: ColumnId; shown: boolean; width: number }[] {
  const ids = [...order ?? [], ...columns.map((c) => c.id), ...COLUMN_IDS];
  return [...new Set(ids)].map((id) => {
    const c = columns.find((c) => c.id === id);
    return { id, shown: c !== undefined, width: c?.width ?? COLUMNS[id].width };
  });
}

function list(
  buf: CellBuffer,
  area: Rect,
  title: string,
  help: string,
  lines: string[],
  index: number,
  theme: Theme,
): void {
  const box = centered(area, 76, lines.length + 4);
  const inner = drawBox(buf, box, title, theme.dialog, theme.dialogTitle);
  const rows = Math.max(0, inner.height - 1);
  const top = Math.max(0, Math.min(index - rows + 1, lines.length - rows));
  for (let r = 0; r < rows && top + r < lines.length; r++) {
    const i = top + r;
    const style = i === index ? theme.dialogSelected : theme.dialog;
    buf.setString(inner.x, inner.y + r, fit(lines[i]!, inner.width, "left", ELLIPSIS), style);
  }
  if (inner.height > 0) {
    buf.setString(inner.x, inner.y + inner.height - 1, cut(help, inner.width), theme.dialogTitle);
  }
  drawMoreMarks(buf, box, top, rows, lines.length, theme.dialogTitle);
}

/** Draws the columns dialog with row `index` selected. */
export function renderColumnsDialog(
  buf: CellBuffer,
  area: Rect,
  columns: ColumnSetting[],
  index: number,
  theme: Theme,
  order?: readonly ColumnId[],
): void {
  const lines = columnsDialogRows(columns, order).map((r) =>
    `${r.shown ? "[x]" : "[ ]"} ${fit(COLUMNS[r.id].title, TITLE_WIDTH)} ${
      String(r.width).padStart(3)
    }  ${COLUMNS[r.id].description}`
  );
  list(
    buf,
    area,
    "Columns",
    "Space show/hide  [ ] move  - + width  Esc done",
    lines,
    index,
    theme,
  );
}

/** Draws the sort dialog with row `index` selected. */
export function renderSortDialog(
  buf: CellBuffer,
  area: Rect,
  sort: SortKey,
  sort2: SortKey | null,
  index: number,
  theme: Theme,
): void {
  const mark = (id: ColumnId) => {
    if (sort.column === id) return sort.desc ? "1▼" : "1▲";
    if (sort2?.column === id) return sort2.desc ? "2▼" : "2▲";
    return "  ";
  };
  const lines = COLUMN_IDS.map((id) =>
    `${mark(id)} ${fit(COLUMNS[id].title, TITLE_WIDTH)} ${COLUMNS[id].description}`
  );
  list(
    buf,
    area,
    "Sort by",
    "Enter primary  Space secondary  I invert  Esc done",
    lines,
    index,
    theme,
  );
}
