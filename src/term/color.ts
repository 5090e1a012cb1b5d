/**
 * Colour depth detection and colour downgrading: deciding from the environment how many
 * colours the terminal shows, and mapping a truecolor or 256-colour {@linkcode Color} to the
 * nearest one it can show.
 *
 * Pure: the environment is passed in (the caller reads it, which needs `--allow-env`).
 *
 * @example
 * ```ts
 * import { detectColorDepth, downgrade } from "./color.ts";
 * import { rgb } from "./style.ts";
 *
 * const depth = detectColorDepth({ TERM: "xterm-256color" }); // "256"
 * downgrade(rgb(255, 0, 0), depth); // palette(196)
 * ```
 *
 * @module
 */

import { type Color, type ColorDepth, DEFAULT, PALETTE_TAG, RGB_TAG } from "./style.ts";

const DEPTHS: readonly ColorDepth[] = ["none", "16", "256", "truecolor"];

/**
 * Decides the colour depth from the environment, first match wins:
 * 1. `noColor` (a `--no-color` flag) or a non-empty `NO_COLOR` (no-color.org) → `"none"`;
 * 2. `CONNTOP_COLOR=none|16|256|truecolor` (case-insensitive; other values are ignored);
 * 3. `TERM=dumb` → `"none"`;
 * 4. `COLORTERM=truecolor|24bit` → `"truecolor"`;
 * 5. a `TERM` containing `256color` → `"256"`;
 * 6. otherwise `"16"`.
 */
export function detectColorDepth(
  env: Record<string, string | undefined>,
  noColor?: boolean,
): ColorDepth {
  if (noColor || (env.NO_COLOR ?? "") !== "") return "none";
  const override = env.CONNTOP_COLOR?.trim().toLowerCase();
  const forced = DEPTHS.find((d) => d === override);
  if (forced !== undefined) return forced;
  const term = env.TERM ?? "";
  if (term === "dumb") return "none";
  const colorterm = env.COLORTERM?.trim().toLowerCase();
  if (colorterm === "truecolor" || colorterm === "24bit") return "truecolor";
  if (term.includes("256color")) return "256";
  return "16";
}

/** The channel levels of the xterm 6×6×6 colour cube (indices 16..231). */
const CUBE = [0, 95, 135, 175, 215, 255];

/** The standard xterm values of the 16 basic colours, as 0xrrggbb. */
const BASIC16 = [
  0x000000,
  0xcd0000,
  0x00cd00,
  0xcdcd00,
  0x0000ee,
  0xcd00cd,
  0x00cdcd,
  0xe5e5e5,
  0x7f7f7f,
  0xff0000,
  0x00ff00,
  0xffff00,
  0x5c5cff,
  0xff00ff,
  0x00ffff,
  0xffffff,
];

/**
 * The nearest xterm-256 index (16..255) for an RGB: the nearest colour of the 6×6×6 cube
 * (16..231) or of the 24-step grey ramp (232..255), whichever is nearer by squared euclidean
 * distance (the cube on a tie). The basic 16 are never chosen, since themes redefine them.
 * Pure red (255, 0, 0) is 196.
 */
export function rgbTo256(r: number, g: number, b: number): number {
  const ri = cubeIndex(r), gi = cubeIndex(g), bi = cubeIndex(b);
  const cr = CUBE[ri]!, cg = CUBE[gi]!, cb = CUBE[bi]!;
  const cubeDist = sq(r - cr) + sq(g - cg) + sq(b - cb);
  const mean = (r + g + b) / 3;
  const gi2 = mean <= 8 ? 0 : mean >= 238 ? 23 : Math.round((mean - 8) / 10);
  const grey = 8 + 10 * gi2;
  const greyDist = sq(r - grey) + sq(g - grey) + sq(b - grey);
  return greyDist < cubeDist ? 232 + gi2 : 16 + 36 * ri + 6 * gi + bi;
}

/**
 * The nearest of the 16 basic colours (0..15) for an RGB, by squared euclidean distance to the
 * standard xterm values (the lower index on a tie). Pure red (255, 0, 0) is 9, bright red,
 * because xterm's red (1) is (205, 0, 0).
 */
export function rgbTo16(r: number, g: number, b: number): number {
  let best = 0, bestDist = Infinity;
  for (let i = 0; i < 16; i++) {
    const v = BASIC16[i]!;
    const d = sq(r - (v >> 16)) + sq(g - ((v >> 8) & 0xff)) + sq(b - (v & 0xff));
    if (d < bestDist) {
      best = i;
      bestDist = d;
    }
  }
  return best;
}

/**
 * The colour to use at `depth`: truecolor stays at `"truecolor"`, becomes the nearest 256
 * index at `"256"` and the nearest basic colour at `"16"`; palette indices 16..255 become the
 * nearest basic colour (via their RGB) at `"16"`; every colour is {@linkcode DEFAULT} at
 * `"none"`. The default colour and the basic 16 stay as they are.
 */
export function downgrade(c: Color, depth: ColorDepth): Color {
  if (c === DEFAULT || depth === "truecolor") return c;
  if (depth === "none") return DEFAULT;
  if (c & RGB_TAG) {
    const r = (c >> 16) & 0xff, g = (c >> 8) & 0xff, b = c & 0xff;
    return PALETTE_TAG | (depth === "256" ? rgbTo256(r, g, b) : rgbTo16(r, g, b));
  }
  const n = c & 0xff;
  if (depth === "256" || n < 16) return c;
  const v = paletteRgb(n);
  return PALETTE_TAG | rgbTo16(v >> 16, (v >> 8) & 0xff, v & 0xff);
}

/** The 0xrrggbb of xterm-256 palette index `n` (the basic 16 at their standard xterm values). */
export function paletteRgb(n: number): number {
  if (n < 16) return BASIC16[n] ?? 0;
  if (n >= 232) {
    const v = 8 + 10 * (n - 232);
    return (v << 16) | (v << 8) | v;
  }
  const i = n - 16;
  return (CUBE[Math.floor(i / 36)]! << 16) | (CUBE[Math.floor(i / 6) % 6]! << 8) | CUBE[i % 6]!;
}

function cubeIndex(v: number): number {
  // The midpoints between the levels 0, 95, 135, ... are 47.5, 115, 155, 195, 235.
  return v < 48 ? 0 : v < 115 ? 1 : Math.min(5, Math.floor((v - 35) / 40));
}

function sq(x: number): number {
  return x * x;
}
