/**
 * The UI's controller: holds the model, the rows and the UI state; takes batches and input
 * events; and builds each frame into a cell buffer. It does no I/O — the monitor (src/app)
 * feeds it and writes what it draws — so tests drive it exactly as a terminal would.
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import { OFF } from "../conntrack/mod.ts";
import type { Connection } from "../core/mod.ts";
import type { Filter } from "../core/mod.ts";
import { ConnectionModel } from "../model/mod.ts";
import type { InputEvent, KeyEvent, MouseEvent } from "../term/mod.ts";
import { CellBuffer } from "../term/mod.ts";
import { COLUMN_IDS, COLUMNS } from "./columns.ts";
import { keyBar, positionText } from "./footer.ts";
import { type ActionName, Flag, keyName, MAIN_KEYS } from "./keymap.ts";
import { layout } from "./layout.ts";
import { columnIdAt, listMaxHscroll, type ListPlacement } from "./list.ts";
import { renderScreen } from "./render.ts";
import { RowList, SearchTexts } from "./rows.ts";
import { type ColumnSetting, MODES, type Settings, shownColumns } from "./settings.ts";
import { initialState, type UiState } from "./state.ts";
import { DEFAULT_THEME, type Theme } from "./theme.ts";
import type { HeaderView, ScreenView } from "./view.ts";
import { detailsLines, detailsScrollMax } from "./details.ts";
import { helpScrollMax } from "./help.ts";
import { columnsDialogRows } from "./setup.ts";
import { dialogKey, setSort, sortBy } from "./dialog_keys.ts";
import type { EnrichStore } from "../enrich/mod.ts";
import { ownerText } from "../core/mod.ts";

/** Playback controls, when the data comes from a recording. */
export interface ReplayControl {
  readonly speed: number;
  setSpeed(s: number): void;
  readonly paused: boolean;
  togglePause(): boolean;
  readonly positionMs: number;
  readonly ended: boolean;
  readonly damaged?: string;
}

/** The connection to a server, when the data comes from one (conntop --connect). */
export interface RemoteControl {
  /** The server's name for the header (its welcome's; the address before the first). */
  readonly host: string;
  /** "remote ADDRESS · STATE" as of `nowMs`, and how it should look. */
  status(nowMs: number): { text: string; level: "ok" | "warn" | "error" };
  /** The table shown is the last one from a connection that is gone. */
  readonly stale: boolean;
}

/** How the app is set up. */
export interface UiAppOptions {
  settings: Settings;
  /** The command line's filter. */
  filter?: Filter;
  /** Host name for the header. */
  host: string;
  /** Where the data comes from, for the header ("live", "netns x", "replay f"). */
  source: string;
  theme?: Theme;
  replay?: ReplayControl;
  /** The server connection, when showing a server's table. */
  remote?: RemoteControl;
  /** The file being recorded to. */
  recording?: string;
  /** The clock (tests fix it). */
  now?: () => number;
  /**
   * Enrichment answers (hostnames, GeoIP, classes, services). Without it the enrichment
   * columns stay empty.
   */
  enrich?: EnrichStore;
  /**
   * What to say when the table is empty: the hint `--once` prints (src/app/hints.ts). Without
   * it (e.g. with --track, which makes the kernel track) the list just says it is empty.
   */
  emptyHint?: string;
}

const MESSAGE_MS = 2500;
/** Sort columns whose keys come from enrichment answers (not from the records). */
const ENRICH_SORTS: ReadonlySet<string> = new Set(
  COLUMN_IDS.filter((id) => COLUMNS[id].textKey !== undefined || /^(src|dst)_/.test(id)),
);
const WHEEL_ROWS = 3;
const HSCROLL_STEP = 8;

/** The UI controller. */
export class UiApp {
  /** The connections. */
  readonly model: ConnectionModel = new ConnectionModel();
  /** The UI state. */
  readonly state: UiState;
  /** Rows in display order. */
  readonly rows: RowList = new RowList();
  #texts: SearchTexts;
  #opts: UiAppOptions;
  #theme: Theme;
  #now: () => number;
  #queued: BatchMessage[] = [];
  #rowsStale = true;
  #width = 80;
  #height = 24;
  #lastError: string | undefined;
  #recordingError: string | undefined;
  #liveTotals: BatchMessage["totals"] | undefined;
  #liveStatus: BatchMessage["status"] | undefined;
  #details: { conn: Connection; slot: number; id: number; ended: boolean } | undefined;
  /**
   * Time spent recomputing rows for the last frame (in it, and in key handling since the frame
   * before), ms: for the frame probe.
   */
  lastRowsMs = 0;
  #rowsMs = 0;
  #enrichVersion = -1;
  #enrichSortedMs = 0;
  #enrichResort = false;

  constructor(opts: UiAppOptions) {
    this.#opts = opts;
    this.#theme = opts.theme ?? DEFAULT_THEME;
    this.#now = opts.now ?? Date.now;
    this.state = initialState(opts.settings);
    const enrich = opts.enrich;
    this.#texts = new SearchTexts((model, slot) => {
      const o = model.owner(slot);
      if (enrich === undefined) return o === undefined ? "" : ownerText(o);
      const [v, i] = model.locate(slot);
      const parts = o === undefined ? [] : [ownerText(o)];
      for (const off of [OFF.ORIG_SRC, OFF.ORIG_DST]) {
        const a = enrich.addressAt(v, i, off);
        if (a.host?.status === "resolved" && a.host.name !== undefined) parts.push(a.host.name);
        if (a.geo?.country) parts.push(a.geo.country);
        if (a.geo?.org) parts.push(a.geo.org);
        if (a.geo?.city) parts.push(a.geo.city);
      }
      return parts.join(" ");
    });
  }

  /** Takes a batch: applied now, or held while paused. */
  onBatch(batch: BatchMessage): void {
    if (this.state.paused) {
      this.#queued.push(batch);
      // The header keeps showing how the table and the collector are doing.
      this.#liveTotals = batch.totals;
      this.#liveStatus = batch.status;
      return;
    }
    this.#liveTotals = undefined;
    this.#liveStatus = undefined;
    this.#apply(batch);
  }

  /** Shows a warning or error in the header until the next one. */
  onWarning(message: string): void {
    this.#lastError = message;
  }

  /** Takes back the warning `message` when it is still the one shown (its cause has passed). */
  clearWarning(message: string): void {
    if (this.#lastError === message) this.#lastError = undefined;
  }

  /**
   * Shows in the header that the recording failed, with `reason` ("No space left on device"),
   * for the rest of the run: the flag that said REC now says REC failed.
   */
  onRecordingError(reason: string): void {
    this.#recordingError = reason;
  }

  /** Shows `text` in the message line for a moment (as the UI's own messages). */
  notify(text: string, error = false): void {
    this.#say(text, error);
  }

  #apply(batch: BatchMessage): void {
    const views = this.model.apply(batch);
    const enrich = this.#opts.enrich;
    if (enrich !== undefined) {
      if (batch.local !== undefined) enrich.setLocal(batch.local);
      // A long run sees many addresses come and go: forget them now and then (the ones still
      // in use are looked up again on demand).
      enrich.prune(Math.max(200_000, 4 * this.model.size));
    }
    for (const v of views) {
      for (let i = 0; i < v.count; i++) this.#texts.invalidate(v.u32At(i, OFF.SLOT));
    }
    // The page on screen is read from the model at every frame; only a changed record can
    // change which rows show and in what order — or a snapshot, which replaced them all.
    if (batch.count > 0 || batch.reset === true) this.#rowsStale = true;
  }

  /** Sets the screen size (before the first frame and on every resize). */
  resize(width: number, height: number): void {
    this.#width = Math.max(1, width);
    this.#height = Math.max(1, height);
    this.#keepCursorVisible();
  }

  /** The number of rows the list shows at the current size. */
  get pageSize(): number {
    return Math.max(1, layout(this.#width, this.#height).list.height);
  }

  /** Handles input events; returns the OR of the flags the actions returned. */
  handle(events: InputEvent[]): number {
    let flags = Flag.NONE;
    for (const ev of events) {
      flags |= this.#handleOne(ev);
      if (flags & Flag.QUIT) break;
    }
    if (flags & Flag.ROWS) this.#rowsStale = true;
    return flags;
  }

  /** Builds the frame at the current size into `buf` (resized if needed). */
  frame(buf?: CellBuffer): CellBuffer {
    const out = buf ?? new CellBuffer(this.#width, this.#height);
    if (out.width !== this.#width || out.height !== this.#height) {
      out.resize(this.#width, this.#height);
    }
    this.#refreshRows();
    renderScreen(out, this.view());
    this.lastRowsMs = this.#rowsMs;
    this.#rowsMs = 0;
    return out;
  }

  /** What the screen shows now (rows must be current: {@linkcode frame} sees to it). */
  view(): ScreenView {
    const s = this.state;
    const now = this.#now();
    if (s.message !== null && s.message.untilMs <= now) s.message = null;
    const page = this.pageSize;
    const rows: Connection[] = [];
    const end = Math.min(this.rows.length, s.top + page);
    const enrich = this.#opts.enrich;
    const hosts = this.#wantsHostnames();
    for (let r = s.top; r < end; r++) {
      const c = this.model.connection(this.rows.slot(r), this.model.timeMs || now);
      enrich?.fill(c, hosts);
      rows.push(c);
    }
    const ctx = { hostnames: s.settings.hostnames, services: s.settings.services };
    const dialog = this.#dialogView();
    return {
      header: this.#headerView(),
      list: {
        ...this.#placement(),
        sort2: s.settings.sort2,
        rows,
        top: s.top,
        cursor: s.settings.cursor ? s.cursorRow : -1,
        total: this.rows.length,
        ctx,
        highlight: s.input?.kind === "search" ? s.input.text : s.search,
        empty: this.rows.length > 0 ? "" : this.#emptyText(),
      },
      input: s.input === null
        ? null
        : { kind: s.input.kind, text: s.input.text, notFound: s.input.notFound },
      dialog,
      message: s.message === null ? null : { text: s.message.text, error: s.message.error },
      theme: this.#theme,
    };
  }

  // Why no row is listed: nothing read yet (say nothing), an empty table (say why, as --once
  // does), or a filter that hides every row (say so, or the list looks broken).
  #emptyText(): string {
    if (this.model.totals === undefined) return "";
    const n = this.model.size;
    if (n === 0) return this.#opts.emptyHint ?? "The conntrack table is empty";
    const hidden = `${n} hidden`;
    const text = this.state.filter;
    return text !== ""
      ? `No connection matches the filter '${text}' (${hidden}; F4 or \\ then Esc clears it)`
      : `No connection matches the command line's filter (${hidden})`;
  }

  // The columns on screen: the chosen ones and NAT when it shows by itself.
  #shown(): ColumnSetting[] {
    return shownColumns(this.state.settings, this.rows.natCount > 0);
  }

  // The columns shown, the sort and the scroll: what the list is laid out from, for drawing
  // and for mapping a click on a title alike.
  #placement(): ListPlacement {
    const s = this.state;
    return {
      columns: this.#shown().map((c) => ({ def: COLUMNS[c.id], width: c.width })),
      sort: s.settings.sort,
      hscroll: s.hscroll,
    };
  }

  /** When the next message expires (for the app to redraw then), or undefined. */
  get messageUntil(): number | undefined {
    return this.state.message?.untilMs;
  }

  #headerView(): HeaderView {
    const r = this.#opts.replay;
    const remote = this.#opts.remote;
    const link = remote?.status(this.#now());
    return {
      host: remote?.host ?? this.#opts.host,
      source: link?.text ?? this.#opts.source,
      sourceLevel: link?.level,
      stale: remote?.stale,
      totals: this.#liveTotals ?? this.model.totals,
      status: this.#liveStatus ?? this.model.status,
      txRate: this.rows.txRate,
      rxRate: this.rows.rxRate,
      paused: this.state.paused || (r?.paused ?? false),
      locked: this.state.locked,
      filter: this.state.filter,
      replay: r === undefined ? undefined : {
        speed: r.speed,
        paused: r.paused,
        ended: r.ended,
        damaged: r.damaged,
        atMs: r.positionMs,
      },
      recording: this.#opts.recording,
      recordingError: this.#recordingError,
      lastError: this.#lastError,
    };
  }

  #dialogView(): ScreenView["dialog"] {
    const d = this.state.dialog;
    if (d === null) return null;
    switch (d.kind) {
      case "help":
        return { kind: "help", scroll: d.scroll };
      case "details": {
        const det = this.#details;
        if (det === undefined) return null;
        if (!det.ended && this.model.live(det.slot) && this.model.id(det.slot) === det.id) {
          det.conn = this.model.connection(det.slot, this.model.timeMs || this.#now());
        } else det.ended = true;
        // The details always name the hosts, whatever the columns show.
        const enrich = this.#opts.enrich;
        enrich?.fill(det.conn, true);
        const hosts = enrich === undefined ? {} : {
          src: enrich.address(det.conn.orig_src).host,
          dst: enrich.address(det.conn.orig_dst).host,
        };
        return { kind: "details", conn: det.conn, ended: det.ended, scroll: d.scroll, hosts };
      }
      case "columns":
        return {
          kind: "columns",
          index: d.index,
          columns: this.#shown(),
          order: d.order,
        };
      case "sort":
        return {
          kind: "sort",
          index: d.index,
          sort: this.state.settings.sort,
          sort2: this.state.settings.sort2,
        };
    }
  }

  // --- rows and cursor ---

  /** Whether hostnames are wanted on screen: H is on, or a hostname column shows. */
  #wantsHostnames(): boolean {
    const st = this.state.settings;
    return st.hostnames || st.columns.some((c) => c.id === "src_host" || c.id === "dst_host");
  }

  // New enrichment answers change the order when the list is sorted on them: re-sort then, but
  // at most once a second (answers arrive in many small batches).
  #noticeEnrichment(): void {
    const e = this.#opts.enrich;
    if (e === undefined) return;
    if (e.version !== this.#enrichVersion) {
      this.#enrichVersion = e.version;
      this.#texts.invalidateAll();
      const st = this.state.settings;
      if ([st.sort, st.sort2].some((k) => k !== null && ENRICH_SORTS.has(k.column))) {
        this.#enrichResort = true;
      }
    }
    const now = this.#now();
    if (this.#enrichResort && now - this.#enrichSortedMs >= 1000) {
      this.#enrichResort = false;
      this.#enrichSortedMs = now;
      this.#rowsStale = true;
    }
  }

  #refreshRows(): void {
    this.#noticeEnrichment();
    if (!this.#rowsStale) return;
    const t0 = performance.now();
    const s = this.state;
    // Where the cursor sat on the page, to keep it there when the rows change under it.
    const atTop = s.top === 0 && (!s.settings.cursor || s.cursorRow === 0);
    const offset = s.cursorRow - s.top;
    this.rows.update(this.model, {
      sort: s.settings.sort,
      sort2: s.settings.sort2,
      filter: this.#opts.filter,
      text: s.filter,
      locked: s.locked,
      ctx: { enrich: this.#opts.enrich, owner: (slot) => this.model.owner(slot) },
    }, this.#texts);
    this.#rowsStale = false;
    this.#followCursor(atTop, offset);
    this.#rowsMs += performance.now() - t0;
  }

  /**
   * Places the cursor after the rows changed. On the first row at the top of the list it stays
   * there (a person watching the top of a sort keeps seeing it: after a filter is cleared, the
   * list does not open mid-way). Otherwise it stays on its connection when that is still listed,
   * or on the same row number, and keeps its place on the page (`offset` rows below the top).
   */
  #followCursor(atTop: boolean, offset: number): void {
    const s = this.state;
    if (atTop) {
      s.top = 0;
      this.#setCursor(0);
      return;
    }
    if (
      s.cursorSlot >= 0 && this.model.live(s.cursorSlot) &&
      this.model.id(s.cursorSlot) === s.cursorId
    ) {
      const r = this.rows.indexOf(s.cursorSlot);
      if (r >= 0) s.cursorRow = r;
    }
    if (s.settings.cursor) s.top = s.cursorRow - offset;
    this.#setCursor(s.cursorRow);
  }

  #setCursor(row: number): void {
    const s = this.state;
    const n = this.rows.length;
    s.cursorRow = n === 0 ? 0 : Math.max(0, Math.min(n - 1, row));
    if (n > 0) {
      s.cursorSlot = this.rows.slot(s.cursorRow);
      s.cursorId = this.model.id(s.cursorSlot);
    } else {
      s.cursorSlot = -1;
      s.cursorId = -1;
    }
    this.#keepCursorVisible();
  }

  #keepCursorVisible(): void {
    const s = this.state;
    const page = this.pageSize;
    const n = this.rows.length;
    if (s.settings.cursor) {
      if (s.cursorRow < s.top) s.top = s.cursorRow;
      if (s.cursorRow >= s.top + page) s.top = s.cursorRow - page + 1;
    }
    s.top = Math.max(0, Math.min(s.top, Math.max(0, n - page)));
  }

  #moveBy(delta: number): number {
    this.#refreshRows();
    const s = this.state;
    return this.#moveTo((s.settings.cursor ? s.cursorRow : s.top) + delta);
  }

  #moveTo(row: number): number {
    this.#refreshRows();
    const s = this.state;
    if (s.settings.cursor) this.#setCursor(row);
    else {
      s.top = row;
      this.#keepCursorVisible();
    }
    return Flag.REDRAW;
  }

  #say(text: string, error = false): void {
    this.state.message = { text, error, untilMs: this.#now() + MESSAGE_MS };
  }

  // --- input ---

  #handleOne(ev: InputEvent): number {
    if (ev.type === "mouse") return this.#mouse(ev);
    if (ev.type === "paste") {
      if (this.state.input === null) return Flag.NONE;
      return this.#typeText(ev.text.replace(/[\r\n\t]/g, " "));
    }
    const name = keyName(ev);
    if (name === "ctrl+c") return Flag.QUIT;
    if (this.state.input !== null) return this.#inputKey(ev, name);
    if (this.state.dialog !== null) return this.#dialogKey(name);
    const action = MAIN_KEYS[name] ?? MAIN_KEYS[ev.name];
    return action === undefined ? Flag.NONE : this.#act(action);
  }

  #act(action: ActionName): number {
    const s = this.state;
    const st = s.settings;
    switch (action) {
      case "up":
        return this.#moveBy(-1);
      case "down":
        return this.#moveBy(1);
      case "pageUp":
        return this.#moveBy(-this.pageSize);
      case "pageDown":
        return this.#moveBy(this.pageSize);
      case "home":
        return this.#moveTo(0);
      case "end":
        return this.#moveTo(this.rows.length - 1);
      case "left":
        s.hscroll = Math.max(0, s.hscroll - HSCROLL_STEP);
        return Flag.REDRAW;
      case "right": {
        const max = listMaxHscroll(this.#placement(), this.#width);
        s.hscroll = Math.min(max, s.hscroll + HSCROLL_STEP);
        return Flag.REDRAW;
      }
      case "details":
        return this.#openDetails();
      case "help":
        s.dialog = { kind: "help", scroll: 0 };
        return Flag.REDRAW;
      case "columns":
        s.dialog = {
          kind: "columns",
          index: 0,
          order: columnsDialogRows(this.#shown()).map((r) => r.id),
        };
        return Flag.REDRAW;
      case "sortDialog":
        s.dialog = { kind: "sort", index: Math.max(0, COLUMN_IDS.indexOf(st.sort.column)) };
        return Flag.REDRAW;
      case "search":
        s.input = { kind: "search", text: "", notFound: false };
        return Flag.REDRAW;
      case "searchNext":
        return s.search === "" ? Flag.NONE : this.#findNext(s.search, 1, true);
      case "searchPrev":
        return s.search === "" ? Flag.NONE : this.#findNext(s.search, -1, true);
      case "filter":
        s.input = { kind: "filter", text: s.filter, notFound: false };
        return Flag.REDRAW;
      case "cursor":
        st.cursor = !st.cursor;
        if (st.cursor) {
          this.#setCursor(Math.max(s.top, Math.min(s.cursorRow, s.top + this.pageSize - 1)));
        }
        return Flag.REDRAW | Flag.SAVE;
      case "hostnames":
        st.hostnames = !st.hostnames;
        this.#say(
          !st.hostnames
            ? "Hostnames off"
            : this.#opts.enrich?.hostnamesAllowed === false
            ? "Hostnames on, but not resolved in this run (-n/--no-hostname)"
            : "Hostnames on",
        );
        return Flag.REDRAW | Flag.SAVE;
      case "services":
        st.services = !st.services;
        this.#say(`Service names ${st.services ? "on" : "off"}`);
        return Flag.REDRAW | Flag.SAVE;
      case "modePrev":
      case "modeNext": {
        const i = MODES.indexOf(st.mode as typeof MODES[number]);
        const step = action === "modeNext" ? 1 : MODES.length - 1;
        st.mode = MODES[(Math.max(0, i) + step) % MODES.length]!;
        this.#say(
          `Mode ${MODES.indexOf(st.mode as typeof MODES[number]) + 1}/${MODES.length}: ${st.mode}`,
        );
        return Flag.REDRAW | Flag.SAVE;
      }
      case "pause":
        return this.#togglePause();
      case "sortPrev":
      case "sortNext":
        return this.#cycleSort(action === "sortNext" ? 1 : -1);
      case "invert":
        st.sort = { ...st.sort, desc: !st.sort.desc };
        return Flag.ROWS | Flag.REDRAW | Flag.SAVE;
      case "lock":
        s.locked = !s.locked;
        this.#say(s.locked ? "Row order locked (L unlocks)" : "Row order follows the sort again");
        return Flag.ROWS | Flag.REDRAW;
      case "faster":
      case "slower": {
        const r = this.#opts.replay;
        if (r === undefined) return Flag.NONE;
        r.setSpeed(action === "faster" ? r.speed * 2 : r.speed / 2);
        return Flag.REDRAW;
      }
      case "repaint":
        return Flag.REPAINT | Flag.REDRAW;
      case "escape":
        if (s.search !== "") {
          s.search = "";
          return Flag.REDRAW;
        }
        return Flag.NONE;
      case "quit":
        return Flag.QUIT;
    }
  }

  #togglePause(): number {
    const r = this.#opts.replay;
    if (r !== undefined) {
      r.togglePause();
      return Flag.REDRAW;
    }
    const s = this.state;
    s.paused = !s.paused;
    if (!s.paused) {
      for (const b of this.#queued) this.#apply(b);
      this.#queued = [];
    }
    return Flag.REDRAW | Flag.ROWS;
  }

  #cycleSort(step: number): number {
    const st = this.state.settings;
    const ids = this.#shown().map((c) => c.id);
    const i = ids.indexOf(st.sort.column);
    const next = ids[(i + step + ids.length) % ids.length] ?? st.sort.column;
    return setSort(st, { column: next, desc: COLUMNS[next].defaultDesc });
  }

  #openDetails(): number {
    this.#refreshRows();
    const s = this.state;
    if (this.rows.length === 0) return Flag.NONE;
    const row = s.settings.cursor ? s.cursorRow : s.top;
    const slot = this.rows.slot(row);
    this.#details = {
      slot,
      id: this.model.id(slot),
      conn: this.model.connection(slot, this.model.timeMs || this.#now()),
      ended: false,
    };
    s.dialog = { kind: "details", scroll: 0 };
    return Flag.REDRAW;
  }

  // Finds the next row (from the cursor, in `dir`) whose search text holds `needle`.
  #findNext(needle: string, dir: 1 | -1, skipCurrent: boolean): number {
    this.#refreshRows();
    const s = this.state;
    const n = this.rows.length;
    const lower = needle.toLowerCase();
    const from = s.cursorRow + (skipCurrent ? dir : 0);
    for (let k = 0; k < n; k++) {
      const r = ((from + dir * k) % n + n) % n;
      if (this.#texts.get(this.model, this.rows.slot(r)).includes(lower)) {
        if (!s.settings.cursor) s.settings.cursor = true;
        this.#setCursor(r);
        if (s.input !== null) s.input.notFound = false;
        return Flag.REDRAW;
      }
    }
    if (s.input !== null) s.input.notFound = true;
    else this.#say(`Not found: ${needle}`, true);
    return Flag.REDRAW;
  }

  #inputKey(ev: KeyEvent, name: string): number {
    const s = this.state;
    const input = s.input!;
    switch (name) {
      case "escape":
        if (input.kind === "filter") {
          s.filter = "";
          s.input = null;
          return Flag.ROWS | Flag.REDRAW;
        }
        s.input = null;
        s.search = "";
        return Flag.REDRAW;
      case "enter":
        s.input = null;
        if (input.kind === "search") s.search = input.text;
        return Flag.REDRAW;
      case "backspace":
        return this.#setInputText([...input.text].slice(0, -1).join(""));
      case "f3":
      case "shift+f3":
        if (input.kind !== "search" || input.text === "") return Flag.NONE;
        return this.#findNext(input.text, name === "f3" ? 1 : -1, true);
      case "ctrl+u":
        return this.#setInputText("");
    }
    if (ev.char !== undefined && !ev.ctrl && !ev.alt) return this.#typeText(ev.char);
    if (name === "space") return this.#typeText(" ");
    return Flag.NONE;
  }

  #typeText(text: string): number {
    return this.#setInputText(this.state.input!.text + text);
  }

  #setInputText(text: string): number {
    const s = this.state;
    const input = s.input!;
    input.text = text;
    if (input.kind === "filter") {
      s.filter = text;
      return Flag.ROWS | Flag.REDRAW;
    }
    if (text === "") {
      input.notFound = false;
      return Flag.REDRAW;
    }
    return this.#findNext(text, 1, false);
  }

  #dialogKey(name: string): number {
    return dialogKey(this.state, name, {
      pageSize: this.pageSize,
      scrollMax: this.#scrollMax(),
      shown: this.#shown(),
      say: (text, error) => this.#say(text, error),
    });
  }

  // How far the open help or details dialog scrolls at the current size (as render.ts lays it).
  #scrollMax(): number {
    const l = layout(this.#width, this.#height);
    const area = { x: 0, y: 0, width: this.#width, height: this.#height - l.footer.height };
    const d = this.#dialogView();
    if (d?.kind === "help") return helpScrollMax(area);
    if (d?.kind === "details") return detailsScrollMax(area, detailsLines(d.conn, d.hosts));
    return 0;
  }

  #mouse(ev: MouseEvent): number {
    const s = this.state;
    if (s.dialog !== null) {
      if (ev.action === "wheelup") return this.#dialogKey("up");
      if (ev.action === "wheeldown") return this.#dialogKey("down");
      return Flag.NONE;
    }
    if (ev.action === "wheelup") return this.#moveBy(-WHEEL_ROWS);
    if (ev.action === "wheeldown") return this.#moveBy(WHEEL_ROWS);
    if (ev.action !== "press" || ev.button !== 0) return Flag.NONE;
    const l = layout(this.#width, this.#height);
    if (l.columns.height > 0 && ev.y === l.columns.y) {
      const id = columnIdAt(this.#placement(), this.#width, ev.x);
      return id === undefined ? Flag.NONE : sortBy(s.settings, id);
    }
    if (ev.y >= l.list.y && ev.y < l.list.y + l.list.height) {
      this.#refreshRows();
      const row = s.top + (ev.y - l.list.y);
      if (row >= this.rows.length) return Flag.NONE;
      s.settings.cursor = true;
      this.#setCursor(row);
      return Flag.REDRAW;
    }
    if (l.footer.height > 0 && ev.y === l.footer.y && s.input === null) {
      this.#refreshRows();
      for (const span of keyBar(this.#width, positionText(this.view().list)).keys) {
        if (ev.x >= span.x && ev.x < span.x + span.width) {
          const action = MAIN_KEYS[span.key];
          return action === undefined ? Flag.NONE : this.#act(action);
        }
      }
    }
    return Flag.NONE;
  }
}
