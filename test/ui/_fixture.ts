/**
 * A fixed table of connections and a UiApp fed with it, shared by the UI tests.
 *
 * @module
 */

import { UiApp, type UiAppOptions } from "../../src/ui/mod.ts";
import { defaultSettings } from "../../src/ui/settings.ts";
import { CellBuffer } from "../../src/term/buffer.ts";
import type { InputEvent, KeyEvent } from "../../src/term/input.ts";
import { batchOf, type TestConn } from "../_helpers/records.ts";

/** The time every fixture batch is stamped with. */
export const T0 = 1_700_000_000_000;

/** Eight connections with distinct rates, addresses, protocols and ages. */
export function fixtureConns(): TestConn[] {
  const base = { sampledMs: T0 };
  return [
    {
      slot: 0,
      src: "10.0.0.1",
      dst: "192.0.2.10",
      sport: 40001,
      dport: 443,
      txBps: 1500,
      rxBps: 250_000,
      txBytes: 9_000,
      rxBytes: 5_300_000,
      startMs: T0 - 65_000,
      ...base,
    },
    {
      slot: 1,
      src: "10.0.0.2",
      dst: "198.51.100.7",
      sport: 40002,
      dport: 80,
      txBps: 0,
      rxBps: 0,
      txBytes: 600,
      rxBytes: 1200,
      startMs: T0 - 5_000,
      timeout: 20,
      state: 7,
      ...base,
    },
    {
      slot: 2,
      proto: 17,
      src: "10.0.0.3",
      dst: "192.0.2.53",
      sport: 5353,
      dport: 53,
      txBps: 80,
      rxBps: 160,
      txBytes: 800,
      rxBytes: 1600,
      startMs: T0 - 2_000,
      timeout: 30,
      ...base,
    },
    {
      slot: 3,
      src: "2001:db8::1",
      dst: "2001:db8:0:1::443",
      sport: 50000,
      dport: 443,
      txBps: 12_000,
      rxBps: 3_000_000,
      txBytes: 120_000,
      rxBytes: 90_000_000,
      startMs: T0 - 3_700_000,
      ...base,
    },
    {
      slot: 4,
      src: "10.0.0.4",
      dst: "203.0.113.9",
      sport: 41000,
      dport: 22,
      txBps: 300,
      rxBps: 900,
      txBytes: 40_000,
      rxBytes: 80_000,
      startMs: T0 - 90_061_000,
      mark: 0x2a,
      ...base,
    },
    {
      slot: 5,
      proto: 1,
      src: "10.0.0.5",
      dst: "192.0.2.1",
      txBps: 84,
      rxBps: 84,
      txBytes: 840,
      rxBytes: 840,
      startMs: T0 - 10_000,
      timeout: 29,
      ...base,
    },
    {
      slot: 6,
      src: "192.168.1.20",
      dst: "203.0.113.80",
      sport: 51234,
      dport: 8080,
      replySrc: "10.0.0.80",
      replySport: 80,
      replyDst: "203.0.113.1",
      replyDport: 61000,
      status: 0xe | 0x30,
      txBps: 5000,
      rxBps: 7000,
      txBytes: 50_000,
      rxBytes: 70_000,
      startMs: T0 - 30_000,
      ...base,
    },
    {
      slot: 7,
      src: "10.0.0.7",
      dst: "192.0.2.99",
      sport: 40007,
      dport: 25,
      state: 1,
      txBps: 10,
      rxBps: 0,
      txBytes: 60,
      rxBytes: 0,
      startMs: T0 - 1_000,
      timeout: 60,
      status: 0x8,
      ...base,
    },
  ];
}

/** A UiApp of `width` × `height` fed with the fixture. */
export function fixtureApp(
  width = 100,
  height = 20,
  over: Partial<UiAppOptions> = {},
  keep: (c: TestConn) => boolean = () => true,
): UiApp {
  const app = new UiApp({
    settings: defaultSettings(),
    host: "router",
    source: "live",
    now: () => T0,
    ...over,
  });
  app.resize(width, height);
  const conns = fixtureConns().filter(keep);
  app.onBatch(batchOf(conns, { timeMs: T0 }));
  return app;
}

/** The frame's text, one line per row, trailing spaces trimmed. */
export function screenText(app: UiApp): string {
  const buf = app.frame(new CellBuffer(1, 1));
  return buf.lines().map((l) => l.trimEnd()).join("\n") + "\n";
}

/** A key event as the input decoder makes it. */
export function key(name: string, mods: Partial<KeyEvent> = {}): InputEvent {
  const char = name.length === 1 ? name : name === "space" ? " " : undefined;
  return {
    type: "key",
    name,
    ...(char !== undefined ? { char } : {}),
    ctrl: false,
    alt: false,
    shift: false,
    ...mods,
  };
}

/** Key events for each character of `text`. */
export function typed(text: string): InputEvent[] {
  return [...text].map((c) => key(c === " " ? "space" : c));
}
