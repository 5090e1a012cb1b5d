import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { readToken, Token } from "../../src/server/auth.ts";
import { ConntopError } from "../../src/errors.ts";

async function withFile(content: string, fn: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ prefix: "conntopd-token-" });
  try {
    await Deno.writeTextFile(path, content);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("readToken() drops one trailing newline (LF or CRLF) and nothing else", async () => {
  for (const [content, secret] of [["abc\n", "abc"], ["abc\r\n", "abc"], ["abc", "abc"]]) {
    await withFile(content!, async (path) => {
      const t = await readToken(path);
      assert(t.matches(secret), JSON.stringify(content));
      assert(!t.matches(content!) || content === secret);
    });
  }
});

Deno.test("readToken() refuses an empty or white-space file, naming the file only", async () => {
  for (const content of ["", "\n", "   \n", "\t"]) {
    await withFile(content, async (path) => {
      const err = await assertRejects(() => readToken(path), ConntopError);
      assertEquals(err.exitCode, 2);
      assertEquals(
        err.message,
        `Token file '${path}' is empty: put a secret of 1 to 1024 printable characters in it`,
      );
    });
  }
});

Deno.test("readToken() refuses characters a hello cannot carry, without quoting the secret", async () => {
  await withFile("pass word\n", async (path) => {
    const err = await assertRejects(() => readToken(path), ConntopError);
    assert(!err.message.includes("pass"), err.message);
  });
  await withFile("x".repeat(1025), async (path) => {
    const err = await assertRejects(() => readToken(path), ConntopError);
    assert(err.message.includes("more than 1024"), err.message);
  });
});

Deno.test("readToken() names a missing file", async () => {
  const err = await assertRejects(() => readToken("/nonexistent/conntopd.token"), ConntopError);
  assertEquals(
    err.message,
    "Cannot read token file '/nonexistent/conntopd.token': no such file or directory",
  );
});

Deno.test("Token.matches() accepts the token only, and never shows it", () => {
  const t = new Token("s3cret");
  assert(t.matches("s3cret"));
  assert(!t.matches("s3cre"));
  assert(!t.matches("s3cret2"));
  assert(!t.matches(""));
  assert(!t.matches(undefined));
  assertEquals(String(t), "[token]");
  assertEquals(JSON.stringify({ t }), '{"t":"[token]"}');
  assert(!Deno.inspect(t).includes("s3cret"));
});

Deno.test("Token.matches() tells apart tokens of the longest length and longer candidates", () => {
  const long = "x".repeat(1023) + "y";
  const t = new Token(long);
  assert(t.matches(long));
  assert(!t.matches("x".repeat(1024)), "the last character differs");
  assert(!t.matches(long + "z"), "one character more");
  assert(!t.matches(long + long), "twice as long");
  assert(!t.matches(long.slice(0, 1023)), "one character less");
});
