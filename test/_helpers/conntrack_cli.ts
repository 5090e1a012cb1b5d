/**
 * Parsers for the output of the reference tool, `conntrack` from conntrack-tools, so that tests
 * can compare what conntop reads with what conntrack prints, field by field.
 *
 * Two formats are read, because neither is complete on its own (conntrack-tools 1.4.7 with
 * libnetfilter_conntrack 1.0.9, both formatters in libnetfilter_conntrack):
 *
 * - `conntrack -L -o xml[,ktimestamp]` → {@linkcode parseConntrackXml}. Has exact nanosecond
 *   timestamps, but no ICMP type, code or id at all (`<layer4>` is empty for icmp and icmpv6),
 *   and prints SCTP and DCCP states with the *TCP* state names: SCTP ESTABLISHED (3) shows as
 *   `<state>FIN_WAIT</state>`.
 * - `conntrack -L -o extended,id[,ktimestamp]` → {@linkcode parseConntrackExtended}. Has ICMP
 *   type, code and id and the right SCTP state names, but timestamps only as local `ctime()`
 *   strings rounded to the second. Its DCCP states are looked up in the SCTP name table, so they
 *   are wrong too; compare DCCP states with neither format.
 *
 * Other things both formats share:
 * - GRE keys are printed as `0x%x` of 16 bits only: `--srckey 0x12345` is stored and shown as
 *   `0x2345` (conntrack-tools keeps the PPTP call id, not a 32-bit GRE key).
 * - Counters appear only when `net.netfilter.nf_conntrack_acct` was 1 when the entry was made;
 *   timestamps (and `deltatime`/`delta-time`) only when `nf_conntrack_timestamp` was 1.
 * - `zone` appears only when non-zero; per-direction zones (`--orig-zone`) appear inside the
 *   direction (`<zone>` in XML, `zone-orig=`/`zone-reply=` in text).
 * - Flags are empty XML elements `<assured/>`, `<unreplied/>`, or `[ASSURED]`, `[UNREPLIED]` in
 *   text; both parsers report them lower-cased (`"assured"`, `"unreplied"`, `"offload"`).
 * - Kernels from 6.16 on have no DCCP tracker: DCCP entries are tracked generically, with ports
 *   `0` and no state, whatever was inserted.
 * - SCTP verification tags (`--orig-vtag`) are printed by neither format.
 *
 * Both parsers are pure functions with no I/O; they throw on text that is not what conntrack
 * prints rather than guess.
 *
 * @example
 * ```ts ignore
 * import { parseConntrackXml } from "./conntrack_cli.ts";
 *
 * const { stdout } = await ns.conntrack(["-L", "-o", "xml,ktimestamp"]);
 * for (const flow of parseConntrackXml(stdout)) {
 *   console.log(flow.l4name, flow.orig.src, flow.orig.sport, flow.state);
 * }
 * ```
 *
 * @module
 */

/** One direction of a flow (`original` or `reply`), as conntrack prints it. */
export interface CliTuple {
  /** Source address, as inet_ntop prints it (`10.0.0.1`, `fd00::1`). */
  src: string;
  /** Destination address. */
  dst: string;
  /** Source port (tcp, udp, udplite, sctp, dccp). */
  sport?: number;
  /** Destination port. */
  dport?: number;
  /** ICMP type (extended format only). */
  type?: number;
  /** ICMP code (extended format only). */
  code?: number;
  /** ICMP echo identifier (extended format only). */
  id?: number;
  /** GRE source key, 16 bits (printed as hex). */
  srckey?: number;
  /** GRE destination key, 16 bits (printed as hex). */
  dstkey?: number;
  /** Per-direction zone (`--orig-zone`/`--reply-zone`). */
  zone?: number;
  /** Packets counted in this direction (only with accounting on). */
  packets?: number;
  /** Bytes counted in this direction (only with accounting on). */
  bytes?: number;
}

/** Event type of a flow printed by `conntrack -E`. */
export type CliEvent = "new" | "update" | "destroy";

/** Fields both formats print. */
export interface CliFlowBase {
  /** Layer-3 protocol. */
  l3: "ipv4" | "ipv6";
  /** Layer-4 protocol number (6 tcp, 17 udp, 136 udplite, 132 sctp, 33 dccp, 1, 58, 47 gre). */
  l4proto: number;
  /** Layer-4 protocol name as conntrack prints it (`tcp`, `icmpv6`, `unknown`). */
  l4name: string;
  /** The original direction. */
  orig: CliTuple;
  /** The reply direction. */
  reply: CliTuple;
  /** Protocol state (tcp, sctp, dccp); see the module docs for which names can be trusted. */
  state?: string;
  /** Seconds until the entry expires. */
  timeout: number;
  /** Connection mark. */
  mark?: number;
  /** Security mark. */
  secmark?: number;
  /** Security context. */
  secctx?: string;
  /** Zone, present only when non-zero. */
  zone?: number;
  /** Reference count. */
  use?: number;
  /** Lower-cased status flags: `"assured"`, `"unreplied"`, and whatever else is printed. */
  flags: string[];
  /** Connection labels, by name. */
  labels?: string[];
  /** Name of the conntrack helper. */
  helper?: string;
  /** Seconds since the flow started (or until it stopped), computed by conntrack. */
  deltatime?: number;
  /** Event type, for `conntrack -E` output. */
  event?: CliEvent;
}

/** A flow read from `conntrack -L -o xml`. */
export interface XmlFlow extends CliFlowBase {
  /** Conntrack id, always printed in XML. */
  id: number;
  /** Start time in nanoseconds since the epoch (`-o xml,ktimestamp`). */
  start?: bigint;
  /** Stop time in nanoseconds since the epoch (`-o xml,ktimestamp`, dying flows). */
  stop?: bigint;
}

/** A flow read from `conntrack -L -o extended,id`. */
export interface ExtendedFlow extends CliFlowBase {
  /** Conntrack id, printed only with the `id` output option. */
  id?: number;
  /** Start time as printed by `ktimestamp`: local `ctime()` text such as `Tue Nov 24 18:18:04 2026`. */
  start?: string;
  /** Stop time, in the same form as {@linkcode ExtendedFlow.start}. */
  stop?: string;
}

const L3_NAMES: Record<string, "ipv4" | "ipv6"> = { ipv4: "ipv4", ipv6: "ipv6" };
const EVENTS: Record<string, CliEvent> = {
  "[NEW]": "new",
  "[UPDATE]": "update",
  "[DESTROY]": "destroy",
  new: "new",
  update: "update",
  destroy: "destroy",
};

function parseNumber(text: string, where: string): number {
  const value = text.trim();
  // Number() also accepts "0x1f", which is how GRE keys are printed.
  const parsed = /^(\d+|0x[0-9a-f]+)$/i.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed)) {
    throw new Error(
      `Failed to parse conntrack output: expected a number in ${where}, got '${text}'`,
    );
  }
  return parsed;
}

function parseBigInt(text: string, where: string): bigint {
  if (!/^\d+$/.test(text.trim())) {
    throw new Error(
      `Failed to parse conntrack output: expected a number in ${where}, got '${text}'`,
    );
  }
  return BigInt(text.trim());
}

function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, entity: string) => {
    switch (entity.toLowerCase()) {
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "amp":
        return "&";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    const code = entity[1] === "x" || entity[1] === "X"
      ? parseInt(entity.slice(2), 16)
      : parseInt(entity.slice(1), 10);
    return String.fromCodePoint(code);
  });
}

/** A tuple being filled in, before `src` and `dst` are known to be there. */
type PartialTuple = Partial<CliTuple>;

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
}

/** What is known of the flow being read, until its `</flow>`. */
interface XmlFlowState {
  l3?: "ipv4" | "ipv6";
  l4proto?: number;
  l4name?: string;
  orig: PartialTuple;
  reply: PartialTuple;
  meta: Partial<XmlFlow>;
  flags: string[];
  labels: string[];
}

/** Sets a tuple field from a `<layer3>`/`<layer4>`/`<counters>` child; ignores unknown keys. */
function setTupleField(tuple: PartialTuple, key: string, value: string, where: string): void {
  switch (key) {
    case "src":
    case "dst":
      tuple[key] = value;
      break;
    case "sport":
    case "dport":
    case "type":
    case "code":
    case "id":
    case "srckey":
    case "dstkey":
    case "zone":
    case "packets":
    case "bytes":
      tuple[key] = parseNumber(value, where);
      break;
  }
}

function completeTuple(tuple: PartialTuple, where: string): CliTuple {
  if (tuple.src === undefined || tuple.dst === undefined) {
    throw new Error(`Failed to parse conntrack output: expected src and dst in ${where}`);
  }
  return tuple as CliTuple;
}

function flowText(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

const XML_TOKEN =
  /<\?[^>]*\?>|<!--[\s\S]*?-->|<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)|</g;
const XML_ATTR = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/**
 * Reads the flows of `conntrack -L -o xml` (or `conntrack -E -o xml`) output.
 *
 * Tolerant of whitespace and line breaks between elements and of attribute order; unknown
 * elements are skipped. The XML lacks ICMP type/code/id and misnames SCTP/DCCP states; see the
 * module docs.
 *
 * @example
 * ```ts
 * import { parseConntrackXml } from "./conntrack_cli.ts";
 *
 * const [flow] = parseConntrackXml(
 *   '<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1' +
 *     '</src><dst>10.0.0.2</dst></layer3><layer4 protonum="17" protoname="udp"><sport>53' +
 *     '</sport><dport>5353</dport></layer4></meta><meta direction="reply"><layer3 ' +
 *     'protonum="2" protoname="ipv4"><src>10.0.0.2</src><dst>10.0.0.1</dst></layer3>' +
 *     '<layer4 protonum="17" protoname="udp"><sport>5353</sport><dport>53</dport></layer4>' +
 *     '</meta><meta direction="independent"><timeout>30</timeout><id>7</id><unreplied/>' +
 *     "</meta></flow>",
 * );
 * console.assert(flow?.orig.sport === 53 && flow.flags[0] === "unreplied");
 * ```
 *
 * @param xml The whole output (the `<?xml …?>` prologue and `<conntrack>` root are optional).
 * @returns The flows in the order printed.
 * @throws {Error} When a flow lacks addresses, protocol numbers, a timeout or an id, when a
 * number is malformed, or when elements do not nest.
 */
export function parseConntrackXml(xml: string): XmlFlow[] {
  const flows: XmlFlow[] = [];
  const stack: XmlElement[] = [];
  let flowStart = 0;
  let flow: XmlFlowState | undefined;

  for (const match of xml.matchAll(XML_TOKEN)) {
    const [token, closing, name, attrText, selfClosing, text] = match;
    if (token.startsWith("<?") || token.startsWith("<!--")) continue;
    if (text !== undefined) {
      // Text outside a flow (whitespace, or conntrack's own summary when stderr was merged into
      // stdout) carries no field.
      if (flow !== undefined && text.trim() !== "") {
        readXmlText(flow, stack, decodeEntities(text.trim()));
      }
      continue;
    }
    if (name === undefined) {
      throw new Error(
        `Failed to parse conntrack XML: malformed tag at '${
          flowText(xml.slice(match.index, match.index + 60))
        }'`,
      );
    }
    if (closing === "/") {
      const open = stack.pop();
      if (open?.name !== name) {
        throw new Error(
          `Failed to parse conntrack XML: expected '</${
            open?.name ?? "(none)"
          }>', got '</${name}>'`,
        );
      }
      if (name === "flow" && flow !== undefined) {
        flows.push(finishXmlFlow(flow, xml.slice(flowStart, match.index + token.length)));
        flow = undefined;
      }
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const [, key, double, single] of (attrText ?? "").matchAll(XML_ATTR)) {
      if (key !== undefined) attrs[key] = decodeEntities(double ?? single ?? "");
    }
    const element: XmlElement = { name, attrs };
    if (name === "flow") {
      if (flow !== undefined) {
        throw new Error("Failed to parse conntrack XML: expected '</flow>', got a nested '<flow>'");
      }
      flowStart = match.index;
      flow = { orig: {}, reply: {}, meta: {}, flags: [], labels: [] };
      const event = attrs["type"];
      if (event !== undefined) {
        const known = EVENTS[event];
        if (known === undefined) {
          throw new Error(`Failed to parse conntrack XML: unknown flow type '${event}'`);
        }
        flow.meta.event = known;
      }
    } else if (flow !== undefined) {
      openXmlElement(flow, stack, element);
    }
    if (selfClosing === "/") {
      if (flow !== undefined && name !== "flow") readXmlEmpty(flow, stack, name);
    } else {
      stack.push(element);
    }
  }
  if (flow !== undefined) {
    throw new Error(
      `Failed to parse conntrack XML: expected '</flow>' before the end, got '${
        flowText(xml.slice(flowStart))
      }'`,
    );
  }
  return flows;
}

function direction(stack: readonly XmlElement[]): string | undefined {
  for (let i = stack.length - 1; i >= 0; i--) {
    const element = stack[i];
    if (element?.name === "meta") return element.attrs["direction"];
  }
  return undefined;
}

function openXmlElement(
  flow: XmlFlowState,
  stack: readonly XmlElement[],
  element: XmlElement,
): void {
  const dir = direction(stack);
  if (dir !== "original") return;
  if (element.name === "layer3") {
    const l3 = L3_NAMES[element.attrs["protoname"] ?? ""];
    if (l3 === undefined) {
      throw new Error(
        `Failed to parse conntrack XML: expected protoname 'ipv4' or 'ipv6' in <layer3>, got '${
          element.attrs["protoname"]
        }'`,
      );
    }
    flow.l3 = l3;
  } else if (element.name === "layer4") {
    flow.l4proto = parseNumber(element.attrs["protonum"] ?? "", "<layer4 protonum>");
    flow.l4name = element.attrs["protoname"] ?? "unknown";
  }
}

function readXmlText(flow: XmlFlowState, stack: readonly XmlElement[], text: string): void {
  const element = stack.at(-1);
  if (element === undefined) return;
  const name = element.name;
  const where = `<${name}>`;
  const dir = direction(stack);
  if (dir === "original" || dir === "reply") {
    const tuple = dir === "original" ? flow.orig : flow.reply;
    setTupleField(tuple, name, text, where);
    return;
  }
  const meta = flow.meta;
  // libnetfilter_conntrack prints <helper> after the independent <meta>, right inside <flow>.
  if (dir === undefined && name === "helper" && stack.at(-2)?.name === "flow") {
    meta.helper = text;
    return;
  }
  if (dir !== "independent") return;
  switch (name) {
    case "state":
      meta.state = text;
      break;
    case "timeout":
    case "mark":
    case "secmark":
    case "zone":
    case "use":
    case "id":
    case "deltatime":
      meta[name] = parseNumber(text, where);
      break;
    case "secctx":
    case "helper":
      meta[name] = text;
      break;
    case "label":
      flow.labels.push(text);
      break;
    case "start":
    case "stop":
      if (stack.some((e) => e.name === "timestamp")) meta[name] = parseBigInt(text, where);
      break;
  }
}

function readXmlEmpty(flow: XmlFlowState, stack: readonly XmlElement[], name: string): void {
  if (direction(stack) === "independent" && stack.at(-1)?.name === "meta") {
    flow.flags.push(name.toLowerCase());
  }
}

function finishXmlFlow(flow: XmlFlowState, text: string): XmlFlow {
  const where = `flow '${flowText(text)}'`;
  if (flow.l3 === undefined || flow.l4proto === undefined || flow.l4name === undefined) {
    throw new Error(
      `Failed to parse conntrack XML: expected <layer3> and <layer4> in the original direction of ${where}`,
    );
  }
  const { timeout, id } = flow.meta;
  if (timeout === undefined || id === undefined) {
    throw new Error(`Failed to parse conntrack XML: expected <timeout> and <id> in ${where}`);
  }
  const result: XmlFlow = {
    l3: flow.l3,
    l4proto: flow.l4proto,
    l4name: flow.l4name,
    orig: completeTuple(flow.orig, `the original direction of ${where}`),
    reply: completeTuple(flow.reply, `the reply direction of ${where}`),
    ...flow.meta,
    timeout,
    id,
    flags: flow.flags,
  };
  if (flow.labels.length > 0) result.labels = flow.labels;
  return result;
}

const TUPLE_KEYS = new Set([
  "src",
  "dst",
  "sport",
  "dport",
  "type",
  "code",
  "id",
  "srckey",
  "dstkey",
  "zone-orig",
  "zone-reply",
  "packets",
  "bytes",
]);

/**
 * Reads the flows of `conntrack -L -o extended,id` output, one per line (also plain `-L`,
 * without the layer-3 columns, and `conntrack -E` lines with their `[NEW]` prefix).
 *
 * The same key appears in both directions (`src=` twice): the first `src=` starts the original
 * tuple, the second the reply tuple, and the first key that belongs to no tuple (`mark=`,
 * `use=`, …) ends it. `id=` is the ICMP id inside a tuple that has a `code=`, and the conntrack
 * id after it. Blank lines and conntrack's own `conntrack v1.4.7 (conntrack-tools): …` messages
 * are skipped.
 *
 * @example
 * ```ts
 * import { parseConntrackExtended } from "./conntrack_cli.ts";
 *
 * const [flow] = parseConntrackExtended(
 *   "ipv4     2 icmp     1 29 src=10.9.0.1 dst=10.9.0.2 type=8 code=0 id=7 " +
 *     "src=10.9.0.2 dst=10.9.0.1 type=0 code=0 id=7 mark=0 use=1 id=1421314759",
 * );
 * console.assert(flow?.orig.id === 7 && flow.id === 1421314759);
 * ```
 *
 * @param text The whole output.
 * @returns The flows in the order printed.
 * @throws {Error} When a line is not a conntrack flow line; the message quotes the line.
 */
export function parseConntrackExtended(text: string): ExtendedFlow[] {
  const flows: ExtendedFlow[] = [];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("conntrack v")) continue;
    flows.push(parseExtendedLine(line));
  }
  return flows;
}

function parseExtendedLine(line: string): ExtendedFlow {
  const fail = (why: string): never => {
    throw new Error(`Failed to parse conntrack line: ${why}, in '${line}'`);
  };
  // A token is a bracketed group, which may hold spaces ("[start=Tue Nov 24 18:18:04 2026]"),
  // or a run of non-space characters.
  const tokens = line.match(/\[[^\]]*\]|\S+/g) ?? [];
  let i = 0;
  const isNumber = (token: string | undefined): token is string =>
    token !== undefined && /^\d+$/.test(token);

  let event: CliEvent | undefined;
  const first = tokens[0];
  if (first !== undefined && EVENTS[first] !== undefined && first.startsWith("[")) {
    event = EVENTS[first];
    i++;
  }
  let l3: "ipv4" | "ipv6" | undefined;
  const l3Token = tokens[i];
  if (l3Token !== undefined && L3_NAMES[l3Token] !== undefined && isNumber(tokens[i + 1])) {
    l3 = L3_NAMES[l3Token];
    i += 2;
  }
  const l4name = tokens[i];
  const l4protoToken = tokens[i + 1];
  if (l4name === undefined || !isNumber(l4protoToken) || l4name.includes("=")) {
    return fail("expected a protocol name and number");
  }
  const l4proto = parseNumber(l4protoToken, "the protocol number");
  i += 2;
  let timeout: number | undefined;
  const timeoutToken = tokens[i];
  if (isNumber(timeoutToken)) {
    timeout = parseNumber(timeoutToken, "the timeout");
    i++;
  }
  let state: string | undefined;
  const stateToken = tokens[i];
  if (stateToken !== undefined && !stateToken.includes("=") && !stateToken.startsWith("[")) {
    state = stateToken;
    i++;
  }

  const orig: PartialTuple = {};
  const reply: PartialTuple = {};
  let phase: "start" | "orig" | "reply" | "meta" = "start";
  const flow: Omit<ExtendedFlow, "l3" | "l4proto" | "l4name" | "orig" | "reply" | "timeout"> = {
    flags: [],
  };
  if (event !== undefined) flow.event = event;
  if (state !== undefined) flow.state = state;

  for (const token of tokens.slice(i)) {
    if (token.startsWith("[")) {
      const inner = token.slice(1, -1);
      const eq = inner.indexOf("=");
      if (eq >= 0) {
        const key = inner.slice(0, eq);
        if (key === "start" || key === "stop") flow[key] = inner.slice(eq + 1);
      } else {
        flow.flags.push(inner.toLowerCase());
        // [UNREPLIED] sits between the tuples; any other flag comes after both.
        if (inner !== "UNREPLIED" && phase !== "start") phase = "meta";
      }
      continue;
    }
    const eq = token.indexOf("=");
    if (eq <= 0) fail(`expected key=value, got '${token}'`);
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (key === "src") {
      if (phase === "start") phase = "orig";
      else if (phase === "orig") phase = "reply";
      else fail("expected at most two 'src=' before the flow's own fields");
    } else if (
      phase !== "meta" && (!TUPLE_KEYS.has(key) || (key === "id" &&
        ((phase === "orig" ? orig : reply).code === undefined ||
          (phase === "orig" ? orig : reply).id !== undefined)))
    ) {
      phase = "meta";
    }
    if (phase === "orig" || phase === "reply") {
      const tuple = phase === "orig" ? orig : reply;
      const tupleKey = key.startsWith("zone-") ? "zone" : key;
      setTupleField(tuple, tupleKey, value, `'${key}='`);
      continue;
    }
    if (phase === "start") fail(`expected 'src=' before '${token}'`);
    switch (key) {
      case "mark":
      case "secmark":
      case "zone":
      case "use":
      case "id":
        flow[key] = parseNumber(value, `'${key}='`);
        break;
      case "delta-time":
        flow.deltatime = parseNumber(value, `'${key}='`);
        break;
      case "secctx":
      case "helper":
        flow[key] = value;
        break;
      case "labels":
        flow.labels = value.split(",").filter((label) => label !== "");
        break;
    }
  }
  if (phase === "start" || phase === "orig") fail("expected an original and a reply tuple");
  const src = orig.src ?? "";
  return {
    l3: l3 ?? (src.includes(":") ? "ipv6" : "ipv4"),
    l4proto,
    l4name,
    orig: completeTuple(orig, `the original tuple of '${line}'`),
    reply: completeTuple(reply, `the reply tuple of '${line}'`),
    timeout: timeout ?? fail("expected a timeout"),
    ...flow,
  };
}
