import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { Kind } from "../../src/conntrack/record.ts";
import { Flag } from "../../src/ui/mod.ts";
import type { UiApp } from "../../src/ui/mod.ts";
import { fixtureApp, fixtureConns, key, T0, typed } from "./_fixture.ts";
import { CellBuffer } from "../../src/term/buffer.ts";

const ROW_RE = /\[[x ]\] \S+\s+\d+ /; // "[x] TITLE  width  description"

// The dialog line drawn as selected: the one row of "[x]"/"[ ]" lines whose style differs.
function dialogLine(app: UiApp): string {
  const buf = app.frame(new CellBuffer(1, 1));
  const rows = buf.lines().map((text, y) => ({ text, y })).filter((r) => ROW_RE.test(r.text));
  const styleOf = (r: { text: string; y: number }) => {
    const i = r.y * buf.width + r.text.search(ROW_RE);
    return `${buf.fg[i]}/${buf.bg[i]}/${buf.attrs[i]}`;
  };
  const styles = rows.map(styleOf);
  const odd = rows.filter((_, k) => styles.filter((x) => x === styles[k]).length === 1);
  assertEquals(odd.length, 1, "one selected line in the columns dialog");
  return odd[0]!.text;
}

/** Source addresses of the rows, top to bottom. */
function sources(app: UiApp): string[] {
  app.frame();
  return app.rows.toArray().map((s) => app.model.connection(s, T0).orig_src);
}

function cursorSource(app: UiApp): string {
  app.frame();
  return app.model.connection(app.state.cursorSlot, T0).orig_src;
}

const RATE_ORDER = [
  "2001:db8::1",
  "10.0.0.1",
  "192.168.1.20",
  "10.0.0.4",
  "10.0.0.3",
  "10.0.0.5",
  "10.0.0.7",
  "10.0.0.2",
];

function update(app: UiApp, changes: (Partial<TestConn> & { slot: number })[], seq = 1): void {
  const all = fixtureConns();
  const conns = changes.map((c) => ({ ...all[c.slot]!, ...c, kind: c.kind ?? Kind.UPDATE }));
  app.onBatch(batchOf(conns, { seq, timeMs: T0, live: all }));
}

Deno.test("UiApp sorts by total rate, biggest first, by default", () => {
  assertEquals(sources(fixtureApp()), RATE_ORDER);
});

Deno.test("UiApp keeps the cursor on its connection when a refresh re-sorts the rows", () => {
  const app = fixtureApp();
  app.handle([key("down"), key("down")]);
  assertEquals(cursorSource(app), "192.168.1.20");
  // 10.0.0.2 jumps to the top; the cursor follows 192.168.1.20 down a row.
  update(app, [{ slot: 1, txBps: 9_000_000, rxBps: 0 }]);
  assertEquals(sources(app)[0], "10.0.0.2");
  assertEquals(cursorSource(app), "192.168.1.20");
  assertEquals(app.state.cursorRow, 3);
});

Deno.test("UiApp keeps the cursor on its row number when its connection ends", () => {
  const app = fixtureApp();
  app.handle([key("down"), key("down")]);
  update(app, [{ slot: 6, kind: Kind.DESTROY }]);
  assertEquals(app.state.cursorRow, 2);
  assertEquals(cursorSource(app), "10.0.0.4");
});

Deno.test("UiApp follows the cursor across a change of sort column", () => {
  const app = fixtureApp();
  app.handle([key("down")]);
  assertEquals(cursorSource(app), "10.0.0.1");
  app.handle([key("s"), key("home"), key("down"), key("down"), key("enter"), key("escape")]);
  assertEquals(app.state.settings.sort.column, "src");
  assertEquals(cursorSource(app), "10.0.0.1");
  assertEquals(app.state.cursorRow, sources(app).indexOf("10.0.0.1"));
});

Deno.test("UiApp sorts addresses numerically, IPv4 before IPv6, with < > and I", () => {
  const app = fixtureApp();
  // From RATE/s, < goes to DCC, then DPORT, DESTINATION, SPORT, SOURCE.
  const flags = app.handle([key("<"), key("<"), key("<"), key("<"), key("<")]);
  assert(flags & Flag.SAVE);
  assertEquals(app.state.settings.sort, { column: "src", desc: false });
  assertEquals(sources(app), [
    "10.0.0.1",
    "10.0.0.2",
    "10.0.0.3",
    "10.0.0.4",
    "10.0.0.5",
    "10.0.0.7",
    "192.168.1.20",
    "2001:db8::1",
  ]);
  app.handle([key("I")]);
  assertEquals(sources(app)[0], "2001:db8::1");
  assertEquals(sources(app)[7], "10.0.0.1");
});

Deno.test("UiApp orders equal keys by the secondary sort key", () => {
  const app = fixtureApp();
  // Sort by protocol (tcp rows tie), then by TX bytes descending (the default secondary key).
  app.handle([key("s"), ...Array(12).fill(key("up")), key("enter"), key("escape")]);
  assertEquals(app.state.settings.sort, { column: "proto", desc: false });
  assertEquals(sources(app), [
    "10.0.0.5", // icmp (1)
    "2001:db8::1", // tcp by tx bytes: 120000
    "192.168.1.20", // 50000
    "10.0.0.4", // 40000
    "10.0.0.1", // 9000
    "10.0.0.2", // 600
    "10.0.0.7", // 60
    "10.0.0.3", // udp (17)
  ]);
});

Deno.test("UiApp locks the row order while values keep updating", () => {
  const app = fixtureApp();
  assertEquals(sources(app), RATE_ORDER, "the order on screen when L is pressed");
  app.handle([key("L")]);
  assert(app.state.locked);
  update(app, [{ slot: 1, txBps: 9_000_000 }]);
  assertEquals(sources(app), RATE_ORDER, "order stays");
  assertEquals(app.model.connection(1, T0).tx_bytes_per_s, 9_000_000, "values update");
  // A new connection joins at the end; an ended one leaves.
  app.onBatch(
    batchOf([
      {
        slot: 8,
        src: "10.9.9.9",
        dst: "192.0.2.200",
        sport: 1,
        dport: 2,
        txBps: 1e9,
        sampledMs: T0,
      },
      { ...fixtureConns()[4]!, kind: Kind.DESTROY },
    ], { seq: 2, timeMs: T0 }),
  );
  assertEquals(sources(app), [...RATE_ORDER.filter((s) => s !== "10.0.0.4"), "10.9.9.9"]);
  app.handle([key("L")]);
  assertEquals(sources(app)[0], "10.9.9.9", "unlocking sorts again");
});

Deno.test("UiApp freezes the list while paused and shows the current state on resume", () => {
  const app = fixtureApp();
  app.handle([key("Z")]);
  assert(app.state.paused);
  app.onBatch(
    batchOf([{ slot: 8, src: "10.9.9.9", dst: "192.0.2.200", sport: 1, dport: 2, sampledMs: T0 }], {
      seq: 1,
      timeMs: T0,
    }),
  );
  update(app, [{ slot: 0, kind: Kind.DESTROY }], 2);
  assertEquals(sources(app), RATE_ORDER);
  app.handle([key("space")]);
  assert(!app.state.paused);
  const now = sources(app);
  assert(now.includes("10.9.9.9"));
  assert(!now.includes("10.0.0.1"));
});

Deno.test("UiApp search jumps to matches, n and N move between them", () => {
  const app = fixtureApp();
  app.handle(typed("/192.0.2."));
  assertEquals(cursorSource(app), "10.0.0.1", "first match from the cursor on");
  app.handle([key("enter")]);
  assertEquals(app.state.search, "192.0.2.");
  app.handle([key("n")]);
  assertEquals(cursorSource(app), "10.0.0.3");
  app.handle([key("n"), key("n")]);
  assertEquals(cursorSource(app), "10.0.0.7");
  app.handle([key("N")]);
  assertEquals(cursorSource(app), "10.0.0.5");
  app.handle(typed("/zzz"));
  assert(app.state.input?.notFound);
  app.handle([key("escape")]);
  assertEquals(app.state.input, null);
  assertEquals(app.state.search, "");
});

Deno.test("UiApp filter hides rows that do not match, Esc in it clears it", () => {
  const app = fixtureApp();
  const flags = app.handle([key("\\"), ...typed("203.0.113")]);
  assert(flags & Flag.ROWS);
  assertEquals(sources(app), ["192.168.1.20", "10.0.0.4"]);
  app.handle([key("enter")]);
  assertEquals(app.state.filter, "203.0.113");
  app.handle([key("\\"), key("backspace"), key("backspace")]);
  assertEquals(app.state.filter, "203.0.1");
  app.handle([key("escape")]);
  assertEquals(app.state.filter, "");
  assertEquals(sources(app).length, 8);
});

Deno.test("UiApp filter matches NAT addresses and udp/icmp protocol names", () => {
  const app = fixtureApp();
  app.handle([key("\\"), ...typed("10.0.0.80:80")]);
  assertEquals(sources(app), ["192.168.1.20"]);
  app.handle([key("escape"), key("\\"), ...typed("udp")]);
  assertEquals(sources(app), ["10.0.0.3"]);
});

Deno.test("UiApp columns dialog shows, hides, moves and resizes columns", () => {
  const app = fixtureApp();
  const ids = () => app.state.settings.columns.map((c) => c.id);
  app.handle([key("f2")]);
  let f = app.handle([key("space")]);
  assert(f & Flag.SAVE);
  assertEquals(ids()[0], "state", "PROTO hidden");
  app.handle([key("space")]);
  assertEquals(ids().slice(0, 2), ["proto", "state"], "PROTO shown again in its place");
  app.handle([key("down"), key("]")]);
  assertEquals(ids().slice(0, 3), ["proto", "src", "state"]);
  f = app.handle([key("+"), key("+")]);
  assertEquals(app.state.settings.columns[2], { id: "state", width: 13 });
  // Hidden columns follow the shown ones in the dialog; the last is DCLASS.
  app.handle([key("end"), key("space")]);
  assertEquals(ids().at(-1), "dst_class", "the dialog's last row is DCLASS");
  app.handle([key("escape")]);
  assertEquals(app.state.dialog, null);
});

Deno.test("UiApp mouse: a click selects a row, the wheel scrolls, a header click sorts", () => {
  const app = fixtureApp(100, 20);
  const mouse = (action: "press" | "wheeldown" | "wheelup", x: number, y: number) => ({
    type: "mouse" as const,
    action,
    button: 0,
    x,
    y,
    ctrl: false,
    alt: false,
    shift: false,
  });
  app.handle([mouse("press", 10, 6)]); // list starts at row 4
  assertEquals(cursorSource(app), "192.168.1.20");
  app.handle([mouse("wheeldown", 10, 6)]);
  assertEquals(app.state.cursorRow, 5);
  // Click on the SOURCE title (x 19..40) sorts by source; again inverts.
  app.handle([mouse("press", 20, 3)]);
  assertEquals(app.state.settings.sort, { column: "src", desc: false });
  app.handle([mouse("press", 20, 3)]);
  assertEquals(app.state.settings.sort, { column: "src", desc: true });
  // Click on F1 in the key bar opens help.
  app.handle([mouse("press", 1, 19)]);
  assertEquals(app.state.dialog?.kind, "help");
});

Deno.test("UiApp quits on q, F10 and Ctrl-C, and Ctrl-C quits from a dialog too", () => {
  for (const k of [key("q"), key("f10"), key("c", { ctrl: true })]) {
    assert(fixtureApp().handle([k]) & Flag.QUIT);
  }
  const app = fixtureApp();
  app.handle([key("f1")]);
  assertEquals(app.handle([key("q")]) & Flag.QUIT, 0, "q closes the dialog first");
  app.handle([key("f1")]);
  assert(app.handle([key("c", { ctrl: true })]) & Flag.QUIT);
});

Deno.test("UiApp pages and jumps with PgDn, End and Home on a short terminal", () => {
  const app = fixtureApp(100, 8); // 1 header line, column header, 5 rows, key bar
  assertEquals(app.pageSize, 5);
  app.handle([key("pagedown")]);
  assertEquals(app.state.cursorRow, 5);
  assertEquals(app.state.top, 1);
  app.handle([key("end")]);
  assertEquals(app.state.cursorRow, 7);
  assertEquals(app.state.top, 3);
  app.handle([key("home")]);
  assertEquals([app.state.cursorRow, app.state.top], [0, 0]);
  app.handle([key("c"), key("pagedown")]);
  assertEquals(app.state.top, 3, "without the cursor, keys scroll the view");
});

Deno.test("UiApp details dialog marks a connection that ended while open", () => {
  const app = fixtureApp(100, 44);
  app.handle([key("enter")]);
  update(app, [{ slot: 3, kind: Kind.DESTROY }]);
  const v = (app.frame(), app.view());
  assertEquals(v.dialog?.kind, "details");
  if (v.dialog?.kind === "details") {
    assert(v.dialog.ended);
    assertEquals(v.dialog.conn.orig_src, "2001:db8::1");
  }
});

Deno.test("UiApp keeps the top of the list in view when a filter is cleared from the first row", () => {
  const app = fixtureApp(100, 8); // a page of 5 rows
  app.handle([key("\\"), ...typed("10.0.0.2"), key("enter")]);
  assertEquals(sources(app), ["10.0.0.2"]);
  assertEquals(app.state.cursorRow, 0);
  // 10.0.0.2 is the last row of the whole list; the cursor was on the first row: it stays there.
  app.handle([key("\\"), key("escape")]);
  assertEquals(sources(app), RATE_ORDER);
  assertEquals([app.state.cursorRow, app.state.top], [0, 0]);
  assertEquals(cursorSource(app), RATE_ORDER[0]);
});

Deno.test("UiApp keeps the cursor's place on the page when its connection moves", () => {
  const app = fixtureApp(100, 8); // a page of 5 rows
  app.handle([key("down")]);
  assertEquals(cursorSource(app), "10.0.0.1");
  // Sorted by source, 10.0.0.1 is the first row; inverted, the last: the cursor follows it and
  // stays one row below the top of the page rather than jumping to its edge.
  app.handle([key("s"), key("home"), key("down"), key("down"), key("enter"), key("I")]);
  app.handle([key("escape")]);
  assertEquals(sources(app).indexOf("10.0.0.1"), 7);
  assertEquals(cursorSource(app), "10.0.0.1");
  assertEquals([app.state.cursorRow, app.state.top], [7, 3], "the end of the list, clamped");
  app.handle([key("up"), key("up"), key("up")]);
  assertEquals([app.state.cursorRow, app.state.top], [4, 3]);
  app.handle([key("I")]);
  assertEquals(sources(app).indexOf("10.0.0.1"), 0, "sorted by source ascending again");
  // The cursor was second on its page, on 10.0.0.4: it stays second.
  assertEquals(cursorSource(app), "10.0.0.4");
  assertEquals(app.state.cursorRow - app.state.top, 1);
});

Deno.test("UiApp keeps the cursor on the first row when the sort changes there", () => {
  const app = fixtureApp();
  assertEquals(cursorSource(app), RATE_ORDER[0]);
  app.handle([key("I")]); // the fastest connection, first, becomes the last
  assertEquals(sources(app).at(-1), RATE_ORDER[0]);
  assertEquals([app.state.cursorRow, app.state.top], [0, 0]);
  assertEquals(cursorSource(app), RATE_ORDER.at(-1));
});

Deno.test("UiApp columns dialog: toggling keeps a column in its place and the cursor on it", () => {
  const app = fixtureApp(100, 44, {}, (c) => c.slot !== 6); // no NAT: no NAT column by itself
  const ids = () => app.state.settings.columns.map((c) => c.id);
  const before = ids();
  const row = () => {
    const d = app.view().dialog;
    if (d?.kind !== "columns") throw new Error("the columns dialog is open");
    return { index: d.index, line: dialogLine(app) };
  };
  app.handle([key("f2"), key("down"), key("down"), key("down")]);
  assertStringIncludes(row().line, "[x] SPORT");
  app.handle([key("space")]);
  assertEquals(ids(), before.filter((id) => id !== "sport"), "SPORT hidden");
  assertEquals(row().index, 3, "the cursor stays on the row");
  assertStringIncludes(row().line, "[ ] SPORT", "the row is still SPORT's");
  app.handle([key("space")]);
  assertEquals(ids(), before, "shown again where it was");
  assertStringIncludes(row().line, "[x] SPORT");
  // A hidden column is shown where its row is: MARK after the shown ones, then NAT before it.
  const mark = before.length + 3; // hidden rows: NAT, TXPKT, RXPKT, MARK, …
  app.handle([key("home"), ...Array(mark).fill(key("down"))]);
  assertStringIncludes(row().line, "[ ] MARK");
  app.handle([key("space")]);
  assertEquals(ids(), [...before, "mark"]);
  assertStringIncludes(row().line, "[x] MARK", "the cursor stays on MARK");
  app.handle([key("up"), key("up"), key("up"), key("space")]);
  assertStringIncludes(row().line, "[x] NAT");
  assertEquals(ids(), [...before, "nat", "mark"]);
  assertEquals(row().index, before.length);
});

Deno.test("UiApp never makes the secondary sort key the primary one", () => {
  const app = fixtureApp(160, 20);
  const st = app.state.settings;
  assertEquals([st.sort.column, st.sort2?.column], ["rate", "tx_bytes"]);
  // A click on the title of the secondary key (TX, found on the drawn title line).
  const title = app.frame(new CellBuffer(1, 1)).lines()[3]!;
  const x = title.search(/ TX /) + 2;
  app.handle([{
    type: "mouse",
    action: "press",
    button: 0,
    x,
    y: 3,
    ctrl: false,
    alt: false,
    shift: false,
  }]);
  assertEquals(st.sort.column, "tx_bytes", "the click sorts by TX");
  assertEquals(st.sort2?.column, "rate", "the old primary key becomes the secondary one");
  // < and > onto the secondary key's column do the same.
  st.sort2 = { column: "rx_bytes", desc: true };
  app.handle([key(">")]);
  assertEquals(st.sort.column, "rx_bytes");
  assertEquals(st.sort2?.column, "tx_bytes");
  // The sort dialog's Enter too.
  app.handle([key("s"), key("home"), key("enter"), key("escape")]);
  assertEquals(st.sort.column, "proto");
  assert(st.sort2?.column !== "proto");
});

Deno.test("UiApp shows NAT by itself while a listed connection is NATed, unless turned off", () => {
  const app = fixtureApp(200, 44); // 192.168.1.20 → 203.0.113.80 is SNATed and DNATed
  const title = () => app.frame(new CellBuffer(1, 1)).lines()[3]!;
  const natRow = () =>
    app.frame(new CellBuffer(1, 1)).lines().find((l) => l.includes("192.168.1.20"))!;
  assertMatch(title(), / NAT /);
  assertStringIncludes(natRow(), "src→203.0.113.1:61000 d…");
  assertEquals(app.state.settings.columns.some((c) => c.id === "nat"), false, "not a setting");
  // Filtered to connections without NAT, it goes.
  app.handle([key("\\"), ...typed("10.0.0.1"), key("enter")]);
  assertEquals(title().includes(" NAT "), false);
  app.handle([key("\\"), key("escape")]);
  assertMatch(title(), / NAT /);
  // In F2 it shows as shown; hiding it there turns the automatic column off, and it stays off.
  app.handle([key("f2"), key("home"), ...Array(8).fill(key("down"))]);
  assertStringIncludes(dialogLine(app), "[x] NAT");
  const f = app.handle([key("space")]);
  assert(f & Flag.SAVE);
  assertStringIncludes(dialogLine(app), "[ ] NAT");
  assertEquals(app.state.settings.autoNat, false);
  app.handle([key("escape")]);
  assertEquals(title().includes(" NAT "), false);
  // Shown again in F2 (first of the hidden rows now): a column like the others.
  const n = app.state.settings.columns.length;
  app.handle([key("f2"), key("home"), ...Array(n).fill(key("down")), key("space")]);
  assertStringIncludes(dialogLine(app), "[x] NAT");
  assert(app.state.settings.columns.some((c) => c.id === "nat"));
});

Deno.test("UiApp shows no NAT column when no connection is NATed", () => {
  const app = fixtureApp(200, 20, {}, (c) => c.slot !== 6);
  assertEquals(app.frame(new CellBuffer(1, 1)).lines()[3]!.includes(" NAT "), false);
});

Deno.test("UiApp: a click on the sort column's title kept at the right end inverts it", () => {
  const app = fixtureApp(60, 20);
  const title = app.frame(new CellBuffer(1, 1)).lines()[3]!;
  assert(title.endsWith("▼RATE/s"), `RATE/s kept in view at the right end: ${title}`);
  app.handle([{
    type: "mouse",
    action: "press",
    button: 0,
    x: 57,
    y: 3,
    ctrl: false,
    alt: false,
    shift: false,
  }]);
  assertEquals(app.state.settings.sort, { column: "rate", desc: false });
});
