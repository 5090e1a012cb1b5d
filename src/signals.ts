/**
 * The ways a run ends that are not its own doing, for every mode that must clean up before it
 * exits: the signals (SIGINT, SIGTERM, SIGHUP, mapped to 128 + signal number) and an uncaught
 * error or unhandled rejection anywhere on the main thread, which would otherwise kill the
 * process with the kernel still changed (sysctls, the --track table) and the terminal raw.
 *
 * @module
 */

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/** The exit code of a hang-up (SIGHUP, or the terminal gone): 128 + 1. */
export const HANGUP_EXIT_CODE = EXIT_CODES.SIGHUP;

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

/**
 * Calls `onError` with the error when one is thrown and not caught, or a promise is rejected
 * and not handled, on this thread; the error no longer kills the process, so the caller must
 * end the run (restoring what it changed) and report it. Returns the function that removes the
 * listeners.
 */
export function onUncaughtError(onError: (error: unknown) => void): () => void {
  const onErrorEvent = (e: ErrorEvent) => {
    e.preventDefault();
    onError(e.error ?? e.message);
  };
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    onError(e.reason);
  };
  globalThis.addEventListener("error", onErrorEvent);
  globalThis.addEventListener("unhandledrejection", onRejection);
  return () => {
    globalThis.removeEventListener("error", onErrorEvent);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  };
}

/** The one line for an uncaught error, as the top level prints unexpected errors. */
export function uncaughtMessage(error: unknown): string {
  return `Unexpected error: ${error instanceof Error ? error.message : String(error)}`;
}
