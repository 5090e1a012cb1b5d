/**
 * The header: who and what is monitored, how full the table is, the total rates, and how the
 * collector is doing — htop's meters, for conntrack.
 *
 * ```
 *  conntop@router  live          Conns 1234  tcp 1000 udp 200 icmp 34     PAUSED LOCKED
 *  (remote: conntop@router  remote 192.0.2.1:55555 · reconnecting in 3 s (…)  Conns …  STALE)
 *  Table [||||||        1234/262144]  TX 1.2M/s  RX 3.4M/s  Acct on  Stamps on
 *  Collector: dump 12 ms, 34 dumps, 120 events, 0 overruns          Last error: …
 * ```
 *
 * @module
 */

import type { CellBuffer } from "../term/mod.ts";
import { humanRate } from "../output/units.ts";
import { stringWidth } from "../term/mod.ts";
import { cut, LineWriter } from "./draw.ts";
import type { Rect } from "./layout.ts";
import type { Theme } from "./theme.ts";
import type { HeaderView } from "./view.ts";

/** Draws the header into `rect` (3 lines, or a 1-line summary when that is all there is). */
export function renderHeader(buf: CellBuffer, rect: Rect, h: HeaderView, theme: Theme): void {
  if (rect.height <= 0 || rect.width <= 0) return;
  if (rect.height < 3) return renderCompact(buf, rect, h, theme);
  line1(flagged(buf, rect, h, theme), h, theme);
  line2(new LineWriter(buf, rect, 1), h, theme);
  line3(new LineWriter(buf, rect, 2), h, theme);
}

function flags(h: HeaderView): string[] {
  const out: string[] = [];
  if (h.stale) out.push("STALE");
  if (h.filter !== "") out.push(`FILTER: ${cut(h.filter, 20)}`);
  if (h.recordingError !== undefined) out.push(`REC failed: ${h.recordingError}`);
  else if (h.recording !== undefined) out.push("REC");
  if (h.locked) out.push("LOCKED");
  if (h.paused) out.push("PAUSED");
  return out;
}

/**
 * Draws the flags (PAUSED, FILTER…) at the right end of the header's first line and returns a
 * writer for what is left of it: the flags say what state the screen is in, so they keep their
 * place and the rest of the line is cut (with "…") before them.
 */
function flagged(buf: CellBuffer, rect: Rect, h: HeaderView, theme: Theme): LineWriter {
  const text = flags(h).join(" ");
  if (text === "") return new LineWriter(buf, { ...rect, height: 1 }, 0);
  const shown = cut(text, Math.max(0, rect.width - 2));
  const width = stringWidth(shown) + 1;
  buf.setString(rect.x + rect.width - width, rect.y, shown + " ", theme.warn, width);
  return new LineWriter(buf, { ...rect, width: Math.max(0, rect.width - width - 1) }, 0);
}

function line1(w: LineWriter, h: HeaderView, theme: Theme): void {
  w.put(" conntop", theme.label).put("@", theme.label).put(h.host, theme.value);
  const level = h.sourceLevel ?? "ok";
  w.put(`  ${h.source}`, level === "ok" ? theme.text : theme[level]);
  const t = h.totals;
  w.put("   Conns ", theme.label).put(t ? String(t.count) : "-", theme.value);
  if (t) {
    const protos = Object.entries(t.byProto).sort((a, b) => b[1] - a[1]);
    for (const [name, n] of protos) w.put(` ${name} `, theme.label).put(String(n), theme.text);
  }
}

function meter(w: LineWriter, used: number, max: number | null, theme: Theme): void {
  const label = max === null ? `${used}` : `${used}/${max}`;
  // The bar gives way to what follows it on the line ("Table [", "]" and at most 48 columns of
  // rates and Acct/Stamps), so at 80 columns those are not cut off.
  const inner = Math.max(label.length + 2, Math.min(40, w.room - 56));
  const frac = max === null || max <= 0 ? 0 : Math.min(1, used / max);
  const fill = Math.round(frac * (inner - label.length - 1));
  w.put("Table ", theme.label).put("[", theme.meterFrame);
  w.put("|".repeat(fill), theme.meterBar);
  w.put(" ".repeat(Math.max(0, inner - fill - label.length)), theme.text);
  w.put(label, theme.dim).put("]", theme.meterFrame);
}

const onOff = (v: boolean | null | undefined) => (v === true ? "on" : v === false ? "OFF" : "?");

function line2(w: LineWriter, h: HeaderView, theme: Theme): void {
  const t = h.totals;
  w.put(" ");
  meter(w, t?.kernelCount ?? t?.count ?? 0, t?.max ?? null, theme);
  w.put("  TX ", theme.label).put(humanRate(h.txRate), theme.value);
  w.put("  RX ", theme.label).put(humanRate(h.rxRate), theme.value);
  w.put("  Acct ", theme.label).put(
    onOff(t?.accounting),
    t?.accounting === false ? theme.warn : theme.text,
  );
  w.put("  Stamps ", theme.label).put(
    onOff(t?.timestamps),
    t?.timestamps === false ? theme.warn : theme.text,
  );
  if (t !== undefined && t.offloaded > 0) {
    w.put("  Offloaded ", theme.label).put(String(t.offloaded), theme.warn);
  }
}

function line3(w: LineWriter, h: HeaderView, theme: Theme): void {
  w.put(" ");
  if (h.replay !== undefined) {
    const r = h.replay;
    w.put("Replay ", theme.label).put(`×${formatSpeed(r.speed)}`, theme.value);
    w.put(`  at ${new Date(r.atMs).toISOString().slice(0, 19).replace("T", " ")}`, theme.text);
    if (r.paused) w.put("  paused", theme.warn);
    if (r.damaged !== undefined) w.put(`  ${r.damaged}`, theme.error);
    else if (r.ended) w.put("  end of recording", theme.warn);
    return;
  }
  const s = h.status;
  if (s === undefined) {
    w.put("Collector: starting…", theme.dim);
  } else {
    w.put("Collector: ", theme.label);
    w.put(
      `dump ${s.dumpMs.toFixed(0)} ms, ${s.dumps} dumps, ${s.events} events, `,
      theme.text,
    );
    w.put(`${s.eventOverruns} overruns`, s.eventOverruns > 0 ? theme.warn : theme.text);
    if (!s.eventsEnabled) w.put(", no events", theme.warn);
  }
  const err = h.lastError ?? h.status?.lastError;
  if (err !== undefined) w.put("  ").put(err, theme.error);
}

function renderCompact(buf: CellBuffer, rect: Rect, h: HeaderView, theme: Theme): void {
  const w = flagged(buf, rect, h, theme);
  w.put(" ").put(h.totals ? String(h.totals.count) : "-", theme.value).put(" conns", theme.label);
  w.put("  TX ", theme.label).put(humanRate(h.txRate), theme.value);
  w.put(" RX ", theme.label).put(humanRate(h.rxRate), theme.value);
}

/** A replay speed as text: 1, 2, 0.5, 1/16. */
export function formatSpeed(s: number): string {
  return s >= 1 ? String(Math.round(s * 100) / 100) : `1/${Math.round(1 / s)}`;
}
