/**
 * Transitional: the network namespace manager is tools/netns.ts (and the process runner
 * tools/run.ts). This file only re-exports them for tests written on other issue-14 branches
 * before the move, so that they keep compiling when merged; new code imports tools/ directly.
 * Delete it once `git grep _helpers/netns.ts -- test` finds nothing.
 *
 * @module
 */

export * from "../../tools/netns.ts";
export { type ExecOptions, type ExecResult, runCommand } from "../../tools/run.ts";
