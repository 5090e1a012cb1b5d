/**
 * Tests of the hostname resolver's cache, bounds, queue, timeouts and callbacks, with a fake
 * lookup answered by hand and a fake clock for the lifetimes. The real system resolver is
 * tested in hostnames_dns_test.ts.
 *
 * @module
 */
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { formatIPv4, formatIPv6 } from "../../src/conntrack/address.ts";
import { HostnameResolver, type HostnameResolverOptions } from "../../src/enrich/hostnames.ts";
import type { HostEntry } from "../../src/core/enrichment.ts";

const EAI_NONAME = -2;
const EAI_AGAIN = -3;
const EAI_FAIL = -4;

/** One call the resolver made to the fake lookup. */
interface FakeCall {
  address: string;
  family: 4 | 6;
  bytes: Uint8Array;
  answer(outcome: string | number): void;
  fail(error: Error): void;
}

/** A lookup whose calls wait until the test answers them, and a clock the test moves. */
class FakeDns {
  calls: FakeCall[] = [];
  results: [string, HostEntry][] = [];
  /** When each address's last result arrived (performance.now()). */
  arrivals = new Map<string, number>();
  time = 1000;

  /** Resolver options wired to this fake, with `extra` on top. */
  options(extra: HostnameResolverOptions = {}): HostnameResolverOptions {
    return {
      lookup: (family, bytes) =>
        new Promise((resolve, reject) => {
          this.calls.push({
            address: family === 4 ? formatIPv4(bytes) : formatIPv6(bytes),
            family,
            bytes,
            answer: resolve,
            fail: reject,
          });
        }),
      now: () => this.time,
      onResult: (address, entry) => {
        this.results.push([address, entry]);
        this.arrivals.set(address, performance.now());
      },
      ...extra,
    };
  }

  /** The addresses looked up so far, in call order. */
  get asked(): string[] {
    return this.calls.map((call) => call.address);
  }

  /** Answers the call for `address` and lets the resolver see the answer. */
  async answer(address: string, outcome: string | number): Promise<void> {
    const call = this.calls.find((c) => c.address === address);
    assert(call !== undefined, `expected a call for '${address}', got ${this.asked.join(", ")}`);
    call.answer(outcome);
    await settle();
  }
}

/** Lets promise callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("HostnameResolver.get() answers pending, then reports and caches the name", async () => {
  const dns = new FakeDns();
  using resolver = new HostnameResolver(dns.options());
  assertEquals(resolver.get("192.0.2.1"), { status: "pending" });
  assertEquals(resolver.get("192.0.2.1"), { status: "pending" });
  assertEquals(dns.asked, ["192.0.2.1"], "one call per address");
  assertEquals(dns.calls[0]!.family, 4);
  assertEquals(dns.calls[0]!.bytes, new Uint8Array([192, 0, 2, 1]));
  await dns.answer("192.0.2.1", "one.example");
  assertEquals(dns.results, [["192.0.2.1", { status: "resolved", name: "one.example" }]]);
  assertEquals(resolver.get("192.0.2.1"), { status: "resolved", name: "one.example" });
  assertEquals(resolver.stats(), {
    entries: 1,
    hits: 1,
    misses: 1,
    inFlight: 0,
    stuck: 0,
    queued: 0,
    timeouts: 0,
  });
});

Deno.test("HostnameResolver looks up IPv6 addresses with their 16 bytes", async () => {
  const dns = new FakeDns();
  using resolver = new HostnameResolver(dns.options());
  resolver.get("2001:db8::1");
  assertEquals(dns.calls[0]!.family, 6);
  assertEquals(dns.calls[0]!.bytes.length, 16);
  assertEquals(dns.asked, ["2001:db8::1"]);
  await dns.answer("2001:db8::1", "six.example");
  assertEquals(resolver.get("2001:db8::1"), { status: "resolved", name: "six.example" });
});

Deno.test("HostnameResolver maps lookup outcomes to entries", async (t) => {
  const cases: [string, string | number | Error, HostEntry][] = [
    ["name", "host.example", { status: "resolved", name: "host.example" }],
    ["EAI_NONAME", EAI_NONAME, { status: "not-found" }],
    [
      "EAI_AGAIN",
      EAI_AGAIN,
      { status: "failed", error: "Temporary failure in name resolution" },
    ],
    [
      "EAI_FAIL",
      EAI_FAIL,
      { status: "failed", error: "Non-recoverable failure in name resolution" },
    ],
    ["a rejected lookup", new Error("Boom"), { status: "failed", error: "Boom" }],
  ];
  for (const [what, outcome, expected] of cases) {
    await t.step(`${what} becomes '${expected.status}'`, async () => {
      const dns = new FakeDns();
      using resolver = new HostnameResolver(dns.options());
      resolver.get("198.51.100.7");
      if (outcome instanceof Error) dns.calls[0]!.fail(outcome);
      else dns.calls[0]!.answer(outcome);
      await settle();
      assertEquals(dns.results, [["198.51.100.7", expected]]);
      assertEquals(resolver.get("198.51.100.7"), expected);
    });
  }

  await t.step("a lookup that throws becomes 'failed'", async () => {
    const results: HostEntry[] = [];
    using resolver = new HostnameResolver({
      lookup: () => {
        throw new Error("No FFI here");
      },
      onResult: (_address, entry) => results.push(entry),
    });
    assertEquals(resolver.get("192.0.2.1"), { status: "pending" });
    await settle();
    assertEquals(results, [{ status: "failed", error: "No FFI here" }]);
    assertEquals(resolver.stats().inFlight, 0);
  });

  await t.step("text that is no address is 'failed' at once, without a lookup", () => {
    const dns = new FakeDns();
    using resolver = new HostnameResolver(dns.options());
    const expected: HostEntry = {
      status: "failed",
      error: "Failed to look up 'not-an-address': not an IP address",
    };
    assertEquals(resolver.get("not-an-address"), expected);
    resolver.request(["300.1.2.3"]);
    assertEquals(dns.asked, []);
    assertEquals(dns.results.map(([address]) => address), ["not-an-address", "300.1.2.3"]);
    assertEquals(resolver.get("not-an-address"), expected);
  });
});

Deno.test("HostnameResolver keeps names for positiveTtlMs and asks again after", async () => {
  const dns = new FakeDns();
  using resolver = new HostnameResolver(dns.options({ positiveTtlMs: 1000 }));
  resolver.get("192.0.2.1");
  await dns.answer("192.0.2.1", "old.example");
  dns.time += 999;
  assertEquals(resolver.get("192.0.2.1"), { status: "resolved", name: "old.example" });
  assertEquals(dns.calls.length, 1);
  dns.time += 1;
  assertEquals(resolver.get("192.0.2.1"), { status: "pending" });
  assertEquals(dns.calls.length, 2);
  dns.calls[1]!.answer("new.example");
  await settle();
  assertEquals(resolver.get("192.0.2.1"), { status: "resolved", name: "new.example" });
  assertEquals(resolver.stats().misses, 2);
});

Deno.test("HostnameResolver keeps negative results for their own lifetimes", async (t) => {
  const lifetimes: [string, string | number, number][] = [
    ["not-found", EAI_NONAME, 300],
    ["failed", EAI_AGAIN, 100],
  ];
  for (const [status, outcome, ttl] of lifetimes) {
    await t.step(`'${status}' lives ${ttl} ms`, async () => {
      const dns = new FakeDns();
      using resolver = new HostnameResolver(
        dns.options({ positiveTtlMs: 10_000, negativeTtlMs: 300, failureTtlMs: 100 }),
      );
      resolver.get("192.0.2.1");
      await dns.answer("192.0.2.1", outcome);
      dns.time += ttl - 1;
      assertEquals(resolver.get("192.0.2.1").status, status);
      dns.time += 1;
      assertEquals(resolver.get("192.0.2.1"), { status: "pending" });
      assertEquals(dns.calls.length, 2);
    });
  }

  await t.step("'timeout' lives failureTtlMs", async () => {
    const dns = new FakeDns();
    using resolver = new HostnameResolver(dns.options({ failureTtlMs: 100, timeoutMs: 10 }));
    resolver.get("192.0.2.1");
    await sleep(30);
    assertEquals(resolver.get("192.0.2.1"), { status: "timeout" });
    await dns.answer("192.0.2.1", EAI_AGAIN); // the stuck call returns, a late failure
    dns.time += 99;
    assertEquals(resolver.get("192.0.2.1"), { status: "timeout" });
    dns.time += 1;
    assertEquals(resolver.get("192.0.2.1"), { status: "pending" });
    assertEquals(dns.calls.length, 2);
    await dns.answer("192.0.2.1", "back.example");
  });
});

Deno.test("HostnameResolver evicts the least recently used beyond maxEntries", async () => {
  const dns = new FakeDns();
  using resolver = new HostnameResolver(dns.options({ maxEntries: 2 }));
  resolver.request(["192.0.2.1", "192.0.2.2"]);
  await dns.answer("192.0.2.1", "a.example");
  await dns.answer("192.0.2.2", "b.example");
  resolver.get("192.0.2.1"); // now .2 is the least recently used
  resolver.get("192.0.2.3");
  await dns.answer("192.0.2.3", "c.example");
  assertEquals(resolver.stats().entries, 2);
  assertEquals(resolver.get("192.0.2.1"), { status: "resolved", name: "a.example" });
  assertEquals(resolver.get("192.0.2.3"), { status: "resolved", name: "c.example" });
  assertEquals(resolver.get("192.0.2.2"), { status: "pending" }, "evicted, so asked again");
  assertEquals(dns.asked, ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.2"]);
  await dns.answer("192.0.2.2", "b.example");
});

Deno.test("HostnameResolver runs at most concurrency lookups at once", async () => {
  const dns = new FakeDns();
  using resolver = new HostnameResolver(dns.options({ concurrency: 2 }));
  resolver.request(["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"]);
  assertEquals(dns.asked, ["192.0.2.1", "192.0.2.2"]);
  assertEquals(resolver.stats().inFlight, 2);
  assertEquals(resolver.stats().queued, 3);
  await dns.answer("192.0.2.2", "b.example");
  assertEquals(dns.asked, ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
  assertEquals(resolver.stats().inFlight, 2);
  for (const address of ["192.0.2.1", "192.0.2.3", "192.0.2.4", "192.0.2.5"]) {
    await dns.answer(address, EAI_NONAME);
    assert(resolver.stats().inFlight <= 2);
  }
  assertEquals(resolver.stats(), {
    entries: 5,
    hits: 0,
    misses: 5,
    inFlight: 0,
    stuck: 0,
    queued: 0,
    timeouts: 0,
  });
});

Deno.test("HostnameResolver looks up the most recently requested first", async (t) => {
  await t.step("a later request goes before an earlier one, each in its own order", async () => {
    const dns = new FakeDns();
    using resolver = new HostnameResolver(dns.options({ concurrency: 1 }));
    resolver.request(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    resolver.request(["10.0.0.4", "10.0.0.5"]);
    resolver.get("10.0.0.6");
    resolver.request(["10.0.0.3"]); // waiting already: moves in front, asked once
    for (const address of ["10.0.0.1", "10.0.0.3", "10.0.0.6", "10.0.0.4", "10.0.0.5"]) {
      await dns.answer(address, EAI_NONAME);
    }
    await dns.answer("10.0.0.2", EAI_NONAME);
    assertEquals(dns.asked, [
      "10.0.0.1",
      "10.0.0.3",
      "10.0.0.6",
      "10.0.0.4",
      "10.0.0.5",
      "10.0.0.2",
    ]);
  });

  await t.step("addresses with a fresh result or a running call are not asked again", async () => {
    const dns = new FakeDns();
    using resolver = new HostnameResolver(dns.options({ concurrency: 1 }));
    resolver.request(["10.0.0.1", "10.0.0.1"]);
    await dns.answer("10.0.0.1", "one.example");
    resolver.request(["10.0.0.2"]);
    resolver.request(["10.0.0.1", "10.0.0.2"]);
    assertEquals(dns.asked, ["10.0.0.1", "10.0.0.2"]);
    assertEquals(resolver.stats().queued, 0);
    assertEquals(resolver.stats().hits, 1);
    await dns.answer("10.0.0.2", "two.example");
  });
});

Deno.test("HostnameResolver drops the least recently requested beyond maxQueue", async () => {
  const dns = new FakeDns();
  using resolver = new HostnameResolver(dns.options({ concurrency: 1, maxQueue: 2 }));
  resolver.get("10.0.0.1"); // starts at once
  resolver.get("10.0.0.2");
  resolver.get("10.0.0.3");
  resolver.get("10.0.0.4"); // 10.0.0.2 is dropped
  assertEquals(resolver.stats().queued, 2);
  assertEquals(resolver.get("10.0.0.2"), { status: "pending" }, "asked again, 10.0.0.3 dropped");
  assertEquals(resolver.stats().misses, 5);
  for (const address of ["10.0.0.1", "10.0.0.2", "10.0.0.4"]) {
    await dns.answer(address, EAI_NONAME);
  }
  assertEquals(dns.asked, ["10.0.0.1", "10.0.0.2", "10.0.0.4"]);
  assertEquals(dns.results.map(([address]) => address), ["10.0.0.1", "10.0.0.2", "10.0.0.4"]);
  assertEquals(resolver.stats().queued, 0);
});

Deno.test("HostnameResolver reports 'timeout' when a lookup takes longer than timeoutMs", async () => {
  const dns = new FakeDns();
  using resolver = new HostnameResolver(dns.options({ timeoutMs: 50 }));
  const start = performance.now();
  assertEquals(resolver.get("192.0.2.9"), { status: "pending" });
  await sleep(25);
  assertEquals(resolver.get("192.0.2.9"), { status: "pending" });
  while (dns.results.length === 0 && performance.now() - start < 1000) await sleep(5);
  assertEquals(dns.results, [["192.0.2.9", { status: "timeout" }]]);
  const elapsed = dns.arrivals.get("192.0.2.9")! - start;
  assert(elapsed >= 49 && elapsed < 300, `expected about 50 ms, got ${elapsed} ms`);
  assertEquals(resolver.get("192.0.2.9"), { status: "timeout" });
  assertEquals(resolver.stats().timeouts, 1);
  assertEquals(resolver.stats().stuck, 1);
  assertEquals(resolver.stats().inFlight, 1, "the call goes on in the background");
});

Deno.test("HostnameResolver bounds calls stuck past their timeout", async (t) => {
  await t.step("stuck calls beyond maxStuck keep their slot until they return", async () => {
    const dns = new FakeDns();
    using resolver = new HostnameResolver(
      dns.options({ concurrency: 1, maxStuck: 1, timeoutMs: 20 }),
    );
    resolver.get("10.0.0.1");
    assertEquals(dns.asked, ["10.0.0.1"]);
    await sleep(40);
    // .1 is stuck but within the allowance: the slot is free.
    resolver.get("10.0.0.2");
    assertEquals(dns.asked, ["10.0.0.1", "10.0.0.2"]);
    await sleep(40);
    // .2 is stuck too, beyond the allowance: nothing more starts.
    assertEquals(resolver.stats().stuck, 2);
    resolver.get("10.0.0.3");
    assertEquals(dns.asked, ["10.0.0.1", "10.0.0.2"]);
    assertEquals(resolver.stats().inFlight, 2);
    await dns.answer("10.0.0.1", EAI_AGAIN); // glibc gives up at last: a slot is free
    assertEquals(dns.asked, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    assertEquals(resolver.get("10.0.0.1"), { status: "timeout" }, "a late failure is dropped");
    await dns.answer("10.0.0.2", EAI_AGAIN);
    await dns.answer("10.0.0.3", "three.example");
  });

  await t.step("requests that cannot start time out promptly, without a call", async () => {
    const dns = new FakeDns();
    using resolver = new HostnameResolver(
      dns.options({ concurrency: 2, maxStuck: 2, timeoutMs: 40 }),
    );
    const assertTimedOut = (addresses: string[], since: number, within: number): void => {
      for (const address of addresses) {
        assertEquals(resolver.get(address), { status: "timeout" }, address);
        const ms = dns.arrivals.get(address)! - since;
        assert(ms < within, `expected '${address}' to time out within ${within} ms, took ${ms}`);
      }
    };
    const early = Array.from({ length: 10 }, (_, i) => `10.0.1.${i}`);
    let since = performance.now();
    resolver.request(early);
    await sleep(300);
    // The first call to time out went into the allowance and freed its slot for a third call
    // (which timed out 40 ms later); the second filled the allowance, so the requests still
    // waiting were overdue and timed out then, without a call.
    assertEquals(dns.asked.length, 3);
    assertTimedOut(early, since, 2 * 40 + 200);
    const late = Array.from({ length: 10 }, (_, i) => `10.0.2.${i}`);
    since = performance.now();
    resolver.request(late);
    await sleep(300);
    // One slot was free for a fourth call; then none, so the rest timed out at their deadline.
    assertEquals(dns.asked.length, 4);
    assertTimedOut(late, since, 40 + 200);
    assertEquals(resolver.stats().inFlight, 4, "never more than concurrency + maxStuck");
    assertEquals(resolver.stats().stuck, 4);
    assertEquals(resolver.stats().timeouts, 20);
    const last = "10.0.3.1";
    since = performance.now();
    resolver.get(last);
    await sleep(300);
    assertTimedOut([last], since, 40 + 200);
    assertEquals(dns.asked.length, 4, "no slot is free: no call");
    await dns.answer(dns.asked[0]!, EAI_AGAIN);
    assertEquals(resolver.stats().inFlight, 3, "a stuck call returned");
    resolver.get("10.0.4.1");
    assertEquals(dns.asked.length, 5, "its slot is free again");
  });

  await t.step("asking again does not put off a waiting request's timeout", async () => {
    const dns = new FakeDns();
    // maxStuck 0: a stuck call keeps its slot, so the only slot is gone once .1 times out.
    using resolver = new HostnameResolver(
      dns.options({ concurrency: 1, maxStuck: 0, timeoutMs: 40 }),
    );
    resolver.get("10.0.0.1");
    await sleep(60);
    assertEquals(resolver.stats().stuck, 1);
    const since = performance.now();
    while (performance.now() - since < 200 && !dns.arrivals.has("10.0.0.2")) {
      resolver.request(["10.0.0.2"]); // as the screen asks for its rows on every frame
      await sleep(5);
    }
    assertEquals(resolver.get("10.0.0.2"), { status: "timeout" });
    const ms = dns.arrivals.get("10.0.0.2")! - since;
    assert(ms < 40 + 100, `expected a timeout about 40 ms after the first request, took ${ms}`);
    assertEquals(dns.asked, ["10.0.0.1"]);
  });

  await t.step("a late name or not-found replaces the timeout", async () => {
    const dns = new FakeDns();
    using resolver = new HostnameResolver(dns.options({ timeoutMs: 10 }));
    resolver.request(["10.0.0.1", "10.0.0.2"]);
    await sleep(30);
    await dns.answer("10.0.0.1", "late.example");
    await dns.answer("10.0.0.2", EAI_NONAME);
    assertEquals(resolver.get("10.0.0.1"), { status: "resolved", name: "late.example" });
    assertEquals(resolver.get("10.0.0.2"), { status: "not-found" });
    assertEquals(dns.results, [
      ["10.0.0.1", { status: "timeout" }],
      ["10.0.0.2", { status: "timeout" }],
      ["10.0.0.1", { status: "resolved", name: "late.example" }],
      ["10.0.0.2", { status: "not-found" }],
    ]);
    assertEquals(resolver.stats().stuck, 0);
  });
});

Deno.test("HostnameResolver reports each result as it arrives", async () => {
  const dns = new FakeDns();
  using resolver = new HostnameResolver(dns.options());
  resolver.request(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
  await dns.answer("10.0.0.3", "c.example");
  assertEquals(dns.results, [["10.0.0.3", { status: "resolved", name: "c.example" }]]);
  await dns.answer("10.0.0.1", EAI_NONAME);
  assertEquals(dns.results.length, 2);
  await dns.answer("10.0.0.2", "b.example");
  assertEquals(dns.results.map(([address]) => address), ["10.0.0.3", "10.0.0.1", "10.0.0.2"]);
});

Deno.test("HostnameResolver lets onResult ask for more", async () => {
  const dns = new FakeDns();
  const seen: string[] = [];
  const resolver: HostnameResolver = new HostnameResolver(dns.options({
    concurrency: 1,
    onResult: (address, entry) => {
      seen.push(`${address} ${entry.status}`);
      if (address === "10.0.0.1") resolver.request(["10.0.0.9"]);
    },
  }));
  using _ = resolver;
  resolver.request(["10.0.0.1", "10.0.0.2"]);
  await dns.answer("10.0.0.1", EAI_NONAME);
  assertEquals(dns.asked, ["10.0.0.1", "10.0.0.9"], "the request from onResult went in front");
  await dns.answer("10.0.0.9", EAI_NONAME);
  await dns.answer("10.0.0.2", EAI_NONAME);
  assertEquals(seen, ["10.0.0.1 not-found", "10.0.0.9 not-found", "10.0.0.2 not-found"]);
});

Deno.test("HostnameResolver.close() abandons running lookups and starts no more", async () => {
  const dns = new FakeDns();
  const resolver = new HostnameResolver(dns.options({ concurrency: 1, timeoutMs: 20 }));
  resolver.request(["10.0.0.1", "10.0.0.2"]);
  resolver.get("10.0.0.3");
  resolver.close();
  resolver.close();
  assertEquals(resolver.stats().queued, 0);
  assertEquals(resolver.stats().inFlight, 1);
  await sleep(40); // no timeout is reported: its timer is gone (the sanitizer checks too)
  assertEquals(resolver.get("10.0.0.2"), { status: "pending" });
  resolver.request(["10.0.0.4"]);
  await dns.answer("10.0.0.1", "one.example");
  assertEquals(dns.asked, ["10.0.0.1"]);
  assertEquals(dns.results, []);
  assertEquals(resolver.stats().inFlight, 0);
  assertEquals(resolver.get("10.0.0.1"), { status: "pending" }, "a result after close is dropped");
});

Deno.test("HostnameResolver rejects bounds out of range", () => {
  assertThrows(
    () => new HostnameResolver({ concurrency: 0 }),
    RangeError,
    "Failed to create hostname resolver: expected 'concurrency' of at least 1, got 0",
  );
  assertThrows(() => new HostnameResolver({ timeoutMs: Number.NaN }), RangeError, "'timeoutMs'");
  assertThrows(() => new HostnameResolver({ maxStuck: -1 }), RangeError, "'maxStuck'");
});
