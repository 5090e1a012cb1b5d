/**
 * scripts/install.sh and scripts/conntopd.service against a real build (`deno task build
 * --out-dir`): what lands where with which mode, the unit as systemd-analyze sees it, man and
 * the shells finding the installed files, upgrades, refusals, staging, an uninstall that leaves
 * the prefix as it was; and conntopd serving its namespace's table with CAP_NET_ADMIN as its only
 * capability and a non-root user, as the unit runs it.
 *
 * The binaries are compiled with the deno CLI as their runtime: they start a REPL instead of
 * conntop, so nothing here ever runs them. Every run of the script has a stub `systemctl` first
 * on PATH and a private /run (test/install/_install.ts), so the machine's systemd is never
 * touched.
 */

import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { parseConntrackXml } from "../_helpers/conntrack_cli.ts";
import { runCommand } from "../../tools/run.ts";
import { loadConntrack, Netns } from "../../tools/netns.ts";
import { runConntop } from "../e2e/_conntop.ts";
import { CONNTOPD_PERMISSIONS } from "../../src/conntopd.ts";
import {
  ARCH,
  buildDist,
  COMPLETIONS,
  exists,
  INSTALL_SH,
  listTree,
  MAN_DIR,
  runInstall,
  sha256File,
  UNIT_TEMPLATE,
} from "./_install.ts";

const HAS_MAN = await exists(MAN_DIR);
const MANIFEST = "share/conntop/install-manifest";
const UNIT = "lib/systemd/system/conntopd.service";
/** The highest exposure `systemd-analyze security` may give the unit, in tenths: its real
 * score, 1.4 with systemd 252, so that losing any hardening setting (0.1 or more) fails. */
const SECURITY_THRESHOLD = 14;

/** What a prefix holds before the install: someone else's files, some directories. */
async function seed(prefix: string): Promise<void> {
  await Deno.mkdir(`${prefix}/bin`, { recursive: true });
  await Deno.writeTextFile(`${prefix}/bin/other-tool`, "#!/bin/sh\n");
  await Deno.chmod(`${prefix}/bin/other-tool`, 0o755);
  await Deno.mkdir(`${prefix}/share/man/man8`, { recursive: true });
  await Deno.writeTextFile(`${prefix}/share/man/man8/other.8`, ".TH OTHER 8\n");
  await Deno.mkdir(`${prefix}/share/zsh`, { recursive: true });
  for (const d of [prefix, `${prefix}/bin`, `${prefix}/share`, `${prefix}/share/man`]) {
    await Deno.chmod(d, 0o755);
  }
  await Deno.chmod(`${prefix}/share/man/man8`, 0o755);
  await Deno.chmod(`${prefix}/share/zsh`, 0o755);
}

/** The installed files (relative to the prefix) and where each comes from. */
function expectedFiles(dist: string): Map<string, { src: string | null; mode: string }> {
  const files = new Map<string, { src: string | null; mode: string }>([
    ["bin/conntop", { src: `${dist}/conntop-${ARCH}`, mode: "755" }],
    ["bin/conntopd", { src: `${dist}/conntopd-${ARCH}`, mode: "755" }],
    [UNIT, { src: null, mode: "644" }],
  ]);
  if (HAS_MAN) {
    for (const p of ["conntop", "conntopd"]) {
      files.set(`share/man/man8/${p}.8`, { src: `${MAN_DIR}/${p}.8`, mode: "644" });
    }
  }
  for (const c of COMPLETIONS) {
    files.set(c.target, { src: `${dist}/completions/${c.file}`, mode: "644" });
  }
  return files;
}

/** The directories an install into a {@linkcode seed}ed prefix has to create. */
const CREATED_DIRS = [
  "lib",
  "lib/systemd",
  "lib/systemd/system",
  "share/bash-completion",
  "share/bash-completion/completions",
  "share/conntop",
  "share/fish",
  "share/fish/vendor_completions.d",
  "share/zsh/site-functions",
];

/** Lines of `after` not in `before`, and of `before` not in `after`. */
function diff(before: string[], after: string[]): { added: string[]; removed: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return {
    added: after.filter((l) => !b.has(l)),
    removed: before.filter((l) => !a.has(l)),
  };
}

/** The manifest's entries: files with their sha256 and directories, paths as written. */
async function readManifest(path: string): Promise<{ files: Map<string, string>; dirs: string[] }> {
  const files = new Map<string, string>();
  const dirs: string[] = [];
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    let m;
    if ((m = /^file ([0-9a-f]{64}) (\/.*)$/.exec(line))) files.set(m[2]!, m[1]!);
    else if ((m = /^dir (\/.*)$/.exec(line))) dirs.push(m[1]!);
    else assert(line === "" || line.startsWith("#") || line.startsWith("prefix "), line);
  }
  return { files, dirs };
}

/** Lines of the unit without those naming conntopd's binary (ExecStart=, active or commented). */
function withoutExecStart(text: string): string[] {
  return text.split("\n").filter((l) => !/^(#\s*)?ExecStart=\S*\/conntopd(\s|$)/.test(l));
}

/** The stderr lines of a run. */
function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

Deno.test("install.sh installs a real build, upgrades it, refuses what is not its own, stages and uninstalls", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "conntop-install-" });
  try {
    const dist = `${tmp}/dist`;
    await buildDist(dist);
    const files = expectedFiles(dist);
    // For the steps about the script's own behaviour: the build with small stand-ins for the
    // binaries, so that each install does not copy and hash 200 MB.
    const small = `${tmp}/small`;
    await Deno.mkdir(`${small}/completions`, { recursive: true });
    for (const b of [`conntop-${ARCH}`, `conntopd-${ARCH}`]) {
      await Deno.writeTextFile(`${small}/${b}`, `stand-in for ${b}\n`);
    }
    for (const c of COMPLETIONS) {
      await Deno.link(`${dist}/completions/${c.file}`, `${small}/completions/${c.file}`);
    }
    const prefix = `${tmp}/usr-local`;
    await seed(prefix);
    const before = await listTree(prefix);

    await t.step(
      "it installs every file with its mode, the build's bytes, and a manifest",
      async () => {
        const r = await runInstall(["--prefix", prefix, "--dist", dist]);
        assertEquals(r.code, 0, r.stderr);
        if (HAS_MAN) assertEquals(r.stderr, "");
        assertMatch(r.stdout, /systemctl enable --now conntopd/);
        assertEquals(r.systemctl, []); // no systemd running: nothing to reload

        const { added, removed } = diff(before, await listTree(prefix));
        assertEquals(removed, []);
        const addedShape = added.map((l) => l.split(" ").slice(0, 3).join(" ")).sort();
        const expectedShape = [
          ...[...files].map(([rel, f]) => `${rel} file ${f.mode}`),
          `${MANIFEST} file 644`,
          ...CREATED_DIRS.map((d) => `${d} dir 755`),
        ].sort();
        assertEquals(addedShape, expectedShape);

        for (const [rel, f] of files) {
          if (f.src === null) continue;
          assertEquals(await sha256File(`${prefix}/${rel}`), await sha256File(f.src), rel);
        }
        const manifest = await readManifest(`${prefix}/${MANIFEST}`);
        const installed = new Map<string, string>();
        for (const rel of files.keys()) {
          installed.set(`${prefix}/${rel}`, await sha256File(`${prefix}/${rel}`));
        }
        assertEquals(new Map([...manifest.files].sort()), new Map([...installed].sort()));
        assertEquals(manifest.dirs.sort(), CREATED_DIRS.map((d) => `${prefix}/${d}`).sort());
      },
    );

    await t.step(
      "the unit runs PREFIX/bin/conntopd and passes systemd-analyze verify and security",
      async () => {
        const unitPath = `${prefix}/${UNIT}`;
        const unit = await Deno.readTextFile(unitPath);
        const template = await Deno.readTextFile(UNIT_TEMPLATE);
        assertEquals(
          lines(unit).filter((l) => l.startsWith("ExecStart=")),
          [`ExecStart=${prefix}/bin/conntopd $CONNTOPD_OPTS`],
        );
        assertEquals(withoutExecStart(unit), withoutExecStart(template));
        // What the score cannot tell: the one capability, and V8's JIT left alone.
        assertEquals(lines(unit).filter((l) => /^(Ambient|Capability)/.test(l)), [
          "AmbientCapabilities=CAP_NET_ADMIN",
          "CapabilityBoundingSet=CAP_NET_ADMIN",
        ]);
        assertEquals(lines(unit).filter((l) => l.startsWith("MemoryDenyWriteExecute=")), [
          "MemoryDenyWriteExecute=no",
        ]);

        // verify also runs `man conntopd(8)` for Documentation=: it must find the installed page.
        const verify = await runCommand(
          HAS_MAN
            ? ["env", `MANPATH=${prefix}/share/man`, "systemd-analyze", "verify", unitPath]
            : ["systemd-analyze", "verify", "--man=no", unitPath],
          { check: false },
        );
        assertEquals(verify.code, 0, verify.stderr);
        // Unknown keys and bad values are only warnings, naming the unit.
        assertEquals(lines(verify.stderr).filter((l) => l.includes("conntopd")), []);

        const security = await runCommand([
          "systemd-analyze",
          "security",
          "--offline=true",
          `--threshold=${SECURITY_THRESHOLD}`,
          unitPath,
        ], { check: false });
        const score = /Overall exposure level for conntopd\.service: ([\d.]+)/.exec(
          security.stdout,
        )?.[1];
        console.log(`systemd-analyze security: overall exposure ${score}`);
        assertEquals(security.code, 0, `exposure ${score}:\n${security.stdout}${security.stderr}`);
      },
    );

    await t.step(
      "man renders the installed pages and finds them under PREFIX/share/man",
      async () => {
        if (!HAS_MAN) {
          console.log(`No ${MAN_DIR}: no man pages to check`);
          return;
        }
        for (const page of ["conntop", "conntopd"]) {
          const r = await runCommand([
            "env",
            "MANWIDTH=80",
            "MANPAGER=cat",
            "man",
            "-l",
            `${prefix}/share/man/man8/${page}.8`,
          ], { check: false });
          assertEquals(r.code, 0, r.stderr);
          assertMatch(r.stdout, new RegExp(`^${page.toUpperCase()}\\(8\\)`));
          assertMatch(r.stdout, new RegExp(`^NAME\\n\\s+${page} `, "m"));
        }
        const where = await runCommand([
          "env",
          `MANPATH=${prefix}/share/man`,
          "man",
          "-w",
          "conntop",
          "conntopd",
        ]);
        assertEquals(lines(where.stdout), [
          `${prefix}/share/man/man8/conntop.8`,
          `${prefix}/share/man/man8/conntopd.8`,
        ]);
      },
    );

    await t.step("bash, fish and zsh find the installed completions", async () => {
      const home = await Deno.makeTempDir({ prefix: "conntop-install-home-" });
      try {
        // Loaded the way bash-completion loads it on demand: from $XDG_DATA_DIRS/bash-completion.
        const bash = await runCommand([
          "env",
          "-i",
          `HOME=${home}`,
          "PATH=/usr/bin:/bin",
          `XDG_DATA_DIRS=${prefix}/share`,
          "bash",
          "--norc",
          "--noprofile",
          "-c",
          `. /usr/share/bash-completion/bash_completion
__load_completion conntop || exit 3
spec=$(complete -p conntop) || exit 4
fn=\${spec##*-F }; fn=\${fn%% *}
COMP_WORDS=(conntop --conn); COMP_CWORD=1; COMP_LINE="conntop --conn"; COMP_POINT=\${#COMP_LINE}
"$fn" conntop --conn conntop
printf '%s\\n' "\${COMPREPLY[@]}"`,
        ], { check: false });
        assertEquals(bash.code, 0, bash.stderr);
        assertEquals(lines(bash.stdout), ["--connect"]);

        // fish loads vendor completions of commands on PATH only: a stand-in that must never run
        // (fish's completions are static).
        const fake = `${home}/bin`;
        const ran = `${home}/ran`;
        await Deno.mkdir(fake);
        for (const p of ["conntop", "conntopd"]) {
          await Deno.writeTextFile(`${fake}/${p}`, `#!/bin/sh\necho "$0" >> '${ran}'\n`);
          await Deno.chmod(`${fake}/${p}`, 0o755);
        }
        const fish = await runCommand([
          "env",
          "-i",
          `HOME=${home}`,
          `PATH=${fake}:/usr/bin:/bin`,
          `XDG_DATA_DIRS=${prefix}/share`,
          "fish",
          "-c",
          'complete -C "conntop --conn"; complete -C "conntopd --token-f"',
        ], { check: false });
        assertEquals(fish.code, 0, fish.stderr);
        assertEquals(lines(fish.stdout).map((l) => l.split("\t")[0]), [
          "--connect",
          "--token-file",
        ]);
        assert(!await exists(ran), "fish ran the program");

        // zsh's compinit autoloads #compdef files from $fpath.
        const zsh = await runCommand([
          "env",
          "-i",
          `HOME=${home}`,
          "PATH=/usr/bin:/bin",
          "zsh",
          "-f",
          "-c",
          `fpath=(${prefix}/share/zsh/site-functions $fpath)
autoload -Uz compinit && compinit -u -d ${home}/zcompdump
print -r -- $_comps[conntop] $_comps[conntopd]`,
        ], { check: false });
        assertEquals(zsh.code, 0, zsh.stderr);
        assertEquals(zsh.stdout.trim(), "_conntop _conntopd");
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    });

    await t.step("a reinstall upgrades the files in place", async () => {
      // A newer build: one completion changed, the rest linked from the first build.
      const dist2 = `${tmp}/dist2`;
      await Deno.mkdir(`${dist2}/completions`, { recursive: true });
      for (const b of [`conntop-${ARCH}`, `conntopd-${ARCH}`]) {
        await Deno.link(`${dist}/${b}`, `${dist2}/${b}`);
      }
      for (const c of COMPLETIONS) {
        await Deno.link(`${dist}/completions/${c.file}`, `${dist2}/completions/${c.file}`);
      }
      const changed = `${dist2}/completions/conntop.fish`;
      const text = (await Deno.readTextFile(changed)) + "# a newer build\n";
      await Deno.remove(changed);
      await Deno.writeTextFile(changed, text);
      const target = `${prefix}/share/fish/vendor_completions.d/conntop.fish`;
      const inode = (await Deno.stat(target)).ino;
      const listed = await listTree(prefix);

      const r = await runInstall(["--prefix", prefix, "--dist", dist2]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(await Deno.readTextFile(target), text);
      assert((await Deno.stat(target)).ino !== inode, "the file was rewritten in place");
      const { added, removed } = diff(listed, await listTree(prefix));
      // That file and the manifest changed; nothing else (no temporary file left behind).
      assertEquals(
        removed.map((l) => l.split(" ")[0]).sort(),
        [MANIFEST, "share/fish/vendor_completions.d/conntop.fish"],
      );
      assertEquals(
        added.map((l) => l.split(" ")[0]).sort(),
        removed.map((l) => l.split(" ")[0]).sort(),
      );
      const manifest = await readManifest(`${prefix}/${MANIFEST}`);
      assertEquals(manifest.files.get(target), await sha256File(changed));
      assertEquals(manifest.files.size, files.size);
    });

    await t.step("--uninstall leaves the prefix exactly as it was before the install", async () => {
      const r = await runInstall(["--prefix", prefix, "--uninstall"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stderr, "");
      assertEquals(await listTree(prefix), before);
    });

    await t.step("--uninstall keeps a file changed since the install, and says so", async () => {
      const installed = await runInstall(["--prefix", prefix, "--dist", small]);
      assertEquals(installed.code, 0, installed.stderr);
      const edited = `${prefix}/share/bash-completion/completions/conntopd`;
      await Deno.writeTextFile(edited, "# my own\n", { append: true });
      const text = await Deno.readTextFile(edited);

      const r = await runInstall(["--prefix", prefix, "--uninstall"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(lines(r.stderr).length, 1, r.stderr);
      assertMatch(r.stderr, new RegExp(`Keeping '${edited}'.*changed`));
      assertEquals(await Deno.readTextFile(edited), text);
      // Everything else is gone; the kept file's directories stay for it.
      const kept = [
        "share/bash-completion dir 755",
        "share/bash-completion/completions dir 755",
        `share/bash-completion/completions/conntopd file 644 ${
          (await Deno.stat(edited)).size
        } ${await sha256File(edited)}`,
      ];
      assertEquals(await listTree(prefix), [...before, ...kept].sort());
      await Deno.remove(`${prefix}/share/bash-completion`, { recursive: true });
    });

    await t.step(
      "a file it did not write is refused without --force, replaced with it",
      async () => {
        const foreign = `${prefix}/bin/conntopd`;
        await Deno.writeTextFile(foreign, "someone else's conntopd\n");
        const listed = await listTree(prefix);

        const r = await runInstall(["--prefix", prefix, "--dist", small]);
        assertEquals(r.code, 1);
        assertEquals(lines(r.stderr), [
          `install.sh: '${foreign}' exists and was not installed by this script: not overwriting it (--force does)`,
        ]);
        assertEquals(await listTree(prefix), listed); // refused before writing anything

        const forced = await runInstall(["--prefix", prefix, "--dist", small, "--force"]);
        assertEquals(forced.code, 0, forced.stderr);
        assertEquals(await sha256File(foreign), await sha256File(`${small}/conntopd-${ARCH}`));
        // Now it is the install's, and goes with it.
        const un = await runInstall(["--prefix", prefix, "--uninstall"]);
        assertEquals(un.code, 0, un.stderr);
        assert(!await exists(foreign));
        assertEquals(await listTree(prefix), before);
      },
    );

    await t.step(
      "--destdir stages under DIR, with the prefix's paths inside the files",
      async () => {
        const stage = `${tmp}/stage`;
        assert(
          !await exists("/usr/share/conntop"),
          "a conntop is installed in /usr on this machine",
        );
        const r = await runInstall(["--prefix", "/usr", "--destdir", stage, "--dist", dist]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.systemctl, []);
        for (const [rel, f] of files) {
          const st = await Deno.stat(`${stage}/usr/${rel}`);
          assertEquals(((st.mode ?? 0) & 0o777).toString(8), f.mode, rel);
          if (f.src !== null) {
            assertEquals(await sha256File(`${stage}/usr/${rel}`), await sha256File(f.src), rel);
          }
        }
        const unit = await Deno.readTextFile(`${stage}/usr/${UNIT}`);
        assertEquals(
          lines(unit).filter((l) => l.startsWith("ExecStart=")),
          ["ExecStart=/usr/bin/conntopd $CONNTOPD_OPTS"],
        );
        const manifest = await readManifest(`${stage}/usr/${MANIFEST}`);
        assertEquals(
          [...manifest.files.keys()].sort(),
          [...files.keys()].map((f) => `/usr/${f}`).sort(),
        );
        assert(!await exists("/usr/share/conntop"), "the install wrote outside --destdir");

        const un = await runInstall(["--prefix", "/usr", "--destdir", stage, "--uninstall"]);
        assertEquals(un.code, 0, un.stderr);
        assertEquals(await listTree(stage), [". dir 755"]);
      },
    );

    await t.step(
      "with systemd running: daemon-reload after install and uninstall, never enable or start",
      async () => {
        const live = `${tmp}/live`;
        const r = await runInstall(["--prefix", live, "--dist", small], { systemd: true });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.systemctl, ["daemon-reload"]);
        assertMatch(r.stdout, /nothing was enabled or started/);

        const refused = await runInstall(["--prefix", live, "--uninstall"], {
          systemd: true,
          enabled: true,
        });
        assertEquals(refused.code, 1);
        assertEquals(lines(refused.stderr), [
          "install.sh: conntopd.service is enabled or running: run 'systemctl disable --now conntopd' first",
        ]);
        assert(await exists(`${live}/${UNIT}`));

        const un = await runInstall(["--prefix", live, "--uninstall"], { systemd: true });
        assertEquals(un.code, 0, un.stderr);
        assertEquals(un.systemctl, [
          "--quiet is-enabled conntopd.service",
          "--quiet is-active conntopd.service",
          "daemon-reload",
        ]);
        assert(!await exists(live));

        const noUnit = await runInstall(["--prefix", live, "--dist", small, "--no-systemd"], {
          systemd: true,
        });
        assertEquals(noUnit.code, 0, noUnit.stderr);
        assertEquals(noUnit.systemctl, []);
        assert(!await exists(`${live}/lib`));

        // The unit of an earlier install stays when a reinstall leaves it out, and goes with
        // --uninstall.
        const withUnit = await runInstall(["--prefix", live, "--dist", small], { systemd: true });
        assertEquals(withUnit.code, 0, withUnit.stderr);
        assertEquals(withUnit.systemctl, ["daemon-reload"]);
        const again = await runInstall(["--prefix", live, "--dist", small, "--no-systemd"]);
        assertEquals(again.code, 0, again.stderr);
        assertMatch(again.stdout, new RegExp(`Kept '${live}/${UNIT}' from the earlier install`));
        assert(await exists(`${live}/${UNIT}`));
        const gone = await runInstall(["--prefix", live, "--uninstall"]);
        assertEquals(gone.code, 0, gone.stderr);
        assert(!await exists(live));
      },
    );

    await t.step("errors are one line with the documented exit code", async () => {
      const empty = `${tmp}/empty`;
      await Deno.mkdir(empty);
      const cases: [string[], number, RegExp][] = [
        [["--bogus"], 2, /^install\.sh: Unknown option '--bogus'/],
        [["--prefix"], 2, /^install\.sh: Option '--prefix' needs a directory/],
        [["--prefix", "relative"], 2, /^install\.sh: Unsupported prefix 'relative'/],
        [["stray"], 2, /^install\.sh: Unexpected argument 'stray'/],
        [["--uninstall", "--force"], 2, /has no meaning with '--uninstall'/],
        [
          ["--prefix", `${tmp}/p`, "--dist", empty],
          1,
          new RegExp(
            `^install\\.sh: Missing binary '${empty}/conntop-${ARCH}': build it first with ` +
              `'deno task build --target ${ARCH} --out-dir ${empty}'$`,
          ),
        ],
        [
          ["--prefix", `${tmp}/p`, "--uninstall"],
          1,
          new RegExp(`^install\\.sh: No install manifest at '${tmp}/p/${MANIFEST}'`),
        ],
      ];
      for (const [args, code, re] of cases) {
        const r = await runInstall(args);
        assertEquals(r.code, code, `${args.join(" ")}: ${r.stderr}`);
        assertEquals(lines(r.stderr).length, 1, r.stderr);
        assertMatch(r.stderr.trim(), re);
        assertEquals(r.stdout, "");
      }
      assert(!await exists(`${tmp}/p`), "a failed run created the prefix");

      const help = await runInstall(["--help"]);
      assertEquals(help.code, 0);
      assertMatch(help.stdout, /^Exit status: 0 .*1 failure.*2 bad usage/ms);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** Entries of the namespace's table; the test compares what conntrack lists with the client. */
const ENTRIES = [
  "-I -t 300 -u SEEN_REPLY,ASSURED -s 10.7.0.1 -d 10.7.0.2 -p tcp --sport 40000 --dport 443 --state ESTABLISHED -m 7",
  "-I -t 200 -s 10.7.0.1 -d 10.7.0.3 -p udp --sport 5353 --dport 53",
  "-I -t 100 -s 10.7.0.1 -d 10.7.0.2 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 9",
  "-I -t 300 -s fd07::1 -d fd07::2 -p tcp --sport 1 --dport 22 --state SYN_SENT",
];

/** The user conntopd runs as here (a DynamicUser= is another unprivileged uid like it). */
const NOBODY = 65534;

/** A place a non-root user can run deno from: a copy of deno, of src/ and ffi/, a DENO_DIR. */
async function nobodySandbox(): Promise<{ dir: string; deno: string; conntopd: string }> {
  const dir = await Deno.makeTempDir({ prefix: "conntop-install-nobody-" });
  try {
    await Deno.chmod(dir, 0o755);
    const repo = new URL("../../", import.meta.url).pathname;
    await Deno.mkdir(`${dir}/app`);
    await runCommand(["cp", "-R", `${repo}src`, `${repo}ffi`, `${dir}/app/`]);
    await Deno.copyFile(Deno.execPath(), `${dir}/deno`);
    await runCommand(["chmod", "-R", "a+rX", `${dir}/app`, `${dir}/deno`]);
    await Deno.mkdir(`${dir}/home`);
    await Deno.chown(`${dir}/home`, NOBODY, NOBODY);
    return { dir, deno: `${dir}/deno`, conntopd: `${dir}/app/src/conntopd.ts` };
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
}

Deno.test("conntopd serves its namespace's table as a non-root user with CAP_NET_ADMIN as its only capability", async () => {
  await using ns = await Netns.create("instcap");
  await loadConntrack(ns, ENTRIES);
  const sandbox = await nobodySandbox();
  let child: Deno.ChildProcess | undefined;
  let reading: Promise<void> | undefined;
  let log = "";
  try {
    const home = `${sandbox.dir}/home`;
    child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns.name,
        "setpriv",
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        "--inh-caps=-all,+net_admin",
        "--ambient-caps=+net_admin",
        "--bounding-set=-all,+net_admin",
        "--",
        "env",
        "-i",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        `HOME=${home}`,
        `DENO_DIR=${home}/deno`,
        "NO_COLOR=1",
        sandbox.deno,
        "run",
        ...CONNTOPD_PERMISSIONS,
        sandbox.conntopd,
        "--interval",
        "0.2",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Its log, until it says it serves (on its default port, on the namespace's loopback).
    const stderr = child.stderr;
    reading = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stderr) log += dec.decode(chunk, { stream: true });
    })();
    const deadline = Date.now() + 30_000;
    while (!/ INFO .*serving /.test(log)) {
      const exited = await Promise.race([
        child.status.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 50)),
      ]);
      if (exited) {
        await reading;
        throw new Error(`conntopd exited before serving; log:\n${log}`);
      }
      if (Date.now() > deadline) throw new Error(`conntopd did not serve in 30 s; log:\n${log}`);
    }

    // ip netns exec, setpriv and env each exec the next: the child is deno itself.
    assertEquals(await Deno.readLink(`/proc/${child.pid}/exe`), sandbox.deno);
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
    const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, "m").exec(status)?.[1];
    assertEquals(field("Uid"), `${NOBODY}\t${NOBODY}\t${NOBODY}\t${NOBODY}`);
    for (const set of ["CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
      assertEquals(field(set), "0000000000001000", `${set} (only CAP_NET_ADMIN, bit 12)`);
    }

    const r = await runConntop(["--connect", "127.0.0.1", "--once", "-o", "json", "-n"], {
      prefix: ["ip", "netns", "exec", ns.name],
    });
    assertEquals(r.code, 0, `${r.stderr}\nserver log:\n${log}`);
    const got = (JSON.parse(r.stdout).connections as Record<string, unknown>[]).map((c) => ({
      id: c.id,
      protocol: c.protocol,
      src: c.orig_src,
      dst: c.orig_dst,
      sport: c.orig_sport ?? null,
      dport: c.orig_dport ?? null,
      mark: c.mark,
    }));
    const ref = parseConntrackXml((await ns.conntrack(["-L", "-o", "xml"])).stdout).map((f) => ({
      id: f.id,
      protocol: f.l4name,
      src: f.orig.src,
      dst: f.orig.dst,
      sport: f.orig.sport ?? null,
      dport: f.orig.dport ?? null,
      mark: f.mark ?? 0,
    }));
    const byId = (a: { id: unknown }, b: { id: unknown }) => Number(a.id) - Number(b.id);
    assertEquals(ref.length, ENTRIES.length);
    assertEquals(got.sort(byId), ref.sort(byId));
  } finally {
    if (child !== undefined) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      await reading;
    }
    await Deno.remove(sandbox.dir, { recursive: true });
  }
});

// Keep the script's path in the test's output when it is missing its executable bit.
Deno.test("install.sh is executable", async () => {
  const st = await Deno.stat(INSTALL_SH);
  assertEquals((st.mode ?? 0) & 0o111, 0o111, `${INSTALL_SH} mode ${(st.mode ?? 0).toString(8)}`);
});
