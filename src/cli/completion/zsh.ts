/**
 * The zsh completion script: an autoloadable `#compdef` file calling `_arguments` with one spec
 * per option of the option table ({@linkcode optionsOf}). Static: it never runs conntop.
 *
 * @module
 */

import {
  type CompletionOption,
  COMPLETIONS_HELP,
  optionsOf,
  type Program,
  SHELLS,
  VALUE_WORDS,
} from "./options.ts";

/** The zsh completion script of `program` (the file `_<program>` in $fpath). */
export function zshScript(program: Program): string {
  const fn = `_${program}`;
  const specs = optionsOf(program).map((o) => `    ${spec(o, fn)}`).join("\n");
  return `#compdef ${program}
#
# zsh completion for ${program}. Made by \`${program} completions zsh\`; static: it never runs
# ${program}. Install it as a file named ${fn} in a directory of $fpath (before compinit runs),
# e.g. /usr/local/share/zsh/site-functions/${fn}.

# A network namespace: a name in /run/netns, or a path.
${fn}_netns() {
  if [[ $PREFIX == */* ]]; then
    _files
  else
    local -a names expl
    names=(/run/netns/*(N:t))
    _wanted netns expl 'network namespace' compadd -a names
  fi
}

${fn}() {
  local -a expl args
  # \`${program} completions SHELL\` is recognised as the first argument only.
  if (( CURRENT > 2 )) && [[ \${words[2]} == completions ]]; then
    (( CURRENT == 3 )) && _wanted shells expl shell compadd - ${SHELLS.join(" ")}
    return
  fi
  args=(
${specs}
  )
  local ret=1
  # The subcommand goes with the options on the menu (an argument spec would hide them).
  if (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then
    local -a commands
    commands=(${quote(`completions:${COMPLETIONS_HELP}`)})
    _describe -t commands command commands && ret=0
  fi
  _arguments -s -S : $args && ret=0
  return ret
}

${fn} "$@"
`;
}

/** One `_arguments` spec: exclusions, names, [help], then :message:action for a value. */
function spec(o: CompletionOption, fn: string): string {
  const valued = o.arg !== "none";
  const names = [
    ...(o.short === undefined ? [] : [`-${o.short}${valued ? "+" : ""}`]),
    `--${o.long}${valued ? "=" : ""}`,
  ];
  const plain = names.map((n) => n.replace(/[+=]$/, ""));
  const exclusions = o.long === "help" || o.long === "version"
    ? "'(- *)'"
    : o.repeatable
    ? "'*'"
    : plain.length > 1
    ? `'(${plain.join(" ")})'`
    : "";
  const nameText = names.length > 1 ? `{${names.join(",")}}` : names[0]!;
  const help = `[${o.help.replace(/([\\[\]:])/g, "\\$1")}]`;
  const value = valued ? `:${(o.meta ?? o.arg).toLowerCase()}:${action(o, fn)}` : "";
  return `${exclusions}${nameText}${quote(help + value)}`;
}

/** The `_arguments` action completing `o`'s value. */
function action(o: CompletionOption, fn: string): string {
  switch (o.arg) {
    case "format":
    case "proto":
    case "family":
      return `(${VALUE_WORDS[o.arg].join(" ")})`;
    case "state":
      return `_values -s , state ${VALUE_WORDS.state.join(" ")}`;
    case "columns":
      return `_values -s , column ${VALUE_WORDS.columns.join(" ")}`;
    case "netns":
      return `${fn}_netns`;
    case "file":
      return "_files";
    case "dir":
      return "_files -/";
    case "host":
      return "_hosts";
    case "text":
    case "none":
      // A message only: nothing to offer, and no option either.
      return " ";
  }
}

/** `text` in single quotes for zsh. */
function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
