/**
 * The live monitor as it stands before the interactive UI lands: a full-screen list of the
 * busiest connections, redrawn at every refresh, with a summary header. `q` or Ctrl-C quits.
 * The terminal is restored on every way out.
 *
 * @module
 */

import type { Options } from "../cli/mod.ts";
import { ConnectionModel, isEmptyFilter } from "../model/mod.ts";
import { OFF } from "../conntrack/mod.ts";
import { formatTable, humanRate } from "../output/mod.ts";
import { runSession } from "./session.ts";
import { EnvironmentError } from "../errors.ts";

const ALT_ON = "\x1b[?1049h\x1b[?25l";
const ALT_OFF = "\x1b[?25h\x1b[?1049l";
const HOME_CLEAR = "\x1b[H\x1b[2J";

/** Runs the live monitor; resolves with the exit code. */
export async function runMonitor(opts: Options): Promise<number> {
  if (!Deno.stdout.isTerminal()) {
    throw new EnvironmentError(
      "The live monitor needs a terminal; use --once or --stream for pipes and files",
    );
  }
  const enc = new TextEncoder();
  const write = (s: string) => {
    const bytes = enc.encode(s);
    let off = 0;
    while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
  };
  const model = new ConnectionModel();
  const warnings: string[] = [];
  const quit = new AbortController();
  const raw = Deno.stdin.isTerminal();
  if (raw) Deno.stdin.setRaw(true);
  write(ALT_ON);
  const keys = raw ? readKeys(quit) : Promise.resolve();
  try {
    return await runSession(opts, {
      signal: quit.signal,
      onWarning: (w) => warnings.push(w),
      onBatch: (b) => {
        model.apply(b);
        write(HOME_CLEAR + render(model, opts, warnings));
      },
    });
  } finally {
    write(ALT_OFF);
    if (raw) Deno.stdin.setRaw(false);
    quit.abort();
    await Promise.race([keys, new Promise((r) => setTimeout(r, 10))]);
    for (const w of warnings) console.error(`conntop: ${w}`);
  }
}

async function readKeys(quit: AbortController): Promise<void> {
  const buf = new Uint8Array(64);
  while (!quit.signal.aborted) {
    const n = await Deno.stdin.read(buf).catch(() => null);
    if (n === null) return;
    for (const b of buf.subarray(0, n)) {
      if (b === 0x71 || b === 0x03) quit.abort(); // q, Ctrl-C
    }
  }
}

function render(model: ConnectionModel, opts: Options, warnings: string[]): string {
  const { columns, rows } = Deno.consoleSize();
  const t = model.totals!;
  const empty = isEmptyFilter(opts.filter);
  // Rank by the records' own rate fields and build objects only for the rows shown: at a
  // quarter-million connections, an object per connection per refresh is the UI thread's whole
  // budget.
  const ranked: [slot: number, rate: number, bytes: number][] = [];
  let tx = 0, rx = 0;
  for (const s of model.slots()) {
    if (!empty && !model.matches(opts.filter, s)) continue;
    const [v, i] = model.locate(s);
    const up = v.f32At(i, OFF.TX_BPS), down = v.f32At(i, OFF.RX_BPS);
    tx += up;
    rx += down;
    ranked.push([s, up + down, v.f64At(i, OFF.ORIG_BYTES)]);
  }
  ranked.sort((a, b) => b[1] - a[1] || b[2] - a[2]);
  const protos = Object.entries(t.byProto).map(([k, v]) => `${k} ${v}`).join("  ");
  const header = [
    `conntop${opts.netns ? ` [netns ${opts.netns}]` : ""} — ${t.count} connections` +
    (t.max ? ` of ${t.max} max` : "") + `  tx ${humanRate(tx)}  rx ${humanRate(rx)}` +
    `  accounting ${t.accounting ? "on" : "off"}  timestamps ${t.timestamps ? "on" : "off"}`,
    protos,
    ...warnings.slice(-2).map((w) => `! ${w}`),
    "",
  ];
  const listRows = Math.max(1, rows - header.length - 2);
  const shown = ranked.slice(0, listRows).map(([s]) => model.connection(s, model.timeMs));
  const table = formatTable(shown).split("\n");
  const lines = [
    ...header,
    ...table.slice(0, listRows + 1),
    "q quit — full interactive UI: see README",
  ];
  return lines.map((l) => l.slice(0, columns)).join("\r\n");
}
