/**
 * Hints for states of the kernel that look like conntop's fault but are not.
 *
 * @module
 */

/** What to say when the table is empty. */
export function emptyTableHint(netns: string | undefined): string {
  const where = netns === undefined ? "" : ` in namespace '${netns}'`;
  return `The conntrack table${where} is empty: the kernel tracks connections only when a firewall or NAT rule needs it; run with --track to make it track them`;
}
