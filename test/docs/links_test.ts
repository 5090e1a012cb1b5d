/**
 * The README and the pages under docs/ link to each other: every relative link names a file of
 * the repository, and every `#anchor` a heading of the page it points to (GitHub's slugs: lower
 * case, punctuation dropped, spaces to hyphens). The README is short and the detail lives in
 * docs/, so a moved section must not leave a dead link behind.
 *
 * Requires `--allow-read`.
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";

const ROOT = new URL("../../", import.meta.url);

/** The pages checked: the README and every markdown page of docs/. */
function pages(): string[] {
  const found = ["README.md"];
  for (const e of Deno.readDirSync(new URL("docs/", ROOT))) {
    if (e.isFile && e.name.endsWith(".md")) found.push(`docs/${e.name}`);
  }
  return found.sort();
}

/** GitHub's anchor of a heading: lower case, punctuation other than `-` and `_` dropped. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** The anchors of a markdown page (headings outside code blocks; repeats get -1, -2, …). */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (m === null) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The link targets of a markdown page outside code blocks and code spans. */
function links(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const prose = line.replace(/`[^`]*`/g, "");
    for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) out.push(m[1]!);
  }
  return out;
}

Deno.test("every relative link of the README and docs/ names an existing file and heading", () => {
  const dead: string[] = [];
  let checked = 0;
  for (const page of pages()) {
    const text = Deno.readTextFileSync(new URL(page, ROOT));
    for (const target of links(text)) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      checked++;
      const [path, anchor] = target.split("#") as [string, string | undefined];
      const file = path === "" ? new URL(page, ROOT) : new URL(path, new URL(page, ROOT));
      let targetText: string | undefined;
      try {
        const st = Deno.statSync(file);
        if (st.isFile && file.pathname.endsWith(".md")) targetText = Deno.readTextFileSync(file);
      } catch {
        dead.push(`${page}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined) {
        if (targetText === undefined) dead.push(`${page}: ${target} (an anchor in a non-page)`);
        else if (!anchors(targetText).has(anchor)) dead.push(`${page}: ${target} (no heading)`);
      }
    }
  }
  assert(checked > 20, `only ${checked} links found: the scan is broken`);
  assertEquals(dead, []);
});

Deno.test("slug() makes GitHub's anchors", () => {
  assertEquals(slug("What scripts/install.sh installs"), "what-scriptsinstallsh-installs");
  assertEquals(slug("The monitor's columns"), "the-monitors-columns");
  assertEquals(slug("JSON, NDJSON and CSV fields"), "json-ndjson-and-csv-fields");
});
