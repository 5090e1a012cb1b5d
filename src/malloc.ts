/**
 * How the C allocator gives memory back, for the long-running programs (the monitor and
 * conntopd). glibc raises its mmap threshold each time a large block is freed (up to
 * 32 MB), after which blocks of that size come from the heap arenas instead of their own
 * mappings; a freed one then stays in the arena, counted in the RSS, until the arena's top is
 * free. Deno allocates the backing store of every ArrayBuffer with malloc, so at 200k
 * connections each refresh's per-row arrays (about a megabyte each) pile up in the arenas
 * between the garbage collections that free them. Fixed thresholds keep blocks of 128 KiB and
 * more in mappings of their own, returned to the kernel when freed, and trim an arena's free top
 * at 128 KiB. Measured on the monitor at 200k (200x50 tmux pane, 1 s refresh, 4 pairs on a
 * loaded machine): peak RSS 144 -> 137 MB (median), steady RSS about 8 MB lower; at 1k no
 * change. The cost is an mmap and a munmap per large block, a few per refresh.
 *
 * It never fails: without `--allow-ffi`, or on a C library without mallopt, the defaults stay.
 *
 * @module
 */

import { libc, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD } from "../ffi/libc.ts";

/** Both thresholds, bytes (glibc's defaults before it moves them). */
const THRESHOLD = 128 * 1024;

/**
 * Fixes the allocator's mmap and trim thresholds (see the module documentation). Call it first
 * thing in a process that runs long: it applies to every thread from then on.
 */
export function fixMallocThresholds(): void {
  try {
    libc().mallopt(M_MMAP_THRESHOLD, THRESHOLD);
    libc().mallopt(M_TRIM_THRESHOLD, THRESHOLD);
  } catch {
    // No FFI, or no mallopt: the allocator keeps its defaults.
  }
}
