/**
 * The part of `node:util`'s `parseArgs` that conntop's options use (strict, no positionals;
 * boolean and string options, short names, `multiple`), without loading Node's compatibility
 * layer: importing `node:util` costs a server about 3 MB of memory it would never use again.
 *
 * Its values and its errors are those of `parseArgs` for the same spec and arguments: each error
 * carries the same `code` (`ERR_PARSE_ARGS_UNKNOWN_OPTION`, `ERR_PARSE_ARGS_INVALID_OPTION_VALUE`,
 * `ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL`) and quotes the option or argument as it does, so
 * callers turn them into their own messages (options.ts). test/cli/parse_args_test.ts compares
 * the two on the same inputs.
 *
 * No I/O.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./parse_args.ts";
 * const { values } = parseArgs({
 *   args: ["-n", "--count=3"],
 *   options: { "no-hostname": { type: "boolean", short: "n" }, count: { type: "string" } },
 * });
 * values; // { "no-hostname": true, count: "3" }
 * ```
 *
 * @module
 */

/** One option of a spec. */
export interface OptionSpec {
  type: "boolean" | "string";
  short?: string;
  multiple?: boolean;
}

/** What to parse. */
export interface ParseArgsConfig<T extends Readonly<Record<string, OptionSpec>>> {
  args: readonly string[];
  options: T;
  /** Always strict: unknown options and misplaced values throw (accepted for compatibility). */
  strict?: true;
  /** Never: an argument that is not an option throws (accepted for compatibility). */
  allowPositionals?: false;
}

type Value<O extends OptionSpec> = O["type"] extends "string"
  ? (O["multiple"] extends true ? string[] : string)
  : (O["multiple"] extends true ? boolean[] : boolean);

/** The options given, in the order they first came; options not given are absent. */
export type ParsedValues<T extends Readonly<Record<string, OptionSpec>>> = {
  -readonly [K in keyof T]?: Value<T[K]>;
};

/** A parse error, with the `code` `node:util`'s parseArgs gives it. */
export class ParseArgsError extends TypeError {
  /** `ERR_PARSE_ARGS_…`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = "TypeError";
  }
}

/** Parses `config.args` strictly: unknown options, missing values and positionals throw. */
export function parseArgs<T extends Readonly<Record<string, OptionSpec>>>(
  config: ParseArgsConfig<T>,
): { values: ParsedValues<T>; positionals: string[] } {
  const spec = config.options as Readonly<Record<string, OptionSpec>>;
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(spec)) {
    if (o.short !== undefined) byShort.set(o.short, name);
  }
  const values: Record<string, unknown> = { __proto__: null };
  const known = (name: string) => Object.hasOwn(spec, name);
  const display = (name: string) => {
    const s = spec[name]!.short;
    return s === undefined ? `--${name}` : `-${s}, --${name}`;
  };
  const store = (name: string, value: string | undefined) => {
    const o = spec[name]!;
    if (o.type === "string" && value === undefined) {
      throw new ParseArgsError(
        "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        `Option '${display(name)} <value>' argument missing`,
      );
    }
    if (o.type === "boolean" && value !== undefined) {
      throw new ParseArgsError(
        "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        `Option '${display(name)}' does not take an argument`,
      );
    }
    const v = o.type === "string" ? value! : true;
    if (o.multiple === true) {
      const list = (values[name] as unknown[] | undefined) ?? [];
      list.push(v);
      values[name] = list;
    } else {
      values[name] = v;
    }
  };
  const unknown = (raw: string): never => {
    throw new ParseArgsError("ERR_PARSE_ARGS_UNKNOWN_OPTION", `Unknown option '${raw}'`);
  };
  const args = config.args;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      if (i + 1 < args.length) positional(args[i + 1]!);
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (!known(name)) unknown(eq < 0 ? arg : arg.slice(0, eq));
      let value = eq < 0 ? undefined : arg.slice(eq + 1);
      if (value === undefined && spec[name]!.type === "string" && i + 1 < args.length) {
        value = args[++i]!;
      }
      store(name, value);
      continue;
    }
    if (arg.length < 2 || arg[0] !== "-") positional(arg);
    // A short option, or a group of them: a string option takes the rest as its value.
    for (let k = 1; k < arg.length; k++) {
      const name = byShort.get(arg[k]!);
      if (name === undefined) unknown(`-${arg[k]}`);
      if (spec[name!]!.type === "string") {
        let value: string | undefined = arg.slice(k + 1);
        if (value === "") value = i + 1 < args.length ? args[++i]! : undefined;
        store(name!, value);
        break;
      }
      store(name!, undefined);
    }
  }
  return { values: values as ParsedValues<T>, positionals: [] };
}

function positional(arg: string): never {
  throw new ParseArgsError(
    "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
    `Unexpected argument '${arg}'. This command does not take positional arguments`,
  );
}
