/**
 * What the screen shows, as plain data: the input of the pure render functions. The app builds
 * it from the model and the UI state; tests build it by hand.
 *
 * @module
 */

import type { CollectorStatus, Totals } from "../core/mod.ts";
import type { Connection } from "../core/mod.ts";
import type { CellContext, ColumnDef, ColumnId } from "./columns.ts";
import type { DetailsHosts } from "./details.ts";
import type { ColumnSetting, SortKey } from "./settings.ts";
import type { Theme } from "./theme.ts";

/** The header's data. */
export interface HeaderView {
  /** Host name (or server name). */
  host: string;
  /** Where the data comes from: "live", "netns NAME", "replay FILE", "remote ADDR · STATE". */
  source: string;
  /** How the source should look: "warn" or "error" when a server connection is not well. */
  sourceLevel?: "ok" | "warn" | "error";
  /** The table is the last one from a server connection that is gone. */
  stale?: boolean;
  totals?: Totals;
  status?: CollectorStatus;
  /** Sums over the listed connections, bytes per second. */
  txRate: number;
  rxRate: number;
  paused: boolean;
  locked: boolean;
  /** Text filter in force (`\`). */
  filter: string;
  /** Replay state, when replaying. */
  replay?: { speed: number; paused: boolean; ended: boolean; damaged?: string; atMs: number };
  /** The recording being written, when recording. */
  recording?: string;
  /** Why the recording stopped being written (e.g. "No space left on device"), once it has. */
  recordingError?: string;
  /** The last error or warning worth showing. */
  lastError?: string;
}

/** The list's data: the visible page only. */
export interface ListView {
  columns: { def: ColumnDef; width: number }[];
  sort: SortKey;
  sort2: SortKey | null;
  /** Connections on the page, top to bottom. */
  rows: Connection[];
  /** Row number of the first one (for the scroll position). */
  top: number;
  /** Row number of the cursor, or -1 when the cursor is off. */
  cursor: number;
  /** Rows in the whole list. */
  total: number;
  /** Columns scrolled off to the left. */
  hscroll: number;
  ctx: CellContext;
  /** Search text to highlight ("" for none). */
  highlight: string;
  /** What to say when no row is listed: why the list is empty ("" to say nothing). */
  empty: string;
}

/** The line being typed at the bottom (search or filter). */
export interface InputView {
  kind: "search" | "filter";
  text: string;
  /** The search found nothing. */
  notFound: boolean;
}

/** An open dialog. */
export type DialogView =
  | { kind: "help"; scroll: number }
  | {
    kind: "details";
    conn: Connection;
    ended: boolean;
    scroll: number;
    /** Where the reverse lookups stand (for "resolving…", "no name"). */
    hosts?: DetailsHosts;
  }
  | { kind: "columns"; index: number; columns: ColumnSetting[]; order?: ColumnId[] }
  | { kind: "sort"; index: number; sort: SortKey; sort2: SortKey | null };

/** A short message in the bottom line. */
export interface MessageView {
  text: string;
  error: boolean;
}

/** Everything one frame shows. */
export interface ScreenView {
  header: HeaderView;
  list: ListView;
  input: InputView | null;
  dialog: DialogView | null;
  message: MessageView | null;
  theme: Theme;
}
