/**
 * The fish completion script: one `complete -c` line per option of the option table
 * ({@linkcode optionsOf}), and small functions for the conditions and the values read at
 * completion time. Static: it never runs conntop.
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

/** The fish completion script of `program`. */
export function fishScript(program: Program): string {
  const fn = `__${program}`;
  const lines = optionsOf(program).map((o) => line(o, program, fn)).join("\n");
  return `# fish completion for ${program}. Made by \`${program} completions fish\`; static: it
# never runs ${program}. Install it as ~/.config/fish/completions/${program}.fish or
# /usr/share/fish/vendor_completions.d/${program}.fish.

# Whether the word being completed is the first argument.
function ${fn}_first_arg
    test (count (commandline -opc)) -eq 1
end

# Whether the word being completed is the SHELL of \`${program} completions SHELL\`.
function ${fn}_shell_arg
    set -l words (commandline -opc)
    test (count $words) -eq 2; and test "$words[2]" = completions
end

# Whether options apply: not after \`${program} completions\`.
function ${fn}_options
    set -l words (commandline -opc)
    test "$words[2]" != completions
end

# A network namespace: a name in /run/netns, or a path.
function ${fn}_netns
    set -l value (commandline -ct | string replace -r -- '^--[^=]*=' '')
    if string match -q -- '*/*' "$value"
        __fish_complete_path "$value"
    else
        for path in /run/netns/*
            string replace -r -- '.*/' '' $path
        end
    end
end

# Directories for the value being typed (also as --opt=VALUE).
function ${fn}_dirs
    __fish_complete_directories (commandline -ct | string replace -r -- '^--[^=]*=' '')
end

complete -c ${program} -f
complete -c ${program} -n ${fn}_first_arg -a completions -d ${quote(COMPLETIONS_HELP)}
complete -c ${program} -n ${fn}_shell_arg -a ${quote(SHELLS.join(" "))}
${lines}
`;
}

/** The `complete` line of one option. */
function line(o: CompletionOption, program: Program, fn: string): string {
  const parts = [`complete -c ${program} -n ${fn}_options`];
  if (o.short !== undefined) parts.push(`-s ${o.short}`);
  parts.push(`-l ${o.long}`);
  switch (o.arg) {
    case "none":
      break;
    case "format":
    case "proto":
    case "family":
      parts.push(`-x -a ${quote(VALUE_WORDS[o.arg].join(" "))}`);
      break;
    case "state":
      parts.push(`-x -a ${quote(`(__fish_append , ${VALUE_WORDS.state.join(" ")})`)}`);
      break;
    case "columns":
      parts.push(`-x -a ${quote(`(__fish_append , ${VALUE_WORDS.columns.join(" ")})`)}`);
      break;
    case "netns":
      parts.push(`-x -a ${quote(`(${fn}_netns)`)}`);
      break;
    case "file":
      parts.push("-r -F");
      break;
    case "dir":
      parts.push(`-x -a ${quote(`(${fn}_dirs)`)}`);
      break;
    case "host":
      parts.push(`-x -a ${quote("(__fish_print_hostnames)")}`);
      break;
    case "text":
      // A value nothing can guess: nothing to offer, and no option either.
      parts.push("-x");
      break;
  }
  parts.push(`-d ${quote(o.help)}`);
  return parts.join(" ");
}

/** `text` in single quotes for fish. */
function quote(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}
