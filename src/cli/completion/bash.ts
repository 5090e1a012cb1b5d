/**
 * The bash completion script: one function registered with `complete -F`, made from the option
 * table ({@linkcode optionsOf}). It is static (it never runs conntop) and works both with and
 * without the bash-completion package: it uses `_filedir` and `_known_hosts_real` when they are
 * defined, `compgen` otherwise.
 *
 * bash splits `--opt=value` into `--opt`, `=`, `value` (and `host:port` at the colon) when
 * COMP_WORDBREAKS holds those characters; the script joins the words back from COMP_LINE, works
 * on whole words, then strips from every reply the part readline does not replace.
 *
 * @module
 */

import {
  type ArgKind,
  type CompletionOption,
  optionsOf,
  type Program,
  SHELLS,
  VALUE_WORDS,
} from "./options.ts";

/** The bash completion script of `program`. */
export function bashScript(program: Program): string {
  const opts = optionsOf(program);
  const fn = `_${program}`;
  const longs = opts.map((o) => `--${o.long}`).join(" ");
  const shorts = opts.filter((o) => o.short !== undefined).map((o) => `-${o.short}`).join(" ");
  const shortValued = opts.filter((o) => o.short !== undefined && o.arg !== "none")
    .map((o) => o.short).join("");
  // -oVALUE: a short option's value in the same word.
  const shortArm = shortValued === ""
    ? ""
    : `        -[${shortValued}]?*) opt=\${cur:0:2} val=\${cur:2} pre=$opt ;;\n`;
  const arms = valueArms(opts, fn).map((line) => `            ${line}`).join("\n");
  return `# bash completion for ${program}                         -*- shell-script -*-
#
# Made by \`${program} completions bash\`; static: it never runs ${program}. Install it as
# /usr/share/bash-completion/completions/${program} (bash-completion loads it when needed), or
# source it from ~/.bashrc. Works with and without the bash-completion package.

${fn}() {
    local IFS=$' \\t\\n' i w
    local -a words=()
    # Join the words bash split at COMP_WORDBREAKS (--opt=value, host:port): a word that
    # follows the previous one without blanks in COMP_LINE belongs to it. The current word
    # stops at the cursor.
    local line=\${COMP_LINE:0:COMP_POINT} rl=
    for ((i = 0; i <= COMP_CWORD; i++)); do
        w=\${COMP_WORDS[i]}
        if ((i > 0)) && [[ $line != [[:blank:]]* ]]; then
            ((i == COMP_CWORD)) && w=$line
            words[\${#words[@]} - 1]+=$w
        else
            line=\${line#"\${line%%[![:blank:]]*}"}
            ((i == COMP_CWORD)) && w=$line
            words+=("$w")
        fi
        line=\${line:\${#w}}
    done
    # What readline replaces: the current piece, or nothing after a lone "=" or ":".
    rl=$w
    [[ -n \${rl//["\${COMP_WORDBREAKS-=:}"]/} ]] || rl=
    local cword=$((\${#words[@]} - 1))
    local cur=\${words[cword]} prev=\${words[cword - 1]}
    local keep=\${cur:0:\${#cur} - \${#rl}} opt= val= pre=
    COMPREPLY=()

    if ((cword >= 2)) && [[ \${words[1]} == completions ]]; then
        ((cword == 2)) && mapfile -t COMPREPLY < <(compgen -W "${SHELLS.join(" ")}" -- "$cur")
        return 0
    fi

    # The value being typed, if any: --opt=VALUE, -oVALUE, or the word after --opt or -o.
    case $cur in
        --*=*) opt=\${cur%%=*} val=\${cur#*=} pre=$opt= ;;
${shortArm}        -*) ;;
        *) [[ $prev == -* && $prev != *=* ]] && opt=$prev val=$cur ;;
    esac
    if [[ -n $opt ]]; then
        case $opt in
${arms}
            *) opt= ;;
        esac
    fi
    if [[ -z $opt ]]; then
        if [[ $cur == --* || -z $cur ]]; then
            w="${longs}"
            ((cword == 1)) && w+=" completions"
        elif [[ $cur == -* ]]; then
            w="${shorts} ${longs}"
        elif ((cword == 1)); then
            w=completions
        else
            w=
        fi
        mapfile -t COMPREPLY < <(compgen -W "$w" -- "$cur")
    fi
    # Replies are whole words: drop what readline keeps before the piece it replaces.
    if ((\${#keep} > 0)); then
        for i in "\${!COMPREPLY[@]}"; do
            COMPREPLY[i]=\${COMPREPLY[i]:\${#keep}}
        done
    fi
    return 0
}

# Files (-f) or directories (-d) matching $val, prefixed with $pre.
${fn}_files() {
    local i
    if declare -F _filedir >/dev/null; then
        local cur=$val
        _filedir \${1#-f}
    else
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen "$1" -- "$val")
    fi
    for i in "\${!COMPREPLY[@]}"; do
        COMPREPLY[i]=$pre\${COMPREPLY[i]}
    done
}

complete -F ${fn} ${program}
`;
}

/** The `case` arms that complete each option's value; every option with a value has one. */
function valueArms(opts: readonly CompletionOption[], fn: string): string[] {
  const byKind = new Map<ArgKind, string[]>();
  for (const o of opts) {
    if (o.arg === "none") continue;
    const names = [`--${o.long}`, ...(o.short === undefined ? [] : [`-${o.short}`])];
    byKind.set(o.arg, [...(byKind.get(o.arg) ?? []), ...names]);
  }
  const arms: string[] = [];
  for (const [kind, names] of byKind) {
    arms.push(`${names.join("|")})`, ...kindBody(kind, fn).map((l) => `    ${l}`), "    ;;");
  }
  return arms;
}

/** The bash lines that fill COMPREPLY for a value of `kind` (from $val, each prefixed $pre). */
function kindBody(kind: ArgKind, fn: string): string[] {
  const fromWords = (list: readonly string[], val = `"$val"`) =>
    `mapfile -t COMPREPLY < <(compgen -P "$pre" -W "${list.join(" ")}" -- ${val})`;
  switch (kind) {
    case "format":
    case "proto":
    case "family":
      return [fromWords(VALUE_WORDS[kind])];
    case "state":
      return [
        "# A comma-separated list: complete its last item, in capitals (any case is accepted).",
        "[[ $val == *,* ]] && pre+=${val%,*}, && val=${val##*,}",
        fromWords(VALUE_WORDS.state, `"\${val^^}"`),
      ];
    case "columns":
      return [
        "# A comma-separated list: complete its last item.",
        "[[ $val == *,* ]] && pre+=${val%,*}, && val=${val##*,}",
        fromWords(VALUE_WORDS.columns),
      ];
    case "netns":
      return [
        "if [[ $val == */* ]]; then",
        `    ${fn}_files -f`,
        "else",
        // compgen -G, not a glob: failglob would abort the function on an empty /run/netns.
        '    mapfile -t COMPREPLY < <(compgen -G "/run/netns/*")',
        "    w=${COMPREPLY[*]##*/}",
        `    ${fromWords(["$w"])}`,
        "fi",
      ];
    case "file":
      return [`${fn}_files -f`];
    case "dir":
      return [`${fn}_files -d`];
    case "host":
      return [
        "if declare -F _known_hosts_real >/dev/null; then",
        '    _known_hosts_real -- "$val"',
        "else",
        '    mapfile -t COMPREPLY < <(compgen -A hostname -- "$val")',
        "fi",
        'for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=$pre${COMPREPLY[i]}; done',
      ];
    case "text":
    case "none":
      // Nothing to offer, and no option either: the word is this option's value.
      return [":"];
  }
}
