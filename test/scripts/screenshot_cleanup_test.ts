// Tests of scripts/_screenshot/cleanup.ts and of the pure helper of scene.ts.

import { assertEquals } from "../_helpers/assert.ts";
import { Cleanup } from "../../scripts/_screenshot/cleanup.ts";

Deno.test("Cleanup.run() undoes the steps newest first and goes on past a failure", async () => {
  const done: string[] = [];
  const cleanup = new Cleanup();
  cleanup.add("namespace", () => void done.push("namespace"));
  cleanup.add("dnsmasq", () => {
    throw new Error("kill failed");
  });
  cleanup.add("tmux", async () => {
    await Promise.resolve();
    done.push("tmux");
  });
  assertEquals(cleanup.started, false);
  const failures = await cleanup.run();
  assertEquals(done, ["tmux", "namespace"]);
  assertEquals(failures, ["Failed to clean up dnsmasq: kill failed"]);
  assertEquals(cleanup.started, true);
});

Deno.test("Cleanup.run() called twice undoes each step once", async () => {
  let count = 0;
  const cleanup = new Cleanup();
  cleanup.add("counter", () => void count++);
  const [a, b] = await Promise.all([cleanup.run(), cleanup.run()]);
  assertEquals(count, 1);
  assertEquals([a, b], [[], []]);
});

Deno.test("A step added once clean-up has begun is undone at once", async () => {
  const done: string[] = [];
  const cleanup = new Cleanup();
  let release = () => {};
  cleanup.add("slow", () => new Promise<void>((resolve) => (release = resolve)));
  const running = cleanup.run();
  // Work still under way when Ctrl-C came makes something more.
  cleanup.add("late", () => void done.push("late"));
  cleanup.add("late failure", () => Promise.reject(new Error("gone")));
  release();
  const failures = await running;
  assertEquals(done, ["late"]);
  assertEquals(failures, ["Failed to clean up late failure: gone"]);
});
