/**
 * Service names of ports ("ssh" for 22/tcp), from /etc/services as getservbyport(3) reads it,
 * with a built-in table for systems without the file (containers often lack it).
 *
 * {@linkcode parseServices} is pure. {@linkcode loadServices} reads the file once (Requires
 * `--allow-read=/etc/services`); lookups never do I/O, so they can run for every row drawn.
 *
 * @example
 * ```ts
 * import { parseServices } from "./services.ts";
 *
 * const table = parseServices("ssh 22/tcp\ndomain 53/udp\n");
 * table.name("tcp", 22); // "ssh"
 * table.name("udplite", 53); // "domain" (UDP-Lite uses UDP's names)
 * table.name("tcp", 53); // undefined
 * ```
 *
 * @module
 */

import { BUILTIN_SERVICES } from "./_services_data.ts";

/** One line of /etc/services, without its aliases. */
export interface ServiceEntry {
  /** The official name. */
  name: string;
  /** The port, 0 to 65535. */
  port: number;
  /** The protocol as written ("tcp", "udp", "sctp", "dccp", …). */
  protocol: string;
}

/** Result of {@linkcode loadServices}. */
export interface LoadedServices {
  /** The names. */
  table: ServiceTable;
  /** Where they came from. */
  source: "file" | "builtin";
  /** Why the file was not used, when it was not. */
  warning?: string;
}

/**
 * Service names by protocol and port. For each protocol and port the first entry wins, as
 * getservbyport(3) returns the first matching line.
 */
export class ServiceTable {
  #byProtocol = new Map<string, Map<number, string>>();
  #size = 0;

  /**
   * Builds a table from entries in file order.
   *
   * @param entries The entries; a later entry for the same protocol and port is ignored.
   */
  constructor(entries: Iterable<ServiceEntry> = []) {
    for (const e of entries) {
      let ports = this.#byProtocol.get(e.protocol);
      if (ports === undefined) this.#byProtocol.set(e.protocol, ports = new Map());
      if (!ports.has(e.port)) {
        ports.set(e.port, e.name);
        this.#size++;
      }
    }
  }

  /** How many protocol and port pairs have a name. */
  get size(): number {
    return this.#size;
  }

  /**
   * The name of a port.
   *
   * @param protocol "tcp", "udp", "sctp", "dccp" or "udplite"; UDP-Lite falls back to UDP's
   * names, as it shares UDP's port space and /etc/services rarely lists it.
   * @param port The port number.
   * @returns The name, or undefined when the table has none.
   */
  name(protocol: string, port: number): string | undefined {
    const name = this.#byProtocol.get(protocol)?.get(port);
    if (name === undefined && protocol === "udplite") return this.#byProtocol.get("udp")?.get(port);
    return name;
  }

  /** Every entry, grouped by protocol, each protocol's ports in the order they were added. */
  *entries(): IterableIterator<ServiceEntry> {
    for (const [protocol, ports] of this.#byProtocol) {
      for (const [port, name] of ports) yield { name, port, protocol };
    }
  }
}

/**
 * The valid lines of an /etc/services text, in order, duplicates included: `name port/proto
 * [aliases…]`, with `#` starting a comment anywhere. Lines without a name, with a port that is
 * not a decimal number from 0 to 65535, or without a protocol are skipped, as glibc skips them.
 *
 * @param text The file's contents.
 * @returns The entries.
 */
export function parseServiceEntries(text: string): ServiceEntry[] {
  const out: ServiceEntry[] = [];
  for (const raw of text.split("\n")) {
    const hash = raw.indexOf("#");
    const line = hash < 0 ? raw : raw.slice(0, hash);
    const fields = line.split(/[ \t\r\f\v]+/).filter((f) => f !== "");
    const [name, portProto] = fields;
    if (name === undefined || portProto === undefined) continue;
    const m = /^(\d{1,5})\/(\S+)$/.exec(portProto);
    if (m === null) continue;
    const port = Number(m[1]);
    if (port > 65535) continue;
    out.push({ name, port, protocol: m[2]! });
  }
  return out;
}

/**
 * Parses an /etc/services text into a table (see {@linkcode parseServiceEntries}); for each
 * protocol and port the first line wins.
 *
 * @param text The file's contents.
 * @returns The table.
 */
export function parseServices(text: string): ServiceTable {
  return new ServiceTable(parseServiceEntries(text));
}

let builtin: ServiceTable | undefined;

/**
 * The built-in table: Debian's /etc/services, generated into _services_data.ts by
 * scripts/gen_services.ts (its header says which version).
 *
 * @returns The same table on every call.
 */
export function builtinServices(): ServiceTable {
  builtin ??= parseServices(BUILTIN_SERVICES);
  return builtin;
}

/**
 * Reads the service names from `path`, or falls back to the built-in table when the file is
 * missing or unreadable.
 *
 * Requires `--allow-read` for `path`; without it Deno's permission error is thrown, not
 * hidden behind the fallback.
 *
 * @example
 * ```ts ignore
 * const { table, warning } = await loadServices();
 * if (warning !== undefined) console.error(warning);
 * ```
 *
 * @param path The services file (default /etc/services).
 * @returns The table, where it came from, and a warning when the file was not used.
 */
export async function loadServices(path = "/etc/services"): Promise<LoadedServices> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (
      err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied ||
      err instanceof Deno.errors.IsADirectory
    ) {
      const table = builtinServices();
      return {
        table,
        source: "builtin",
        warning: `Failed to read service names from '${path}' (${err.message}): ` +
          `using the ${table.size} built-in ones`,
      };
    }
    throw err;
  }
  return { table: parseServices(text), source: "file" };
}
