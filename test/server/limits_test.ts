import { assert, assertEquals } from "../_helpers/assert.ts";
import { addressKey, Admission } from "../../src/server/limits.ts";

Deno.test("Admission takes connections up to maxClients, then says server_full", () => {
  const a = new Admission({ maxClients: 2 });
  assertEquals(a.admit("10.0.0.1"), undefined);
  assertEquals(a.admit("10.0.0.2"), undefined);
  assertEquals(a.admit("10.0.0.3"), "server_full");
  assertEquals(a.open, 2);
  a.release();
  assertEquals(a.admit("10.0.0.3"), undefined);
});

Deno.test("Admission refuses an address for banMs after maxFailures within windowMs", () => {
  let now = 0;
  const a = new Admission({
    maxClients: 10,
    maxFailures: 5,
    windowMs: 60_000,
    banMs: 60_000,
    now: () => now,
  });
  for (let i = 0; i < 4; i++) assertEquals(a.fail("192.0.2.1"), false);
  assertEquals(a.admit("192.0.2.1"), undefined);
  a.release();
  assertEquals(a.fail("192.0.2.1"), true, "the fifth failure bans");
  assertEquals(a.admit("192.0.2.1"), "rate_limited");
  assertEquals(a.admit("192.0.2.2"), undefined, "other addresses are not affected");
  assertEquals(a.open, 1, "a refused connection is not counted");
  now += 59_999;
  assert(a.banned("192.0.2.1"));
  now += 2;
  assertEquals(a.admit("192.0.2.1"), undefined, "the ban ends");
});

Deno.test("Admission forgets failures older than the window", () => {
  let now = 0;
  const a = new Admission({ maxClients: 10, now: () => now });
  for (let i = 0; i < 4; i++) a.fail("192.0.2.1");
  now += 61_000;
  assertEquals(a.fail("192.0.2.1"), false, "the old four no longer count");
  assert(!a.banned("192.0.2.1"));
});

Deno.test("Admission remembers at most maxAddresses, the oldest forgotten first", () => {
  const a = new Admission({ maxClients: 10, maxFailures: 2, maxAddresses: 3 });
  a.fail("10.0.0.1");
  a.fail("10.0.0.2");
  a.fail("10.0.0.3");
  a.fail("10.0.0.4"); // forgets 10.0.0.1
  assertEquals(a.fail("10.0.0.1"), false, "10.0.0.1 starts again from one failure");
  assertEquals(a.fail("10.0.0.4"), true);
});

Deno.test("addressKey() counts IPv4-mapped addresses as IPv4 and ignores case", () => {
  assertEquals(addressKey("::ffff:192.0.2.7"), "192.0.2.7");
  assertEquals(addressKey("2001:DB8::1"), "2001:db8::1");
  assertEquals(addressKey("127.0.0.1"), "127.0.0.1");
});
