// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The simulated 64-bit address space.
 *
 * Inside the simulator an address is a JS number (a double, exact below 2^53).
 * Mapped memory lives in one linear range starting at MEM_BASE; each region of
 * it (statics, per-CPU areas, stacks, heap) has the x86_64 virtual base it is
 * printed with. Poison values live in a separate range above POISON_BASE and are
 * printed as 0xdead000000000000 + offset, so LIST_POISON1 + 0x10 prints as
 * 0xdead000000000110, exactly what the real machine shows.
 *
 * BigInt is used only when printing, never on the step path.
 */

/** Internal addresses below this are the NULL page and user space. */
export const MEM_BASE = 0x100000;
export const PAGE_SIZE = 4096;

/** Internal representation of 0xdead000000000000 (POISON_POINTER_DELTA on x86_64). */
export const POISON_BASE = 2 ** 51;

/** include/linux/poison.h, x86_64 (CONFIG_ILLEGAL_POINTER_VALUE = 0xdead000000000000). */
export const LIST_POISON1 = POISON_BASE + 0x100;
export const LIST_POISON2 = POISON_BASE + 0x122;

export const KNOWN_POISONS: ReadonlyArray<{ value: number; name: string }> = [
  { value: LIST_POISON1, name: 'LIST_POISON1' },
  { value: LIST_POISON2, name: 'LIST_POISON2' },
];

export type RegionKind = 'static' | 'percpu' | 'stack' | 'heap';

export interface Region {
  kind: RegionKind;
  /** internal [lo, hi) */
  lo: number;
  hi: number;
  /** printed virtual address of lo */
  base: bigint;
  /** for stacks: the owning task id; for per-CPU areas: the CPU */
  owner: number;
}

/** x86_64 layout without KASLR (Documentation/arch/x86/x86_64/mm.rst). */
export const PRINT_BASE = {
  heap: 0xffff888003000000n, // direct map (kmalloc)
  percpu: 0xffff88807fa00000n, // per-CPU areas, one 0x40000 unit per CPU
  percpuUnit: 0x40000n,
  stack: 0xffffc90000400000n, // vmalloc'd THREAD_SIZE stacks with guard pages
  stackStride: 0x8000n,
  static: 0xffffffff82a00000n, // kernel .data/.bss
} as const;

export function hex64(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

/** Name the known poison a value equals or lies just above (within 0x100 bytes), if any. */
export function describePoison(x: number): string | undefined {
  for (const p of KNOWN_POISONS) if (x === p.value) return p.name;
  // the nearest known poison below x (LIST_POISON2 + 8, not LIST_POISON1 + 0x2a)
  let best: { value: number; name: string } | undefined;
  for (const p of KNOWN_POISONS) if (x > p.value && x - p.value < 0x100 && (!best || p.value > best.value)) best = p;
  return best ? `${best.name} + 0x${(x - best.value).toString(16)}` : undefined;
}

/** %p: the kernel prints hashed pointers; a fixed hash keeps output deterministic. */
export function hashPtr(x: number): string {
  let h = 0x9e3779b9 ^ (x >>> 0) ^ Math.floor(x / 2 ** 32);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return `00000000${((h ^ (h >>> 16)) >>> 0).toString(16).padStart(8, '0')}`;
}
