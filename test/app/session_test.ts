/**
 * runSession() restores what the collector changed in the kernel on every way out, including an
 * error thrown and not caught anywhere on the main thread (from a timer, as a bug would throw),
 * which would otherwise end the process with the sysctls and the --track table still changed.
 * Checked in a test namespace with `sysctl` and `nft`.
 *
 * @module
 */

import { assertEquals, assertRejects } from "../_helpers/assert.ts";
import { Netns } from "../../tools/netns.ts";
import { parseOptions } from "../../src/cli/mod.ts";
import { runSession } from "../../src/app/session.ts";
import { ConntopError } from "../../src/errors.ts";

async function kernelState(ns: Netns): Promise<{ acct: string; tstamp: string; track: boolean }> {
  const tables = await ns.exec(["nft", "list", "tables"]);
  return {
    acct: await ns.sysctl("net.netfilter.nf_conntrack_acct"),
    tstamp: await ns.sysctl("net.netfilter.nf_conntrack_timestamp"),
    track: tables.stdout.includes("conntop_track"),
  };
}

for (const kind of ["error", "rejection"] as const) {
  Deno.test(`runSession() restores the kernel and fails with one line on an uncaught ${kind}`, async () => {
    await using ns = await Netns.create("uncaught");
    await ns.sysctl("net.netfilter.nf_conntrack_acct", 0);
    await ns.sysctl("net.netfilter.nf_conntrack_timestamp", 0);
    const opts = parseOptions(["--stream", "--netns", ns.name, "--enable-acct", "--track"]);
    let during: Awaited<ReturnType<typeof kernelState>> | undefined;
    const err = await assertRejects(
      () =>
        runSession(opts, {
          onBatch: () => {},
          onReady: async () => {
            during = await kernelState(ns);
            // A bug somewhere on the main thread, outside any try: thrown from a timer, or a
            // promise rejected with nobody to handle it.
            if (kind === "error") {
              setTimeout(() => {
                throw new Error("boom from a timer");
              }, 10);
            } else {
              void Promise.reject(new Error("boom from a promise"));
            }
          },
        }),
      ConntopError,
    );
    assertEquals(during, { acct: "1", tstamp: "1", track: true });
    assertEquals(
      err.message,
      `Unexpected error: boom from a ${kind === "error" ? "timer" : "promise"}`,
    );
    assertEquals(await kernelState(ns), { acct: "0", tstamp: "0", track: false });
  });
}
