import { assertEquals } from "../_helpers/assert.ts";
import { defaultSettings, settingsFromJson, settingsToJson } from "../../src/ui/settings.ts";

Deno.test("settingsFromJson() round-trips what settingsToJson() stores", () => {
  const s = defaultSettings();
  s.columns = [{ id: "dst", width: 30 }, { id: "proto", width: 5 }];
  s.sort = { column: "dport", desc: false };
  s.sort2 = null;
  s.cursor = false;
  s.hostnames = false;
  const json = JSON.parse(JSON.stringify(settingsToJson(s)));
  assertEquals(settingsFromJson(json), { settings: s, warnings: [] });
});

Deno.test("settingsFromJson() keeps defaults for bad fields and names each one", () => {
  const r = settingsFromJson({
    columns: [{ id: "nope" }, { id: "src", width: 999 }, { id: "src", width: 4 }, "x"],
    sort: { column: "bogus", desc: true },
    sort2: 7,
    cursor: "yes",
    services: false,
    mode: "aggregate",
    unknown: 1,
  });
  const d = defaultSettings();
  assertEquals(r.settings.columns, [{ id: "src", width: 80 }], "width clamped, duplicate dropped");
  assertEquals(r.settings.sort, d.sort);
  assertEquals(r.settings.sort2, d.sort2);
  assertEquals(r.settings.cursor, true);
  assertEquals(r.settings.services, false);
  assertEquals(r.settings.mode, "connections");
  assertEquals(r.warnings, [
    "Config field 'sort' is invalid; using default",
    "Config field 'sort2' is invalid; using default",
    "Config field 'cursor' is invalid; using default",
    "Config field 'mode' is invalid; using default",
  ]);
});

Deno.test("settingsFromJson() falls back to the default columns when none is valid", () => {
  const r = settingsFromJson({ columns: [] });
  assertEquals(r.settings.columns, defaultSettings().columns);
  assertEquals(r.warnings, ["Config field 'columns' is invalid; using default"]);
});

Deno.test("settingsFromJson() drops a secondary sort key equal to the primary", () => {
  const r = settingsFromJson({
    sort: { column: "src", desc: false },
    sort2: { column: "src", desc: true },
  });
  assertEquals(r.settings.sort2, defaultSettings().sort2);
  assertEquals(r.warnings, ["Config field 'sort2' is invalid; using default"]);
  const t = settingsFromJson({ sort: { column: "tx_bytes", desc: true } });
  assertEquals(t.settings.sort2, null, "the default secondary key is the primary: none");
  assertEquals(t.warnings, []);
});
