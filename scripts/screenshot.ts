/**
 * Takes the README's screenshot of the live monitor: docs/screenshot.txt (plain text),
 * docs/screenshot.svg (colours and attributes drawn) and docs/screenshot.png (the SVG rendered
 * by `rsvg-convert`).
 *
 * Usage (as root): deno run --allow-all scripts/screenshot.ts [--out DIR] [--width 132]
 * [--height 36] [--no-dns]
 *
 * What it does (scripts/_screenshot/scene.ts draws the set-up):
 * 1. makes two network namespaces, `ctshot-host` and `ctshot-peer`, joined by a veth pair,
 *    with accounting and timestamps on in the monitored one (its own sysctls), and starts real
 *    traffic between them that stops by itself: a paced TCP bulk download, short web fetches
 *    over IPv4 and IPv6, a UDP stream, pings (IPv4 and IPv6) and an ssh-like session inbound;
 * 2. inserts a few `conntrack -I` entries with addresses of well-known public networks, so the
 *    country and AS organisation columns show what the embedded GeoIP data says of them (they
 *    are table entries only: nothing is ever sent to those addresses);
 * 3. starts dnsmasq in the monitored namespace with PTR records for those addresses and the
 *    namespaces' own, and runs the monitor under `ip netns exec` so its resolver asks that
 *    dnsmasq and nothing else (`--no-dns`, or dnsmasq missing: the monitor runs with `-n`);
 * 4. runs the real monitor (`deno run --allow-all main.ts --netns ctshot-host`) in a tmux server
 *    of its own (`-L ctshot-PID`) at WIDTH×HEIGHT, with an environment of its own, host name
 *    `demo` (a UTS namespace, so no machine's name ends up in the README), and an empty
 *    `XDG_CONFIG_HOME` holding only the column set chosen here (the default columns need more
 *    than 132 columns); waits until the rates are non-zero and the names and countries are in;
 * 5. captures the screen with `tmux capture-pane -e -p -N` and writes the three files.
 *
 * Everything it made (namespaces, tmux, dnsmasq, traffic, /etc/netns/ctshot-host, temporary
 * files) is removed at the end, also on failure, Ctrl-C, SIGTERM or SIGHUP. When `rsvg-convert`
 * (Debian: librsvg2-bin) is missing it says so, writes the text and the SVG, leaves the PNG as
 * it was, and exits with 0.
 *
 * Requires root (namespaces, nft, conntrack), `--allow-all` (it runs conntop with it), and
 * iproute2, conntrack, nftables, python3, tmux, util-linux (`unshare`), optionally dnsmasq and
 * librsvg2-bin; scripts/setup.sh --dev installs all but the last.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseScreen, screenText } from "../tools/screen.ts";
import { Cleanup } from "./_screenshot/cleanup.ts";
import { haveProgram } from "./_screenshot/process.ts";
import { runCommand } from "../tools/run.ts";
import { buildScene, type Scene } from "./_screenshot/scene.ts";
import { renderSvg } from "./_screenshot/svg.ts";
import { Tmux } from "../tools/tmux.ts";

const ROOT = new URL("../", import.meta.url);
const MAIN = new URL("main.ts", ROOT).pathname;
/** The monitor runs from here, so it finds deno.json (its import map) wherever this is run from. */
const ROOT_DIR = ROOT.pathname;
const DEFAULT_OUT = new URL("docs/", ROOT).pathname;

/** The host name the monitor's header shows. */
const HOSTNAME = "demo";
/** Seconds the traffic runs before it stops by itself; the picture is taken well before. */
const TRAFFIC_SECONDS = 120;
/** How long to wait for a screen worth taking. */
const READY_TIMEOUT_MS = 45_000;
/** After the screen is ready, let a few more refreshes pass so every rate is a full one. */
const SETTLE_MS = 3500;
/** The PNG is drawn at twice the SVG's size: sharp on high-density screens when scaled down. */
const PNG_ZOOM = 2;

/**
 * The columns shown: the defaults without TX, RX, AGE, TIMEOUT and FLAGS, plus the destination
 * AS organisation, so that everything fits 132 columns. Widths are conntop's defaults except
 * SOURCE, DESTINATION and PROCESS (the longest here fit) and the rates (their values are short).
 */
const CONFIG = {
  columns: [
    { id: "proto", width: 6 },
    { id: "state", width: 11 },
    { id: "src", width: 14 },
    { id: "sport", width: 5 },
    { id: "dst", width: 20 },
    { id: "dport", width: 6 },
    { id: "dst_country", width: 3 },
    { id: "dst_org", width: 20 },
    { id: "rate", width: 7 },
    { id: "tx_rate", width: 7 },
    { id: "rx_rate", width: 7 },
    { id: "process", width: 15 },
  ],
};

const USAGE = `Usage: deno run --allow-all scripts/screenshot.ts [options]  (as root)

Takes the README's screenshot of the live monitor: screenshot.txt, .svg and .png.

Options:
  --out DIR     where to write the files (default: the repository's docs/)
  --width N     terminal columns (default 132)
  --height N    terminal rows (default 36)
  --no-dns      no DNS server: the monitor runs with -n (addresses only)
  -h, --help    this help
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A terminal dimension given as `--NAME VALUE`: an integer 20..500. */
function dimension(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 20 || n > 500) {
    throw new Error(`Failed to read --${name}: expected an integer 20..500, got '${value}'`);
  }
  return n;
}

/** The monitor's header says `TX 0/s  RX 0/s` until some connection has moved bytes. */
function ratesFlowing(screen: string): boolean {
  const m = /\bTX (\S+)\/s\s+RX (\S+)\/s/.exec(screen);
  return m !== null && m[1] !== "0" && m[2] !== "0";
}

function connCount(screen: string): number {
  return Number(/\bConns (\d+)/.exec(screen)?.[1] ?? 0);
}

/** Waits for a screen with traffic, the expected rows, names and countries. */
async function waitReady(term: Tmux, scene: Scene): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let screen = "";
  let missing: string[] = [];
  while (Date.now() < deadline) {
    screen = await term.capture();
    missing = [];
    if (connCount(screen) < scene.minConnections) {
      missing.push(`at least ${scene.minConnections} connections`);
    }
    if (!ratesFlowing(screen)) missing.push("non-zero rates");
    for (const name of scene.names) if (!screen.includes(name)) missing.push(`'${name}'`);
    if (!/ (US|NL|DE|GB) /.test(screen)) missing.push("countries");
    if (missing.length === 0) return;
    if (await term.dead()) break;
    await sleep(250);
  }
  throw new Error(
    `Failed to get a screen worth taking within ${READY_TIMEOUT_MS / 1000} s: ` +
      `missing ${missing.join(", ")}; the screen was:\n${screen}`,
  );
}

/**
 * Captures with escapes twice, 100 ms apart, until both agree: a capture taken while the
 * monitor writes a frame could show half of it.
 */
async function stableCapture(term: Tmux): Promise<string> {
  let previous = await term.capture({ escapes: true, trailing: true });
  for (let i = 0; i < 20; i++) {
    await sleep(100);
    const next = await term.capture({ escapes: true, trailing: true });
    if (next === previous) return next;
    previous = next;
  }
  return previous;
}

async function takeScreenshot(
  cleanup: Cleanup,
  opts: { out: string; width: number; height: number; dns: boolean },
): Promise<void> {
  if (Deno.uid() !== 0) {
    throw new Error("Failed to take the screenshot: it needs root (network namespaces)");
  }
  for (const tool of ["ip", "conntrack", "nft", "python3", "tmux", "unshare"]) {
    if (!(await haveProgram(tool))) {
      throw new Error(
        `Failed to take the screenshot: '${tool}' not found (run scripts/setup.sh --dev)`,
      );
    }
  }
  let dns = opts.dns;
  if (dns && !(await haveProgram("dnsmasq"))) {
    console.error(
      "screenshot: dnsmasq not found (Debian: dnsmasq-base): the monitor runs with -n",
    );
    dns = false;
  }

  const scene = await buildScene(cleanup, { duration: TRAFFIC_SECONDS, dns });

  const configHome = await Deno.makeTempDir({ prefix: "ctshot-config-" });
  cleanup.add(`'${configHome}'`, () => Deno.remove(configHome, { recursive: true }));
  await Deno.mkdir(`${configHome}/conntop`);
  await Deno.writeTextFile(`${configHome}/conntop/config.json`, JSON.stringify(CONFIG, null, 2));

  const command = [
    "ip",
    "netns",
    "exec",
    scene.ns,
    "unshare",
    "--uts",
    "sh",
    "-c",
    'hostname "$0" && exec "$@"',
    HOSTNAME,
    Deno.execPath(),
    "run",
    "--allow-all",
    MAIN,
    "--netns",
    scene.ns,
    ...(dns ? [] : ["-n"]),
  ];
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    LANG: "C.UTF-8",
    XDG_CONFIG_HOME: configHome,
  };
  // Deno's caches (npm packages, compiled modules) stay where the caller has them.
  for (const name of ["DENO_DIR", "TMUX_TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const term = await Tmux.start(command, {
    width: opts.width,
    height: opts.height,
    env,
    // The whole environment: a NO_COLOR in the caller's shell must not change the picture.
    clearEnv: true,
    cwd: ROOT_DIR,
    socketPrefix: "ctshot",
    terminal: "tmux-256color",
    onCreated: (t) =>
      cleanup.add(`tmux server '${t.socket}'`, async () => {
        await t.quit(["q"]).catch(() => false);
        await t.close();
      }),
  });

  await scene.settled();
  await waitReady(term, scene);
  // The cursor follows its connection as rows re-sort; put it back on the top row.
  await term.sendKeys("Home");
  await sleep(SETTLE_MS);
  const captured = await stableCapture(term);
  if (await term.dead()) {
    throw new Error(
      `Failed to take the screenshot: the monitor exited; the screen was:\n${await term.capture()}`,
    );
  }

  const screen = parseScreen(captured, { width: opts.width, height: opts.height });
  await Deno.mkdir(opts.out, { recursive: true });
  const base = opts.out.replace(/\/?$/, "/") + "screenshot";
  await Deno.writeTextFile(`${base}.txt`, screenText(screen));
  await Deno.writeTextFile(
    `${base}.svg`,
    renderSvg(screen, { title: "conntop monitoring a network namespace's connections" }),
  );
  console.log(`screenshot: wrote ${base}.txt and ${base}.svg`);

  if (!(await haveProgram("rsvg-convert"))) {
    console.error(
      `screenshot: rsvg-convert not found: ${base}.png was NOT written (left as it was). ` +
        "Install it with 'apt-get install librsvg2-bin' and run this again.",
    );
    return;
  }
  await runCommand([
    "rsvg-convert",
    "--zoom",
    String(PNG_ZOOM),
    "--format",
    "png",
    "--output",
    `${base}.png`,
    `${base}.svg`,
  ]);
  console.log(`screenshot: wrote ${base}.png`);
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        out: { type: "string" },
        width: { type: "string" },
        height: { type: "string" },
        "no-dns": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`screenshot: ${err instanceof Error ? err.message : err}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  let opts;
  try {
    opts = {
      out: parsed.out ?? DEFAULT_OUT,
      width: dimension("width", parsed.width ?? "132"),
      height: dimension("height", parsed.height ?? "36"),
      dns: !parsed["no-dns"],
    };
  } catch (err) {
    console.error(`screenshot: ${err instanceof Error ? err.message : err}`);
    return 2;
  }

  const cleanup = new Cleanup();
  const signals = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  const handlers = Object.entries(signals).map(([signal, code]) => {
    const handler = async () => {
      if (cleanup.started) return; // a second Ctrl-C while cleaning up
      console.error(`screenshot: ${signal}: cleaning up`);
      for (const failure of await cleanup.run()) console.error(`screenshot: ${failure}`);
      Deno.exit(code);
    };
    Deno.addSignalListener(signal as Deno.Signal, handler);
    return [signal as Deno.Signal, handler] as const;
  });

  let code = 0;
  try {
    await takeScreenshot(cleanup, opts);
  } catch (err) {
    // After a signal, the clean-up under way makes the work in progress fail: not news.
    if (!cleanup.started) console.error(`screenshot: ${err instanceof Error ? err.message : err}`);
    code = 1;
  } finally {
    const failures = await cleanup.run();
    for (const failure of failures) console.error(`screenshot: ${failure}`);
    if (failures.length > 0) code = 1;
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
  return code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
