/**
 * Telling a hung-up output from other errors, for every mode that writes to a terminal or a
 * pipe (the monitor, --once, --stream). Kept apart from tty.ts so that --once and --stream,
 * which never take the terminal, do not load the terminal code.
 *
 * @module
 */

/**
 * Whether `err` (from a read or write of the terminal) says the terminal is gone: EIO, which a
 * read or write of a hung-up terminal fails with (SSH dropped, window closed, tmux session
 * killed), or EPIPE/ECONNRESET when the other end of the output went away.
 */
export function isHangUp(err: unknown): boolean {
  if (err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.ConnectionReset) {
    return true;
  }
  return err instanceof Error && (err as { code?: unknown }).code === "EIO";
}
