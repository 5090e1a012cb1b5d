/**
 * Shell completion scripts for conntop and conntopd (`conntop completions SHELL`), for bash, zsh
 * and fish. The scripts are static: they are generated from one option table
 * (src/cli/completion/options.ts) and never run conntop while completing, so a slow or missing
 * binary does not slow the shell down.
 *
 * Imports nothing of the UI, the terminal or GeoIP: conntopd uses it too
 * (test/server/graph_test.ts checks its module graph).
 *
 * @example
 * ```ts
 * import { completionScript } from "./completions.ts";
 *
 * const script = completionScript("bash", "conntop");
 * script.includes("complete -F _conntop conntop"); // true
 * ```
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { bashScript } from "./completion/bash.ts";
import { fishScript } from "./completion/fish.ts";
import { type Program, type Shell, SHELLS } from "./completion/options.ts";
import { zshScript } from "./completion/zsh.ts";

export {
  type ArgKind,
  COMPLETION_OPTIONS,
  type CompletionOption,
  optionsOf,
  type Program,
  type Shell,
  SHELLS,
  VALUE_WORDS,
} from "./completion/options.ts";

/** The completion script of `program` for `shell`. */
export function completionScript(shell: Shell, program: Program): string {
  switch (shell) {
    case "bash":
      return bashScript(program);
    case "zsh":
      return zshScript(program);
    case "fish":
      return fishScript(program);
  }
}

/** Whether `name` is one of {@linkcode SHELLS}. */
export function isShell(name: string): name is Shell {
  return (SHELLS as readonly string[]).includes(name);
}

/**
 * `program completions SHELL`: `args` are the words after `completions`. Returns the script;
 * throws {@linkcode UsageError} for a missing or unknown shell, or a word after it.
 */
export function completionsCommand(args: readonly string[], program: Program): string {
  const [shell, extra] = args;
  const expected = `expected ${SHELLS.slice(0, -1).join(", ")} or ${SHELLS.at(-1)}`;
  if (shell === undefined) throw new UsageError(`Missing shell for completions: ${expected}`);
  if (!isShell(shell)) {
    throw new UsageError(`Unknown shell '${shell}' for completions: ${expected}`);
  }
  if (extra !== undefined) {
    throw new UsageError(`Unexpected argument '${extra}' after 'completions ${shell}'`);
  }
  return completionScript(shell, program);
}
