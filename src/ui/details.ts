/**
 * The details dialog (Enter): every field of one connection — both tuples, NAT, state, flags,
 * counters, rates, timestamps, timeout, mark, zones, helper, security context, labels, and what
 * enrichment knows (process, hostnames, address classes, GeoIP, services).
 *
 * @module
 */

import type { CellBuffer } from "../term/mod.ts";
import { formatEndpoint } from "../conntrack/mod.ts";
import type { Connection } from "../core/mod.ts";
import { humanBytes, humanDuration, humanRate } from "../output/units.ts";
import { centered, drawBox, drawMoreMarks, wrap } from "./draw.ts";
import { type HostEntry, ownerText } from "../core/mod.ts";
import type { Rect } from "./layout.ts";
import type { Theme } from "./theme.ts";

const n = (x: number | null) => (x === null ? "-" : String(x));

const exact = (x: number | null, human: (v: number | null) => string) =>
  x === null ? "-" : `${x} (${human(x)})`;

/** Where the reverse lookups of the source and destination stand, when known. */
export interface DetailsHosts {
  src?: HostEntry;
  dst?: HostEntry;
}

function hostLine(name: string | null, entry: HostEntry | undefined): string {
  if (name !== null) return name;
  switch (entry?.status) {
    case "pending":
      return "(resolving…)";
    case "not-found":
      return "(no name)";
    case "timeout":
      return "(lookup timed out)";
    case "failed":
      return `(lookup failed${entry.error === undefined ? "" : `: ${entry.error}`})`;
    default:
      return "-";
  }
}

function geoLine(
  country: string | null,
  asn: number | null,
  org: string | null,
  city: string | null,
) {
  const parts = [
    city ?? "",
    country ?? "",
    asn === null ? "" : `AS${asn}${org === null ? "" : ` ${org}`}`,
  ].filter((p) => p !== "");
  return parts.length === 0 ? "-" : parts.join(", ");
}

/**
 * The dialog's lines: [label, value]; an empty label starts a section. `hosts` says where
 * lookups stand when there is no name yet.
 */
export function detailsLines(c: Connection, hosts: DetailsHosts = {}): [string, string][] {
  const lines: [string, string][] = [
    ["", "Connection"],
    ["Protocol", `${c.protocol} (${c.protonum}), ${c.family}`],
    ["State", c.state ?? "-"],
    ["Flags", c.flags.length > 0 ? c.flags.join(" ") : "-"],
    ["Status", `0x${c.status.toString(16)}`],
    ["Id", String(c.id)],
    ["", "Original direction (initiator → responder)"],
    ["Source", formatEndpoint(c.orig_src, c.orig_sport)],
    ["Destination", formatEndpoint(c.orig_dst, c.orig_dport)],
    ["", "Reply direction"],
    ["Source", formatEndpoint(c.reply_src, c.reply_sport)],
    ["Destination", formatEndpoint(c.reply_dst, c.reply_dport)],
    ["", "Enrichment"],
    [
      "Process",
      c.process === null || c.pid === null
        ? "- (not found, or not a connection of this host)"
        : ownerText({ name: c.process, pid: c.pid }),
    ],
    ["Source host", hostLine(c.src_host, hosts.src)],
    ["Source class", c.src_class ?? "-"],
    ["Source GeoIP", geoLine(c.src_country, c.src_asn, c.src_org, c.src_city)],
    ["Destination host", hostLine(c.dst_host, hosts.dst)],
    ["Destination class", c.dst_class ?? "-"],
    ["Destination GeoIP", geoLine(c.dst_country, c.dst_asn, c.dst_org, c.dst_city)],
    ["Services", `${c.sport_service ?? "-"} → ${c.dport_service ?? "-"}`],
  ];
  if (c.icmp_type !== null) {
    lines.push(["ICMP", `type ${c.icmp_type} code ${c.icmp_code} id ${c.icmp_id}`]);
    lines.push(["ICMP reply", `type ${c.reply_icmp_type} code ${c.reply_icmp_code}`]);
  }
  if (c.gre_src_key !== null) lines.push(["GRE keys", `${c.gre_src_key} / ${c.gre_dst_key}`]);
  lines.push(["", "Address translation"]);
  lines.push([
    "SNAT",
    c.nat_src === null ? "none" : `source becomes ${formatEndpoint(c.nat_src, c.nat_sport)}`,
  ]);
  lines.push([
    "DNAT",
    c.nat_dst === null ? "none" : `destination becomes ${formatEndpoint(c.nat_dst, c.nat_dport)}`,
  ]);
  lines.push(
    ["", "Traffic (TX = original direction, RX = reply)"],
    ["TX bytes", exact(c.tx_bytes, humanBytes)],
    ["TX packets", n(c.tx_packets)],
    ["RX bytes", exact(c.rx_bytes, humanBytes)],
    ["RX packets", n(c.rx_packets)],
    ["TX rate", `${humanRate(c.tx_bytes_per_s)}, ${n(c.tx_packets_per_s)} packets/s`],
    ["RX rate", `${humanRate(c.rx_bytes_per_s)}, ${n(c.rx_packets_per_s)} packets/s`],
    ["", "Time"],
    ["Started", c.start ?? "- (timestamps off)"],
    ["Age", humanDuration(c.age_seconds)],
    ["Timeout", c.timeout === null ? "-" : `${c.timeout} s (${humanDuration(c.timeout)})`],
    ["", "Kernel"],
    ["Mark", `${c.mark} (0x${c.mark.toString(16)})`],
    ["Zone", n(c.zone)],
    ["Zone orig/reply", `${n(c.orig_zone)} / ${n(c.reply_zone)}`],
    ["Use", n(c.use)],
    ["Helper", c.helper ?? "-"],
    ["Security context", c.secctx ?? "-"],
    ["Labels", c.labels === null ? "-" : c.labels.join(",")],
  );
  return lines;
}

const LABEL_WIDTH = 18;
/** Narrower than this, a value goes under its label instead of beside it. */
const MIN_VALUE = 26;

/** One line of the dialog as shown: a label and a value (or a section title). */
interface DetailsRow {
  label: string;
  value: string;
  title: boolean;
}

function valueColumn(width: number): number {
  return width - LABEL_WIDTH >= MIN_VALUE ? LABEL_WIDTH : 2;
}

// The lines wrapped to `width` (inside the frame): long values (hostnames, organisations,
// security contexts) continue on the next line instead of being cut.
function rowsOf(lines: [string, string][], width: number): DetailsRow[] {
  const at = valueColumn(width);
  const rows: DetailsRow[] = [];
  for (const [label, value] of lines) {
    if (label === "") {
      for (const t of wrap(value, width)) rows.push({ label: "", value: t, title: true });
      continue;
    }
    const values = wrap(value, width - at);
    if (at === LABEL_WIDTH) {
      values.forEach((v, i) => rows.push({ label: i === 0 ? label : "", value: v, title: false }));
    } else {
      for (const l of wrap(label, width)) rows.push({ label: l, value: "", title: false });
      for (const v of values) rows.push({ label: "", value: v, title: false });
    }
  }
  return rows;
}

function geometry(area: Rect, lines: [string, string][]) {
  const width = Math.min(72, area.width);
  const rows = rowsOf(lines, width - 4);
  const box = centered(area, width, rows.length + 2);
  const innerHeight = box.width < 4 || box.height < 3 ? box.height : box.height - 2;
  return { box, rows, innerHeight };
}

/** How far the details of `lines` scroll in `area` (lines beyond the first page). */
export function detailsScrollMax(area: Rect, lines: [string, string][]): number {
  const { rows, innerHeight } = geometry(area, lines);
  return Math.max(0, rows.length - innerHeight);
}

/** Draws the details of `conn` over `area`; `ended` marks a connection that is gone. */
export function renderDetails(
  buf: CellBuffer,
  area: Rect,
  conn: Connection,
  ended: boolean,
  scroll: number,
  theme: Theme,
  hosts: DetailsHosts = {},
): void {
  const { box, rows } = geometry(area, detailsLines(conn, hosts));
  const title = `${conn.protocol} ${formatEndpoint(conn.orig_src, conn.orig_sport)} → ${
    formatEndpoint(conn.orig_dst, conn.orig_dport)
  }${ended ? " (ended)" : ""}`;
  const inner = drawBox(buf, box, title, theme.dialog, ended ? theme.error : theme.dialogTitle);
  if (inner.width <= 0) return;
  const at = valueColumn(inner.width);
  const top = Math.max(0, Math.min(scroll, rows.length - inner.height));
  for (let r = 0; r < inner.height && top + r < rows.length; r++) {
    const { label, value, title } = rows[top + r]!;
    const y = inner.y + r;
    if (title) {
      buf.setString(inner.x, y, value, theme.dialogTitle, inner.width);
      continue;
    }
    if (label !== "") buf.setString(inner.x, y, label, theme.dialog, inner.width);
    if (value !== "") buf.setString(inner.x + at, y, value, theme.dialog, inner.width - at);
  }
  drawMoreMarks(buf, box, top, inner.height, rows.length, theme.dialogTitle);
}
