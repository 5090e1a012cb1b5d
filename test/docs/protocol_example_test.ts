/**
 * docs/protocol.md promises that a third party can write a client from it: its Python example
 * runs unchanged (but for the port) against a real conntopd and sees the namespace's table.
 */

import { serveNamespace } from "../_helpers/conntopd.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

function pythonExample(): string {
  const doc = Deno.readTextFileSync(new URL("../../docs/protocol.md", import.meta.url));
  const m = /```python\n([\s\S]*?)```/.exec(doc);
  assert(m !== null, "docs/protocol.md has no Python example");
  return m[1]!;
}

Deno.test("the Python client of docs/protocol.md reads the table from conntopd", async () => {
  const entries = Array.from(
    { length: 5 },
    (_, i) =>
      `-I -p tcp -s 10.9.0.${i + 1} -d 10.9.1.1 --sport 4000 --dport 80 -t 300 --state ESTABLISHED`,
  );
  const entriesV6 = [
    "-I -p udp -s 2001:db8::1 -d 2001:db8::2 --sport 53 --dport 5353 -t 300",
  ];
  await using served = await serveNamespace([...entries, ...entriesV6], ["--interval", "0.2"]);
  const code = pythonExample();
  assert(code.includes("55555"), "the example uses the default port");
  const child = new Deno.Command("python3", {
    args: ["-u", "-c", code.replace("55555", String(served.server.port))],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const deadline = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    const dec = new TextDecoderStream();
    const reader = child.stdout.pipeThrough(dec).getReader();
    let buf = "";
    while (lines.length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      lines.push(...parts);
    }
    reader.releaseLock();
  } finally {
    clearTimeout(deadline);
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
  }
  assert(lines.length >= 3, `the example printed only: ${JSON.stringify(lines)}`);
  const seqs = lines.map((l) => Number(l.split(" ")[0]));
  for (const l of lines) assertEquals(l.replace(/^\d+ /, ""), "6 connections");
  // One line per batch, in sequence.
  assertEquals(seqs[1], seqs[0]! + 1);
  assertEquals(seqs[2], seqs[1]! + 1);
});
