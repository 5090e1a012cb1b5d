/**
 * Hints for states of the kernel that look like conntop's fault but are not.
 *
 * @module
 */

/** What to say when the table is empty (`server`: a --connect server's table). */
export function emptyTableHint(netns: string | undefined, server?: string): string {
  const where = netns === undefined ? "" : ` in namespace '${netns}'`;
  const of = server === undefined ? "" : ` of server ${server}`;
  const fix = server === undefined
    ? "run with --track to make it track them"
    : "the server's --track makes it track them";
  return `The conntrack table${of}${where} is empty: the kernel tracks connections only when a firewall or NAT rule needs it; ${fix}`;
}
