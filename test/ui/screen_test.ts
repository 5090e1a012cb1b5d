import { assert, assertEquals } from "../_helpers/assert.ts";
import { assertGolden } from "../_helpers/golden.ts";
import { CellBuffer } from "../../src/term/buffer.ts";
import { palette } from "../../src/term/style.ts";
import { Attr } from "../../src/term/style.ts";
import { MONO_THEME } from "../../src/ui/mod.ts";
import { fixtureApp, key, screenText, typed } from "./_fixture.ts";

Deno.test("The main screen shows header, sorted list and key bar (100x20)", () => {
  assertGolden("ui/main_100x20.txt", screenText(fixtureApp(100, 20)));
});

Deno.test("The main screen degrades on a 40x10 terminal", () => {
  assertGolden("ui/main_40x10.txt", screenText(fixtureApp(40, 10)));
});

Deno.test("A wide terminal gives the last column the rest of the line (160x14)", () => {
  assertGolden("ui/main_160x14.txt", screenText(fixtureApp(160, 14)));
});

Deno.test("Tiny and empty terminals render without throwing", () => {
  const sizes: [number, number][] = [[0, 0], [1, 1], [2, 1], [10, 2], [20, 4], [5, 30], [300, 3]];
  for (const [w, h] of sizes) {
    const app = fixtureApp(w, h);
    const buf = app.frame(new CellBuffer(1, 1));
    assertEquals(buf.width, Math.max(1, w));
    for (const ev of [key("f1"), key("escape"), key("enter"), key("f2"), key("escape")]) {
      app.handle([ev]);
      app.frame(buf);
    }
  }
});

Deno.test("The help screen lists the keys", () => {
  const app = fixtureApp(100, 36);
  app.handle([key("f1")]);
  assertGolden("ui/help_100x36.txt", screenText(app));
});

Deno.test("The details dialog shows every field of the selected connection", () => {
  const app = fixtureApp(100, 44);
  app.handle([key("down"), key("enter")]);
  assertGolden("ui/details_100x44.txt", screenText(app));
});

Deno.test("The details dialog spells out NAT for a translated connection", () => {
  const app = fixtureApp(100, 44);
  app.handle([key("\\"), ...typed("8080"), key("enter"), key("enter")]);
  const text = screenText(app);
  assert(text.includes("destination becomes [") === false);
  assert(text.includes("SNAT              source becomes 203.0.113.1:61000"), text);
  assert(text.includes("DNAT              destination becomes 10.0.0.80:80"), text);
});

Deno.test("The columns and sort dialogs list every column", () => {
  const app = fixtureApp(100, 30);
  app.handle([key("f2"), key("down"), key("down")]);
  assertGolden("ui/columns_100x30.txt", screenText(app));
  app.handle([key("escape"), key("s")]);
  assertGolden("ui/sort_100x30.txt", screenText(app));
});

Deno.test("Search shows the input line and highlights matches", () => {
  const app = fixtureApp(100, 20);
  app.handle(typed("/192.0.2"));
  const buf = app.frame(new CellBuffer(1, 1));
  const lines = buf.lines();
  assert(lines[19]!.startsWith("Search: 192.0.2█"), lines[19]);
  // Every visible occurrence is highlighted with the match style.
  const theme = fixtureApp().view().theme;
  let highlighted = 0;
  for (let y = 4; y < 19; y++) {
    const at = lines[y]!.indexOf("192.0.2.");
    if (at < 0) continue;
    for (let x = at; x < at + 7; x++) assertEquals(buf.bg[y * buf.width + x], theme.match.bg);
    highlighted++;
  }
  assertEquals(highlighted, 4);
});

Deno.test("The cursor row and sorted column carry their styles", () => {
  const app = fixtureApp(100, 20);
  const buf = app.frame(new CellBuffer(1, 1));
  const cyan = palette(6), green = palette(2);
  const row = 4; // first list row: the cursor starts there
  for (let x = 0; x < 100; x++) assertEquals(buf.bg[row * 100 + x], cyan);
  assertEquals(buf.bg[5 * 100 + 0], 0, "other rows keep the default background");
  const header = buf.line(3);
  const sorted = header.indexOf("RATE") >= 0 ? header.indexOf("RATE") : header.indexOf("▼");
  assert(sorted >= 0);
  assertEquals(buf.bg[3 * 100 + 0], green);
  assertEquals(buf.attrs[3 * 100 + header.indexOf("▼")]! & Attr.BOLD, Attr.BOLD);
});

Deno.test("Monochrome marks the cursor and header with reverse video only", () => {
  const app = fixtureApp(100, 20, { theme: MONO_THEME });
  const buf = app.frame(new CellBuffer(1, 1));
  for (let i = 0; i < buf.fg.length; i++) {
    assertEquals(buf.fg[i], 0);
    assertEquals(buf.bg[i], 0);
  }
  assertEquals(buf.attrs[4 * 100]! & Attr.REVERSE, Attr.REVERSE);
  assertEquals(buf.attrs[3 * 100]! & Attr.REVERSE, Attr.REVERSE);
  assertEquals(buf.attrs[5 * 100]! & Attr.REVERSE, 0);
});

Deno.test("Horizontal scroll shifts every row and the column header together", () => {
  const app = fixtureApp(60, 12);
  const before = app.frame(new CellBuffer(1, 1)).lines();
  app.handle([key("right")]);
  const after = app.frame(new CellBuffer(1, 1)).lines();
  // Titles and rows alike, left of the sort column, which is kept in view at the right end:
  // its title over its values, where the scroll does not move it.
  for (const y of [3, 4, 5]) {
    assertEquals(after[y]!.slice(0, 40), before[y]!.slice(8, 48));
    assertEquals(after[y]!.slice(52), before[y]!.slice(52));
  }
  assertEquals(after[3]!.slice(52), " ▼RATE/s");
  assertEquals(after[4]!.slice(52), "    2.9M");
});

Deno.test("Wide characters in the host name do not shift the columns", () => {
  const app = fixtureApp(80, 20, { host: "ルーター.例え" });
  const lines = app.frame(new CellBuffer(1, 1)).lines();
  assert(lines[0]!.includes("ルーター.例え"));
  const plain = fixtureApp(80, 20).frame(new CellBuffer(1, 1)).lines();
  assertEquals(lines.slice(3), plain.slice(3));
});

Deno.test("The default columns fit 80 columns with the rate in its own place", () => {
  const app = fixtureApp(80, 24);
  app.state.settings.sort = { column: "proto", desc: false }; // not kept in view as the sort
  app.handle([]);
  const lines = app.frame(new CellBuffer(1, 1)).lines();
  const title = lines[3]!;
  for (const t of ["PROTO", "STATE", "SOURCE", "SPORT", "DESTINATION", "DPORT", "RATE/s"]) {
    assert(title.includes(t), `title '${t}' on the 80-column title line: ${title}`);
  }
  // The row of 10.0.0.1 → 192.0.2.10:443 moves 1.5K/s + 244K/s: its rate ends under "RATE/s".
  const row = lines.find((l) => l.includes("10.0.0.1 "))!;
  const end = title.indexOf("RATE/s") + "RATE/s".length;
  assertEquals(row.slice(end - 4, end), "246K");
  assertEquals(row.slice(0, 80).includes("443"), true);
});
