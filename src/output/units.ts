/**
 * Human-readable numbers: bytes and rates with K/M/G/T suffixes (powers of 1024, as htop),
 * durations as 1d02h, 3h04m, 5m06s.
 *
 * @module
 */

const SUFFIXES = ["", "K", "M", "G", "T", "P"];

/** `n` with a binary suffix: 999, 1.0K, 12.3M; "-" for null. */
export function humanBytes(n: number | null): string {
  if (n === null) return "-";
  let i = 0;
  let v = n;
  while (v >= 1024 && i < SUFFIXES.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return String(Math.round(v));
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${SUFFIXES[i]}`;
}

/** A rate per second: "1.2M/s"; "-" for null. */
export function humanRate(n: number | null): string {
  return n === null ? "-" : `${humanBytes(n)}/s`;
}

/** Seconds as a compact duration; "-" for null. */
export function humanDuration(s: number | null): string {
  if (s === null) return "-";
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  const two = (x: number) => String(x).padStart(2, "0");
  if (d > 0) return `${d}d${two(h)}h`;
  if (h > 0) return `${h}h${two(m)}m`;
  if (m > 0) return `${m}m${two(sec)}s`;
  return `${sec}s`;
}
