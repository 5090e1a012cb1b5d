/**
 * The UI's controller: holds the UI state and the last window of rows the engine sent; takes
 * input events, asks the engine for the window it draws (a view query: filter, sort, cursor
 * anchor, page and margins), and builds each frame into a cell buffer. The table itself lives
 * in the engine — in the collector's worker, or in process ({@linkcode LocalTable}, tests).
 * Cursor moves within the margins repaint at once and then ask again. It does no I/O — the
 * monitor (src/app) feeds it and writes what it draws — so tests drive it as a terminal would.
 *
 * @module
 */

import type { BatchMessage } from "../core/mod.ts";
import type { Connection, Filter } from "../core/mod.ts";
import type { ConnectionModel } from "../model/mod.ts";
import { LocalTable, type TableAnswer, type TableLink, type TableQuery } from "../engine/mod.ts";
import type { InputEvent, KeyEvent, MouseEvent } from "../term/mod.ts";
import { CellBuffer } from "../term/mod.ts";
import { COLUMNS } from "./columns.ts";
import { keyBar, positionText } from "./footer.ts";
import { Flag, keyName, MAIN_KEYS } from "./keymap.ts";
import { type ActionContext, ACTIONS } from "./actions.ts";
import { layout } from "./layout.ts";
import { columnIdAt, listMaxHscroll, type ListPlacement } from "./list.ts";
import { renderScreen } from "./render.ts";
import { type ColumnSetting, type Settings, shownColumns } from "./settings.ts";
import { initialState, type UiState } from "./state.ts";
import { DEFAULT_THEME, type Theme } from "./theme.ts";
import type { HeaderView, ScreenView } from "./view.ts";
import { detailsLines, detailsScrollMax } from "./details.ts";
import { helpScrollMax } from "./help.ts";
import { dialogKey, sortBy } from "./dialog_keys.ts";
import type { EnrichStore } from "../enrich/mod.ts";

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
  /**
   * Where the table is (the engine in the collector's worker); its answers go to
   * {@linkcode UiApp.onWindow}. Without it the engine runs in process and takes the batches
   * given to {@linkcode UiApp.onBatch}.
   */
  table?: TableLink;
}

const MESSAGE_MS = 2500;
const WHEEL_ROWS = 3;

/** The UI controller. */
export class UiApp {
  /** The UI state. */
  readonly state: UiState;
  #table: TableLink;
  #local: LocalTable | undefined;
  /** The last window the engine sent, and the number of the last query asked. */
  #win: TableAnswer | undefined;
  #asked = 0;
  #stale = true;
  #opts: UiAppOptions;
  #theme: Theme;
  #now: () => number;
  #width = 80;
  #height = 24;
  #lastError: string | undefined;
  #recordingError: string | undefined;
  #details: { conn: Connection; slot: number; id: number; ended: boolean } | undefined;
  /**
   * Time spent answering queries in process for the last frame (in it, and in key handling
   * since the frame before), ms: for the frame probe.
   */
  lastRowsMs = 0;
  #rowsMs = 0;
  #enrichVersion = -1;
  /** What the action table (actions.ts) may do to this app. */
  #actions: ActionContext;

  constructor(opts: UiAppOptions) {
    this.#opts = opts;
    this.#theme = opts.theme ?? DEFAULT_THEME;
    this.#now = opts.now ?? Date.now;
    this.state = initialState(opts.settings);
    if (opts.table !== undefined) this.#table = opts.table;
    else {
      this.#local = new LocalTable((id, w) => this.onWindow(id, w), {
        enrich: opts.enrich,
        now: this.#now,
      });
      this.#table = this.#local;
    }
    this.#actions = {
      state: this.state,
      pageSize: () => this.pageSize,
      rowCount: () => {
        this.#fresh();
        return this.#win?.total ?? 0;
      },
      moveBy: (delta) => this.#moveBy(delta),
      moveTo: (row) => this.#moveTo(row),
      setCursor: (row) => this.#setCursor(row),
      maxHscroll: () => listMaxHscroll(this.#placement(), this.#width),
      shown: () => this.#shown(),
      openDetails: () => this.#openDetails(),
      findNext: (needle, dir, skipCurrent) => this.#findNext(needle, dir, skipCurrent),
      togglePause: () => this.#togglePause(),
      scaleSpeed: (factor) => this.#scaleSpeed(factor),
      hostnamesAllowed: () => this.#opts.enrich?.hostnamesAllowed !== false,
      say: (text, error) => this.#say(text, error),
    };
  }

  /**
   * The records, when the engine runs in process (tests read connections from it); the
   * worker's engine has them otherwise.
   */
  get model(): ConnectionModel {
    if (this.#local === undefined) throw new Error("The table is in the worker, not in process");
    // In process the engine keeps its records in the model's pages (no other store given).
    return this.#local.host.engine.model as ConnectionModel;
  }

  /** The listed rows: how many, and (in process) their slots in order. */
  get rows(): { length: number; toArray(): number[] } {
    if (this.#local !== undefined) this.#fresh();
    const total = this.#win?.total ?? 0;
    return {
      length: total,
      toArray: () => {
        if (this.#local === undefined) throw new Error("The rows are in the worker");
        const q = { ...this.#query(), anchor: null, top: 0, height: total, margin: 0 };
        return this.#local.host.engine.query({ ...q, cursor: false }).slots;
      },
    };
  }

  /**
   * Takes a batch. In process it goes to the engine (held there while paused); a batch the
   * worker's collector already gave its engine brings only totals and status.
   */
  onBatch(batch: BatchMessage): void {
    const enrich = this.#opts.enrich;
    if (enrich !== undefined && batch.local !== undefined) enrich.setLocal(batch.local);
    if (batch.inWorker === true) return;
    if (this.#local === undefined) {
      this.#table.batch(batch);
      return;
    }
    this.#local.batch(batch);
    if (enrich !== undefined) {
      // A long run sees many addresses come and go: forget them now and then (the ones still
      // in use are looked up again on demand).
      enrich.prune(Math.max(200_000, 4 * this.#local.host.engine.size));
    }
    this.#stale = true;
  }

  /** Takes the engine's answer to query `id` (older answers than the last asked are dropped). */
  onWindow(id: number, w: TableAnswer): void {
    if (id < this.#asked) return;
    this.#win = w;
    const s = this.state;
    s.cursorRow = w.cursorRow;
    s.top = w.top;
    this.#noteCursor();
    if (w.found !== undefined) {
      if (w.found) {
        s.settings.cursor = true;
        if (s.input !== null) s.input.notFound = false;
      } else if (s.input !== null) s.input.notFound = true;
      else this.#say(`Not found: ${s.search}`, true);
    }
    const det = this.#details;
    if (det !== undefined && w.details !== undefined) {
      if (w.details === null) det.ended = true;
      else if (!det.ended) det.conn = w.details;
    }
    if (this.#opts.enrich === undefined) return;
    const e = this.#opts.enrich;
    if (e.version !== this.#enrichVersion && this.#local !== undefined) {
      // New answers may reorder a sort on them (the engine re-sorts at most once a second).
      this.#enrichVersion = e.version;
      this.#stale = true;
    }
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

  /** Sets the screen size (before the first frame and on every resize). */
  resize(width: number, height: number): void {
    if (width === this.#width && height === this.#height && this.#win !== undefined) return;
    this.#width = Math.max(1, width);
    this.#height = Math.max(1, height);
    this.#keepCursorVisible();
    this.#stale = true;
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
    if (flags & Flag.ROWS) {
      this.#request();
      // The engine is elsewhere: the screen changes when its answer comes (a new sort's title
      // over the old order would mislead).
      if (!this.#table.immediate) flags &= ~(Flag.ROWS | Flag.REDRAW);
    }
    return flags;
  }

  /** Builds the frame at the current size into `buf` (resized if needed). */
  frame(buf?: CellBuffer): CellBuffer {
    const out = buf ?? new CellBuffer(this.#width, this.#height);
    if (out.width !== this.#width || out.height !== this.#height) {
      out.resize(this.#width, this.#height);
    }
    if (this.#stale) this.#request();
    renderScreen(out, this.view());
    this.lastRowsMs = this.#rowsMs;
    this.#rowsMs = 0;
    return out;
  }

  /** What the screen shows now (the last window: {@linkcode frame} asks for a new one). */
  view(): ScreenView {
    const s = this.state;
    const now = this.#now();
    if (s.message !== null && s.message.untilMs <= now) s.message = null;
    const page = this.pageSize;
    const rows: Connection[] = [];
    const w = this.#win;
    const total = w?.total ?? 0;
    const end = Math.min(total, s.top + page);
    const enrich = this.#opts.enrich;
    const hosts = this.#wantsHostnames();
    for (let r = s.top; r < end && w !== undefined; r++) {
      const c = w.rows[r - w.first];
      if (c === undefined) break; // not sent yet: the answer is on its way
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
        total,
        ctx,
        highlight: s.input?.kind === "search" ? s.input.text : s.search,
        empty: total > 0 ? "" : this.#emptyText(),
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
    if (this.#win?.totals === undefined) return "";
    const n = this.#win.size;
    if (n === 0) return this.#opts.emptyHint ?? "The conntrack table is empty";
    const hidden = `${n} hidden`;
    const text = this.state.filter;
    return text !== ""
      ? `No connection matches the filter '${text}' (${hidden}; F4 or \\ then Esc clears it)`
      : `No connection matches the command line's filter (${hidden})`;
  }

  // The columns on screen: the chosen ones and NAT when it shows by itself.
  #shown(): ColumnSetting[] {
    return shownColumns(this.state.settings, (this.#win?.natCount ?? 0) > 0);
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
      totals: this.#win?.liveTotals ?? this.#win?.totals,
      status: this.#win?.liveStatus ?? this.#win?.status,
      txRate: this.#win?.txRate ?? 0,
      rxRate: this.#win?.rxRate ?? 0,
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

  // The query for the window the screen shows now.
  #query(): TableQuery {
    const s = this.state;
    const st = s.settings;
    // On the first row at the top of the list the cursor stays there (a person watching the
    // top of a sort keeps seeing it: after a filter is cleared, the list does not open mid-way).
    // Otherwise it stays on its connection while that is listed, or on the same row number,
    // and keeps its place on the page.
    const atTop = s.top === 0 && (!st.cursor || s.cursorRow === 0);
    const page = this.pageSize;
    return {
      filter: this.#opts.filter,
      text: s.filter,
      sort: st.sort,
      sort2: st.sort2,
      locked: s.locked,
      paused: s.paused,
      anchor: atTop || s.cursorSlot < 0 ? null : { slot: s.cursorSlot, id: s.cursorId },
      cursorRow: atTop ? 0 : s.cursorRow,
      top: atTop ? 0 : s.top,
      height: page,
      // A page above and below: moving by up to a page needs no answer to repaint.
      margin: page,
      cursor: st.cursor,
      hostnames: false,
      details: this.#details === undefined || this.#details.ended
        ? undefined
        : { slot: this.#details.slot, id: this.#details.id },
    };
  }

  // Asks for the window (answered at once in process, else later).
  #request(extra: Partial<TableQuery> = {}): void {
    const t0 = performance.now();
    this.#stale = false;
    this.#table.query(++this.#asked, { ...this.#query(), ...extra });
    if (this.#table.immediate) this.#rowsMs += performance.now() - t0;
  }

  // The cursor's connection, from the window (none when its row is not in it).
  #noteCursor(): void {
    const s = this.state;
    const w = this.#win;
    const k = w === undefined ? -1 : s.cursorRow - w.first;
    if (w !== undefined && k >= 0 && k < w.slots.length && s.cursorRow < w.total) {
      s.cursorSlot = w.slots[k]!;
      s.cursorId = w.rows[k]!.id;
    } else {
      s.cursorSlot = -1;
      s.cursorId = -1;
    }
  }

  // Whether the window holds every row of the page shown.
  #covered(): boolean {
    const w = this.#win;
    if (w === undefined) return false;
    const s = this.state;
    const end = Math.min(w.total, s.top + this.pageSize);
    return s.top >= w.first && end <= w.first + w.rows.length;
  }

  #setCursor(row: number): void {
    const s = this.state;
    const n = this.#win?.total ?? 0;
    s.cursorRow = n === 0 ? 0 : Math.max(0, Math.min(n - 1, row));
    this.#keepCursorVisible();
    this.#noteCursor();
  }

  #keepCursorVisible(): void {
    const s = this.state;
    const page = this.pageSize;
    const n = this.#win?.total ?? 0;
    if (s.settings.cursor) {
      if (s.cursorRow < s.top) s.top = s.cursorRow;
      if (s.cursorRow >= s.top + page) s.top = s.cursorRow - page + 1;
    }
    s.top = Math.max(0, Math.min(s.top, Math.max(0, n - page)));
  }

  // Asks now when something changed since the last window (in process: answered at once).
  #fresh(): void {
    if (this.#stale || this.#win === undefined) this.#request();
  }

  #moveBy(delta: number): number {
    this.#fresh();
    const s = this.state;
    return this.#moveTo((s.settings.cursor ? s.cursorRow : s.top) + delta);
  }

  // Moves at once within the window, then asks again around the new place; a move beyond it
  // shows when the answer comes.
  #moveTo(row: number): number {
    this.#fresh();
    const s = this.state;
    if (s.settings.cursor) this.#setCursor(row);
    else {
      s.top = row;
      this.#keepCursorVisible();
    }
    this.#request();
    return this.#covered() ? Flag.REDRAW : Flag.NONE;
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
    return action === undefined ? Flag.NONE : ACTIONS[action](this.#actions);
  }

  #scaleSpeed(factor: number): number {
    const r = this.#opts.replay;
    if (r === undefined) return Flag.NONE;
    r.setSpeed(r.speed * factor);
    return Flag.REDRAW;
  }

  #togglePause(): number {
    const r = this.#opts.replay;
    if (r !== undefined) {
      r.togglePause();
      return Flag.REDRAW;
    }
    const s = this.state;
    s.paused = !s.paused; // the engine holds the batches meanwhile
    return Flag.REDRAW | Flag.ROWS;
  }

  #openDetails(): number {
    this.#fresh();
    const s = this.state;
    const w = this.#win;
    const row = s.settings.cursor ? s.cursorRow : s.top;
    const k = w === undefined ? -1 : row - w.first;
    if (w === undefined || w.total === 0 || k < 0 || k >= w.rows.length) return Flag.NONE;
    this.#details = { slot: w.slots[k]!, id: w.rows[k]!.id, conn: w.rows[k]!, ended: false };
    s.dialog = { kind: "details", scroll: 0 };
    return Flag.REDRAW;
  }

  // Moves the cursor to the next row (from the cursor, in `dir`) whose search text holds
  // `needle`; the answer says whether one was found.
  #findNext(needle: string, dir: 1 | -1, skipCurrent: boolean): number {
    const s = this.state;
    if (s.input === null) s.search = needle; // (n and N: what "Not found" names)
    this.#request({ find: { text: needle, backwards: dir < 0, skipCurrent } });
    return this.#table.immediate ? Flag.REDRAW : Flag.NONE;
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
      this.#fresh();
      const row = s.top + (ev.y - l.list.y);
      if (row >= (this.#win?.total ?? 0)) return Flag.NONE;
      s.settings.cursor = true;
      this.#setCursor(row);
      this.#request();
      return Flag.REDRAW;
    }
    if (l.footer.height > 0 && ev.y === l.footer.y && s.input === null) {
      for (const span of keyBar(this.#width, positionText(this.view().list)).keys) {
        if (ev.x >= span.x && ev.x < span.x + span.width) {
          const action = MAIN_KEYS[span.key];
          return action === undefined ? Flag.NONE : ACTIONS[action](this.#actions);
        }
      }
    }
    return Flag.NONE;
  }
}
