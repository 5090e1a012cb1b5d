/**
 * A ctnetlink socket opened through libnetfilter_conntrack, read with plain `recv()` into one
 * reusable buffer: dump requests, the dump's replies, and event datagrams.
 *
 * Raw pointers stay inside this module. Runs in the collector worker only: its calls block.
 *
 * @module
 */

import {
  CONNTRACK,
  NF_NETLINK_CONNTRACK_DESTROY,
  NF_NETLINK_CONNTRACK_NEW,
  NF_NETLINK_CONNTRACK_UPDATE,
  nfct,
  NFCT_Q_DUMP,
} from "../../ffi/conntrack.ts";
import {
  errno,
  libc,
  MSG_DONTWAIT,
  OsError,
  POLLIN,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOL_SOCKET,
} from "../../ffi/libc.ts";
import { ABI } from "../../ffi/abi.ts";

/** Every conntrack event group. */
export const ALL_EVENTS = NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE |
  NF_NETLINK_CONNTRACK_DESTROY;

/** The outcome of one `recv()`: bytes received, or the errno of a failure (0 = would block). */
export type RecvResult = { bytes: number; errno: 0 } | { bytes: -1; errno: number };

/** An open ctnetlink socket. */
export class CtSocket implements Disposable {
  #handle: Deno.PointerValue;
  readonly fd: number;
  /** The receive buffer; `recv()` fills it from the start. */
  readonly buffer: Uint8Array<ArrayBuffer>;
  /** A DataView over {@linkcode buffer}. */
  readonly view: DataView;
  readonly #pollfd = new Uint8Array(ABI.POLLFD_SIZE);
  readonly #size: bigint;

  private constructor(handle: Deno.PointerValue, bufferSize: number) {
    this.#handle = handle;
    this.fd = nfct().nfct_fd(handle);
    this.buffer = new Uint8Array(bufferSize);
    this.#size = BigInt(bufferSize);
    this.view = new DataView(this.buffer.buffer);
    const pv = new DataView(this.#pollfd.buffer);
    pv.setInt32(0, this.fd, true);
    pv.setInt16(ABI.POLLFD_EVENTS, POLLIN, true);
  }

  /**
   * Opens a socket subscribed to the event `groups` (0 for a dump-only socket).
   * Throws {@linkcode OsError} with the errno (EPERM without CAP_NET_ADMIN).
   */
  static open(groups: number, bufferSize = 1 << 16): CtSocket {
    const handle = nfct().nfct_open(CONNTRACK, groups);
    if (handle === null) throw new OsError("open a conntrack netlink socket", errno());
    return new CtSocket(handle, bufferSize);
  }

  /** Asks for a larger kernel receive buffer (forced past rmem_max when privileged). */
  setReceiveBuffer(bytes: number): void {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setInt32(0, bytes, true);
    if (libc().setsockopt(this.fd, SOL_SOCKET, SO_RCVBUFFORCE, v, 4) < 0) {
      libc().setsockopt(this.fd, SOL_SOCKET, SO_RCVBUF, v, 4);
    }
  }

  /** Sends a dump request for `family` (0: IPv4 and IPv6). */
  requestDump(family = 0): void {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, family, true);
    if (nfct().nfct_send(this.#handle, NFCT_Q_DUMP, data) < 0) {
      throw new OsError("send the conntrack dump request", errno());
    }
  }

  /** Receives one datagram into {@linkcode buffer}; `wait` false returns errno 0 at once when empty. */
  recv(wait: boolean): RecvResult {
    const flags = wait ? 0 : MSG_DONTWAIT;
    const n = Number(libc().recv(this.fd, this.buffer, this.#size, flags));
    if (n >= 0) return { bytes: n, errno: 0 };
    const e = errno();
    return { bytes: -1, errno: e === 11 ? 0 : e };
  }

  /** Waits up to `timeoutMs` for data without blocking the worker's event loop. */
  async readable(timeoutMs: number): Promise<boolean> {
    const rc = await libc().pollAsync(this.#pollfd, 1n, Math.max(0, Math.round(timeoutMs)));
    return rc > 0;
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.#handle !== null) {
      nfct().nfct_close(this.#handle);
      this.#handle = null;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
