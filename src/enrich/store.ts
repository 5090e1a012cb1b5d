/**
 * The main thread's store of enrichment answers: for each address seen, its class (computed
 * here: it is arithmetic on the address), its GeoIP answer and its hostname (both from the
 * enrichment worker), plus the service names of ports.
 *
 * Addresses are looked up lazily, as rows show or a sort needs them, and asked of the worker in
 * one message per frame ({@linkcode EnrichStore.flush}). Nothing here does I/O.
 *
 * @module
 */

import { formatAddress, IPPROTO, parseAddress, type RecordView } from "../conntrack/mod.ts";
import { OFF, RECORD_SIZE } from "../conntrack/mod.ts";
import type { LocalAddressList } from "../core/mod.ts";
import type { EnrichedFields } from "../core/mod.ts";
import { addressClass, LocalAddresses } from "../core/mod.ts";
import type { ServiceTable } from "./services.ts";
import { type AddressClass, type GeoInfo, type HostEntry, NO_GEO } from "../core/mod.ts";

/** What is known about one address. */
export interface AddrInfo {
  readonly text: string;
  readonly family: 4 | 6;
  cls: AddressClass;
  /** The GeoIP answer; undefined while it is being looked up; NO_GEO for non-public classes. */
  geo: GeoInfo | undefined;
  /** The reverse-DNS answer; undefined until asked. */
  host: HostEntry | undefined;
  /** When the hostname was last asked for (ms), to ask again after a while. */
  hostAskedMs: number;
}

/** Where the store sends its questions (the enrichment worker's handle). */
export interface EnrichSink {
  geo(addresses: string[]): void;
  hosts(addresses: string[]): void;
}

/** How the store is set up. */
export interface EnrichStoreOptions {
  /** Look up GeoIP answers (off with --no-geoip). */
  geoip: boolean;
  /** May resolve hostnames at all (off with -n/--no-hostname). */
  hostnames: boolean;
  sink?: EnrichSink;
  /** Ask again for a name (or "no name") older than this (ms; failures: after a minute). */
  hostRefreshMs?: number;
  now?: () => number;
}

const PROTO_NAMES: Record<number, string> = {
  [IPPROTO.TCP]: "tcp",
  [IPPROTO.UDP]: "udp",
  [IPPROTO.UDPLITE]: "udplite",
  [IPPROTO.SCTP]: "sctp",
  [IPPROTO.DCCP]: "dccp",
};

/** The store. */
export class EnrichStore {
  /** Bumped whenever answers arrive (the UI redraws, a sort on these columns re-sorts). */
  version = 0;
  #opts: EnrichStoreOptions;
  #map = new Map<string, AddrInfo>();
  /**
   * IPv4 entries of #map by number (see addressAt), in four maps by the top two bits: the keys
   * stay small integers, where a 32-bit one would be boxed at each lookup.
   */
  #v4 = [0, 1, 2, 3].map(() => new Map<number, AddrInfo>());
  #local: LocalAddresses | undefined;
  #services: ServiceTable | undefined;
  #geoWanted: string[] = [];
  #hostWanted: string[] = [];
  #pendingGeo = 0;
  #pendingHosts = new Set<string>();
  #now: () => number;

  constructor(opts: EnrichStoreOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Whether hostnames may be resolved in this run. */
  get hostnamesAllowed(): boolean {
    return this.#opts.hostnames;
  }

  /** Whether GeoIP is on in this run. */
  get geoipOn(): boolean {
    return this.#opts.geoip;
  }

  /** The info of an address given as text; made (and its GeoIP asked for) on first use. */
  address(text: string): AddrInfo {
    const info = this.#map.get(text);
    if (info !== undefined) return info;
    const p = parseAddress(text);
    if (p === undefined) return this.#make(text, 4, undefined);
    return this.#make(text, p.family === 10 ? 6 : 4, p.bytes);
  }

  // A new entry for `text`, whose `bytes` are known (4 or 16 of them; undefined: not an address).
  #make(text: string, family: 4 | 6, bytes: Uint8Array | undefined): AddrInfo {
    const cls = bytes === undefined
      ? "reserved"
      : addressClass(family, family === 4 ? bytes.subarray(0, 4) : bytes, this.#local);
    const info: AddrInfo = { text, family, cls, geo: undefined, host: undefined, hostAskedMs: 0 };
    this.#classify(info, cls);
    this.#map.set(text, info);
    return info;
  }

  /**
   * The info of the address at byte offset `off` of record `i` in `v`. IPv4 addresses are found
   * by their number, without making their text: a sort on an enrichment column asks for every
   * row.
   */
  addressAt(v: RecordView, i: number, off: number): AddrInfo {
    const fam = v.u8At(i, OFF.FAMILY);
    const at = i * RECORD_SIZE + off;
    const b = v.u8;
    if (fam === 10) {
      const text = formatAddress(fam, b, at);
      return this.#map.get(text) ?? this.#make(text, 6, b.subarray(at, at + 16));
    }
    const n = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
    const v4 = this.#v4[n >>> 30]!, key = n & 0x3fffffff;
    let info = v4.get(key);
    if (info === undefined) {
      const text = formatAddress(fam, b, at);
      info = this.#map.get(text) ?? this.#make(text, 4, b.subarray(at, at + 4));
      v4.set(key, info);
    }
    return info;
  }

  /** Asks for the hostname of `info` unless it is known and fresh or already asked. */
  wantHost(info: AddrInfo): void {
    if (!this.#opts.hostnames) return;
    const now = this.#now();
    if (info.host !== undefined) {
      if (info.host.status === "pending") return;
      // Names and "no name" are asked again after a while; failures and timeouts sooner.
      const final = info.host.status === "resolved" || info.host.status === "not-found";
      const refresh = final ? this.#opts.hostRefreshMs ?? 10 * 60_000 : 60_000;
      if (now - info.hostAskedMs < refresh) return;
    } else {
      info.host = { status: "pending" };
    }
    info.hostAskedMs = now;
    this.#pendingHosts.add(info.text);
    this.#hostWanted.push(info.text);
  }

  /** The monitored host's interface addresses: "this-host" and broadcast follow them. */
  setLocal(list: LocalAddressList | undefined): void {
    const next = list === undefined ? undefined : LocalAddresses.fromJSON(list);
    if (next === undefined && this.#local === undefined) return;
    if (next !== undefined && this.#local !== undefined && next.equals(this.#local)) return;
    this.#local = next;
    for (const info of this.#map.values()) {
      const p = parseAddress(info.text);
      if (p === undefined) continue;
      const b = info.family === 4 ? p.bytes.subarray(0, 4) : p.bytes;
      const cls = addressClass(info.family, b, next);
      if (cls !== info.cls) this.#classify(info, cls);
    }
    this.version++;
  }

  /** The service names (from /etc/services, or the built-in table). */
  setServices(table: ServiceTable): void {
    this.#services = table;
    this.version++;
  }

  /** The service name of `port` for protocol number `protonum`, if it has one. */
  service(protonum: number, port: number | null): string | undefined {
    const proto = PROTO_NAMES[protonum];
    if (port === null || proto === undefined || this.#services === undefined) return undefined;
    return this.#services.name(proto, port);
  }

  /** Takes answers from the worker. */
  apply(geo: [string, GeoInfo][], hosts: [string, HostEntry][]): void {
    for (const [text, g] of geo) {
      const info = this.#map.get(text);
      if (info !== undefined && info.geo === undefined) {
        info.geo = g;
        this.#pendingGeo--;
      }
    }
    for (const [text, h] of hosts) {
      this.#pendingHosts.delete(text);
      const info = this.#map.get(text);
      if (info !== undefined) info.host = h;
    }
    if (geo.length > 0 || hosts.length > 0) this.version++;
  }

  /** Sends the questions gathered since the last flush. */
  flush(): void {
    const sink = this.#opts.sink;
    if (this.#geoWanted.length > 0) {
      sink?.geo(this.#geoWanted);
      this.#geoWanted = [];
    }
    if (this.#hostWanted.length > 0) {
      sink?.hosts(this.#hostWanted);
      this.#hostWanted = [];
    }
  }

  /** Questions asked and not answered yet. */
  get pending(): number {
    return this.#pendingGeo + this.#pendingHosts.size;
  }

  /** GeoIP questions asked and not answered yet. */
  get pendingGeo(): number {
    return this.#pendingGeo;
  }

  /** Hostname questions asked and not answered yet. */
  get pendingHosts(): number {
    return this.#pendingHosts.size;
  }

  /** Addresses known. */
  get size(): number {
    return this.#map.size;
  }

  /**
   * Forgets every answered address once the store holds more than `max` (a long run sees many
   * addresses come and go; those still shown are looked up again, the worker answering from its
   * caches). Addresses with a question pending are kept.
   */
  prune(max: number): void {
    if (this.#map.size <= max) return;
    for (const [text, info] of this.#map) {
      if (info.geo === undefined || info.host?.status === "pending") continue;
      this.#map.delete(text);
    }
    for (const v4 of this.#v4) {
      for (const [n, info] of v4) if (!this.#map.has(info.text)) v4.delete(n);
    }
  }

  /**
   * Fills the enrichment fields of `c` from what is known (classes, GeoIP, hostnames, service
   * names); with `hosts`, asks for the hostnames not known yet. `src` and `dst` are the
   * addresses' entries when the caller has them (from {@linkcode EnrichStore.addressAt}).
   */
  fill(
    c: EnrichedFields & ConnectionAddresses,
    hosts: boolean,
    src: AddrInfo = this.address(c.orig_src),
    dst: AddrInfo = this.address(c.orig_dst),
  ): void {
    if (hosts) {
      this.wantHost(src);
      this.wantHost(dst);
    }
    c.src_class = src.cls;
    c.dst_class = dst.cls;
    c.src_host = src.host?.status === "resolved" ? src.host.name ?? null : null;
    c.dst_host = dst.host?.status === "resolved" ? dst.host.name ?? null : null;
    const sg = src.geo ?? NO_GEO, dg = dst.geo ?? NO_GEO;
    c.src_country = sg.country;
    c.dst_country = dg.country;
    c.src_asn = sg.asn;
    c.dst_asn = dg.asn;
    c.src_org = sg.org;
    c.dst_org = dg.org;
    c.src_city = sg.city;
    c.dst_city = dg.city;
    c.sport_service = this.service(c.protonum, c.orig_sport) ?? null;
    c.dport_service = this.service(c.protonum, c.orig_dport) ?? null;
  }

  // Public addresses get a GeoIP question (again, when they become public); the others never
  // have an answer.
  #classify(info: AddrInfo, cls: AddressClass): void {
    const known = this.#map.has(info.text);
    const wasPublic = known && info.cls === "public";
    const wasPending = wasPublic && info.geo === undefined;
    info.cls = cls;
    if (cls === "public" && this.#opts.geoip) {
      if (!wasPublic) {
        info.geo = undefined;
        this.#geoWanted.push(info.text);
        this.#pendingGeo++;
      }
    } else {
      if (wasPending) this.#pendingGeo--;
      info.geo = NO_GEO;
    }
  }
}

/** The fields of a connection that {@linkcode EnrichStore.fill} reads. */
export interface ConnectionAddresses {
  protonum: number;
  "orig_src": string;
  "orig_dst": string;
  "orig_sport": number | null;
  "orig_dport": number | null;
}
