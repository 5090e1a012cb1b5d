/**
 * fileBytes(): GeoIP data is mapped where it is a real file and FFI is allowed, read otherwise,
 * and the bytes are the file's either way (compared with Deno.readFile). The mapping is checked
 * in /proc/self/maps, the kernel's list, not in conntop's own counters alone.
 */

import { assertEquals } from "../../_helpers/assert.ts";
import { bytesTaken, fileBytes } from "../../../src/enrich/geoip/bytes.ts";

const ASN = new URL("../../../data/geoip/asn-ranges.bin", import.meta.url);
const BYTES_TS = new URL("../../../src/enrich/geoip/bytes.ts", import.meta.url).href;

function mapsOf(path: string): number {
  return Deno.readTextFileSync("/proc/self/maps").split("\n").filter((l) => l.endsWith(path))
    .length;
}

Deno.test("fileBytes() maps a real file read-only and gives its exact bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conntop-bytes-" });
  try {
    const path = `${dir}/data.bin`;
    const data = crypto.getRandomValues(new Uint8Array(3 * 4096 + 17));
    await Deno.writeFile(path, data);
    assertEquals(mapsOf(path), 0);
    const before = bytesTaken.mapped;
    const { bytes, source } = fileBytes(path);
    assertEquals(source, "mapped");
    assertEquals(bytesTaken.mapped, before + 1);
    assertEquals(mapsOf(path), 1, "the kernel lists the mapping");
    assertEquals(bytes, data);
    // The embedded AS table, by URL, as embedded.ts asks for it.
    const asn = fileBytes(ASN);
    assertEquals(asn.source, "mapped");
    assertEquals(asn.bytes, await Deno.readFile(ASN));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileBytes() reads the file instead when it cannot map it (no --allow-ffi)", async () => {
  const script = `
    import { fileBytes } from ${JSON.stringify(BYTES_TS)};
    const { bytes, source } = fileBytes(new URL(${JSON.stringify(ASN.href)}));
    console.log(JSON.stringify({ source, length: bytes.length, first: [...bytes.subarray(0, 8)] }));
  `;
  const file = await Deno.makeTempFile({ prefix: "conntop-bytes-", suffix: ".ts" });
  let out: Deno.CommandOutput;
  try {
    await Deno.writeTextFile(file, script);
    // `deno eval` would allow everything: a script run with read permission only.
    out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-read", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } finally {
    await Deno.remove(file);
  }
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const data = await Deno.readFile(ASN);
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), {
    source: "read",
    length: data.length,
    first: [...data.subarray(0, 8)],
  });
});

Deno.test("fileBytes() reports a missing file as Deno does", () => {
  let caught: unknown;
  try {
    fileBytes("/nonexistent/conntop-test.mmdb");
  } catch (err) {
    caught = err;
  }
  assertEquals(caught instanceof Deno.errors.NotFound, true, String(caught));
});
