import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { runCommand } from "../../tools/run.ts";
import {
  builtinServices,
  loadServices,
  parseServiceEntries,
  parseServices,
  type ServiceTable,
} from "../../src/enrich/services.ts";
import { generateServicesModule } from "../../scripts/gen_services.ts";

const PROTOCOLS = ["tcp", "udp", "sctp", "dccp"];

/**
 * The names getservbyport(3) gives, through `getent services PORT/PROTO …` (the reference),
 * keyed "PORT/PROTO". With `servicesFile`, getent runs in a private mount namespace where that
 * file is bind-mounted over /etc/services.
 */
async function getent(keys: string[], servicesFile?: string): Promise<Map<string, string>> {
  const cmd = servicesFile === undefined ? ["getent", "services", ...keys] : [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount --bind "$0" /etc/services && exec getent services "$@"',
    servicesFile,
    ...keys,
  ];
  // getent exits with 2 when some key has no entry.
  const { code, stdout, stderr } = await runCommand(cmd, { check: false });
  if (code !== 0 && code !== 2) throw new Error(`getent failed: exit code ${code}: ${stderr}`);
  const out = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const [name, portProto] = line.trim().split(/\s+/);
    if (name !== undefined && portProto !== undefined) out.set(portProto, name);
  }
  return out;
}

function lookups(table: ServiceTable, keys: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of keys) {
    const [port, protocol] = key.split("/");
    const name = table.name(protocol!, Number(port));
    if (name !== undefined) out.set(key, name);
  }
  return out;
}

const CRAFTED = [
  "# a comment line",
  "",
  "   ",
  "\t# an indented comment",
  "ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol",
  "http 80/tcp www www-http # aliases and a comment",
  "first   9999/tcp",
  "second  9999/tcp        # a duplicate: the first wins",
  "first-u 9999/udp        # another protocol is another entry",
  "nopro   7001",
  "badport x/tcp",
  "toobig  70000/tcp",
  "noproto 7002/",
  "lonely",
  "#commented 7003/tcp",
  "trailing 7004/tcp#no space before the comment",
  "sctp-one 7005/sctp",
  "dccp-one 7006/dccp",
  "crlf 7007/tcp\r",
  "zero 0/tcp",
  "top 65535/udp",
].join("\n") + "\n";

Deno.test("parseServices() reads names and skips comments, aliases and malformed lines", () => {
  const table = parseServices(CRAFTED);
  const cases: [string, number, string | undefined][] = [
    ["tcp", 22, "ssh"],
    ["tcp", 80, "http"],
    ["tcp", 9999, "first"],
    ["udp", 9999, "first-u"],
    ["tcp", 7001, undefined],
    ["tcp", 7002, undefined],
    ["tcp", 7003, undefined],
    ["tcp", 7004, "trailing"],
    ["sctp", 7005, "sctp-one"],
    ["tcp", 7005, undefined],
    ["dccp", 7006, "dccp-one"],
    ["tcp", 7007, "crlf"],
    ["tcp", 0, "zero"],
    ["udp", 65535, "top"],
    ["udp", 22, undefined],
  ];
  for (const [protocol, port, want] of cases) {
    assertEquals([protocol, port, table.name(protocol, port)], [protocol, port, want]);
  }
  assertEquals(table.size, 10);
  assertEquals(parseServiceEntries("second  9999/tcp www # x\n"), [
    { name: "second", port: 9999, protocol: "tcp" },
  ]);
});

Deno.test("parseServices() agrees with getservbyport on a crafted services file", async () => {
  const file = await Deno.makeTempFile({ suffix: ".services" });
  try {
    await Deno.writeTextFile(file, CRAFTED);
    const keys: string[] = [];
    for (const port of [0, 22, 80, 9999, 7001, 7002, 7003, 7004, 7005, 7006, 7007, 65535]) {
      for (const protocol of PROTOCOLS) keys.push(`${port}/${protocol}`);
    }
    const want = await getent(keys, file);
    assertEquals(want.get("9999/tcp"), "first"); // the reference really read the crafted file
    assertEquals(lookups(parseServices(CRAFTED), keys), want);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("ServiceTable gives UDP-Lite the UDP names unless it has its own", () => {
  const table = parseServices("domain 53/udp\nlite 54/udplite\nboth 54/udp\n");
  assertEquals(table.name("udplite", 53), "domain");
  assertEquals(table.name("udplite", 54), "lite");
  assertEquals(table.name("udp", 54), "both");
  assertEquals(table.name("tcp", 53), undefined);
  assertEquals(table.name("udplite", 55), undefined);
});

Deno.test("loadServices() reads /etc/services and agrees with getent", async () => {
  const loaded = await loadServices();
  assertEquals(loaded.source, "file");
  assertEquals(loaded.warning, undefined);
  const text = await Deno.readTextFile("/etc/services");
  const keys = new Set<string>();
  for (const e of parseServiceEntries(text)) keys.add(`${e.port}/${e.protocol}`);
  for (let port = 0; port <= 1100; port++) {
    for (const protocol of PROTOCOLS) keys.add(`${port}/${protocol}`);
  }
  for (const port of [1433, 3306, 5353, 5432, 8080, 9418, 49152, 65535]) {
    for (const protocol of PROTOCOLS) keys.add(`${port}/${protocol}`);
  }
  const want = await getent([...keys]);
  assert(want.size > 250, `getent found only ${want.size} entries`);
  assertEquals(lookups(loaded.table, [...keys]), want);
});

Deno.test("loadServices() falls back to the built-in table when the file is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const path of [`${dir}/missing`, dir]) {
      const loaded = await loadServices(path);
      assertEquals(loaded.source, "builtin");
      assertEquals(loaded.table, builtinServices());
      assertMatch(
        loaded.warning ?? "",
        new RegExp(
          `^Failed to read service names from '${path}' \\(.+\\): using the \\d+ built-in ones$`,
        ),
      );
      assertEquals(loaded.table.name("tcp", 22), "ssh");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the built-in table names the well-known ports as Debian does", () => {
  const table = builtinServices();
  const cases: [string, number, string][] = [
    ["tcp", 21, "ftp"],
    ["tcp", 22, "ssh"],
    ["tcp", 25, "smtp"],
    ["udp", 53, "domain"],
    ["tcp", 80, "http"],
    ["udp", 123, "ntp"],
    ["tcp", 443, "https"],
    ["udp", 443, "https"],
    ["tcp", 3306, "mysql"],
    ["udp", 5353, "mdns"],
    ["tcp", 5432, "postgresql"],
    ["udplite", 53, "domain"],
  ];
  for (const [protocol, port, want] of cases) {
    assertEquals([protocol, port, table.name(protocol, port)], [protocol, port, want]);
  }
  assert(table.size > 250, `only ${table.size} built-in entries`);
});

Deno.test("the built-in table agrees with getent (regenerate it with scripts/gen_services.ts)", async () => {
  const table = builtinServices();
  const keys = [...table.entries()].map((e) => `${e.port}/${e.protocol}`);
  assertEquals(lookups(table, keys), await getent(keys));
});

Deno.test("gen_services writes a module whose table equals the parsed file", async () => {
  const text = await Deno.readTextFile("/etc/services");
  const module = generateServicesModule(text, {
    path: "/etc/services",
    origin: "a test",
    sha256: "0".repeat(64),
  });
  const body = /BUILTIN_SERVICES = `([^`]*)`/.exec(module)?.[1];
  assert(body !== undefined, "no BUILTIN_SERVICES in the generated module");
  const generated = parseServices(body);
  const parsed = parseServices(text);
  const ip = (t: ServiceTable) =>
    [...t.entries()].filter((e) => [...PROTOCOLS, "udplite"].includes(e.protocol));
  assertEquals(ip(generated), ip(parsed));
  // The checked-in module is already formatted as deno fmt would write it.
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, module);
    const fmt = await runCommand([Deno.execPath(), "fmt", "--check", file], { check: false });
    assertEquals(fmt.code, 0, fmt.stderr);
  } finally {
    await Deno.remove(file);
  }
});
