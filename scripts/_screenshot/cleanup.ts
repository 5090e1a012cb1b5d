/**
 * The undo list of the screenshot script: every namespace, process, file and tmux server it
 * makes is registered here as soon as it exists, and {@linkcode Cleanup.run} undoes them all,
 * newest first, whether the script finished, failed or was interrupted.
 *
 * Once clean-up has begun, whatever is registered later (by work still under way when Ctrl-C
 * arrived) is undone at once, so nothing made during the clean-up is left behind.
 *
 * @example
 * ```ts
 * import { Cleanup } from "./cleanup.ts";
 *
 * const cleanup = new Cleanup();
 * cleanup.add("temporary directory", () => Deno.remove("/tmp/x", { recursive: true }));
 * const failures = await cleanup.run(); // [] when every step worked
 * ```
 *
 * @module
 */

/** One thing to undo. */
interface Step {
  what: string;
  undo: () => void | Promise<void>;
}

/** An undo list; see the module documentation. */
export class Cleanup {
  #steps: Step[] = [];
  #running: Promise<string[]> | undefined;
  #late: Promise<void>[] = [];
  #lateFailures: string[] = [];

  /** Whether {@linkcode Cleanup.run} has been called. */
  get started(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Registers `undo` under the name `what` (for the error message when it fails). After
   * clean-up has begun, runs it at once instead.
   */
  add(what: string, undo: () => void | Promise<void>): void {
    if (this.#running === undefined) {
      this.#steps.push({ what, undo });
      return;
    }
    this.#late.push(
      runStep({ what, undo }).then((failure) => {
        if (failure !== undefined) this.#lateFailures.push(failure);
      }),
    );
  }

  /**
   * Undoes every registered step, newest first; a step that fails does not stop the others.
   * Calling it again returns the first call's result.
   *
   * @returns One message per failed step, e.g. `Failed to delete network namespace 'x': …`.
   */
  run(): Promise<string[]> {
    this.#running ??= (async () => {
      const failures: string[] = [];
      while (this.#steps.length > 0) {
        const failure = await runStep(this.#steps.pop()!);
        if (failure !== undefined) failures.push(failure);
      }
      await Promise.all(this.#late);
      return [...failures, ...this.#lateFailures];
    })();
    return this.#running;
  }
}

async function runStep(step: Step): Promise<string | undefined> {
  try {
    await step.undo();
    return undefined;
  } catch (err) {
    return `Failed to clean up ${step.what}: ${err instanceof Error ? err.message : err}`;
  }
}
