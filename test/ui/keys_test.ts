/**
 * The keys follow htop's function keys (F1 help, F2 setup, F3 search, F4 filter, F6 sort by,
 * F10 quit; F5 and F9 are kept for group mode and deleting a connection), the toggles that sat
 * on F4-F6 moved to letters, and the help screen lists every key the main screen binds.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { Flag } from "../../src/ui/mod.ts";
import { HELP_LINES } from "../../src/ui/help.ts";
import { MAIN_KEYS } from "../../src/ui/keymap.ts";
import { fixtureApp, key } from "./_fixture.ts";

Deno.test("F4 opens the filter line and F6 the sort-by dialog, as in htop", () => {
  const app = fixtureApp();
  app.handle([key("f4")]);
  assertEquals(app.state.input?.kind, "filter");
  app.handle([key("escape"), key("f6")]);
  assertEquals(app.state.dialog?.kind, "sort");
  assert(app.frame().lines().some((l) => l.includes(" Sort by ")));
  app.handle([key("f6")]);
  assertEquals(app.state.dialog, null, "F6 closes the sort dialog again");
});

Deno.test("F5 and F9 do nothing yet; pause stays on Space and Z", () => {
  const app = fixtureApp();
  assertEquals(app.handle([key("f5")]), Flag.NONE);
  assertEquals(app.handle([key("f9")]), Flag.NONE);
  assert(!app.state.paused);
  app.handle([key("space")]);
  assert(app.state.paused);
  app.handle([key("Z")]);
  assert(!app.state.paused);
});

Deno.test("The cursor, hostname and service toggles sit on c, H and P", () => {
  const app = fixtureApp();
  const st = app.state.settings;
  const before = [st.cursor, st.hostnames, st.services];
  for (const k of ["c", "H", "P"]) assert(app.handle([key(k)]) & Flag.SAVE, k);
  assertEquals([st.cursor, st.hostnames, st.services], before.map((v) => !v));
});

/** How the help screen spells a key of the key table: "pageup" → "PgUp", "ctrl+b" → "Ctrl-B". */
function spelled(name: string): string {
  const words: Record<string, string> = {
    pageup: "PgUp",
    pagedown: "PgDn",
    escape: "Esc",
  };
  if (name.length === 1) return name;
  return name.split("+").map((part, i, all) => {
    if (i < all.length - 1) return part[0]!.toUpperCase() + part.slice(1);
    if (words[part] !== undefined) return words[part]!;
    if (/^f\d+$/.test(part)) return part.toUpperCase();
    return part.length === 1 ? part.toUpperCase() : part[0]!.toUpperCase() + part.slice(1);
  }).join("-");
}

/** The single keys of the help's key column, split as man_test.ts splits them. */
function helpKeys(): Set<string> {
  return new Set(
    HELP_LINES.flatMap(([keys]) =>
      keys.split(/,?\s+/).flatMap((k) => k.length > 1 && k.includes("/") ? k.split("/") : [k])
    ).filter((k) => k !== ""),
  );
}

Deno.test("The help lists every key the main screen binds", () => {
  assertEquals(spelled("ctrl+b"), "Ctrl-B");
  assertEquals(spelled("shift+f3"), "Shift-F3");
  assertEquals(spelled("pagedown"), "PgDn");
  const listed = helpKeys();
  const missing = Object.keys(MAIN_KEYS).map(spelled).filter((k) => !listed.has(k));
  assertEquals(missing, [], "keys bound in keymap.ts but missing from HELP_LINES");
});

Deno.test("The help lists no key the main screen leaves unbound", () => {
  const bound = new Set(Object.keys(MAIN_KEYS).map(spelled));
  const extra = [...helpKeys()].filter((k) => k !== "mouse" && !bound.has(k));
  assertEquals(extra, [], "keys in HELP_LINES that keymap.ts does not bind");
});

Deno.test("A click on a key bar label presses that key, where the bar drew it", () => {
  const app = fixtureApp(100, 20);
  const bar = app.frame().lines()[19]!;
  const click = (x: number) => ({
    type: "mouse" as const,
    action: "press" as const,
    button: 0,
    x,
    y: 19,
    ctrl: false,
    alt: false,
    shift: false,
  });
  app.handle([click(bar.indexOf("F4Filter") + 3)]);
  assertEquals(app.state.input?.kind, "filter");
  app.handle([key("escape")]);
  app.handle([click(bar.indexOf("F6SortBy") + 7)]);
  assertEquals(app.state.dialog?.kind, "sort");
  app.handle([key("escape")]);
  // The position in the corner is no key.
  assertEquals(app.handle([click(bar.indexOf("row 1 of 8"))]), Flag.NONE);
});
