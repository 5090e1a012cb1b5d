/**
 * The client-server benchmark's markdown (scripts/_bench/server.ts): its tables and the notes
 * that say what each number measures. Pure functions: no I/O.
 *
 * @module
 */

import type { LoadPhase, ServerLoad, ServerResult, SnapshotRun } from "./server.ts";
import { median } from "./stats.ts";

const count = (n: number) => n.toLocaleString("en-US");

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function ratio(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : "n/a";
}

function pct(x: number | null): string {
  return x !== null && Number.isFinite(x) ? `${x.toFixed(1)} %` : "n/a";
}

function secs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Bytes on the wire, decimal units: `527 B`, `57.1 kB`, `55.9 MB`. */
export function bytes(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return "n/a";
  if (x < 10_000) return `${Math.round(x)} B`;
  if (x < 10_000_000) return `${(x / 1000).toFixed(1)} kB`;
  return `${(x / 1e6).toFixed(1)} MB`;
}

function mib(kib: number | null): string {
  return kib === null || !Number.isFinite(kib) ? "n/a" : `${(kib / 1024).toFixed(1)} MiB`;
}

function share(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  const p = x * 100;
  return p >= 1 ? `${p.toFixed(1)} %` : p >= 0.01 ? `${p.toFixed(2)} %` : `${p.toFixed(4)} %`;
}

const fractionText = (f: number) => `${Number((f * 100).toFixed(2))} %`;

/** The figures derived once for the tables and the notes. */
function figures(r: ServerResult) {
  const cold = r.snapshots.filter((s) => s.kind === "cold");
  const warm = r.snapshots.filter((s) => s.kind === "warm");
  const med = (xs: SnapshotRun[], f: (s: SnapshotRun) => number) => median(xs.map(f));
  const listMs = median(r.list.map((l) => l.ms));
  const listBytes = median(r.list.map((l) => l.bytes));
  const listLines = median(r.list.map((l) => l.lines));
  const snapBytes = med(r.snapshots, (s) => s.bytes);
  const idleBytes = median(r.idle.map((b) => b.bytes));
  const levels = r.levels.map((lv) => {
    const m = (f: (x: (typeof lv.rounds)[number]) => number) => median(lv.rounds.map(f));
    const perChange = median(
      lv.rounds.map((x) => (x.bytes - idleBytes * x.deltas) / Math.max(1, x.changed)),
    );
    const seen = lv.rounds.filter((x) => x.eventLines > 0);
    const perEvent = median(seen.map((x) => x.eventBytes / x.eventLines));
    return {
      fraction: lv.fraction,
      count: lv.count,
      bytes: m((x) => x.bytes),
      deltas: m((x) => x.deltas),
      records: m((x) => x.records),
      changed: m((x) => x.changed),
      // The changes as conntrack -E prints them: its bytes per event times the events (it may
      // lose some of a burst, see the notes).
      eventBytes: perEvent * m((x) => x.changed),
      eventLines: m((x) => x.eventLines),
      changeMs: m((x) => x.changeMs),
      perChange,
      perEvent,
    };
  });
  return {
    cold,
    warm,
    coldMs: med(cold, (s) => s.appliedMs),
    warmMs: med(warm, (s) => s.appliedMs),
    listMs,
    listBytes,
    listLines,
    snapBytes,
    snapRecords: med(r.snapshots, (s) => s.records),
    idleBytes,
    levels,
  };
}

/**
 * RSS of a phase: its last per-second sample. A snapshot's buffers are garbage once it is sent,
 * but a Deno server hands their memory back only after a major collection, seconds later, so
 * the window's samples can hold it or not: the end of the window (and its max, shown beside)
 * says more than a median.
 */
const rssOf = (p: LoadPhase | undefined) =>
  p === undefined || p.rssKiB.length === 0 ? NaN : p.rssKiB[p.rssKiB.length - 1]!;
const rssMax = (p: LoadPhase) => Math.max(...p.rssKiB);
const rssMin = (p: LoadPhase) => Math.min(...p.rssKiB);
const rssCell = (p: LoadPhase) =>
  rssMax(p) > rssMin(p) * 1.05
    ? `${mib(rssOf(p))} (${mib(rssMin(p)).replace(" MiB", "")}–${mib(rssMax(p))})`
    : mib(rssOf(p));

/** An exit code as a shell shows it, with the signal's name. */
export function exitText(code: number): string {
  const names: Record<number, string> = {
    6: "SIGABRT",
    9: "SIGKILL",
    11: "SIGSEGV",
    15: "SIGTERM",
  };
  return code > 128 ? `${code} (${names[code - 128] ?? `signal ${code - 128}`})` : String(code);
}

function phaseName(p: LoadPhase): string {
  if (p.clients > 0) return p.clients === 1 ? "1 client" : `${p.clients} clients`;
  return p.label === "after" ? "0 clients, after the clients left" : "0 clients, before any came";
}

/** Whether a phase's clients got fewer than half as many updates as there were ticks. */
function behind(p: LoadPhase): boolean {
  return p.clientBatches !== null && p.clientBatches < p.seconds / 2;
}

function loadRows(ours: ServerLoad, cpp: ServerLoad | null): string[] {
  const out: string[] = [];
  const head = ["Clients", "conntopd: CPU (% of one core)", "conntopd: RSS at the end"];
  if (cpp !== null) {
    head.push("C++ conntop: CPU", "C++ conntop: RSS at the end", "CPU ÷ C++", "RSS ÷ C++");
  }
  out.push(row(head));
  out.push(row(head.map((_, i) => (i === 0 ? ":--" : "--:"))));
  const key = (p: LoadPhase) => `${p.clients}/${p.label}`;
  const theirs = new Map((cpp?.phases ?? []).map((p) => [key(p), p]));
  for (const p of ours.phases) {
    const cells = [phaseName(p), pct(p.cpuPercent) + (behind(p) ? " †" : ""), rssCell(p)];
    if (cpp !== null) {
      const t = theirs.get(key(p));
      const stale = t !== undefined && behind(t);
      cells.push(
        t === undefined ? "—" : pct(t.cpuPercent) + (stale ? " †" : ""),
        t === undefined ? "—" : rssCell(t),
        t === undefined ? "" : ratio(p.cpuPercent / t.cpuPercent),
        t === undefined ? "" : ratio(rssOf(p) / rssOf(t)),
      );
    }
    out.push(row(cells));
  }
  const peak = (l: ServerLoad) => Math.max(...l.phases.map((p) => p.hwmKiB));
  const cells = ["Peak RSS over the whole run (VmHWM)", "", mib(peak(ours))];
  if (cpp !== null) {
    const t = cpp.phases.length > 0 ? peak(cpp) : NaN;
    cells.push("", mib(t), "", ratio(peak(ours) / t));
  }
  out.push(row(cells));
  const stale = [ours, ...(cpp === null ? [] : [cpp])].flatMap((l) =>
    l.phases.filter(behind).map((p) => `${l.name} with ${phaseName(p)}`)
  );
  if (stale.length > 0) {
    out.push("");
    out.push(
      `† Not a like-for-like load: ${stale.join(", ")} sent its clients fewer updates than ` +
        "there were ticks (see the notes).",
    );
  }
  return out;
}

/** The section's tables. */
export function serverTables(r: ServerResult): string[] {
  const f = figures(r);
  const out: string[] = [];
  out.push(
    `Client-server mode: conntopd serving ${count(r.loaded)} connections, refreshed every ` +
      "second, to protocol clients on loopback.",
  );
  out.push("");
  out.push(row(["Measure", "Reference", "conntopd", "conntopd ÷ reference"]));
  out.push(row([":--", "--:", "--:", "--:"]));
  out.push(row([
    `Snapshot of ${count(r.loaded)} connections to one client, collection paused before: ` +
    `connect → table applied (median of ${f.cold.length})`,
    `\`conntrack -L\`: ${secs(f.listMs)}`,
    secs(f.coldMs),
    ratio(f.coldMs / f.listMs),
  ]));
  out.push(row([
    `The same, another client connected (collection running) (median of ${f.warm.length})`,
    `\`conntrack -L\`: ${secs(f.listMs)}`,
    secs(f.warmMs),
    ratio(f.warmMs / f.listMs),
  ]));
  out.push(row([
    "Bytes of the snapshot (per connection)",
    `\`conntrack -L\` text: ${bytes(f.listBytes)} (${Math.round(f.listBytes / f.listLines)} B)`,
    `${bytes(f.snapBytes)} (${Math.round(f.snapBytes / f.snapRecords)} B)`,
    ratio(f.snapBytes / f.listBytes),
  ]));
  for (const lv of f.levels) {
    out.push(row([
      `${count(lv.count)} connections (${fractionText(lv.fraction)}) changed in a tick: ` +
      `bytes of the delta (median of ${r.levels[0]?.rounds.length ?? 0} ticks)`,
      `\`conntrack -E\`: ${bytes(lv.eventBytes)}`,
      bytes(lv.bytes),
      ratio(lv.bytes / lv.eventBytes),
    ]));
  }
  out.push("");
  const per = f.levels.map((lv) => `${Math.round(lv.perChange)} B`).join(", ");
  out.push(
    `Per changed connection a delta carried ${per} at ${
      f.levels.map((lv) => fractionText(lv.fraction)).join(", ")
    } of the table; an idle tick carried ${bytes(f.idleBytes)} (its time, totals and status), ` +
      `${share(f.idleBytes / f.snapBytes)} of a snapshot.`,
  );
  out.push("");
  out.push(row([
    "Changed per tick",
    "Delta bytes per tick",
    "Of the snapshot's bytes",
    "Bytes per changed connection",
    "`conntrack -E` bytes per event",
    "Records received / changed",
  ]));
  out.push(row([":--", "--:", "--:", "--:", "--:", "--:"]));
  out.push(row([
    "none (idle tick)",
    bytes(f.idleBytes),
    share(f.idleBytes / f.snapBytes),
    "—",
    "—",
    `${median(r.idle.map((b) => b.records))} / 0`,
  ]));
  for (const lv of f.levels) {
    out.push(row([
      `${count(lv.count)} (${fractionText(lv.fraction)})`,
      bytes(lv.bytes),
      share(lv.bytes / f.snapBytes),
      `${Math.round(lv.perChange)} B`,
      `${Math.round(lv.perEvent)} B`,
      `${count(lv.records)} / ${count(lv.changed)}`,
    ]));
  }
  out.push("");
  const cpp = r.cpp !== null && r.cpp.phases.length > 0 ? r.cpp : null;
  out.push(
    `Server load at ${count(r.loaded)} connections, ${
      Math.round(r.ours.phases[0]?.seconds ?? 0)
    } ` +
      "s per phase" +
      (cpp !== null
        ? `, against the original C++ conntop server on the same table (which tracks its ` +
          `${count(r.tcpUdp)} TCP and UDP connections).`
        : "."),
  );
  out.push("");
  out.push(...loadRows(r.ours, cpp));
  const fb = r.fallback;
  if (fb !== null && fb.ours !== null) {
    out.push("");
    out.push(
      `The same at ${count(fb.loaded)} connections (${count(fb.tcpUdp)} TCP and UDP), the ` +
        "largest table of those tried at which the C++ server got through every phase.",
    );
    out.push("");
    out.push(...loadRows(fb.ours, fb.cpp));
  }
  return out;
}

function loadNote(l: ServerLoad): string {
  const withClients = l.phases.filter((p) => p.clients > 0);
  const parts = withClients.map((p) =>
    `${p.clients} client${p.clients === 1 ? "" : "s"}: the whole table in ${
      secs(Math.max(...p.readyMs))
    } (slowest), then ${bytes(p.clientBytesPerSec)}/s and ${p.clientBatches ?? "n/a"} ` +
    `${l.name === "conntopd" ? "batches" : "DATA messages"} per client in the window, the ` +
    `clients' process ${pct(p.clientCpuPercent)} of a core` +
    (behind(p)
      ? ` — **fewer ${l.name === "conntopd" ? "batches" : "DATA messages"} than ticks: the ` +
        `clients were not kept up to date**`
      : "") +
    (p.drops > 0 ? `, **the server dropped clients ${p.drops} times** (they reconnected)` : "") +
    (p.retries.length > 0
      ? `, **the clients had to be started again ${p.retries.length} time(s)** (${
        p.retries.map((x) => x.split("\n")[0]).join("; ")
      })`
      : "") +
    (p.errors.length > 0 ? `, **errors: ${p.errors.join("; ")}**` : "")
  );
  // Who else was busy, where something was: a run disturbed by another job shows it here.
  const busy = l.phases.filter((p) => p.otherCpuPercent >= 10 && (p.others ?? []).length > 0)
    .map((p) =>
      `${phaseName(p)}: ${
        (p.others ?? []).filter((o) => o.cpuPercent >= 1).map((o) =>
          `${o.comm} ${pct(o.cpuPercent)}`
        ).join(", ") || "no single process"
      }`
    );
  const rss = l.phases.map((p) =>
    `${phaseName(p)} ${mib(Math.min(...p.rssKiB))}–${mib(Math.max(...p.rssKiB))}`
  );
  return `${l.name} (pid ${l.pid}, ${l.threads} threads, \`${l.exe}\`): ` +
    (parts.length > 0 ? `${parts.join("; ")}. ` : "") +
    `VmRSS within each window: ${rss.join(", ")}. Everything else on the machine used ` +
    `${l.phases.map((p) => pct(p.otherCpuPercent)).join(" / ")} of a core in the phases` +
    (busy.length > 0 ? ` (${busy.join("; ")})` : "") + "." +
    (l.failure === undefined ? "" : ` **It failed: ${l.failure.split("\n")[0]}**`) +
    (l.exitCode !== null ? ` **It exited by itself with ${exitText(l.exitCode)}.**` : "");
}

/** The section's notes. */
export function serverNotes(r: ServerResult): string[] {
  const f = figures(r);
  const n: string[] = [];
  const c = f.cold[0];
  n.push(
    "Snapshot: the client runs in the benchmark's process and is built on src/protocol " +
      "(scripts/_bench/server_client.ts): `LineReader`, every line checked by " +
      "`parseServerMessage` against the schema, parts assembled by `BatchAssembler` and applied " +
      "to a `ConnectionModel`; the time runs from `connect()` to the batch applied, the bytes " +
      "are those read from the socket. " +
      (c === undefined ? "" : `With collection paused (no client before), conntopd resumes it ` +
        `and dumps the table first: welcome after ${
          secs(median(f.cold.map((s) => s.welcomeMs)))
        }, ` +
        `first part after ${secs(median(f.cold.map((s) => s.firstPartMs)))}, last part after ` +
        `${secs(median(f.cold.map((s) => s.lastPartMs)))}. `) +
      `With another client connected the snapshot comes from the server's model: first part ` +
      `after ${secs(median(f.warm.map((s) => s.firstPartMs)))}. Snapshots came in ` +
      `${median(r.snapshots.map((s) => s.parts))} parts; the client's \`model.size\` was ` +
      `${[...new Set(r.snapshots.map((s) => count(s.modelSize)))].join(", ")} ` +
      `(table: ${count(r.loaded)}). Reference: \`ip netns exec NS conntrack -L\` with its ` +
      `text counted, alternating with the snapshots (${count(f.listLines)} lines).`,
  );
  const lv1 = f.levels[f.levels.length - 1];
  const lost = f.levels.filter((lv) => lv.eventLines < lv.changed);
  const lostText = lost.length === 0
    ? "It printed every event."
    : "It loses events of a large burst (ENOBUFS, whatever its `--buffer-size`): it printed " +
      lost.map((lv) => `${count(lv.eventLines)} of ${count(lv.changed)}`).join(" and ") +
      " (median), so its bytes are counted per event printed, times N.";
  n.push(
    "Deltas: one client connected; right after a tick, a helper in the namespace " +
      "(scripts/_bench/server_marks.ts) sets a new mark on N TCP or UDP flows of the table with " +
      "one ctnetlink update each (a mark changes nothing else; timeouts ticking down are " +
      "deliberately not changes for conntopd), and the deltas are read until they carried N " +
      `records (the updates took ${lv1 === undefined ? "n/a" : secs(lv1.changeMs)} at ` +
      `${lv1 === undefined ? "" : count(lv1.count)}). Bytes per changed connection = (delta ` +
      "bytes − an idle tick's × deltas) ÷ N; a record is 168 bytes, 224 in base64. Reference: " +
      "`conntrack -E -e UPDATE -b 64 MiB` in the namespace, its text counted over the same " +
      `changes. ${lostText} The namespace has \`nf_conntrack_events=1\`, so every change is ` +
      "also an event for conntopd.",
  );
  n.push(
    "Load: conntopd is the real server (`deno run` with its documented permissions, " +
      "`--netns NS --interval 1`, a fresh process for these phases); the clients are a " +
      "process of their own (scripts/_bench/server_clients.ts), each reading, checking and " +
      "applying everything into its own model. Each phase: the clients connect and get the " +
      "whole table, 3 s pass, then the window; CPU is utime + stime of every thread of the " +
      "server (/proc/PID/stat) over the window, RSS its VmRSS at the end of the window (sampled " +
      "every second; the window's range beside it when it varied: a snapshot's buffers are " +
      "garbage once sent, but V8 hands their memory back only at a major collection, seconds " +
      "later). " +
      "A few short-lived flows are inserted every 500 ms throughout, as on a live host. " +
      "Without clients conntopd pauses its collection. " + loadNote(r.ours),
  );
  if (r.cpp !== null) {
    n.push(
      "The original C++ conntop server (github ccomrade/conntop, built from its sources " +
        `outside this repository: \`${r.cpp.command.join(" ")}\`) runs inside the table's ` +
        "namespace (it has no option to read another) and listens on its loopback; its " +
        "clients (scripts/_bench/server_cpp_client.ts, written from the protocol's " +
        "description) run there too, ask for the whole table, then for updates after every " +
        "DATA message as its own client does, parse every message and keep the table. It " +
        "tracks TCP and UDP only and sends the whole table as one JSON line. " + loadNote(r.cpp),
    );
  }
  for (const a of r.cppAttempts) {
    const done = a.phases.map((p) =>
      `${phaseName(p)}: CPU ${pct(p.cpuPercent)}, RSS ${rssCell(p)}` +
      (p.clients > 0 ? `, the whole table in ${secs(Math.max(...p.readyMs))}` : "")
    );
    const last = [...new Set(a.notable)].slice(-2).map((l) => `\`${l.replace(/`/g, "'")}\``);
    n.push(
      `**C++ conntop at ${count(a.size)} connections failed**: ${a.failure?.split("\n")[0]}` +
        (a.exitCode !== null ? `; it exited with ${exitText(a.exitCode)}` : "") +
        (last.length > 0 ? `; its log ended with ${last.join(", ")}` : "") +
        (done.length > 0 ? `. Measured before that: ${done.join("; ")}.` : "."),
    );
  }
  if (r.fallback !== null) {
    if (r.fallback.ours !== null) {
      n.push(`At ${count(r.fallback.size)}: ` + loadNote(r.fallback.ours));
    }
    n.push(`At ${count(r.fallback.size)}: ` + loadNote(r.fallback.cpp));
  }
  if (r.cppMissing !== null) {
    n.push(
      `The original C++ conntop server was not measured: ${r.cppMissing}. Build it (see ` +
        "/work/ref/build-conntop-cpp.sh) and point CONNTOP_CPP_SERVER at its `conntopd`.",
    );
  }
  const notable = [...r.protocolNotable, ...r.ours.notable];
  if (notable.length > 0) {
    n.push(
      `conntopd's log had lines worth reading: ${
        notable.slice(0, 8).map((l) => `\`${l.replace(/`/g, "'")}\``).join("; ")
      }.`,
    );
  }
  if (r.cpp !== null && r.cpp.notable.length > 0) {
    n.push(
      `The C++ server's log: ${
        r.cpp.notable.slice(0, 8).map((l) => `\`${l.replace(/`/g, "'")}\``).join("; ")
      }.`,
    );
  }
  for (const o of r.oddities) n.push(`**${o}**`);
  return n;
}
