/**
 * The client's side of the exposure rule, end to end: with a token file and an address beyond
 * loopback (inside a test namespace) and no TLS, conntop refuses before a single byte leaves
 * (the listener there sees no connection at all); with --insecure it connects and sends it.
 *
 * The listener is a few lines of Python in the namespace that report every connection and the
 * first line each one sends, after the banner a token-requiring server sends.
 */

import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { Netns } from "../../tools/netns.ts";
import { runConntop } from "./_conntop.ts";

const ADDR = "10.213.0.1";
const PORT = 55555;

const LISTENER = `
import json, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("${ADDR}", ${PORT}))
s.listen(4)
s.settimeout(60)
print("listening", flush=True)
banner = {"type": "banner", "protocol": "conntop", "versions": [1], "software": "x", "auth": ["token"]}
while True:
    c, _ = s.accept()
    print("accepted", flush=True)
    c.settimeout(10)
    c.sendall((json.dumps(banner) + "\\n").encode())
    data = b""
    while b"\\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    print("line " + data.split(b"\\n")[0].decode(), flush=True)
    c.close()
`;

Deno.test("conntop --connect sends a token beyond loopback only over TLS or with --insecure", async (t) => {
  await using ns = await Netns.create("insec");
  await ns.exec(["ip", "addr", "add", `${ADDR}/32`, "dev", "lo"]);
  const dir = await Deno.makeTempDir({ prefix: "conntop-insecure-" });
  const listener = new Deno.Command("ip", {
    args: ["netns", "exec", ns.name, "python3", "-c", LISTENER],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of listener.stdout) out += dec.decode(chunk, { stream: true });
  })();
  const until = async (what: string) => {
    for (let i = 0; i < 500 && !out.includes(what); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert(out.includes(what), `listener said: ${out}`);
  };
  try {
    const token = `${dir}/token`;
    await Deno.writeTextFile(token, "T0ken-in-clear\n", { mode: 0o600 });
    await until("listening");
    const inNs = { prefix: ["ip", "netns", "exec", ns.name] };
    const args = ["--connect", ADDR, "--once", "--token-file", token];

    await t.step("without TLS or --insecure: refused before connecting, exit 2", async () => {
      const r = await runConntop(args, inNs);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(
        r.stderr,
        /^conntop: Sending the token to 10\.213\.0\.1:55555 \(beyond loopback\) without TLS needs --tls or --tls-ca, or --insecure\n/,
      );
      // Let a connection that did happen be reported before looking.
      await new Promise((r) => setTimeout(r, 300));
      assert(!out.includes("accepted"), `the listener got a connection: ${out}`);
    });

    await t.step("with --insecure: it connects and the token goes", async () => {
      const r = await runConntop([...args, "--insecure"], inNs);
      await until("line ");
      assert(out.includes("accepted"), out);
      const hello = JSON.parse(out.split("line ")[1]!.split("\n")[0]!);
      assertEquals([hello.type, hello.token], ["hello", "T0ken-in-clear"]);
      // The listener then hangs up: a lost connection, exit 1.
      assertEquals(r.code, 1, r.stderr);
    });
  } finally {
    try {
      listener.kill("SIGKILL");
    } catch {
      // exited
    }
    await listener.status;
    await reading;
    await listener.stderr.cancel();
    await Deno.remove(dir, { recursive: true });
  }
});
