/**
 * conntop's version, the one place it is written.
 *
 * @module
 */

/** The version of conntop. */
export const VERSION = "0.1.0";
