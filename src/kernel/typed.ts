// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Growing typed arrays: the machine's memory, the recorded schedule and the
 * slice's step log keep their data in typed arrays that grow by copying.
 */

type Typed = Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

/** A copy of `a` with `length` elements (the rest zero). */
export function resized<T extends Typed>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a.length <= length ? a : (a.subarray(0, length) as T));
  return b;
}

/** `a` if it holds `n` elements, else a copy at least twice as long. */
export function grown<T extends Typed>(a: T, n: number): T {
  return n <= a.length ? a : resized(a, Math.max(n, a.length * 2));
}
