/**
 * Reading small files from outside safely: bounded, never through a link, one clear error.
 *
 * @module
 */

export {
  PEM_FILE_MAX_BYTES,
  readSmallFile,
  SmallFileError,
  type SmallFileOptions,
  TOKEN_FILE_MAX_BYTES,
} from "./small_file.ts";
