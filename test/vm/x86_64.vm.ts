/**
 * conntopd.service under a real systemd (PID 1 of a Debian 12 x86_64 VM that scripts/vm.sh
 * boots): installed by scripts/install.sh, started with the drop-in that runs the same program
 * with `deno run` and exactly the permissions the binary bakes in (the compiled binary needs
 * denort, which cannot be had here), and held to what the unit promises: a dynamic user with
 * only CAP_NET_ADMIN, a client served over the VM's network through the token-and-TLS drop-in
 * the unit's comments give, a client outside IPAddressAllow refused, `systemctl restart`
 * survived, sysctls restored by `systemctl stop`, the log in the journal.
 *
 * Run by `deno task test:vm` (scripts/vm.sh test x86_64), on the host inside the namespace that
 * holds the VM's tap; never by the ordinary suite (the file name is not *_test.ts).
 *
 * @module
 */

import { assert, assertEquals } from "../_helpers/assert.ts";
import { CONNTOP_PERMISSIONS, CONNTOPD_BUILD_PERMISSIONS } from "../../scripts/_build/commands.ts";
import { Guest, host, hostCheck } from "./_guest.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const HOST_IF = Deno.env.get("CONNTOP_VM_HOST_IF") ?? "tap0";
/** In the VM: the project (read-only) and Deno. */
const PROJECT = "/mnt/conntop";
const DENO = "/opt/deno/deno";
/** The VM's network: the allowed clients' subnet is the one the unit's comment names. */
const ALLOWED_NET = "192.0.2";
const OTHER_NET = "198.51.100";
const SERVER = `${ALLOWED_NET}.2`;
const SERVER_OTHER = `${OTHER_NET}.2`;
/** An entry the test puts into the VM's table, to find again in what clients get. */
const MARK = 4242;
const ENTRY =
  `-I -s 203.0.113.5 -d 203.0.113.6 -p tcp --sport 1111 --dport 2222 --state ESTABLISHED -u SEEN_REPLY,ASSURED -t 3000 -m ${MARK}`;

/** `deno run` of conntopd with exactly the binary's permissions (scripts/_build/commands.ts). */
const CONNTOPD_RUN = [
  DENO,
  "run",
  "--no-prompt",
  "--quiet",
  ...CONNTOPD_BUILD_PERMISSIONS,
  `${PROJECT}/src/conntopd.ts`,
].join(" ");

/**
 * The drop-in that runs conntopd from source (the README's). `deno run` keeps what it compiles in
 * DENO_DIR, which it must be able to create: under ProtectSystem=strict, with a dynamic user whose
 * home is "/", it stops with "Could not resolve global Deno cache directory" unless given one.
 */
const DENO_DROP_IN = `[Service]
CacheDirectory=conntopd
Environment=DENO_DIR=%C/conntopd
ExecStart=
ExecStart=${CONNTOPD_RUN} $CONNTOPD_OPTS
`;

/** The token-and-TLS drop-in as the installed unit's comments give it, run from source. */
function remoteDropIn(unit: string): string {
  const lines = unit.split("\n");
  const start = lines.findIndex((l) => /^#\s+\[Service\]\s*$/.test(l));
  assert(start >= 0, "the unit's comments give no [Service] drop-in");
  const out: string[] = [];
  for (const line of lines.slice(start)) {
    const m = /^# {2,3}(.*)$/.exec(line);
    if (m === null) break;
    out.push(m[1]!);
  }
  const text = out.join("\n").replace(/^\s*$[\s\S]*/m, "");
  assert(text.includes("LoadCredential=token:"), `unexpected drop-in:\n${text}`);
  assert(text.includes(`IPAddressAllow=${ALLOWED_NET}.0/24`), `unexpected drop-in:\n${text}`);
  return text.replace("ExecStart=/usr/local/bin/conntopd ", `ExecStart=${CONNTOPD_RUN} `) + "\n";
}

/**
 * The same drop-in as docs/server.md gives it (its ```ini block), run from source. An empty
 * `IPAddressDeny=` there once emptied the unit's deny list, letting every address in.
 */
async function docsDropIn(): Promise<string> {
  const doc = await Deno.readTextFile(`${ROOT}/docs/server.md`);
  const m = /```ini\n([\s\S]*?)```/.exec(doc);
  assert(m !== null, "docs/server.md has no ini block");
  const text = m[1]!.split("\n").map((l) => l.replace(/^ {3}/, "")).join("\n");
  assert(text.includes("LoadCredential=token:"), `unexpected drop-in:\n${text}`);
  assert(text.includes(`${ALLOWED_NET}.0/24`), `unexpected drop-in:\n${text}`);
  return text.replace("ExecStart=/usr/local/bin/conntopd ", `ExecStart=${CONNTOPD_RUN} `);
}

/** Waits until the service's journal shows `count` "serving" lines; fails with its status. */
async function waitServing(guest: Guest, count: number, what: string): Promise<void> {
  const out = await guest.run(
    `end=$((SECONDS + 300))
     while [ $SECONDS -lt $end ]; do
       n=$(journalctl -u conntopd -o cat | grep -c ' serving ')
       [ "$n" -ge ${count} ] && exit 0
       sleep 2
     done
     systemctl show -p ActiveState,SubState,Result,NRestarts,ExecMainStatus conntopd
     journalctl -u conntopd -o cat --no-pager | tail -n 40
     exit 1`,
  );
  assertEquals(out.code, 0, `conntopd not serving (${what}):\n${out.out}`);
}

async function mainPid(guest: Guest): Promise<number> {
  const pid = Number((await guest.check("systemctl show -p MainPID --value conntopd")).trim());
  assert(pid > 0, `conntopd has no main process (${pid})`);
  return pid;
}

/** conntop on the host, with exactly its binary's permissions; its exit code and outputs. */
function conntop(args: string[]) {
  return host([
    Deno.execPath(),
    "run",
    "--no-prompt",
    "--quiet",
    ...CONNTOP_PERMISSIONS,
    `${ROOT}/main.ts`,
    ...args,
  ], { env: { NO_COLOR: "1" } });
}

/** The marks of the connections in `conntop --once -o json` output. */
function marks(json: string): number[] {
  const snap = JSON.parse(json) as { connections: { mark: number }[] };
  assert(Array.isArray(snap.connections), "the JSON output has the connections");
  return snap.connections.map((c) => c.mark);
}

Deno.test("conntopd.service under systemd as PID 1 keeps the unit's promises", async (t) => {
  await using guest = await Guest.connect();
  const tmp = await Deno.makeTempDir({ prefix: "conntop-vm-" });
  try {
    await t.step("the VM runs systemd as PID 1", async () => {
      assertEquals((await guest.check("ps -o comm= -p 1")).trim(), "systemd");
      const state = (await guest.run("systemctl is-system-running --wait")).out.trim();
      assert(state === "running" || state === "degraded", state);
    });

    await t.step("network: the VM and this namespace only", async () => {
      await hostCheck(["ip", "addr", "add", `${ALLOWED_NET}.1/24`, "dev", HOST_IF]);
      await hostCheck(["ip", "addr", "add", `${OTHER_NET}.1/24`, "dev", HOST_IF]);
      await guest.check(
        `dev=$(ip -o link | awk -F': ' '/52:54:00:12:34:56/ {print $2}')
         ip link set "$dev" up
         ip addr add ${SERVER}/24 dev "$dev"
         ip addr add ${SERVER_OTHER}/24 dev "$dev"`,
      );
      await guest.check(`conntrack ${ENTRY}`);
    });

    await t.step("scripts/install.sh installs the unit into the running systemd", async () => {
      // The "binaries" are the launchers scripts/link.sh writes (deno run with the baked
      // permissions): deno compile cannot get its runtime here.
      const out = await guest.check(
        `set -e
         mkdir -p /tmp/dist
         for p in conntop conntopd; do
           ${DENO} run --allow-read=${PROJECT} ${PROJECT}/scripts/_build/launcher.ts \\
             "$p" ${DENO} ${PROJECT} > /tmp/dist/"$p"-x86_64
           chmod 755 /tmp/dist/"$p"-x86_64
         done
         bash ${PROJECT}/scripts/install.sh --dist /tmp/dist
         systemctl show -p FragmentPath --value conntopd`,
      );
      assert(/^Installed \d+ files under \/usr\/local /m.test(out), out);
      assert(out.trim().endsWith("/usr/local/lib/systemd/system/conntopd.service"), out);
    });

    await t.step("started with the deno-run drop-in, it serves loopback", async () => {
      await guest.check(
        `mkdir -p /etc/systemd/system/conntopd.service.d
         cat > /etc/systemd/system/conntopd.service.d/10-deno-run.conf <<'EOF'
${DENO_DROP_IN}EOF
         systemctl daemon-reload && systemctl start conntopd`,
      );
      await waitServing(guest, 1, "loopback");
      const r = await guest.run(
        "/usr/local/bin/conntop --connect 127.0.0.1 --once -o json 2>/tmp/client.err || " +
          "{ rc=$?; cat /tmp/client.err; exit $rc; }",
      );
      assertEquals(r.code, 0, r.out);
      assert(marks(r.out).includes(MARK), r.out);
    });

    await t.step("it runs as a dynamic user with only CAP_NET_ADMIN", async () => {
      const pid = await mainPid(guest);
      const status = await guest.check(`cat /proc/${pid}/status; ps -o comm= -p ${pid}`);
      const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1];
      const uids = field("Uid")!.split(/\s+/).map(Number);
      // systemd's dynamic users are 61184–65519 (systemd.exec(5)).
      for (const uid of uids) assert(uid >= 61184 && uid <= 65519, `uid ${uid}`);
      // Every set is CAP_NET_ADMIN (12) alone; ambient capabilities are inheritable too.
      const netAdmin = (1n << 12n).toString(16).padStart(16, "0");
      for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
        assertEquals(field(set), netAdmin, set);
      }
      assertEquals(field("NoNewPrivs"), "1");
      assert(status.trim().endsWith("deno"), status);
      // systemd's registry of the dynamic users it allocated names this one's uid.
      const registered = await guest.check("readlink /run/systemd/dynamic-uid/direct:conntopd");
      assertEquals(Number(registered.trim()), uids[0]);
    });

    const cert = `${tmp}/cert.pem`;
    const token = `${tmp}/token`;
    await t.step("the unit's token-and-TLS drop-in exposes it to the VM's network", async () => {
      const unit = await guest.check("cat /usr/local/lib/systemd/system/conntopd.service");
      await guest.check(
        `set -e
         install -d -m 700 /etc/conntopd && cd /etc/conntopd
         openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \\
           -subj /CN=conntop-vm -addext subjectAltName=IP:${SERVER},IP:${SERVER_OTHER} \\
           -addext basicConstraints=critical,CA:FALSE -keyout key.pem -out cert.pem 2>/dev/null
         openssl rand -hex 32 > token && chmod 600 token key.pem
         cat > /etc/systemd/system/conntopd.service.d/20-remote.conf <<'EOF'
${remoteDropIn(unit)}EOF
         systemctl daemon-reload && systemctl restart conntopd`,
      );
      await waitServing(guest, 2, "token and TLS");
      await Deno.writeTextFile(cert, await guest.check("cat /etc/conntopd/cert.pem"));
      await Deno.writeTextFile(token, await guest.check("cat /etc/conntopd/token"), {
        mode: 0o600,
      });
      const listening = await guest.check("ss -Hltn 'sport = :55555'");
      assert(/(\*|0\.0\.0\.0|\[::\]):55555/.test(listening), `listens on any:\n${listening}`);
    });

    await t.step("a client in the allowed subnet is served over TLS with the token", async () => {
      const r = await conntop([
        `--connect=${SERVER}`,
        "--tls-ca",
        cert,
        "--token-file",
        token,
        "--once",
        "-o",
        "json",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assert(marks(r.stdout).includes(MARK), r.stdout);
      const log = await guest.check("journalctl -u conntopd -o cat");
      assert(log.includes(`${ALLOWED_NET}.1`), `the journal names the client:\n${log}`);
    });

    await t.step("a client outside IPAddressAllow is refused", async () => {
      const r = await conntop([
        `--connect=${SERVER_OTHER}`,
        "--tls-ca",
        cert,
        "--token-file",
        token,
        "--once",
        "-o",
        "json",
        "--deadline",
        "8",
      ]);
      assertEquals(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assertEquals(r.stdout, "");
      // The same server on its other address, from the allowed subnet, answers: the refusal is
      // the address filter, not the listener.
      const ok = await conntop([
        `--connect=${SERVER}`,
        "--tls-ca",
        cert,
        "--token-file",
        token,
        "--once",
        "-o",
        "json",
      ]);
      assertEquals(ok.code, 0, ok.stderr);
    });

    await t.step("docs/server.md's drop-in refuses that client too", async () => {
      await guest.check(
        `cat > /etc/systemd/system/conntopd.service.d/20-remote.conf <<'EOF'
${await docsDropIn()}EOF
         systemctl daemon-reload && systemctl restart conntopd`,
      );
      await waitServing(guest, 3, "docs/server.md's drop-in");
      const args = ["--tls-ca", cert, "--token-file", token, "--once", "-o", "json"];
      const refused = await conntop([`--connect=${SERVER_OTHER}`, ...args, "--deadline", "8"]);
      assertEquals(refused.code, 1, `${refused.stdout}\n${refused.stderr}`);
      const ok = await conntop([`--connect=${SERVER}`, ...args]);
      assertEquals(ok.code, 0, ok.stderr);
      assert(marks(ok.stdout).includes(MARK));
    });

    await t.step("it survives systemctl restart", async () => {
      const before = await mainPid(guest);
      await guest.check("systemctl restart conntopd");
      await waitServing(guest, 4, "after restart");
      const after = await mainPid(guest);
      assert(after !== before, `restarted (${before} → ${after})`);
      const r = await conntop([
        `--connect=${SERVER}`,
        "--tls-ca",
        cert,
        "--token-file",
        token,
        "--once",
        "-o",
        "json",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assert(marks(r.stdout).includes(MARK));
    });

    await t.step("systemctl stop restores the sysctls --enable-acct changed", async () => {
      // --enable-acct needs /proc/sys writable: the drop-in the unit's comments call "loosening
      // it knowingly". CAP_NET_ADMIN is enough to write the network namespace's sysctls.
      await guest.check(
        `set -e
         sysctl -qw net.netfilter.nf_conntrack_acct=0 net.netfilter.nf_conntrack_timestamp=0
         printf '[Service]\\nProtectKernelTunables=no\\n' \\
           > /etc/systemd/system/conntopd.service.d/30-acct.conf
         echo 'CONNTOPD_OPTS="--enable-acct"' > /etc/default/conntopd
         systemctl daemon-reload && systemctl restart conntopd`,
      );
      await waitServing(guest, 5, "with --enable-acct");
      const sysctls =
        "sysctl -n net.netfilter.nf_conntrack_acct net.netfilter.nf_conntrack_timestamp";
      assertEquals((await guest.check(sysctls)).trim().split(/\s+/), ["1", "1"]);
      await guest.check("systemctl stop conntopd");
      assertEquals((await guest.check("systemctl is-active conntopd || true")).trim(), "inactive");
      assertEquals((await guest.check(sysctls)).trim().split(/\s+/), ["0", "0"]);
    });

    await t.step("its log is in the journal", async () => {
      const log = await guest.check("journalctl -u conntopd -o cat --no-pager");
      assert((log.match(/ serving '/g) ?? []).length >= 5, log);
      assert(/Shutting down/.test(log), log);
      // Each start is a new dynamic user's process, as systemd logged it.
      const sys = await guest.check("journalctl -u conntopd -o cat --no-pager _PID=1");
      assert((sys.match(/Started conntopd\.service/g) ?? []).length >= 5, sys);
      assert(
        /Stopped conntopd\.service|conntopd\.service: Deactivated successfully/.test(sys),
        sys,
      );
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
