/**
 * The peers benchmark's markdown: a table of one full listing (`conntrack -L`, `iptstate -1`,
 * `conntop --once`), a table of the monitors held open (iptstate, flowtop, conntop), with
 * ratios conntop ÷ peer, and notes saying how each figure was taken. Pure functions: no I/O.
 *
 * @module
 */

import type { ForeignEntries } from "./table.ts";
import type { Listing, ListTool, Monitor, MonitorTool, PeersResult, PeersSize } from "./peers.ts";
import { IPTSTATE_COLS, IPTSTATE_MAX_ROWS } from "./peers_screen.ts";
import { count, mib, ms } from "./report.ts";

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined) return "";
  const r = a / b;
  if (!Number.isFinite(r)) return "";
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}

function secs(s: number): string {
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

function pct(x: number | null): string {
  return x === null || !Number.isFinite(x) ? "n/a" : `${x.toFixed(1)} %`;
}

function sizeName(n: number): string {
  return n === 0 ? "Empty namespace" : `${count(n)} connections`;
}

function listingOf(ls: readonly Listing[], tool: ListTool): Listing | undefined {
  return ls.find((l) => l.tool === tool);
}

function monitorOf(list: readonly Monitor[], tool: MonitorTool): Monitor | undefined {
  return list.find((m) => m.tool === tool);
}

/** A listing's cell when it has no figure: why. */
function listingGap(l: Listing | undefined, timeoutS: number): string | null {
  if (l === undefined) return "—";
  if (l.skipped !== null) return "not run";
  if (l.timedOut) return `did not finish in ${timeoutS} s`;
  if (l.failed !== null) return "**failed**";
  if (l.wall === null) return "n/a";
  return null;
}

function listingRows(r: PeersResult, size: number, ls: readonly Listing[]): string[] {
  const tools: ListTool[] = ["conntrack", "iptstate", "conntop"];
  const get = tools.map((t) => listingOf(ls, t));
  const [ct, ipt, top] = get;
  const out: string[] = [];
  const name = sizeName(size);
  const cells = (f: (l: Listing) => string) =>
    get.map((l) => listingGap(l, r.listTimeoutS) ?? f(l!));
  out.push(row([
    `${name}: wall time (median of ${r.runs})`,
    ...cells((l) => ms(l.wall!.median)),
    ratio(top?.wall?.median, ct?.wall?.median),
    ratio(top?.wall?.median, ipt?.wall?.median),
  ]));
  if (r.gnuTime) {
    out.push(row([
      `${name}: CPU time, user + system (median)`,
      ...cells((l) => (l.cpu === null ? "n/a" : secs(l.cpu.median))),
      ratio(top?.cpu?.median, ct?.cpu?.median),
      ratio(top?.cpu?.median, ipt?.cpu?.median),
    ]));
    out.push(row([
      `${name}: peak RSS (largest of the runs)`,
      ...cells((l) => (l.rss === null ? "n/a" : mib(l.rss.max))),
      ratio(top?.rss?.max, ct?.rss?.max),
      ratio(top?.rss?.max, ipt?.rss?.max),
    ]));
  }
  if (size > 0) {
    out.push(row([
      `${name}: rows printed`,
      ...get.map((l) =>
        l === undefined || l.rows === null
          ? (listingGap(l, r.listTimeoutS) ?? "n/a")
          : l.rows === l.expectedRows && l.expectedRows === size
          ? count(l.rows)
          : `**${count(l.rows)}**`
      ),
      "",
      "",
    ]));
  }
  return out;
}

/** The listing table. */
export function listingTable(r: PeersResult): string[] {
  const out: string[] = [];
  out.push(row([
    "One full listing, output to /dev/null",
    "`conntrack -L`",
    "`iptstate -1`",
    "`conntop --once`",
    "conntop ÷ conntrack",
    "conntop ÷ iptstate",
  ]));
  out.push(row([":--", "--:", "--:", "--:", "--:", "--:"]));
  out.push(...listingRows(r, 0, r.empty));
  for (const s of r.sizes) out.push(...listingRows(r, s.size, s.listings));
  return out;
}

function monitorGap(m: Monitor | undefined): string | null {
  if (m === undefined) return "—";
  if (m.skipped !== null) return "not run";
  if (m.exited !== null && m.cpuPercent === null) return "**exited**";
  return null;
}

function shownCell(m: Monitor, s: PeersSize, readyTimeoutS: number): string {
  const end = m.atEnd;
  if (end === null) return "n/a";
  const n = end.count === null ? "none" : count(end.count);
  const of = m.expectedCount === s.loaded ? "" : ` of the ${count(m.expectedCount)} it can show`;
  if (m.readyMs === null) {
    return `${n}${of}, still ${end.collecting ? "collecting" : "incomplete"} after ` +
      `${readyTimeoutS + Math.round(m.windowS)} s`;
  }
  const complete = end.count === m.expectedCount && end.rows > 0;
  return complete ? `${n}${of}` : `**${n}${of}** (${count(end.rows)} rows on screen)`;
}

function monitorRows(r: PeersResult, s: PeersSize): string[] {
  const tools: MonitorTool[] = ["iptstate", "flowtop", "conntop"];
  const get = tools.map((t) => monitorOf(s.monitors, t));
  const [ipt, flow, top] = get;
  const name = sizeName(s.size);
  const cells = (f: (m: Monitor) => string) => get.map((m) => monitorGap(m) ?? f(m!));
  const ready = (m: Monitor | undefined) => (m?.readyMs ?? null) === null ? null : m!.readyMs;
  const out: string[] = [];
  out.push(row([
    `${name}: start → the table on screen`,
    ...cells((m) =>
      m.readyMs === null ? `not within ${r.readyTimeoutS} s` : secs(m.readyMs / 1000)
    ),
    ratio(ready(top), ready(ipt)),
    ratio(ready(top), ready(flow)),
  ]));
  const cpu = (m: Monitor | undefined) => m?.cpuPercent ?? null;
  out.push(row([
    `${name}: CPU over the next ${Math.round(r.seconds)} s (% of one core)`,
    ...cells((m) => `${pct(m.cpuPercent)}${m.readyMs === null ? " (still collecting)" : ""}`),
    ratio(cpu(top), cpu(ipt)),
    ratio(cpu(top), cpu(flow)),
  ]));
  const rss = (m: Monitor | undefined) => m?.peakRssKiB ?? null;
  out.push(row([
    `${name}: peak RSS`,
    ...cells((m) => mib(m.peakRssKiB)),
    ratio(rss(top), rss(ipt)),
    ratio(rss(top), rss(flow)),
  ]));
  out.push(row([
    `${name}: connections it said it held, at the end`,
    ...cells((m) => shownCell(m, s, r.readyTimeoutS)),
    "",
    "",
  ]));
  return out;
}

/** The monitors' table. */
export function monitorTable(r: PeersResult): string[] {
  const out: string[] = [];
  out.push(row([
    `Monitor, ${r.width}×${r.height}, refreshed every 1 s`,
    "`iptstate`",
    "flowtop",
    "conntop",
    "conntop ÷ iptstate",
    "conntop ÷ flowtop",
  ]));
  out.push(row([":--", "--:", "--:", "--:", "--:", "--:"]));
  for (const s of r.sizes) out.push(...monitorRows(r, s));
  return out;
}

function countNote(r: PeersResult): string {
  const issues: string[] = [];
  const iptCapped: number[] = [];
  for (const s of r.sizes) {
    for (const l of s.listings) {
      if (l.rows === null) continue;
      if (l.tool === "iptstate" && l.expectedRows < s.loaded && l.rows === l.expectedRows) {
        if (l.reported === s.loaded) {
          iptCapped.push(s.size);
          continue;
        }
      }
      if (l.rows !== s.loaded || (l.reported !== null && l.reported !== s.loaded)) {
        issues.push(
          `${l.tool} at ${count(s.size)}: ${count(l.rows)} rows` +
            (l.reported !== null ? `, said ${count(l.reported)}` : "") +
            ` (table ${count(s.loaded)})`,
        );
      }
    }
  }
  let text = "Rows printed: the untimed first run of each tool at each size had its standard " +
    "output piped and its lines counted (less the header lines: conntop 1, iptstate 3); " +
    "`conntrack -L` also reports its count on standard error and iptstate (`-t`) its " +
    "`Total States`. ";
  text += issues.length === 0 && iptCapped.length === 0
    ? "Every tool printed every connection at every size."
    : issues.length === 0
    ? "Every tool printed every connection, except as follows. "
    : `**Mismatches**: ${issues.join("; ")}. `;
  if (iptCapped.length > 0) {
    text += `At ${iptCapped.map(count).join(" and ")} connections \`iptstate -1\` printed ` +
      `${count(IPTSTATE_MAX_ROWS)} rows (in bold): it reads, sorts and counts every state ` +
      `(its \`Total States\` said the whole table) but prints at most ` +
      `${count(IPTSTATE_MAX_ROWS)}, the length of its ncurses pad (\`NLINES\`), which its ` +
      "single-run mode uses as a limit too; its monitor scrolls over the same number.";
  }
  return text.trim();
}

function flowtopNote(r: PeersResult): string | null {
  const runs = r.sizes.map((s) => ({ s, m: monitorOf(s.monitors, "flowtop") })).filter((x) =>
    x.m !== undefined && x.m.skipped === null
  );
  if (runs.length === 0) return null;
  const parts = runs.map(({ s, m }) => {
    if (m!.readyMs !== null) {
      return `at ${count(s.size)} it had them all after ${secs(m!.readyMs / 1000)}`;
    }
    const got = m!.atEnd?.count ?? m!.atStart?.count ?? 0;
    const t = r.readyTimeoutS + Math.round(m!.windowS);
    return `at ${count(s.size)} it had ${count(got)} of ${count(s.flowtopVisible)} after ${t} s`;
  });
  return "flowtop shows neither DNS flows (port 53; by design, since it uses DNS itself) nor " +
    "GRE (no option selects it), so of each table it can show all but those (the " +
    "'of the … it can show' above); it shows flows without traffic. It fills its list slowly: " +
    "for each new flow it reads /proc/net/tcp or /proc/net/udp (and the IPv6 ones) to find " +
    "the process owning it (one open and read of the file per flow, seen with strace while " +
    "preparing this benchmark), and the header says 'Collecting flows' until it is done; " +
    `${parts.join(", ")}. A monitor that did not show its table in ${r.readyTimeoutS} s is ` +
    "measured anyway (its CPU is that of collecting) and not run at larger sizes.";
}

const LIST_NAMES: Record<ListTool, string> = {
  conntrack: "`conntrack -L`",
  iptstate: "`iptstate -1`",
  conntop: "`conntop --once`",
};

/** Failures, exits and tools not run, with their reasons; null when there were none. */
function gapsNote(r: PeersResult): string | null {
  const out: string[] = [];
  const all = [{ size: 0, listings: r.empty, monitors: [] as Monitor[] }, ...r.sizes];
  for (const s of all) {
    const at = s.size === 0 ? "on the empty namespace" : `at ${count(s.size)}`;
    for (const l of s.listings) {
      const name = LIST_NAMES[l.tool];
      if (l.failed !== null) out.push(`${name} ${at} **failed**: ${l.failed}`);
      else if (l.skipped !== null) out.push(`${name} ${at} was not run: ${l.skipped}`);
    }
    for (const m of s.monitors) {
      if (m.skipped !== null) out.push(`the monitor ${m.tool} ${at} was not run: ${m.skipped}`);
      else if (m.exited !== null) out.push(`the monitor ${m.tool} ${at} exited: ${m.exited}`);
    }
  }
  if (out.length === 0) return null;
  const text = out.join("; ");
  return text[0]!.toUpperCase() + text.slice(1) + ".";
}

/** Other CPU above this, % of one core, is named per window. */
const BUSY_PERCENT = 10;

function busyText(b: PeersResult["busy"]["start"]): string {
  return b.map((p) => `${p.comm} (pid ${p.pid}) ${p.percent.toFixed(0)} %`).join(", ");
}

/** The notes under the tables. */
export function peersNotes(r: PeersResult, foreign?: ForeignEntries): string[] {
  const n: string[] = [];
  const v = r.versions;
  n.push(
    `Versions (Debian packages): iptstate ${v["iptstate"]}, netsniff-ng ${v["netsniff-ng"]} ` +
      `(flowtop), conntrack ${v["conntrack"]}, ${r.tmux}, GNU time ${v["time"]}; conntop ` +
      "from this tree, run by `deno run` with its baked-in permissions (so its start-up " +
      "includes loading its modules from Deno's cache, not a compiled binary)." +
      (r.missing.length > 0 ? ` Not installed, not measured: ${r.missing.join(", ")}.` : ""),
  );
  n.push(
    "Tables: the benchmark's synthetic mix (scripts/_bench/entries.ts: TCP, UDP, ICMP, " +
      "IPv6, a little SCTP, UDP-Lite and GRE; some NATed), loaded with `conntrack -R` into a " +
      "throw-away network namespace with accounting and timestamps on, and idle: no traffic " +
      "during the runs, so no tool had rates or changes to show; the monitors were measured " +
      "holding the table, not following a busy one.",
  );
  n.push(
    "Listing: `ip netns exec NS conntrack -L`; `ip netns exec NS iptstate -1 -t` with " +
      `\`COLS=${IPTSTATE_COLS}\` (\`-1\` single run, \`-t\` its totals line; it resolves no names ` +
      "unless given `-l`); conntop `--once -o table -n --netns NS` (hostnames off; service " +
      "names and its table layout as by default), with an empty configuration directory. " +
      "Standard output to /dev/null. Each run under `/usr/bin/time -f '%e %U %S %M'` and " +
      `\`timeout -s KILL ${r.listTimeoutS}\`: wall time from spawn to exit measured by the ` +
      "benchmark (it includes `ip netns exec` for the first two and Deno's start-up for " +
      "conntop: the empty namespace's row is each tool's floor), CPU time GNU time's user + " +
      "system, peak RSS its max RSS (wait4's ru_maxrss: the largest of the process and those " +
      `it waited for). ${r.runs} timed runs per tool and size, the tools' order rotating ` +
      "from run to run, after one untimed run of each.",
  );
  n.push(countNote(r));
  n.push(
    "`iptstate -1` needs `COLS` (or a terminal on standard input) to work: it takes its " +
      "width from `ioctl(0, TIOCGWINSZ)` into a `struct winsize` it does not initialise, and " +
      "when standard input is not a terminal that width is garbage: while preparing this " +
      "benchmark it padded its header with spaces for 20 s, about 10 GB, before it was " +
      "killed.",
  );
  n.push(
    `Monitors: each in its own pane of a private tmux server (\`tmux -L ctpeer-PID\`, ` +
      `${r.width}×${r.height}), one after the other on the same table: conntop ` +
      "`--netns NS --interval 1 -n` (its defaults otherwise: GeoIP from its embedded data and " +
      "service names on, hostnames off; an empty configuration directory); " +
      "`ip netns exec NS iptstate -R 1 -t` (refresh 1 s, no name resolution by default, " +
      "totals shown for the count); `ip netns exec NS flowtop -46TUDIS -n -G -s -t 1` (IPv4 " +
      "and IPv6, every protocol it has an option for, no DNS and no GeoIP lookups, sources " +
      "shown, refresh 1 s). 'Start → the table on screen': from starting the pane until a " +
      "capture of it (every 200 ms) showed the whole table: conntop's header `Conns N`, " +
      "iptstate's `Total States: N`, flowtop's header without 'Collecting flows'; rows on " +
      `screen too. Then CPU: utime + stime of the pane's process tree (/proc) over ` +
      `${Math.round(r.seconds)} s, in % of one core; peak RSS: VmHWM at the end of that ` +
      "window (start-up included), summed over the tree. 'Connections it said it held' is the " +
      "count on its screen at the end; bold when short of the table.",
  );
  const gaps = gapsNote(r);
  if (gaps !== null) n.push(gaps);
  const fl = flowtopNote(r);
  if (fl !== null) n.push(fl);
  const others = r.sizes.flatMap((s) => s.monitors).map((m) => m.otherCpuPercent).filter((
    x,
  ): x is number => x !== null);
  const disturbed = r.sizes.flatMap((s) =>
    s.monitors.filter((m) => (m.otherCpuPercent ?? 0) >= BUSY_PERCENT).map((m) =>
      `${pct(m.otherCpuPercent)} during ${m.tool}'s window at ${count(s.size)}`
    )
  );
  const trees = r.sizes.flatMap((s) => s.monitors).filter((m) => m.processes > 1);
  let machine = "The machine: ";
  machine += others.length > 0
    ? `everything else used ${Math.min(...others).toFixed(1)}–${
      Math.max(...others).toFixed(1)
    } % of one core during the monitors' windows, tmux and this benchmark included` +
      (disturbed.length > 0 ? ` (${disturbed.join(", ")})` : "") + ". "
    : "";
  machine += r.busy.start.length === 0 && r.busy.end.length === 0
    ? "No other process used 10 % of a core or more in a one-second sample at the start and " +
      "at the end of this part."
    : "Other processes using 10 % of a core or more in a one-second sample: " +
      `${
        r.busy.start.length > 0 ? `at the start ${busyText(r.busy.start)}` : "none at the start"
      }` +
      `; ${r.busy.end.length > 0 ? `at the end ${busyText(r.busy.end)}` : "none at the end"}.`;
  if (trees.length > 0) {
    machine += ` Monitors with child processes: ${
      trees.map((m) => `${m.tool} (${m.processes} processes)`).join(", ")
    }.`;
  }
  if (foreign !== undefined && foreign.total > 0) {
    machine += ` ${count(foreign.total)} conntrack entries elsewhere on the host shared the ` +
      "kernel's hash table with these (every dump walks all of it).";
  }
  machine += ` This part took ${Math.round(r.totalMs / 1000)} s.`;
  n.push(machine);
  return n;
}

/** The whole section: the two tables and their notes. */
export function renderPeers(r: PeersResult, foreign?: ForeignEntries): string {
  const out: string[] = [];
  const v = r.versions;
  out.push(
    `Against the peers: conntop, \`iptstate\` ${v["iptstate"]} and netsniff-ng's flowtop ` +
      `${v["netsniff-ng"]} on the same idle tables, \`conntrack -L\` as the reference listing.`,
  );
  out.push("");
  out.push(...listingTable(r));
  out.push("");
  out.push(...monitorTable(r));
  out.push("");
  out.push(...peersNotes(r, foreign).map((x) => `- ${x}`));
  return out.join("\n") + "\n";
}
