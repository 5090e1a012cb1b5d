/**
 * The monitor's runtime weight, checked on the running process as the kernel sees it: one worker
 * thread (Deno names each Worker's thread `worker-N` in /proc/PID/task/TID/comm), and the GeoIP
 * data mapped (/proc/PID/maps) only once a public address is on the table.
 *
 * conntop runs from source in a private tmux server on a test namespace's table, with the
 * permissions the build bakes in; the embedded data is a real file there, so it is mapped.
 *
 * Requires root, conntrack, tmux and the embedded GeoIP data (`deno task geodata`).
 *
 * @module
 */

import { assertEquals } from "../_helpers/assert.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { Tmux } from "../../tools/tmux.ts";
import { conntopCommand } from "./_conntop.ts";

const GEOIP_DIR = new URL("../../data/geoip/", import.meta.url).pathname;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The names of the process's threads. */
function threadNames(pid: number): string[] {
  return [...Deno.readDirSync(`/proc/${pid}/task`)].map((t) => {
    try {
      return Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).trim();
    } catch {
      return ""; // ended meanwhile
    }
  });
}

/** The files of data/geoip/ that the process has mapped. */
function mappedGeoip(pid: number): string[] {
  const files = new Set<string>();
  for (const line of Deno.readTextFileSync(`/proc/${pid}/maps`).split("\n")) {
    const at = line.indexOf(GEOIP_DIR);
    if (at >= 0) files.add(line.slice(at + GEOIP_DIR.length));
  }
  return [...files].sort();
}

/** The files of data/geoip/ the process holds open. */
function openGeoip(pid: number): string[] {
  const open: string[] = [];
  for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const target = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`);
      if (target.startsWith(GEOIP_DIR)) open.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return open;
}

async function waitUntil(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(100);
  }
}

Deno.test("the monitor runs one worker thread and maps the GeoIP data only after a public address", async () => {
  await using ns = await Netns.create("rt");
  await loadConntrack(ns, [
    "-I -t 600 -p tcp -s 10.4.0.1 -d 192.168.4.2 --sport 40001 --dport 22 --state ESTABLISHED",
    "-I -t 600 -p udp -s 10.4.0.3 -d 10.4.0.4 --sport 40002 --dport 53",
  ]);
  const dir = await Deno.makeTempDir({ prefix: "conntop-runtime-" });
  try {
    const cmd = conntopCommand(["--netns", ns.name, "-i", "0.2"]);
    await using term = await Tmux.start(
      ["sh", "-c", 'echo $$ > "$0/pid"; exec "$@"', dir, ...cmd],
      { width: 200, height: 50, env: { XDG_CONFIG_HOME: dir, NO_COLOR: "1" } },
    );
    await term.waitFor((s) => /\bConns 2\b/.test(s) && s.includes("192.168.4.2"), {
      what: "the two private connections on screen",
    });
    const pid = Number((await Deno.readTextFile(`${dir}/pid`)).trim());
    // A few refreshes later (every 0.2 s), nothing has asked for GeoIP yet.
    await sleep(1000);
    const workers = () => threadNames(pid).filter((n) => n.startsWith("worker-"));
    assertEquals(workers().length, 1, `threads: ${threadNames(pid).join(", ")}`);
    assertEquals(mappedGeoip(pid), [], "no GeoIP data mapped without a public address");
    assertEquals(openGeoip(pid), [], "no GeoIP file open without a public address");

    await loadConntrack(ns, [
      "-I -t 600 -p tcp -s 10.4.0.1 -d 93.184.216.34 --sport 40003 --dport 443 --state ESTABLISHED",
    ]);
    await term.waitFor((s) => /\bConns 3\b/.test(s) && s.includes("93.184.216.34"), {
      what: "the public connection on screen",
    });
    await waitUntil(
      "the GeoIP data to be mapped",
      () => mappedGeoip(pid).length === 2,
    );
    assertEquals(mappedGeoip(pid), ["asn-ranges.bin", "country.mmdb"]);
    // Mapped, not read: no descriptor is kept, and still one worker.
    assertEquals(openGeoip(pid), []);
    assertEquals(workers().length, 1, `threads: ${threadNames(pid).join(", ")}`);
    // And the answer reaches the screen (93.184.216.0/24 is in the US in the embedded data).
    await term.waitFor((s) => /93\.184\.216\.34\s+https\s+US\b/.test(s), {
      what: "the country of the public address",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
