/**
 * Golden-file assertions: the expected text lives in test/testdata/, is reviewed in the diff
 * like code, and is rewritten only when CONNTOP_UPDATE_GOLDEN=1 is set explicitly
 * (`CONNTOP_UPDATE_GOLDEN=1 deno task test test/ui/`). A missing file fails the test.
 *
 * @module
 */

import { assertEquals } from "./assert.ts";

const DIR = new URL("../testdata/", import.meta.url);

/** Asserts `actual` equals the golden file `name` (relative to test/testdata/). */
export function assertGolden(name: string, actual: string): void {
  const url = new URL(name, DIR);
  if (Deno.env.get("CONNTOP_UPDATE_GOLDEN") === "1") {
    Deno.mkdirSync(new URL(".", url), { recursive: true });
    Deno.writeTextFileSync(url, actual);
    return;
  }
  let expected: string;
  try {
    expected = Deno.readTextFileSync(url);
  } catch (err) {
    throw new Error(
      `Golden file '${url.pathname}' is missing; review the output and create it with CONNTOP_UPDATE_GOLDEN=1`,
      { cause: err },
    );
  }
  assertEquals(actual, expected, `Screen differs from golden file ${name}`);
}
