/**
 * readSmallFile(): regular files within the limit are read whole; anything else is one line
 * naming the file and why, without reading past the limit; a secret others may read is
 * flagged.
 */

import { assertEquals, assertMatch, assertThrows } from "../_helpers/assert.ts";
import { readSmallFile, SmallFileError } from "../../src/files/small_file.ts";

Deno.test("readSmallFile() reads a file of exactly the limit and refuses one byte more", () => {
  const dir = Deno.makeTempDirSync({ prefix: "conntop-small-" });
  try {
    Deno.writeTextFileSync(`${dir}/ok`, "x".repeat(16), { mode: 0o600 });
    const ok = readSmallFile(`${dir}/ok`, { what: "token file", maxBytes: 16, private: true });
    assertEquals(ok, { text: "x".repeat(16) });
    Deno.writeTextFileSync(`${dir}/big`, "x".repeat(17));
    const err = assertThrows(
      () => readSmallFile(`${dir}/big`, { what: "token file", maxBytes: 16 }),
      SmallFileError,
    );
    assertEquals(err.message, `Cannot read token file '${dir}/big': larger than 16 bytes`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("readSmallFile() warns about a secret readable by its group or by others", async (t) => {
  const dir = Deno.makeTempDirSync({ prefix: "conntop-small-" });
  try {
    const path = `${dir}/token`;
    Deno.writeTextFileSync(path, "secret");
    for (
      const [mode, who] of [
        [0o640, "its group"],
        [0o604, "others"],
        [0o644, "group and others"],
      ] as const
    ) {
      await t.step(`mode ${mode.toString(8)}`, () => {
        Deno.chmodSync(path, mode);
        const f = readSmallFile(path, { what: "token file", maxBytes: 64, private: true });
        assertEquals(f.text, "secret");
        assertMatch(
          f.warning ?? "",
          new RegExp(`readable by ${who} \\(mode 0${mode.toString(8)}\\)`),
        );
        // A file that is not a secret (a certificate) is not flagged.
        assertEquals(
          readSmallFile(path, { what: "--tls-ca file", maxBytes: 64 }).warning,
          undefined,
        );
      });
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
