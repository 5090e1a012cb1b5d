/**
 * The command line: options and their validation, help and version texts.
 *
 * @module
 */

export { type Format, LONG_OPTIONS, type Options, parseOptions } from "./options.ts";
export { USAGE, versionText } from "./usage.ts";
export { completionsCommand } from "./completions.ts";
export { endpointText, type RemoteOptions } from "./remote.ts";
