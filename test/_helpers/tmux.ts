/**
 * Transitional: the tmux driver is tools/tmux.ts. This file only re-exports it for tests written
 * on other issue-14 branches before the move, so that they keep compiling when merged; new code
 * imports tools/tmux.ts directly. Delete it once `git grep _helpers/tmux.ts -- test` finds
 * nothing.
 *
 * @module
 */

export * from "../../tools/tmux.ts";
