import { assert, assertEquals } from "../_helpers/assert.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";
import { Kind } from "../../src/conntrack/record.ts";
import { Flag } from "../../src/ui/mod.ts";
import type { UiApp } from "../../src/ui/mod.ts";
import { fixtureApp, fixtureConns, key, T0, typed } from "./_fixture.ts";

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
  app.handle([key("]")]);
  assertEquals(ids().slice(0, 2), ["src", "state"]);
  f = app.handle([key("+"), key("+")]);
  assertEquals(app.state.settings.columns[1], { id: "state", width: 13 });
  // Hidden columns follow the shown ones in the dialog, PROTO first among them.
  app.handle([key("home"), ...Array(ids().length).fill(key("down")), key("space")]);
  assertEquals(ids().at(-1), "proto", "shown again, at the end");
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
