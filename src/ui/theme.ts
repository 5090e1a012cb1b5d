/**
 * The colours and attributes of each part of the screen, in the spirit of htop's default
 * theme: cyan labels, a green column header, a cyan selection bar, black-on-cyan key labels.
 * Colours are the 16 basic ones, so the theme reads the same on every terminal; the renderer
 * drops them for monochrome (`NO_COLOR`, `--no-color`), where attributes still mark the
 * selection, the header and matches.
 *
 * @module
 */

import { Attr, palette, type Style } from "../term/mod.ts";
import type { AddressClass } from "../core/mod.ts";

const BLACK = palette(0), RED = palette(1), GREEN = palette(2), YELLOW = palette(3);
const BLUE = palette(4), MAGENTA = palette(5), CYAN = palette(6), WHITE = palette(7);
const BRIGHT_BLACK = palette(8), BRIGHT_CYAN = palette(14), BRIGHT_WHITE = palette(15);

/** Every style the UI uses, by role. */
export interface Theme {
  /** Plain text. */
  text: Style;
  /** Header labels ("Conns", "Table"). */
  label: Style;
  /** Header values. */
  value: Style;
  /** Meter bar: brackets and the filled part. */
  meterFrame: Style;
  meterBar: Style;
  /** Something wrong (errors, overruns, damaged recordings). */
  error: Style;
  /** Something to notice (paused, locked, warnings). */
  warn: Style;
  /** The column header row, and the sorted column in it. */
  columnHeader: Style;
  columnHeaderSorted: Style;
  /** The selected row. */
  cursor: Style;
  /** Search matches. */
  match: Style;
  /** Zero or missing values, dimmed. */
  dim: Style;
  /** Function-key bar: the key, then its label. */
  fkey: Style;
  fkeyLabel: Style;
  /** Dialogs: frame, title, text, selected line. */
  dialog: Style;
  dialogTitle: Style;
  dialogSelected: Style;
  /** Search / filter input line. */
  input: Style;
  /** Addresses (and their hostnames), by class; "public" is plain text. */
  classes: Readonly<Record<AddressClass, Style>>;
}

/** The default theme. */
export const DEFAULT_THEME: Theme = {
  text: {},
  label: { fg: CYAN },
  value: { fg: BRIGHT_WHITE, attrs: Attr.BOLD },
  meterFrame: { fg: WHITE, attrs: Attr.BOLD },
  meterBar: { fg: GREEN },
  error: { fg: RED, attrs: Attr.BOLD },
  warn: { fg: YELLOW, attrs: Attr.BOLD },
  columnHeader: { fg: BLACK, bg: GREEN },
  columnHeaderSorted: { fg: BLACK, bg: CYAN, attrs: Attr.BOLD },
  cursor: { fg: BLACK, bg: CYAN },
  match: { fg: BLACK, bg: YELLOW, attrs: Attr.UNDERLINE },
  dim: { fg: BRIGHT_BLACK },
  fkey: { fg: BRIGHT_WHITE, bg: BLACK, attrs: Attr.BOLD },
  fkeyLabel: { fg: BLACK, bg: CYAN },
  dialog: { fg: BRIGHT_WHITE, bg: BLUE },
  dialogTitle: { fg: BRIGHT_CYAN, bg: BLUE, attrs: Attr.BOLD },
  dialogSelected: { fg: BLACK, bg: CYAN },
  input: { fg: BLACK, bg: CYAN },
  // Where traffic stays local it is quieter; this host stands out; the odd ones are warm.
  classes: {
    unspecified: { fg: BRIGHT_BLACK },
    "this-host": { fg: CYAN, attrs: Attr.BOLD },
    loopback: { fg: BRIGHT_BLACK },
    private: { fg: GREEN },
    shared: { fg: GREEN, attrs: Attr.DIM },
    "link-local": { fg: BLUE, attrs: Attr.BOLD },
    multicast: { fg: MAGENTA },
    broadcast: { fg: MAGENTA, attrs: Attr.BOLD },
    "unique-local": { fg: GREEN },
    documentation: { fg: YELLOW },
    reserved: { fg: RED },
    public: {},
  },
};

/**
 * The theme for a terminal without colours: the same roles marked by attributes (reverse
 * video for bars and the selection, bold for values, underline for matches).
 */
export const MONO_THEME: Theme = {
  text: {},
  label: {},
  value: { attrs: Attr.BOLD },
  meterFrame: { attrs: Attr.BOLD },
  meterBar: {},
  error: { attrs: Attr.BOLD },
  warn: { attrs: Attr.BOLD },
  columnHeader: { attrs: Attr.REVERSE },
  columnHeaderSorted: { attrs: Attr.REVERSE | Attr.BOLD | Attr.UNDERLINE },
  cursor: { attrs: Attr.REVERSE },
  match: { attrs: Attr.UNDERLINE | Attr.BOLD },
  dim: {},
  fkey: { attrs: Attr.BOLD },
  fkeyLabel: { attrs: Attr.REVERSE },
  dialog: {},
  dialogTitle: { attrs: Attr.BOLD },
  dialogSelected: { attrs: Attr.REVERSE },
  input: { attrs: Attr.REVERSE },
  // Without colours, only this host is marked.
  classes: {
    unspecified: {},
    "this-host": { attrs: Attr.BOLD },
    loopback: {},
    private: {},
    shared: {},
    "link-local": {},
    multicast: {},
    broadcast: {},
    "unique-local": {},
    documentation: {},
    reserved: {},
    public: {},
  },
};
