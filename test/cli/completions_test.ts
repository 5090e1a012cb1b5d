/**
 * The completion scripts, loaded in the real shells: bash (with and without the bash-completion
 * package, by calling the function `complete -p` names, and once at a real prompt), zsh (a real
 * interactive zsh in a private tmux, pressing Tab) and fish (`complete -C`). Expected replies are
 * written out here, never produced by the code under test. The option table is checked against
 * the parser and the help texts, so that a new option cannot be left out of the scripts.
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { Netns } from "../../tools/netns.ts";
import { conntopdCommand } from "../_helpers/conntopd.ts";
import { Tmux } from "../../tools/tmux.ts";
import {
  COMPLETION_OPTIONS,
  completionScript,
  optionsOf,
  type Program,
  SHELLS,
  VALUE_WORDS,
} from "../../src/cli/completions.ts";
import { LONG_OPTIONS, parseOptions } from "../../src/cli/options.ts";
import { USAGE } from "../../src/cli/usage.ts";
import { SERVER_USAGE } from "../../src/server/usage.ts";
import { ALL_STATE_NAMES, parseProto } from "../../src/conntrack/constants.ts";
import { UsageError } from "../../src/errors.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const BASH_COMPLETION = "/usr/share/bash-completion/bash_completion";
const PROGRAMS: readonly Program[] = ["conntop", "conntopd"];
/** The environment `deno run` gets: the test's PATH (nft is in /usr/sbin), HOME and DENO_DIR. */
const DENO_ENV: Record<string, string> = {
  PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: Deno.env.get("HOME") ?? "/root",
  ...(Deno.env.has("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
  NO_COLOR: "1",
};
/** A host name only the test's hosts files know. */
const TEST_HOST = "conntop-completion-test.example.net";

/** A temporary directory holding every script and a few files to complete. */
class Fixture implements AsyncDisposable {
  readonly dir: string;
  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Writes `dir/{bash,zsh,fish}/...` (zsh's as `_conntop`, as in $fpath), files and hosts. */
  static async create(): Promise<Fixture> {
    const dir = await Deno.makeTempDir({ prefix: "conntop-completions-" });
    const f = new Fixture(dir);
    try {
      for (const shell of SHELLS) {
        await Deno.mkdir(`${dir}/${shell}`);
        for (const p of PROGRAMS) {
          await Deno.writeTextFile(f.script(shell, p), completionScript(shell, p));
        }
      }
      await Deno.mkdir(`${dir}/files/geo`, { recursive: true });
      await Deno.writeTextFile(`${dir}/files/recording.ndjson.gz`, "");
      await Deno.writeTextFile(`${dir}/files/geolite.mmdb`, "");
      await Deno.mkdir(`${dir}/home/.ssh`, { recursive: true });
      await Deno.writeTextFile(`${dir}/home/.ssh/known_hosts`, `${TEST_HOST} ssh-ed25519 AAAA\n`);
      await Deno.writeTextFile(`${dir}/hosts`, `192.0.2.7 ${TEST_HOST}\n`);
    } catch (err) {
      await f[Symbol.asyncDispose]();
      throw err;
    }
    return f;
  }

  script(shell: string, program: Program): string {
    return shell === "zsh"
      ? `${this.dir}/zsh/_${program}`
      : `${this.dir}/${shell}/${program}.${shell}`;
  }

  /** The environment the shells run with: nothing of the test machine's user. */
  get env(): Record<string, string> {
    return {
      HOME: `${this.dir}/home`,
      HOSTFILE: `${this.dir}/hosts`,
      PATH: "/usr/local/bin:/usr/bin:/bin",
      TERM: "xterm",
      LC_ALL: "C.UTF-8",
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Runs `cmd` with exactly `env` (nothing inherited); returns code, stdout, stderr. */
async function run(cmd: string[], env: Record<string, string>) {
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env,
    clearEnv: true,
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

// ---------------------------------------------------------------------------------------------
// bash

/**
 * The words bash gives a completion function for `line`: split at blanks, and at runs of the
 * COMP_WORDBREAKS characters `breaks` (default "=" and ":"), which are words of their own; a
 * line ending in a blank has an empty current word.
 */
function bashWords(line: string, breaks = "=:"): string[] {
  const b = breaks.replace(/[\]\\^-]/g, "\\$&");
  const re = breaks === "" ? /[^ \t]+/g : new RegExp(`[${b}]+|[^ \\t${b}]+`, "g");
  const words: string[] = line.match(re) ?? [];
  if (/[ \t]$/.test(line)) words.push("");
  return words;
}

/**
 * Loads `script` in `bash --norc --noprofile` (after bash-completion when `withPackage`), calls
 * the function `complete -p` names with COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT set for
 * `line`, and returns COMPREPLY, sorted.
 */
async function bashComplete(
  fx: Fixture,
  script: string,
  line: string,
  withPackage: boolean,
  breaks = "=:",
): Promise<string[]> {
  const driver = `
    [[ -n $BC ]] && source "$BC"
    declare -F _filedir >/dev/null && echo "package: yes" || echo "package: no"
    source "$SCRIPT"
    [[ $(complete -p "$1") =~ -F\\ ([^ ]+) ]] || { echo "no complete -F for $1" >&2; exit 3; }
    fn=\${BASH_REMATCH[1]}
    COMP_WORDBREAKS=$' \\t\\n"\\'@><;|&('$BREAKS
    COMP_LINE=$LINE COMP_POINT=\${#LINE}
    COMP_WORDS=("$@") COMP_CWORD=$(($# - 1))
    "$fn" "$1" "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\\n' "\${COMPREPLY[@]}"
  `;
  const words = bashWords(line, breaks);
  const r = await run(["bash", "--norc", "--noprofile", "-c", driver, "bash", ...words], {
    ...fx.env,
    BC: withPackage ? BASH_COMPLETION : "",
    SCRIPT: script,
    LINE: line,
    BREAKS: breaks,
  });
  assertEquals([r.code, r.stderr], [0, ""], `bash completing '${line}'`);
  const [first, ...replies] = r.stdout.split("\n").slice(0, -1);
  assertEquals(first, `package: ${withPackage ? "yes" : "no"}`, "bash-completion loaded or not");
  // Unique: bash-completion's host list may name a host twice (readline shows it once).
  return [...new Set(replies.filter((w) => w !== ""))].sort();
}

for (const withPackage of [false, true]) {
  const mode = withPackage ? "with" : "without";
  Deno.test(`the bash script completes options and values ${mode} bash-completion`, async (t) => {
    await using fx = await Fixture.create();
    const conntop = fx.script("bash", "conntop");
    const conntopd = fx.script("bash", "conntopd");
    const check = async (script: string, line: string, expected: string[], breaks?: string) => {
      await t.step(
        `'${line}'${breaks === undefined ? "" : ` (COMP_WORDBREAKS without =:)`}`,
        async () => {
          assertEquals(
            await bashComplete(fx, script, line, withPackage, breaks),
            [...expected].sort(),
          );
        },
      );
    };
    await check(conntop, "conntop --conn", ["--connect"]);
    await check(conntop, "conntop --format ", ["csv", "json", "ndjson", "table"]);
    await check(conntop, "conntop -o j", ["json"]);
    await check(conntop, "conntop -ojs", ["-ojson"]);
    await check(conntop, "conntop --proto=ud", ["udp", "udplite"]);
    await check(conntop, "conntop --proto=ud", ["--proto=udp", "--proto=udplite"], "");
    await check(conntop, "conntop -p icmp", ["icmp", "icmpv6"]);
    await check(conntop, "conntop --family ", ["4", "6"]);
    await check(conntop, "conntop --state=SYN_S", ["SYN_SENT", "SYN_SENT2"]);
    await check(conntop, "conntop --state established,time_w", ["established,TIME_WAIT"]);
    await check(conntop, "conntop --state=ESTABLISHED,CLOSE_", ["ESTABLISHED,CLOSE_WAIT"]);
    await check(conntop, "conntop --sort rate,tx_b", ["rate,tx_bytes"]);
    await check(conntop, "conntop --columns=src_c", ["src_city", "src_class", "src_country"]);
    await check(conntopd, "conntopd --tls-", ["--tls-cert", "--tls-key"]);
    await check(conntop, "conntop --tls", ["--tls", "--tls-ca", "--tls-cert", "--tls-key"]);
    await check(conntopd, "conntopd --conn", []);
    await check(conntop, "conntop completions ", ["bash", "fish", "zsh"]);
    await check(conntopd, "conntopd completions f", ["fish"]);
    await check(conntop, "conntop co", ["completions"]);
    await check(conntop, "conntop -n co", []);
    // A value nothing can guess is not followed by the options.
    await check(conntop, "conntop --port ", []);
    await check(conntop, "conntop -i ", []);
    await check(conntopd, "conntopd --max-clients=", []);
    await check(conntop, "conntop --count=5 --no-h", ["--no-hostname"]);
    await check(conntop, "conntop -", [
      ...["-1", "-P", "-V", "-c", "-d", "-h", "-i", "-m", "-n", "-o", "-p", "-q", "-s", "-v", "-w"],
      ...LONG_OPTIONS.map((o) => `--${o}`),
    ]);
    const files = `${fx.dir}/files`;
    await check(conntop, `conntop --replay ${files}/rec`, [`${files}/recording.ndjson.gz`]);
    await check(conntop, `conntop --tls-ca=${files}/geol`, [`${files}/geolite.mmdb`]);
    await check(conntopd, `conntopd --log-file ${files}/rec`, [`${files}/recording.ndjson.gz`]);
    await check(conntop, `conntop --geoip-dir ${files}/ge`, [`${files}/geo`]);
    await check(conntop, `conntop --connect ${TEST_HOST.slice(0, 12)}`, [TEST_HOST]);
  });
}

Deno.test("the bash script completes --netns with the names in /run/netns", async () => {
  await using fx = await Fixture.create();
  await using ns = await Netns.create("cmpl");
  for (const withPackage of [false, true]) {
    for (const p of PROGRAMS) {
      const line = `${p} --netns ${ns.name.slice(0, -3)}`;
      assertEquals(await bashComplete(fx, fx.script("bash", p), line, withPackage), [ns.name]);
    }
  }
  const path = `${fx.dir}/files/recording.ndjson.gz`;
  for (const withPackage of [false, true]) {
    assertEquals(
      await bashComplete(
        fx,
        fx.script("bash", "conntop"),
        `conntop --netns ${path.slice(0, -8)}`,
        withPackage,
      ),
      [path],
      "--netns also takes a path",
    );
  }
});

Deno.test("the bash script replaces the right text at a real bash prompt", async () => {
  await using fx = await Fixture.create();
  await using term = await Tmux.start(
    [
      "env",
      "-i",
      ...Object.entries(fx.env).map(([k, v]) => `${k}=${v}`),
      "bash",
      "--norc",
      "--noprofile",
      "-i",
    ],
    { width: 160, height: 20 },
  );
  await term.sendText(`PS1='cmp> '; source ${fx.script("bash", "conntop")}; clear\n`);
  await term.waitFor((s) => s.trim() === "cmp>", { what: "the prompt" });
  const cases: [string, string][] = [
    ["conntop --proto=udpl", "conntop --proto=udplite "],
    ["conntop --state=established,TIME_W", "conntop --state=established,TIME_WAIT "],
    ["conntop --form", "conntop --format "],
  ];
  for (const [typed, line] of cases) {
    await term.sendText(typed);
    await term.sendKeys("Tab");
    await term.waitFor((s) => s.split("\n")[0] === `cmp> ${line}`.trimEnd(), {
      what: `'${typed}<Tab>' to become '${line}'`,
    });
    await term.sendKeys("C-u");
    await term.sendText("clear\n");
    await term.waitFor((s) => s.trim() === "cmp>", { what: "the prompt" });
  }
});

// ---------------------------------------------------------------------------------------------
// zsh

Deno.test("the zsh script completes options and values in an interactive zsh", async () => {
  await using fx = await Fixture.create();
  await using term = await Tmux.start(
    ["env", "-i", ...Object.entries(fx.env).map(([k, v]) => `${k}=${v}`), "zsh", "-f"],
    { width: 160, height: 30 },
  );
  await term.sendText(
    `fpath=(${fx.dir}/zsh $fpath); autoload -U compinit; compinit -u -D; PS1='cmp> '; clear\n`,
  );
  const prompt = (timeoutMs?: number) =>
    term.waitFor((s) => s.trim() === "cmp>", { what: "the prompt", timeoutMs });
  // compinit reads every function on fpath first: seconds on a loaded machine.
  await prompt(30_000);
  const firstLine = (s: string) => s.split("\n")[0]!;
  const cases: [string, (screen: string) => boolean, string][] = [
    ["conntop --conn", (s) => firstLine(s).startsWith("cmp> conntop --connect"), "--connect"],
    ["conntop --format n", (s) => firstLine(s) === "cmp> conntop --format ndjson", "ndjson"],
    ["conntop -p udpl", (s) => firstLine(s) === "cmp> conntop -p udplite", "udplite"],
    ["conntop completions z", (s) => firstLine(s) === "cmp> conntop completions zsh", "zsh"],
    [
      "conntopd --tls-",
      (s) => /--tls-cert\b/.test(s) && /--tls-key\b/.test(s) && !s.includes("--tls-ca"),
      "--tls-cert and --tls-key listed, not --tls-ca",
    ],
  ];
  for (const [typed, ok, what] of cases) {
    await term.sendText(typed);
    await term.sendKeys("Tab");
    await term.waitFor(ok, { what: `'${typed}<Tab>': ${what}` });
    await term.sendKeys("C-c");
    await term.sendText("clear\n");
    await prompt();
  }
});

// ---------------------------------------------------------------------------------------------
// fish

/** `complete -C line` in fish with the script loaded: the candidates, as [word, description]. */
async function fishComplete(fx: Fixture, program: Program, line: string): Promise<string[][]> {
  const r = await run(
    [
      "fish",
      "--no-config",
      "-c",
      "source $argv[1]; complete -C $argv[2]",
      fx.script("fish", program),
      line,
    ],
    fx.env,
  );
  assertEquals([r.code, r.stderr], [0, ""], `fish completing '${line}'`);
  return r.stdout.split("\n").slice(0, -1).map((l) => l.split("\t")).sort();
}

Deno.test("the fish script completes options and values", async (t) => {
  await using fx = await Fixture.create();
  const words = async (p: Program, line: string) =>
    (await fishComplete(fx, p, line)).map((c) => c[0]!).sort();
  const check = async (p: Program, line: string, expected: string[]) => {
    await t.step(`'${line}'`, async () => assertEquals(await words(p, line), [...expected].sort()));
  };
  await t.step("options come with their descriptions", async () => {
    assertEquals(await fishComplete(fx, "conntop", "conntop --conn"), [
      ["--connect", "show a conntop server's table"],
    ]);
  });
  await check("conntop", "conntop --format n", ["ndjson"]);
  await check("conntop", "conntop -o ", ["csv", "json", "ndjson", "table"]);
  await check("conntop", "conntop --proto=ud", ["--proto=udp", "--proto=udplite"]);
  await check("conntop", "conntop --family ", ["4", "6"]);
  await check("conntop", "conntop --state ESTABLISHED,TIME_", [
    "ESTABLISHED,TIME_WAIT",
  ]);
  await check("conntop", "conntop --columns id,dst_a", ["id,dst_asn"]);
  await check("conntopd", "conntopd --tls-", ["--tls-cert", "--tls-key"]);
  await check("conntop", "conntop --tls", ["--tls", "--tls-ca", "--tls-cert", "--tls-key"]);
  await check("conntop", "conntop completions ", ["bash", "fish", "zsh"]);
  await check("conntop", "conntop co", ["completions"]);
  await check("conntop", "conntop -n co", []);
  await check("conntop", "conntop --port ", []);
  await check("conntopd", "conntopd --idle-timeout ", []);
  const files = `${fx.dir}/files`;
  await check("conntop", `conntop --record ${files}/rec`, [`${files}/recording.ndjson.gz`]);
  await check("conntop", `conntop --geoip-dir ${files}/`, [`${files}/geo/`]);
  await check("conntop", `conntop --connect ${TEST_HOST.slice(0, 12)}`, [TEST_HOST]);
  await t.step("--netns offers the names in /run/netns", async () => {
    await using ns = await Netns.create("cmpl");
    for (const p of PROGRAMS) {
      assertEquals(await words(p, `${p} --netns ${ns.name.slice(0, -3)}`), [ns.name]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The command line

Deno.test("conntop completions SHELL prints a script the shell loads", async (t) => {
  await using fx = await Fixture.create();
  for (const shell of SHELLS) {
    await t.step(shell, async () => {
      const r = await run(
        [Deno.execPath(), "run", "--allow-all", MAIN, "completions", shell],
        DENO_ENV,
      );
      assertEquals([r.code, r.stderr], [0, ""]);
      const file = `${fx.dir}/cli-${shell}`;
      await Deno.writeTextFile(file, r.stdout);
      if (shell === "bash") {
        for (const pkg of [false, true]) {
          assertEquals(await bashComplete(fx, file, "conntop --no-g", pkg), ["--no-geoip"]);
        }
      } else if (shell === "fish") {
        const c = await run(
          ["fish", "--no-config", "-c", "source $argv[1]; complete -C 'conntop --no-g'", file],
          fx.env,
        );
        assertEquals([c.code, c.stdout.split("\t")[0]], [0, "--no-geoip"]);
      } else {
        assertEquals(r.stdout.split("\n")[0], "#compdef conntop");
        const c = await run(["zsh", "-f", "-n", file], fx.env);
        assertEquals([c.code, c.stderr], [0, ""], "zsh -n");
      }
    });
  }
});

Deno.test("conntopd completions bash prints conntopd's script (run as operators do)", async () => {
  await using fx = await Fixture.create();
  const r = await run(conntopdCommand(["completions", "bash"]), DENO_ENV);
  assertEquals([r.code, r.stderr], [0, ""]);
  const file = `${fx.dir}/cli-conntopd.bash`;
  await Deno.writeTextFile(file, r.stdout);
  assertEquals(await bashComplete(fx, file, "conntopd --listen", false), [
    "--listen",
    "--listen-any",
  ]);
  assertEquals(await bashComplete(fx, file, "conntopd --stre", true), [], "no monitor options");
});

Deno.test("a missing, unknown or extra shell argument is a usage error (exit 2)", async (t) => {
  const cases: [string[], string][] = [
    [["completions"], "Missing shell for completions: expected bash, zsh or fish"],
    [["completions", "tcsh"], "Unknown shell 'tcsh' for completions: expected bash, zsh or fish"],
    [
      ["completions", "--help"],
      "Unknown shell '--help' for completions: expected bash, zsh or fish",
    ],
    [["completions", "zsh", "fish"], "Unexpected argument 'fish' after 'completions zsh'"],
    // Only the first argument names the subcommand.
    [["-n", "completions", "bash"], "Unexpected argument 'completions'"],
  ];
  for (const [args, message] of cases) {
    await t.step(`conntop ${args.join(" ")}`, async () => {
      const r = await run([Deno.execPath(), "run", "--allow-all", MAIN, ...args], DENO_ENV);
      assertEquals([r.code, r.stdout, r.stderr], [
        2,
        "",
        `conntop: ${message}\nTry 'conntop --help' for more information.\n`,
      ]);
    });
  }
  await t.step("conntopd completions fsh", async () => {
    const r = await run(conntopdCommand(["completions", "fsh"]), DENO_ENV);
    assertEquals([r.code, r.stdout, r.stderr], [
      2,
      "",
      "conntopd: Unknown shell 'fsh' for completions: expected bash, zsh or fish\n" +
      "Try 'conntopd --help' for more information.\n",
    ]);
  });
});

Deno.test("both --help texts mention the completions subcommand", () => {
  assert(/^ +conntop completions SHELL +print the completion script/m.test(USAGE), "USAGE");
  assert(/^ +conntopd completions SHELL +print the completion script/m.test(SERVER_USAGE));
});

// ---------------------------------------------------------------------------------------------
// The option table

/** The options a --help text lists: [long name, short letter or "", takes a value]. */
function helpOptions(text: string): [string, string, boolean][] {
  const out: [string, string, boolean][] = [];
  for (const m of text.matchAll(/^ {2}(?:-(\w), | {4})--([\w-]+)( \S)?/gm)) {
    out.push([m[2]!, m[1] ?? "", m[3] !== undefined]);
  }
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

function tableOptions(program: Program): [string, string, boolean][] {
  return optionsOf(program)
    .map((o): [string, string, boolean] => [o.long, o.short ?? "", o.arg !== "none"])
    .sort((a, b) => a[0].localeCompare(b[0]));
}

Deno.test("the option table has every option of conntop's parser and --help", () => {
  assertEquals(
    optionsOf("conntop").map((o) => o.long).sort(),
    [...LONG_OPTIONS].sort(),
    "the table's conntop options are LONG_OPTIONS",
  );
  assertEquals(tableOptions("conntop"), helpOptions(USAGE), "names, short letters, values");
});

Deno.test("the option table's conntopd options are those conntopd --help lists", () => {
  assertEquals(tableOptions("conntopd"), helpOptions(SERVER_USAGE));
});

Deno.test("the option table says which options take a value as the parser does", () => {
  for (const o of COMPLETION_OPTIONS) {
    if (o.long === "help" || o.long === "version") continue;
    let message = "";
    try {
      parseOptions(o.arg === "none" ? [`--${o.long}=x`] : [`--${o.long}`]);
    } catch (err) {
      assert(err instanceof UsageError, String(err));
      message = err.message;
    }
    const expected = o.arg === "none" ? "takes no value" : "needs a value";
    assert(message.includes(expected), `--${o.long}: '${message}' should say '${expected}'`);
  }
});

Deno.test("the value words are the ones the parser accepts", () => {
  for (const f of VALUE_WORDS.format) assertEquals(parseOptions(["--format", f]).format, f);
  for (const p of VALUE_WORDS.proto) assert(parseProto(p) !== undefined, p);
  assertEquals(
    [...VALUE_WORDS.proto].sort(),
    ["dccp", "gre", "icmp", "icmpv6", "sctp", "tcp", "udp", "udplite"],
    "as --help lists them",
  );
  assertEquals([...VALUE_WORDS.state].sort(), [...ALL_STATE_NAMES].sort());
  for (const s of VALUE_WORDS.state) parseOptions(["--state", s]);
  assertEquals(VALUE_WORDS.family.map((f) => parseOptions(["--family", f]).filter.family), [2, 10]);
  assertEquals(parseOptions(["--once", "--columns", VALUE_WORDS.columns.join(",")]).columns, [
    ...VALUE_WORDS.columns,
  ]);
});

Deno.test("every script is valid syntax for its shell", async () => {
  await using fx = await Fixture.create();
  for (const p of PROGRAMS) {
    for (
      const [shell, cmd] of [["bash", ["bash", "-n"]], ["zsh", ["zsh", "-f", "-n"]], [
        "fish",
        ["fish", "--no-config", "-n"],
      ]] as const
    ) {
      const r = await run([...cmd, fx.script(shell, p)], fx.env);
      assertEquals([r.code, r.stderr], [0, ""], `${shell} -n ${p}`);
    }
  }
});
