/**
 * Regions of the screen at many widths: the key bar keeps whole labels and drops them by
 * priority, every cut text ends in "…", the help and details dialogs say that more follows and
 * scroll, an empty list says why it is empty, and the key bar says where the cursor is.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { batchOf } from "../_helpers/records.ts";
import { CellBuffer } from "../../src/term/buffer.ts";
import { stringWidth } from "../../src/term/width.ts";
import { emptyTableHint } from "../../src/app/hints.ts";
import { COLUMNS } from "../../src/ui/columns.ts";
import { HELP_LINES } from "../../src/ui/help.ts";
import { detailsLines } from "../../src/ui/details.ts";
import { UiApp } from "../../src/ui/mod.ts";
import { defaultSettings } from "../../src/ui/settings.ts";
import { fixtureApp, key, T0, typed } from "./_fixture.ts";

function frameLines(app: UiApp): string[] {
  return app.frame(new CellBuffer(1, 1)).lines();
}

/** The labels the key bar may show, as "F1Help"; anything else on it is a cut or a run-on. */
const BAR_LABELS = ["F1Help", "F2Setup", "F3Search", "F4Filter", "F6SortBy", "F10Quit"];

Deno.test("The key bar shows whole, separated labels at every width from 20 to 200", () => {
  let previous: string[] = [];
  for (let width = 20; width <= 200; width++) {
    const app = fixtureApp(width, 20);
    const bar = frameLines(app).at(-1)!;
    assertEquals(stringWidth(bar), width);
    // The position sits at the right end; the labels are what is left of it.
    const labels = bar.replace(/\s*row \d+ of \d+\s*$/, "").trim().split(/\s+/).filter((t) =>
      t !== ""
    );
    for (const l of labels) {
      assert(BAR_LABELS.includes(l), `width ${width}: '${l}' is not a whole label in '${bar}'`);
    }
    // Whole labels drop by priority: a wider bar shows all a narrower one did.
    for (const l of previous) {
      assert(labels.includes(l), `width ${width}: '${l}' shown at ${width - 1} but not here`);
    }
    assert(labels.includes("F1Help") && labels.includes("F10Quit"), `width ${width}: '${bar}'`);
    previous = labels;
  }
  assertEquals(previous, BAR_LABELS, "a wide bar shows every label in key order");
});

Deno.test("The key bar's corner says which row the cursor is on, of how many", () => {
  const app = fixtureApp(80, 20);
  assertMatch(frameLines(app).at(-1)!, /\brow 1 of 8 $/);
  app.handle([key("down"), key("down")]);
  assertMatch(frameLines(app).at(-1)!, /\brow 3 of 8 $/);
  app.handle([key("\\"), ...typed("203.0.113"), key("enter")]);
  assertMatch(frameLines(app).at(-1)!, /\brow 1 of 2 $/);
  // Without the cursor bar it says which rows are on the page.
  const short = fixtureApp(80, 8);
  short.handle([key("c")]);
  assertMatch(frameLines(short).at(-1)!, /\brows 1-5 of 8 $/);
});

Deno.test("A long header message is cut with '…' and the flags keep their place", () => {
  const message =
    "Failed to write the recording 'x.ndjson.gz': No space left on device (os error 28)";
  for (let width = 20; width <= 200; width++) {
    const app = fixtureApp(width, 20);
    app.onWarning(message);
    app.handle([key("space")]);
    const lines = frameLines(app);
    const line3 = lines[2]!.trimEnd();
    if (!line3.includes(message)) assert(line3.endsWith("…"), `width ${width}: '${line3}'`);
    assertMatch(lines[0]!, /PAUSED $/, `width ${width}: the flags stay at the end of line 1`);
    // Line 2 ends in "Stamps on" when whole; line 1's left part ends in its last count.
    const line2 = lines[1]!.trimEnd();
    assert(/(Stamps on|…)$/.test(line2), `width ${width}: line 2 cut without a mark: '${line2}'`);
    if (width >= 80) assert(line2.endsWith("Stamps on"), `width ${width}: '${line2}' is cut`);
    const left = lines[0]!.replace(/ *PAUSED $/, "");
    assert(/(icmp 1|…)$/.test(left), `width ${width}: line 1 cut without a mark: '${left}'`);
  }
});

/** Every word of the help, each once per line, in reading order of its own line. */
function helpWords(): string[] {
  return HELP_LINES.flatMap(([keys, what]) => [...keys.split(/\s+/), ...what.split(/\s+/)])
    .filter((w) => w !== "");
}

Deno.test("The help shows every word whole at widths 20 to 200 and scrolls to its end", () => {
  for (let width = 20; width <= 200; width++) {
    const app = fixtureApp(width, 24);
    app.handle([key("f1")]);
    const seen = new Set<string>();
    let before = "";
    for (let i = 0; i < 200; i++) {
      const text = frameLines(app).slice(0, 23).join("\n");
      if (text === before) break;
      for (const w of text.split(/[\s│┌┐└┘─]+/)) seen.add(w);
      before = text;
      app.handle([key("down")]);
    }
    const missing = helpWords().filter((w) => !seen.has(w));
    assertEquals(missing, [], `width ${width}: help words never shown whole`);
    assert(!before.includes("↓"), `width ${width}: at the end, no more follows`);
  }
});

Deno.test("The help says that more follows and scrolls by page", () => {
  const app = fixtureApp(80, 24);
  app.handle([key("f1")]);
  const first = frameLines(app);
  assert(first.some((l) => l.includes("↓ more")), first.join("\n"));
  assert(!first.some((l) => l.includes("↑ more")));
  app.handle([key("pagedown")]);
  const second = frameLines(app);
  assert(second.some((l) => l.includes("↑ more")), second.join("\n"));
  assert(second.join("\n") !== first.join("\n"));
  app.handle([key("end")]);
  const end = frameLines(app);
  assert(!end.some((l) => l.includes("↓ more")), end.join("\n"));
  assert(end.some((l) => /F10, q, Ctrl-C\s+quit/.test(l)), end.join("\n"));
  // One Up from the end moves at once (the scroll never runs past the end).
  app.handle([key("up")]);
  assert(frameLines(app).some((l) => l.includes("↓ more")));
});

Deno.test("The details dialog says that more follows and scrolls to its last field", () => {
  const app = fixtureApp(80, 24);
  app.handle([key("enter")]);
  const first = frameLines(app);
  assert(first.some((l) => l.includes("↓ more")), first.join("\n"));
  app.handle([key("end")]);
  const end = frameLines(app);
  assert(end.some((l) => /Labels\s+-/.test(l)), end.join("\n"));
  assert(!end.some((l) => l.includes("↓ more")), end.join("\n"));
  app.handle([key("up")]);
  assert(frameLines(app).some((l) => l.includes("↓ more")), "Up from the end moves at once");
});

Deno.test("The details show every word whole at widths 20 to 200 and scroll to the end", () => {
  for (let width = 20; width <= 200; width++) {
    const app = fixtureApp(width, 24);
    app.handle([key("down"), key("enter")]);
    const conn = app.view().dialog;
    assert(conn?.kind === "details");
    const words = detailsLines(conn.conn, conn.hosts).flat().flatMap((t) => t.split(/\s+/))
      .filter((w) => w !== "");
    const seen = new Set<string>();
    let before = "";
    for (let i = 0; i < 200; i++) {
      const text = frameLines(app).slice(0, 23).join("\n");
      if (text === before) break;
      for (const w of text.split(/[\s│┌┐└┘─]+/)) seen.add(w);
      before = text;
      app.handle([key("down")]);
    }
    // A word wider than the dialog's value column is split across lines, not cut.
    const inner = Math.min(72, width) - 4;
    const room = inner - (inner - 18 >= 26 ? 18 : 2);
    const missing = words.filter((w) =>
      !seen.has(w) && !(stringWidth(w) > room && seen.has(w.slice(0, room)))
    );
    assertEquals(missing, [], `width ${width}: details words never shown whole`);
  }
});

Deno.test("The columns dialog cuts no title and marks every cut line with '…'", () => {
  for (let width = 20; width <= 200; width++) {
    const app = fixtureApp(width, 60);
    app.handle([key("f2")]);
    const lines = frameLines(app).filter((l) => /│ *\[[x ]\] /.test(l));
    assert(lines.length > 0, `width ${width}: no rows`);
    for (const l of lines) {
      const inner = l.slice(l.indexOf("│") + 1, l.lastIndexOf("│")).trim();
      const title = /^\[[x ]\] (\S+)/.exec(inner)?.[1] ?? "";
      const desc = Object.values(COLUMNS).find((c) => inner.includes(` ${c.description}`));
      if (desc === undefined) {
        assert(inner.endsWith("…"), `width ${width}: a row cut without a mark: '${inner}'`);
      }
      if (!Object.values(COLUMNS).some((c) => c.title === title)) {
        assert(inner.endsWith("…"), `width ${width}: title '${title}' cut: '${inner}'`);
      }
    }
  }
  const app = fixtureApp(80, 60);
  app.handle([key("f2")]);
  assert(frameLines(app).some((l) => /\[ \] SORGANISATION +\d+ /.test(l)));
});

function emptyApp(width: number, height: number, emptyHint?: string): UiApp {
  const app = new UiApp({
    settings: defaultSettings(),
    host: "router",
    source: "netns t1",
    now: () => T0,
    emptyHint,
  });
  app.resize(width, height);
  app.onBatch(batchOf([], { timeMs: T0 }));
  return app;
}

Deno.test("An empty table shows the hint --once prints, wrapped in the list area", () => {
  const hint = emptyTableHint("t1");
  for (const width of [30, 80, 120, 200]) {
    const lines = frameLines(emptyApp(width, 24, hint));
    const list = lines.slice(4, 23).map((l) => l.trim()).filter((l) => l !== "");
    assertEquals(list.join(" "), hint, `width ${width}`);
    for (const l of lines) assert(stringWidth(l) <= width);
  }
  // On a short terminal the hint is cut, with the mark.
  const short = frameLines(emptyApp(30, 8, hint)).slice(2, 7).map((l) => l.trim());
  assert(short.at(-1)!.endsWith("…"), short.join("\n"));
  // With --track (no hint) it still says the table is empty.
  assert(frameLines(emptyApp(80, 24)).some((l) => l.includes("The conntrack table is empty")));
});

Deno.test("A filter that hides every row says so instead of showing nothing", () => {
  const app = fixtureApp(80, 24);
  app.handle([key("\\"), ...typed("nothing-like-this"), key("enter")]);
  const lines = frameLines(app);
  assert(
    lines.some((l) => l.includes("No connection matches the filter 'nothing-like-this'")),
    lines.join("\n"),
  );
  assert(lines.some((l) => l.includes("8 hidden")), lines.join("\n"));
  assert(!lines.some((l) => l.includes("conntrack table is empty")));
});
