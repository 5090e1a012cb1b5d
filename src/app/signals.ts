/**
 * The signals that end a run (SIGINT, SIGTERM, SIGHUP) and the exit codes they map to
 * (128 + signal number), for every mode that must clean up before it exits.
 *
 * @module
 */

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * Calls `onSignal` with the exit code when SIGINT, SIGTERM or SIGHUP arrives; returns the
 * function that removes the listeners.
 */
export function onExitSignal(onSignal: (exitCode: number) => void): () => void {
  const listeners = (Object.keys(EXIT_CODES) as (keyof typeof EXIT_CODES)[]).map((sig) => {
    const fn = () => onSignal(EXIT_CODES[sig]);
    Deno.addSignalListener(sig, fn);
    return [sig, fn] as const;
  });
  return () => {
    for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
  };
}
