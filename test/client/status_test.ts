import { assertEquals } from "../_helpers/assert.ts";
import { RemoteError, stateText } from "../../src/client/mod.ts";
import { BANNER, welcome } from "./_fake_server.ts";

const NOW = 1_700_000_000_000;

Deno.test("stateText() says where a remote source stands, in a few words", () => {
  const refused = new RemoteError("network", "Cannot connect to r: connection refused", {
    brief: "connection refused",
  });
  const cases: [Parameters<typeof stateText>[0], string, string][] = [
    [{ kind: "connecting", attempt: 1 }, "connecting…", "warn"],
    [{ kind: "connecting", attempt: 3 }, "connecting… (attempt 3)", "warn"],
    [{ kind: "connected", banner: BANNER, welcome: welcome() }, "connected", "ok"],
    [
      { kind: "reconnecting", attempt: 2, atMs: NOW + 2100, error: refused },
      "reconnecting in 3 s (connection refused)",
      "error",
    ],
    [
      { kind: "reconnecting", attempt: 2, atMs: NOW - 5, error: refused },
      "reconnecting… (connection refused)",
      "error",
    ],
    [
      {
        kind: "failed",
        error: new RemoteError("auth", "Authentication failed: …", {
          brief: "authentication failed",
        }),
      },
      "failed: authentication failed",
      "error",
    ],
    [{ kind: "closed" }, "disconnected", "warn"],
  ];
  for (const [state, text, level] of cases) {
    assertEquals(stateText(state, NOW), { text, level });
  }
});
