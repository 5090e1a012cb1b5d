/**
 * A remote source's state in a few words, for the monitor's header and --stream's notes:
 * "connected", "reconnecting in 3 s (connection refused)", "failed: authentication failed".
 * Pure functions of the state and the clock.
 *
 * @example
 * ```ts
 * import { stateText } from "./status.ts";
 *
 * stateText({ kind: "connecting", attempt: 1 }, Date.now()); // { text: "connecting…", level: "warn" }
 * ```
 *
 * @module
 */

import type { RemoteState } from "./source.ts";

/** How a state should look: fine, worth a glance, or wrong. */
export type StateLevel = "ok" | "warn" | "error";

/** The state as text as of `nowMs`, and how it should look. */
export function stateText(state: RemoteState, nowMs: number): { text: string; level: StateLevel } {
  switch (state.kind) {
    case "connecting":
      return {
        text: state.attempt > 1 ? `connecting… (attempt ${state.attempt})` : "connecting…",
        level: "warn",
      };
    case "connected":
      return { text: "connected", level: "ok" };
    case "reconnecting": {
      const left = Math.ceil((state.atMs - nowMs) / 1000);
      const when = left > 0 ? `reconnecting in ${left} s` : "reconnecting…";
      return { text: `${when} (${state.error.brief})`, level: "error" };
    }
    case "failed":
      return { text: `failed: ${state.error.brief}`, level: "error" };
    case "closed":
      return { text: "disconnected", level: "warn" };
  }
}
