/**
 * A conntop server as the monitor's source (--connect), loaded only for --connect: the client
 * and the protocol codec stay out of a live monitor's heap.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import type { RemoteOptions } from "../core/mod.ts";
import { emptyTableHint } from "./hints.ts";
import { RemoteLink, runRemoteMonitor } from "./remote.ts";
import { localHostname, type Source, type SourceSink } from "./source.ts";

/** A conntop server's table (--connect), reconnecting for as long as the monitor runs. */
export class RemoteSource implements Source {
  readonly label = "remote";
  readonly host = localHostname();
  readonly live = false;
  readonly emptyHint: string | undefined;
  readonly closingNotes: readonly string[] = [];
  readonly remote: RemoteLink;
  #opts: Options;

  constructor(opts: Options, remote: RemoteOptions) {
    this.#opts = opts;
    // The header shows the server and the connection's state instead of the host and label.
    this.remote = new RemoteLink(remote);
    this.emptyHint = opts.track ? undefined : emptyTableHint(undefined, remote.display);
  }

  run(sink: SourceSink, signal: AbortSignal): Promise<number> {
    return runRemoteMonitor(this.#opts, this.remote, {
      signal,
      onBatch: (b) => sink.batch(b),
      onWarning: (m) => sink.warning(m),
      clearWarning: (m) => sink.clearWarning(m),
      notify: (text, error) => sink.notify(text, error),
      repaint: () => sink.changed("remote"),
      onReady: (meta) => sink.ready(meta),
    });
  }
}
