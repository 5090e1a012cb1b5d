/**
 * Decodes the bytes a terminal sends into key, mouse and paste events.
 *
 * Pure: it never reads anything itself. The reader feeds it whatever `read()` returned, however
 * the bytes were split; a sequence cut between two reads is held back until the rest arrives.
 * A lone ESC is ambiguous (the Esc key, or the start of a sequence), so it too is held back
 * until the reader, after a short quiet time, calls {@linkcode InputDecoder.flush}.
 *
 * Understood: printable characters (any UTF-8), control keys, the cursor and editing keys and
 * F1-F12 in their xterm, VT220, rxvt and Linux console forms with xterm modifier parameters,
 * SGR (1006) and legacy X10 mouse reports, and bracketed paste. Any other CSI sequence is
 * consumed whole and dropped, so its bytes never turn into keystrokes; invalid UTF-8 becomes
 * U+FFFD.
 *
 * @example
 * ```ts
 * import { InputDecoder } from "./input.ts";
 *
 * const decoder = new InputDecoder();
 * decoder.feed(new TextEncoder().encode("\x1b[1;5")); // [] (incomplete, held back)
 * decoder.feed(new TextEncoder().encode("A")); // [{ type: "key", name: "up", ctrl: true, ... }]
 * ```
 *
 * @module
 */

/** A key press. */
export interface KeyEvent {
  /** Discriminant. */
  type: "key";
  /**
   * The character itself for printable keys ("q", "Q", "é", "漢"); otherwise one of "space",
   * "enter", "tab", "backspace", "escape", "up", "down", "right", "left", "home", "end",
   * "insert", "delete", "pageup", "pagedown", "f1".."f12"; with `ctrl`, a control character
   * is named by its letter ("c" for Ctrl-C).
   */
  name: string;
  /** The text the key types, for printable keys and space; absent for the others. */
  char?: string;
  /** Ctrl was held. */
  ctrl: boolean;
  /** Alt (Meta) was held, or the key came prefixed by ESC. */
  alt: boolean;
  /** Shift was held; only reported for sequences that encode it ("Q" has `shift: false`). */
  shift: boolean;
}

/** A mouse report. */
export interface MouseEvent {
  /** Discriminant. */
  type: "mouse";
  /** What happened; "drag" is motion with a button held. */
  action: "press" | "release" | "drag" | "wheelup" | "wheeldown";
  /**
   * 0 left, 1 middle, 2 right; 4 for wheel up and 5 for wheel down (the X11 numbering). A
   * legacy X10 release does not say which button was let go and reports 0.
   */
  button: number;
  /** Column, 0-based. */
  x: number;
  /** Row, 0-based. */
  y: number;
  /** Ctrl was held. */
  ctrl: boolean;
  /** Alt (Meta) was held. */
  alt: boolean;
  /** Shift was held. */
  shift: boolean;
}

/** Text pasted while bracketed paste mode was on, delivered whole. */
export interface PasteEvent {
  /** Discriminant. */
  type: "paste";
  /** The pasted text, exactly as sent (line breaks not normalised). */
  text: string;
}

/** Anything the decoder produces. */
export type InputEvent = KeyEvent | MouseEvent | PasteEvent;

const ESC = 0x1b;
const LBRACKET = 0x5b; // "["
const LETTER_O = 0x4f; // "O"
const LETTER_M = 0x4d; // "M"
const REPLACEMENT = "\uFFFD";
/** Bytes as the characters of the same code (parameters are ASCII): no spread of a long run. */
const latin1 = new TextDecoder("latin1");
/** Bytes a terminal sends at the end of a bracketed paste: ESC [ 2 0 1 ~. */
const PASTE_END = Uint8Array.of(0x1b, 0x5b, 0x32, 0x30, 0x31, 0x7e);

/** Shift, alt and ctrl, as decoded from a sequence. */
interface Mods {
  shift: boolean;
  alt: boolean;
  ctrl: boolean;
}

const NO_MODS: Mods = { shift: false, alt: false, ctrl: false };

/** CSI <n> ~ (VT220/xterm), also with the rxvt finals ^ $ @. */
const TILDE_KEYS: Record<number, string> = {
  1: "home",
  2: "insert",
  3: "delete",
  4: "end",
  5: "pageup",
  6: "pagedown",
  7: "home",
  8: "end",
  11: "f1",
  12: "f2",
  13: "f3",
  14: "f4",
  15: "f5",
  17: "f6",
  18: "f7",
  19: "f8",
  20: "f9",
  21: "f10",
  23: "f11",
  24: "f12",
};

/** CSI [1;m] <final> (xterm); SS3 shares these finals. */
const CSI_KEYS: Record<string, string> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
  P: "f1",
  Q: "f2",
  R: "f3",
  S: "f4",
  Z: "tab", // back-tab: Shift+Tab
};

/** rxvt shift arrows CSI a..d, and ctrl arrows ESC O a..d. */
const RXVT_ARROWS: Record<string, string> = { a: "up", b: "down", c: "right", d: "left" };

/** ESC O <final>: the CSI finals, plus the keypad in application mode. */
const SS3_KEYS: Record<string, string> = {
  ...CSI_KEYS,
  M: "enter",
  X: "=",
  j: "*",
  k: "+",
  l: ",",
  m: "-",
  n: ".",
  o: "/",
  p: "0",
  q: "1",
  r: "2",
  s: "3",
  t: "4",
  u: "5",
  v: "6",
  w: "7",
  x: "8",
  y: "9",
};

/**
 * Incremental decoder of terminal input. Feed it every chunk read from the terminal, in order;
 * it returns the events completed by that chunk and keeps the rest for the next call.
 */
export class InputDecoder {
  /** Bytes not yet decoded: an incomplete sequence or character at the end of the last feed. */
  #buf: Uint8Array = new Uint8Array(0);
  /** The pasted bytes so far while inside a bracketed paste, else null. */
  #paste: Uint8Array[] | null = null;

  /** Decode bytes; incomplete sequences (split reads, partial UTF-8) are kept for the next call. */
  feed(bytes: Uint8Array): InputEvent[] {
    this.#buf = concat(this.#buf, bytes);
    return this.#drain(false);
  }

  /** Whether bytes are held back (e.g. a lone ESC that may start a sequence). */
  get pending(): boolean {
    return this.#buf.length > 0 || this.#paste !== null;
  }

  /**
   * Called by the reader after a short quiet time (10 ms in Tty): a held lone ESC becomes an
   * "escape" key, a held ESC+char becomes alt+char; partial garbage is dropped.
   *
   * An unfinished bracketed paste is kept open: ending it early would let the rest of the
   * pasted text arrive as keystrokes.
   */
  flush(): InputEvent[] {
    return this.#drain(true);
  }

  /** Decodes as much of the buffer as possible; `final` resolves whatever is incomplete. */
  #drain(final: boolean): InputEvent[] {
    const out: InputEvent[] = [];
    const buf = this.#buf;
    let i = 0;
    while (i < buf.length) {
      if (this.#paste !== null) {
        const end = indexOf(buf, PASTE_END, i);
        if (end < 0) {
          // Keep a possible start of the end marker for the next feed.
          const keep = partialSuffix(buf, i, PASTE_END);
          this.#paste.push(buf.slice(i, buf.length - keep));
          i = buf.length - keep;
          break;
        }
        this.#paste.push(buf.slice(i, end));
        out.push({ type: "paste", text: new TextDecoder().decode(concatAll(this.#paste)) });
        this.#paste = null;
        i = end + PASTE_END.length;
        continue;
      }
      const step = decodeAt(buf, i, final);
      if (step === null) break;
      i += step.n;
      if (step.pasteStart) this.#paste = [];
      else if (step.event !== undefined) out.push(step.event);
    }
    this.#buf = i === 0 ? buf : buf.slice(i);
    return out;
  }
}

/**
 * What one decoding step consumed (`n` bytes) and produced: an event, the start of a paste, or
 * nothing (a dropped sequence). A step returns null instead when its bytes are incomplete.
 */
interface Step {
  n: number;
  event?: InputEvent;
  pasteStart?: boolean;
}

/** Decodes the item starting at `buf[i]`; null when incomplete (never when `final`). */
function decodeAt(buf: Uint8Array, i: number, final: boolean): Step | null {
  const b = buf[i]!;
  if (b === ESC) return decodeEscape(buf, i, final);
  return decodeChar(buf, i, final);
}

/** A plain byte or a UTF-8 character at `buf[i]` (not ESC). */
function decodeChar(buf: Uint8Array, i: number, final: boolean): Step | null {
  const b = buf[i]!;
  if (b < 0x80) return { n: 1, event: asciiKey(b) };
  const ch = decodeUtf8(buf, i, final);
  if (ch === null) return null;
  return { n: ch.n, event: key(ch.text, ch.text) };
}

/** Everything that starts with ESC. */
function decodeEscape(buf: Uint8Array, i: number, final: boolean): Step | null {
  if (i + 1 >= buf.length) return final ? { n: 1, event: key("escape") } : null;
  const c = buf[i + 1]!;
  if (c === LBRACKET) return decodeCsi(buf, i, final);
  if (c === LETTER_O) return decodeSs3(buf, i, final);
  if (c === ESC) {
    // ESC ESC is Alt+Esc, unless the second ESC starts a sequence: some terminals send Alt+Up
    // as ESC ESC [ A.
    if (i + 2 >= buf.length) return final ? { n: 2, event: key("escape", undefined, ALT) } : null;
    const d = buf[i + 2]!;
    if (d !== LBRACKET && d !== LETTER_O) return { n: 2, event: key("escape", undefined, ALT) };
    const inner = decodeEscape(buf, i + 1, final);
    if (inner === null) return null;
    const event = inner.event?.type === "key" ? { ...inner.event, alt: true } : inner.event;
    return { ...inner, n: inner.n + 1, event };
  }
  const inner = decodeChar(buf, i + 1, final);
  if (inner === null) return null;
  const event = inner.event?.type === "key" ? { ...inner.event, alt: true } : inner.event;
  return { n: inner.n + 1, event };
}

/** ESC [ … : keys, mouse reports, paste start; unknown sequences are consumed and dropped. */
function decodeCsi(buf: Uint8Array, i: number, final: boolean): Step | null {
  const j = i + 2;
  const len = buf.length;
  if (j >= len) return final ? { n: 2, event: key("[", "[", ALT) } : null;
  const first = buf[j]!;
  if (first === LETTER_M) {
    // Legacy X10 mouse: ESC [ M, then button+32, x+33, y+33 as raw bytes.
    if (j + 3 >= len) return final ? { n: len - i } : null;
    return { n: 6, event: x10Mouse(buf[j + 1]!, buf[j + 2]!, buf[j + 3]!) };
  }
  if (first === LBRACKET) {
    // Linux console F1-F5: ESC [ [ A..E.
    if (j + 1 >= len) return final ? { n: len - i } : null;
    const f = buf[j + 1]!;
    const name = f >= 0x41 && f <= 0x45 ? `f${f - 0x40}` : undefined;
    return { n: 4, event: name === undefined ? undefined : key(name) };
  }
  // Parameter (0x30-0x3f) and intermediate (0x20-0x2f) bytes, then one final byte. rxvt ends
  // shifted editing keys with "$", an intermediate byte: after digits alone it is the final.
  let k = j;
  let digits = true;
  while (k < len && buf[k]! >= 0x20 && buf[k]! <= 0x3f) {
    if (buf[k] === 0x24 && digits && k > j) break;
    digits &&= buf[k]! >= 0x30 && buf[k]! <= 0x39;
    k++;
  }
  if (k >= len) return final ? { n: len - i } : null;
  const fin = buf[k]!;
  // Not a CSI after all (a control byte or ESC interrupted it): drop what was read, go on
  // from the interrupting byte.
  if ((fin < 0x40 || fin > 0x7e) && fin !== 0x24) return { n: k - i };
  const params = latin1.decode(buf.subarray(j, k));
  return { n: k + 1 - i, ...csiEvent(params, String.fromCharCode(fin)) };
}

/** The meaning of a complete CSI sequence with `params` and final character `fin`. */
function csiEvent(params: string, fin: string): { event?: InputEvent; pasteStart?: boolean } {
  if (params.startsWith("<") && (fin === "M" || fin === "m")) {
    const event = sgrMouse(params.slice(1), fin === "m");
    return event === undefined ? {} : { event };
  }
  if (!/^[0-9;]*$/.test(params)) return {};
  const parts = params.split(";");
  if (fin === "~" || fin === "^" || fin === "$" || fin === "@") {
    const code = Number(parts[0]);
    if (fin === "~" && code === 200) return { pasteStart: true };
    const name = TILDE_KEYS[code];
    if (name === undefined) return {};
    const mods = fin === "~"
      ? modifiers(parts[1])
      : { shift: fin !== "^", alt: false, ctrl: fin !== "$" };
    return { event: key(name, undefined, mods) };
  }
  const rxvt = params === "" ? RXVT_ARROWS[fin] : undefined;
  if (rxvt !== undefined) return { event: key(rxvt, undefined, { ...NO_MODS, shift: true }) };
  const name = CSI_KEYS[fin];
  if (name === undefined) return {};
  const mods = modifiers(parts[1]);
  if (fin === "Z") mods.shift = true;
  return { event: key(name, undefined, mods) };
}

/** ESC O <final>, optionally with a modifier (ESC O 5 A, ESC O 1;5 A) as some terminals send. */
function decodeSs3(buf: Uint8Array, i: number, final: boolean): Step | null {
  const j = i + 2;
  const len = buf.length;
  if (j >= len) return final ? { n: 2, event: key("O", "O", ALT) } : null;
  let k = j;
  while (k < len && ((buf[k]! >= 0x30 && buf[k]! <= 0x39) || buf[k] === 0x3b)) k++;
  if (k >= len) return final ? { n: len - i } : null;
  const fin = buf[k]!;
  if (fin < 0x40 || fin > 0x7e) {
    // ESC O followed by something no SS3 sequence has: it was Alt+O.
    return k === j ? { n: 2, event: key("O", "O", ALT) } : { n: k - i };
  }
  const f = String.fromCharCode(fin);
  const parts = latin1.decode(buf.subarray(j, k)).split(";");
  const mods = modifiers(parts.length > 1 ? parts[1] : parts[0]);
  const rxvt = RXVT_ARROWS[f];
  if (rxvt !== undefined) return { n: k + 1 - i, event: key(rxvt, undefined, CTRL) };
  const name = SS3_KEYS[f];
  if (name === undefined) return { n: k + 1 - i };
  if (f === "Z") mods.shift = true;
  // Keypad characters are typed text, like their main-keyboard twins.
  const char = name.length === 1 ? name : undefined;
  return { n: k + 1 - i, event: key(name, char, mods) };
}

/** SGR mouse (1006): `b;x;y` with 1-based x and y, `release` for the final "m". */
function sgrMouse(params: string, release: boolean): MouseEvent | undefined {
  const m = /^(\d+);(\d+);(\d+)$/.exec(params);
  if (m === null) return undefined;
  const b = Number(m[1]);
  const x = Math.max(0, Number(m[2]) - 1);
  const y = Math.max(0, Number(m[3]) - 1);
  const mods = mouseMods(b);
  if (b & 64) {
    // 64/65 wheel up/down; 66/67 (horizontal wheel) have no action here.
    if ((b & 3) > 1) return undefined;
    const down = (b & 3) === 1;
    return {
      type: "mouse",
      action: down ? "wheeldown" : "wheelup",
      button: down ? 5 : 4,
      x,
      y,
      ...mods,
    };
  }
  const button = b & 3;
  if (b & 32) {
    // Motion without a button (3) only comes with any-motion tracking (1003), not enabled.
    if (button === 3) return undefined;
    return { type: "mouse", action: "drag", button, x, y, ...mods };
  }
  return { type: "mouse", action: release ? "release" : "press", button, x, y, ...mods };
}

/** Legacy X10 mouse: the three raw bytes after ESC [ M. */
function x10Mouse(cb: number, cx: number, cy: number): MouseEvent {
  const b = cb - 32;
  const x = Math.max(0, cx - 33);
  const y = Math.max(0, cy - 33);
  const mods = mouseMods(b);
  if (b & 64) {
    const down = (b & 1) === 1;
    return {
      type: "mouse",
      action: down ? "wheeldown" : "wheelup",
      button: down ? 5 : 4,
      x,
      y,
      ...mods,
    };
  }
  const low = b & 3;
  if (b & 32) return { type: "mouse", action: "drag", button: low === 3 ? 0 : low, x, y, ...mods };
  // Low bits 3 mean "released", without saying which button.
  if (low === 3) return { type: "mouse", action: "release", button: 0, x, y, ...mods };
  return { type: "mouse", action: "press", button: low, x, y, ...mods };
}

/** The modifier bits of a mouse button byte: +4 shift, +8 alt, +16 ctrl. */
function mouseMods(b: number): Mods {
  return { ctrl: (b & 16) !== 0, alt: (b & 8) !== 0, shift: (b & 4) !== 0 };
}

/** The xterm modifier parameter: value - 1 is a bitmask, 1 shift, 2 alt, 4 ctrl. */
function modifiers(param: string | undefined): Mods {
  const m = Number(param);
  if (param === undefined || param === "" || !Number.isInteger(m) || m < 2) return { ...NO_MODS };
  const bits = m - 1;
  return { shift: (bits & 1) !== 0, alt: (bits & 2) !== 0, ctrl: (bits & 4) !== 0 };
}

const ALT: Mods = { shift: false, alt: true, ctrl: false };
const CTRL: Mods = { shift: false, alt: false, ctrl: true };

/** A key event; `char` is left out (not set to undefined) when absent. */
function key(name: string, char?: string, mods: Mods = NO_MODS): KeyEvent {
  return char === undefined
    ? { type: "key", name, ctrl: mods.ctrl, alt: mods.alt, shift: mods.shift }
    : { type: "key", name, char, ctrl: mods.ctrl, alt: mods.alt, shift: mods.shift };
}

/** A single byte below 0x80 other than ESC. */
function asciiKey(b: number): KeyEvent {
  switch (b) {
    case 0x0d:
    case 0x0a:
      return key("enter");
    case 0x09:
      return key("tab");
    case 0x7f:
    case 0x08:
      return key("backspace");
    case 0x00:
      return key("space", undefined, CTRL);
    case 0x20:
      return key("space", " ");
  }
  // 0x01-0x1a are Ctrl-A..Ctrl-Z; 0x1c-0x1f are Ctrl-\ Ctrl-] Ctrl-^ Ctrl-_.
  if (b <= 0x1a) return key(String.fromCharCode(b + 0x60), undefined, CTRL);
  if (b < 0x20) return key(String.fromCharCode(b + 0x40), undefined, CTRL);
  const ch = String.fromCharCode(b);
  return key(ch, ch);
}

/**
 * The UTF-8 character at `buf[i]` (a byte >= 0x80): its text and length. An invalid byte or
 * truncated sequence yields one U+FFFD for the bytes consumed, as the WHATWG decoder does;
 * null means the sequence is valid so far but incomplete.
 */
function decodeUtf8(
  buf: Uint8Array,
  i: number,
  final: boolean,
): { n: number; text: string } | null {
  const b = buf[i]!;
  let need: number, lo = 0x80, hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) need = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    if (b === 0xe0) lo = 0xa0; // overlong
    if (b === 0xed) hi = 0x9f; // surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    if (b === 0xf0) lo = 0x90; // overlong
    if (b === 0xf4) hi = 0x8f; // above U+10FFFF
  } else return { n: 1, text: REPLACEMENT };
  let cp = b & (0x3f >> need);
  for (let k = 1; k <= need; k++) {
    if (i + k >= buf.length) return final ? { n: k, text: REPLACEMENT } : null;
    const c = buf[i + k]!;
    if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return { n: k, text: REPLACEMENT };
    cp = (cp << 6) | (c & 0x3f);
  }
  return { n: need + 1, text: String.fromCodePoint(cp) };
}

/** `a` followed by `b`, avoiding a copy when either is empty. */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** All chunks joined. */
function concatAll(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The first index >= `from` where `needle` occurs in `hay`, or -1. */
function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  for (let i = hay.indexOf(first, from); i >= 0; i = hay.indexOf(first, i + 1)) {
    if (i + needle.length > hay.length) return -1;
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

/** The length of the longest end of `hay[from..]` that is a proper start of `needle`. */
function partialSuffix(hay: Uint8Array, from: number, needle: Uint8Array): number {
  for (let n = Math.min(needle.length - 1, hay.length - from); n > 0; n--) {
    let k = 0;
    while (k < n && hay[hay.length - n + k] === needle[k]) k++;
    if (k === n) return n;
  }
  return 0;
}
