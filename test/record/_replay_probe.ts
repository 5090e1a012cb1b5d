/**
 * Reads a recording as `conntop --replay` does (Replay.open for the header, then every line),
 * in a process of its own so a test can watch its memory. Prints one JSON line:
 * `{ "error": message, "exitCode": n }` for a refusal at open, `{ "damaged": message }` for
 * damage found while reading, or `{ "lines": n }`.
 */

import { ConntopError } from "../../src/errors.ts";
import { readRecording, Replay } from "../../src/record/mod.ts";

const path = Deno.args[0]!;
try {
  await Replay.open(path);
  let lines = 0;
  try {
    for await (const _ of readRecording(path)) lines++;
    console.log(JSON.stringify({ lines }));
  } catch (err) {
    console.log(JSON.stringify({ damaged: (err as Error).message }));
  }
} catch (err) {
  if (!(err instanceof ConntopError)) throw err;
  console.log(JSON.stringify({ error: err.message, exitCode: err.exitCode }));
}
