/**
 * The searchable text of each connection — protocol, state, both endpoints, NAT addresses, and
 * what enrichment adds (owning process, hostnames, countries, organisations, cities) — lower-case,
 * made only when a text filter or a search asks, and cached per slot until the slot changes.
 *
 * @module
 */

import {
  formatAddress,
  formatEndpoint,
  Has,
  IPS_DST_NAT,
  IPS_SRC_NAT,
  OFF,
  protoName,
  RECORD_SIZE,
  type RecordView,
  stateName,
} from "../conntrack/mod.ts";
import { type Owner, ownerText } from "../core/mod.ts";
import type { AddressLookup } from "./keys.ts";
import type { RecordReader } from "./order.ts";

/** What the texts read: the records, their owners, and enrichment answers when there are any. */
export interface TextSource extends RecordReader {
  owner(s: number): Owner | undefined;
}

/** The search texts, cached per slot. */
export class SearchTexts {
  #texts: (string | undefined)[] = [];
  #src: TextSource;
  #enrich: AddressLookup | undefined;

  constructor(src: TextSource, enrich?: AddressLookup) {
    this.#src = src;
    this.#enrich = enrich;
  }

  /** Forgets the text of `slot` (its record changed). */
  invalidate(slot: number): void {
    if (slot < this.#texts.length) this.#texts[slot] = undefined;
  }

  /** Forgets every text (new enrichment answers, or no text filter needs them any more). */
  invalidateAll(): void {
    this.#texts = [];
  }

  /** The text of the connection in `slot`. */
  get(slot: number): string {
    let t = this.#texts[slot];
    if (t === undefined) {
      const v = this.#src.page(slot), i = this.#src.index(slot);
      t = recordText(v, i);
      t += " " + this.#extra(slot, v, i).toLowerCase();
      this.#texts[slot] = t;
    }
    return t;
  }

  #extra(slot: number, v: RecordView, i: number): string {
    const o = this.#src.owner(slot);
    const parts = o === undefined ? [] : [ownerText(o)];
    const enrich = this.#enrich;
    if (enrich !== undefined) {
      for (const off of [OFF.ORIG_SRC, OFF.ORIG_DST]) {
        const a = enrich.addressAt(v, i, off);
        if (a.host?.status === "resolved" && a.host.name !== undefined) parts.push(a.host.name);
        if (a.geo?.country) parts.push(a.geo.country);
        if (a.geo?.org) parts.push(a.geo.org);
        if (a.geo?.city) parts.push(a.geo.city);
      }
    }
    return parts.join(" ");
  }
}

/**
 * The searchable text a record gives by itself, lower-case: protocol, state, both endpoints and
 * the NAT addresses (what enrichment adds comes on top).
 */
export function recordText(v: RecordView, i: number): string {
  const fam = v.u8At(i, OFF.FAMILY), l4 = v.u8At(i, OFF.L4);
  const base = i * RECORD_SIZE;
  const hasPorts = (v.u16At(i, OFF.HAS) & Has.PORTS) !== 0;
  const ep = (addrOff: number, portOff: number) =>
    formatEndpoint(formatAddress(fam, v.u8, base + addrOff), hasPorts ? v.u16At(i, portOff) : null);
  const parts = [
    protoName(l4),
    stateName(l4, v.u8At(i, OFF.STATE)) ?? "",
    ep(OFF.ORIG_SRC, OFF.ORIG_SPORT),
    ep(OFF.ORIG_DST, OFF.ORIG_DPORT),
  ];
  const status = v.u32At(i, OFF.STATUS);
  if (status & IPS_DST_NAT) parts.push(ep(OFF.REPLY_SRC, OFF.REPLY_SPORT)); // DNAT target
  if (status & IPS_SRC_NAT) parts.push(ep(OFF.REPLY_DST, OFF.REPLY_DPORT)); // SNAT source
  return parts.join(" ").toLowerCase();
}
