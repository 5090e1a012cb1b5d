import { assert, assertEquals } from "../_helpers/assert.ts";
import { CellBuffer } from "../../src/term/buffer.ts";
import { COLUMN_IDS, type ColumnDef, COLUMNS } from "../../src/ui/columns.ts";
import { maxHscroll } from "../../src/ui/column_layout.ts";
import { renderColumnHeader, renderList } from "../../src/ui/list.ts";
import { DEFAULT_THEME } from "../../src/ui/theme.ts";
import type { ListView } from "../../src/ui/view.ts";
import { fixtureApp } from "./_fixture.ts";
import { prng } from "../../tools/prng.ts";

// One case-pair of letters per column: a column's title is written in its capital, its values
// in its small letter, so every cell on screen says which column drew it. None is Latin, so
// none is in a real title (a sort column not among the shown ones keeps its real one).
const LETTERS = [..."ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩБДЖЗИЛПФЦ"];
const MARKS = new Set(["…", "▲", "▼"]);

interface Case {
  width: number;
  view: ListView;
  /** Per column: its capital, and whether its title fills any column (compared exactly). */
  letters: string[];
  longTitle: boolean[];
}

// Two real connections (their text is replaced; they only have to be rows).
const ROWS = (() => {
  const app = fixtureApp(80, 24);
  app.frame();
  return app.view().list.rows.slice(0, 2);
})();

function randomCase(seed: number): Case {
  const r = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const width = int(20, 300);
  const ids = [...COLUMN_IDS].sort(() => r() - 0.5).slice(0, int(1, COLUMN_IDS.length));
  const letters: string[] = [], longTitle: boolean[] = [];
  const columns = ids.map((id, k) => {
    const up = LETTERS[k]!;
    const long = r() < 0.5;
    letters.push(up);
    longTitle.push(long);
    const def: ColumnDef = {
      ...COLUMNS[id],
      title: up.repeat(long ? 400 : int(1, 12)),
      align: r() < 0.5 ? "left" : "right",
      text: () => up.toLowerCase().repeat(400),
      addressClass: undefined,
    };
    return { def, width: int(3, 80) };
  });
  // The sort column is usually shown, sometimes one hidden (chosen in the sort dialog).
  const sortId = r() < 0.85
    ? ids[int(0, ids.length - 1)]!
    : COLUMN_IDS[int(0, COLUMN_IDS.length - 1)]!;
  const sort = { column: sortId, desc: r() < 0.5 };
  const widths = columns.map((c) => c.width);
  const sortAt = ids.indexOf(sortId);
  const hiddenSortWidth = sortAt < 0 ? COLUMNS[sortId].width : 0;
  const most = maxHscroll(widths, { screenWidth: width, sortAt, hiddenSortWidth });
  const hscroll = r() < 0.2 ? 0 : r() < 0.2 ? most : int(0, most);
  const rows = ROWS;
  const view: ListView = {
    columns,
    sort,
    sort2: null,
    rows,
    top: 0,
    cursor: -1,
    total: rows.length,
    hscroll,
    ctx: { hostnames: false, services: false },
    highlight: "",
    empty: "",
  };
  return { width, view, letters, longTitle };
}

// The cells of `line` each letter's column drew: its letter, and the marks right beside it (a
// cut title ends in "…" and then its sort arrow).
function cellsByLetter(line: string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const add = (letter: string | undefined, x: number) => {
    if (letter === undefined || letter === " " || MARKS.has(letter)) return;
    const xs = out.get(letter) ?? [];
    if (xs[xs.length - 1] !== x) xs.push(x);
    out.set(letter, xs);
  };
  line.forEach((s, x) => {
    if (!MARKS.has(s)) return add(s, x);
    let left = x - 1, right = x + 1;
    while (left >= 0 && MARKS.has(line[left]!)) left--;
    while (right < line.length && MARKS.has(line[right]!)) right++;
    add(line[left], x);
    add(line[right], x);
  });
  return out;
}

function render(c: Case): { title: string[]; rows: string[][] } {
  const h = 1 + c.view.rows.length;
  const buf = new CellBuffer(c.width, h);
  renderColumnHeader(buf, { x: 0, y: 0, width: c.width, height: 1 }, c.view, DEFAULT_THEME);
  renderList(buf, { x: 0, y: 1, width: c.width, height: h - 1 }, c.view, DEFAULT_THEME);
  const line = (y: number) => buf.symbols.slice(y * c.width, (y + 1) * c.width);
  return { title: line(0), rows: c.view.rows.map((_, r) => line(1 + r)) };
}

Deno.test("Column titles sit over their values at every width, column set and scroll", () => {
  const CASES = 2000;
  for (let seed = 1; seed <= CASES; seed++) {
    const c = randomCase(seed);
    const { title, rows } = render(c);
    const where = () =>
      `seed ${seed}, width ${c.width}, hscroll ${c.view.hscroll}, sort ${c.view.sort.column}\n` +
      `${title.join("")}\n${rows[0]!.join("")}`;
    const inTitle = cellsByLetter(title), inRows = rows.map(cellsByLetter);
    c.letters.forEach((up, k) => {
      const v = inRows[0]!.get(up.toLowerCase()) ?? [];
      for (const row of inRows) {
        assertEquals(row.get(up.toLowerCase()) ?? [], v, `rows differ: ${where()}`);
      }
      // A column with one cell left on screen shows only its value's "…": that cell has no
      // letter to name its column, so its title is matched with that mark alone.
      const one = (line: string[], x: number) =>
        MARKS.has(line[x] ?? "") && (line[x - 1] ?? " ") === " " && (line[x + 1] ?? " ") === " ";
      let t = inTitle.get(up) ?? [];
      if (v.length === 0 && t.length === 1 && one(rows[0]!, t[0]!)) t = [];
      if (v.length > 0) {
        assertEquals(v[v.length - 1]! - v[0]! + 1, v.length, `values in one span: ${where()}`);
      }
      const lo = v[0] ?? -1, hi = v[v.length - 1] ?? -2;
      assert(
        t.every((x) => x >= lo && x <= hi),
        `title of column ${k} outside its values' span ${lo}-${hi}: ${where()}`,
      );
      if (c.longTitle[k]) assertEquals(t, v, `title span = values' span, column ${k}: ${where()}`);
      // A short title starts (left-aligned) or ends (right-aligned) where its values do,
      // unless the column is cut at the edge of the screen.
      const def = c.view.columns[k]!.def;
      if (t.length > 0 && def.align === "left" && lo > 0) {
        assertEquals(t[0], lo, `left-aligned title starts with its values: ${where()}`);
      }
      if (t.length > 0 && def.align === "right" && hi < c.width - 1) {
        assertEquals(t[t.length - 1], hi, `right-aligned title ends with its values: ${where()}`);
      }
    });
    // Nothing else on the title line: every non-blank cell belongs to a column's title, but
    // for a sort column that is not among the shown ones: pinned at the right end, with the
    // others ending a space before it.
    const owned = new Set(c.letters.flatMap((up) => inTitle.get(up) ?? []));
    const hidden = c.view.columns.every((col) => col.def.id !== c.view.sort.column);
    const pinAt = hidden ? c.width - Math.min(c.width, COLUMNS[c.view.sort.column].width) : c.width;
    title.forEach((s, x) => {
      if (x >= pinAt) return;
      if (s !== " " && !MARKS.has(s)) assert(owned.has(x), `stray title cell ${x}: ${where()}`);
      if (hidden && x === pinAt - 1) {
        assertEquals(s, " ", `a space before the pinned column: ${where()}`);
      }
    });
    if (hidden) {
      const name = COLUMNS[c.view.sort.column].title;
      // Its title whole, or cut with "…", beside the arrow.
      const shown = title.slice(pinAt).join("").trim().replace(/[▲▼]/, "");
      const whole = shown === name;
      const cut = shown.endsWith("…") && shown.length > 1 && name.startsWith(shown.slice(0, -1));
      assert(whole || cut, `the hidden sort column is pinned: ${where()}`);
    }
    // The sort column is kept in view, title and values, when it is one of the shown columns.
    const sortAt = c.view.columns.findIndex((col) => col.def.id === c.view.sort.column);
    if (sortAt >= 0) {
      const up = c.letters[sortAt]!;
      assert(inRows[0]!.has(up.toLowerCase()), `sort column in view: ${where()}`);
      assert(title.some((s) => s === "▲" || s === "▼"), `sort arrow in view: ${where()}`);
    }
  }
});
