/**
 * Draws a whole frame: a pure function from what the screen shows to a cell buffer. Nothing
 * here reads the clock, the terminal or the model.
 *
 * @module
 */

import type { CellBuffer } from "../term/mod.ts";
import { renderDetails } from "./details.ts";
import { renderFooter } from "./footer.ts";
import { renderHeader } from "./header.ts";
import { renderHelp } from "./help.ts";
import { layout } from "./layout.ts";
import { renderColumnHeader, renderList } from "./list.ts";
import { renderColumnsDialog, renderSortDialog } from "./setup.ts";
import type { ScreenView } from "./view.ts";

/** Renders `view` into `buf` (all of it: the buffer is cleared first). */
export function renderScreen(buf: CellBuffer, view: ScreenView): void {
  const { theme } = view;
  buf.clear(theme.text);
  const l = layout(buf.width, buf.height);
  renderHeader(buf, l.header, view.header, theme);
  renderColumnHeader(buf, l.columns, view.list, theme);
  renderList(buf, l.list, view.list, theme);
  renderFooter(buf, l.footer, view.input, view.message, view.list, theme);
  const d = view.dialog;
  if (d === null) return;
  const area = { x: 0, y: 0, width: buf.width, height: buf.height - l.footer.height };
  switch (d.kind) {
    case "help":
      return renderHelp(buf, area, d.scroll, theme);
    case "details":
      return renderDetails(buf, area, d.conn, d.ended, d.scroll, theme, d.hosts);
    case "columns":
      return renderColumnsDialog(buf, area, d.columns, d.index, theme, d.order);
    case "sort":
      return renderSortDialog(buf, area, d.sort, d.sort2, d.index, theme);
  }
}
