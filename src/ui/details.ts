/**
 * The details dialog (Enter): every field of one connection — both tuples, NAT, state, flags,
 * counters, rates, timestamps, timeout, mark, zones, helper, security context, labels.
 *
 * @module
 */

import type { CellBuffer } from "../term/buffer.ts";
import { formatEndpoint } from "../conntrack/mod.ts";
import type { Connection } from "../model/mod.ts";
import { humanBytes, humanDuration, humanRate } from "../output/mod.ts";
import { centered, drawBox } from "./draw.ts";
import type { Rect } from "./layout.ts";
import type { Theme } from "./theme.ts";

const n = (x: number | null) => (x === null ? "-" : String(x));

const exact = (x: number | null, human: (v: number | null) => string) =>
  x === null ? "-" : `${x} (${human(x)})`;

/** The dialog's lines: [label, value]; an empty label starts a section. */
export function detailsLines(c: Connection): [string, string][] {
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

/** Draws the details of `conn` over `area`; `ended` marks a connection that is gone. */
export function renderDetails(
  buf: CellBuffer,
  area: Rect,
  conn: Connection,
  ended: boolean,
  scroll: number,
  theme: Theme,
): void {
  const lines = detailsLines(conn);
  const box = centered(area, 72, lines.length + 2);
  const title = `${conn.protocol} ${formatEndpoint(conn.orig_src, conn.orig_sport)} → ${
    formatEndpoint(conn.orig_dst, conn.orig_dport)
  }${ended ? " (ended)" : ""}`;
  const inner = drawBox(buf, box, title, theme.dialog, ended ? theme.error : theme.dialogTitle);
  const top = Math.max(0, Math.min(scroll, lines.length - inner.height));
  const labelWidth = 18;
  for (let r = 0; r < inner.height && top + r < lines.length; r++) {
    const [label, value] = lines[top + r]!;
    const y = inner.y + r;
    if (label === "") {
      buf.setString(inner.x, y, value, theme.dialogTitle, inner.width);
      continue;
    }
    buf.setString(inner.x, y, label, theme.dialog, Math.min(labelWidth, inner.width));
    if (inner.width > labelWidth) {
      buf.setString(inner.x + labelWidth, y, value, theme.dialog, inner.width - labelWidth);
    }
  }
}
