/**
 * Text from outside made safe to show: the one sanitiser for terminals, logs, CSV and
 * tables, and its JSON counterpart.
 *
 * @module
 */

export { isPrintable, printable } from "./printable.ts";
export { printableJson } from "./json.ts";
