/**
 * Runs `runOnce` with the arguments given, counting the workers it creates with a probe around
 * the global `Worker` constructor, and prints `{ created, output }` as JSON. A process of its
 * own: --once enters the namespace on its main thread.
 *
 * @module
 */

import { parseOptions } from "../../src/cli/mod.ts";
import { runOnce } from "../../src/app/once.ts";

const RealWorker = globalThis.Worker;
const created: string[] = [];
globalThis.Worker = class extends RealWorker {
  constructor(url: string | URL, options?: WorkerOptions) {
    super(url, options);
    created.push(String(url));
  }
};
let output = "";
const dec = new TextDecoder();
const code = await runOnce(
  parseOptions(Deno.args),
  (b) => Promise.resolve(void (output += dec.decode(b, { stream: true }))),
  () => {},
);
console.log(JSON.stringify({ code, created, output }));
Deno.exit(0);
