/**
 * Error classes that carry the exit code the top level exits with, and the exit codes
 * themselves (documented in README.md under "Exit codes").
 *
 * @module
 */

/** Exit codes. */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** A runtime failure: the kernel or a system call failed while running. */
  FAILURE: 1,
  /** Bad usage, or the environment does not allow running at all (privilege, library, netns). */
  USAGE: 2,
  /** Interrupted by SIGINT (128 + 2), after cleaning up. */
  INTERRUPTED: 130,
} as const;

/** An error to show to the user as one line, with the exit code to leave with. */
export class ConntopError extends Error {
  /** The process exit code for this error. */
  readonly exitCode: number;
  constructor(message: string, exitCode: number = ExitCode.FAILURE, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConntopError";
    this.exitCode = exitCode;
  }
}

/** A bad option or option value; the top level adds a usage hint. Exit code 2. */
export class UsageError extends ConntopError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.USAGE, options);
    this.name = "UsageError";
  }
}

/** The environment does not allow running: no privilege, no library, no namespace. Exit 2. */
export class EnvironmentError extends ConntopError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.USAGE, options);
    this.name = "EnvironmentError";
  }
}

/**
 * An error's reason without Deno's "(os error N): op 'path'" tail (the caller names the path),
 * starting lowercase: "Cannot read X: permission denied".
 */
export function errorReason(err: unknown): string {
  const text = (err instanceof Error ? err.message : String(err))
    .replace(/ \(os error \d+\)/, "")
    .replace(/: [a-z_]+ '.*'$/, "");
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}
