/**
 * Prints every message of one conntrack dump of the current network namespace, one base64
 * line per netlink message, for tests that decode real kernel messages. Run it inside a test
 * namespace: `ip netns exec NS deno run -A test/_helpers/capture_dump.ts`.
 *
 * @module
 */

import { CtSocket } from "../../src/collector/netlink.ts";
import { encodeBase64 } from "./base64.ts";

const sock = CtSocket.open(0, 1 << 17);
sock.requestDump(0);
const lines: string[] = [];
outer: for (;;) {
  const r = sock.recv(true);
  if (r.bytes < 0) throw new Error(`recv failed with errno ${r.errno}`);
  let off = 0;
  while (off + 16 <= r.bytes) {
    const len = sock.view.getUint32(off, true);
    const type = sock.view.getUint16(off + 4, true);
    if (type === 3) break outer; // NLMSG_DONE
    if (type === 2) throw new Error("the dump answered with an error");
    lines.push(encodeBase64(sock.buffer.subarray(off, off + len)));
    off += (len + 3) & ~3;
  }
}
sock.close();
console.log(lines.join("\n"));
