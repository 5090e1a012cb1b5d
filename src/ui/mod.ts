/**
 * The interactive UI: pure rendering of state into a cell buffer (one file per region), the
 * key table, and the controller that ties model, rows and state together. Nothing here calls
 * FFI or does terminal I/O.
 *
 * @module
 */

export { type RemoteControl, type ReplayControl, UiApp, type UiAppOptions } from "./app.ts";
export { COLUMN_IDS, type ColumnDef, type ColumnId, COLUMNS, DEFAULT_COLUMNS } from "./columns.ts";
export { Flag, keyName, MAIN_KEYS } from "./keymap.ts";
export { layout } from "./layout.ts";
export { renderScreen } from "./render.ts";
export { defaultSettings, type Settings, settingsFromJson, settingsToJson } from "./settings.ts";
export { DEFAULT_THEME, MONO_THEME, type Theme } from "./theme.ts";
export type { ScreenView } from "./view.ts";
