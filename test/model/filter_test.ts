import { assertEquals } from "../_helpers/assert.ts";
import { matches } from "../../src/core/filter.ts";
import { parseOptions } from "../../src/cli/options.ts";
import { CtDecoder } from "../../src/conntrack/decode.ts";
import { RECORD_SIZE, RecordView } from "../../src/conntrack/record.ts";
import { tcp4, type Tcp4Options } from "../_helpers/nlmsg.ts";

function record(o: Partial<Tcp4Options>): RecordView {
  const msg = tcp4("dump", {
    id: 1,
    src: "10.0.0.1",
    dst: "192.0.2.7",
    sport: 40000,
    dport: 443,
    ...o,
  });
  const view = new RecordView(new ArrayBuffer(RECORD_SIZE));
  new CtDecoder().decode(new DataView(msg.buffer), 0, view.dv, 0);
  return view;
}

const match = (args: string[], o: Partial<Tcp4Options> = {}) =>
  matches(parseOptions(args).filter, record(o), 0);

Deno.test("matches() applies each criterion to the original direction", () => {
  assertEquals(match([]), true);
  assertEquals(match(["-p", "tcp"]), true);
  assertEquals(match(["-p", "udp"]), false);
  assertEquals(match(["-s", "10.0.0.0/8"]), true);
  assertEquals(match(["-s", "192.0.2.7"]), false, "--src is the original source");
  assertEquals(match(["-d", "192.0.2.0/24", "--dport", "443"]), true);
  assertEquals(match(["--sport", "443"]), false, "--sport is the original source port");
  assertEquals(match(["--family", "6"]), false);
  assertEquals(match(["--state", "ESTABLISHED"], { state: 3 }), true);
  assertEquals(match(["--state", "SYN_SENT,TIME_WAIT"], { state: 3 }), false);
  assertEquals(match(["--state", "ESTABLISHED"]), false, "no state, no match");
});

Deno.test("matches() compares marks under their mask and zones with 0 as default", () => {
  assertEquals(match(["-m", "0x12"], { mark: 0x12 }), true);
  assertEquals(match(["-m", "0x10/0xf0"], { mark: 0x1f }), true);
  assertEquals(match(["-m", "0x10/0xf0"], { mark: 0x2f }), false);
  assertEquals(match(["-m", "0"]), true);
  assertEquals(match(["-w", "3"], { zone: 3 }), true);
  assertEquals(match(["-w", "0"]), true, "no zone attribute is zone 0");
  assertEquals(match(["-w", "3"]), false);
});
