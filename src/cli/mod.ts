/**
 * The command line: options and their validation, help and version texts.
 *
 * The `completions` command (completions.ts) is a second door, not exported here: the programs
 * load the shell scripts' generators only when it runs.
 *
 * @module
 */

export { type Format, LONG_OPTIONS, type Options, parseOptions } from "./options.ts";
export { USAGE, versionText } from "./usage.ts";
export { endpointText, type RemoteOptions } from "./remote.ts";
