/**
 * Undoing what earlier runs left changed in this thread's network namespace, from their undo
 * journals (journal.ts): at every start of the collector, and for `conntop --restore`.
 *
 * It must never undo the changes of a run that is still alive (it restores them itself when it
 * ends), and never touch a namespace other than the one this thread is in.
 *
 * @module
 */

import { deleteTrackTable, restoreSysctls, TRACK_TABLE, trackTableExists } from "./kernel.ts";
import { type JournalEntry, leftovers, ownerAlive, removeLeftover } from "./journal.ts";

/** What {@linkcode recover} found and did. */
export interface Recovery {
  /** One line per dead run whose changes were undone. */
  restored: string[];
  /** One line per change that could not be undone (its journal is kept, for a later try). */
  failed: string[];
  /** Runs still alive that hold changes in this namespace. */
  running: JournalEntry[];
  /** Whether a live run owns the --track table. */
  liveTrack: boolean;
}

/**
 * Undoes the changes recorded in the journals of namespace `key` whose runs are dead, and
 * removes those journals. `where` names the namespace in messages ("network namespace 'x'").
 * Throws JournalError when the journal directory is unsafe or unreadable.
 */
export function recover(key: string, where: string): Recovery {
  const out: Recovery = { restored: [], failed: [], running: [], liveTrack: false };
  for (const left of leftovers(key)) {
    const entry = left.entry;
    if (ownerAlive(entry)) {
      out.running.push(entry);
      if (entry.track !== null) out.liveTrack = true;
      continue;
    }
    const done: string[] = [];
    const failed = restoreSysctls(entry.sysctls);
    for (const c of entry.sysctls) {
      if (!failed.includes(c.path)) done.push(`${dotted(c.path)} back to ${c.previous}`);
    }
    for (const path of failed) out.failed.push(`Failed to restore ${dotted(path)} in ${where}`);
    let tableFailed = false;
    if (entry.track !== null && trackTableExists()) {
      if (deleteTrackTable(entry.track)) done.push(`table inet ${entry.track} deleted`);
      else {
        tableFailed = true;
        out.failed.push(`Failed to delete nftables table 'inet ${entry.track}' in ${where}`);
      }
    }
    if (done.length > 0) {
      out.restored.push(
        `Restored what conntop (pid ${entry.pid}) left changed in ${where}: ${done.join(", ")}`,
      );
    }
    if (failed.length === 0 && !tableFailed) removeLeftover(left);
  }
  return out;
}

/**
 * For `--restore`: deletes the --track table when no journal accounts for it and no live run
 * owns it (left by a conntop that kept no journal). Returns the line to show, or null.
 */
export function deleteOrphanTable(recovery: Recovery, where: string): string | null {
  if (recovery.liveTrack || !trackTableExists()) return null;
  if (!deleteTrackTable(TRACK_TABLE)) {
    recovery.failed.push(`Failed to delete nftables table 'inet ${TRACK_TABLE}' in ${where}`);
    return null;
  }
  return `Deleted the nftables table 'inet ${TRACK_TABLE}' an earlier conntop left in ${where}`;
}

/** /proc/sys/net/netfilter/x as sysctl(8) names it: net.netfilter.x. */
function dotted(path: string): string {
  return path.replace(/^\/proc\/sys\//, "").replaceAll("/", ".");
}
