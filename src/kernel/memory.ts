// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Simulated memory: 8-byte words, a KASAN-style shadow byte per word, and the
 * allocators that carve regions out of one linear range (see addr.ts):
 * statics, per-CPU areas, task stacks (THREAD_SIZE, frames reused after return)
 * and a SLUB-like kmalloc heap (size classes, LIFO freelists, free pointer
 * written into freed objects, KASAN quarantine and redzones when kasan is on).
 *
 * The machine reads `words` and `shadow` directly on the step path; everything
 * else here runs only on allocation, free, or when a report is printed.
 */
import { MEM_BASE, PAGE_SIZE, PRINT_BASE, hex64, type Region, type RegionKind } from './addr.ts';
import { resized } from './typed.ts';

export const SH_INVALID = 0; // never allocated, or a redzone
export const SH_LIVE = 1;
export const SH_FREED = 2; // kfree'd heap object
export const SH_STACK_DEAD = 3; // a stack frame that has returned

export const THREAD_SIZE = 16384;
const HEAP_CHUNK = 64 * 1024;
const KMALLOC_CLASSES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
const QUARANTINE_OBJECTS = 512;

export interface Track {
  pid: number;
  comm: string;
  /** function names, innermost first */
  trace: string[];
}

export interface HeapObject {
  addr: number;
  size: number;
  cache: number;
  alloc: Track;
  free?: Track;
  live: boolean;
}

/** A memory's arrays, given back by recycle() for the next Memory; `used`: the words it mapped, the only ones not zero. */
interface Spare {
  words: Float64Array;
  shadow: Uint8Array;
  pend: Uint16Array;
  deadFn: Int32Array;
  deadSize: Int32Array;
  pageClass: Uint16Array;
  used: number;
}
/**
 * Arrays of memories that are done, for the next one: allocating a few MB of
 * new arrays (and the garbage collections their external size brings) was most
 * of the cost of a short run (explore's, a hunt's). Two at most: a run and the
 * replay that tells its story.
 */
const spares: Spare[] = [];
const SPARES = 2;

export class Memory {
  words: Float64Array;
  shadow: Uint8Array;
  /** per word: how many stores to it wait in store buffers (x86-TSO, tso.ts); a load checks the buffers only when not 0 */
  pend: Uint16Array;
  /** internal address one past the last mapped byte */
  end = MEM_BASE;
  readonly regions: Region[] = [];
  private heapNextPrint = PRINT_BASE.heap;
  /** per heap page: kmalloc class size, 0 when not a slab page */
  private pageClass: Uint16Array = new Uint16Array(0);
  private pageFill = new Map<number, number>();
  /** SLUB's per-CPU freelists: key cache * 1024 + cpu, LIFO (an object freed on CPU n is reused first by CPU n) */
  private freelists = new Map<number, number[]>();
  private partial = new Map<number, number>(); // class -> page address with room
  private quarantine: number[] = [];
  readonly objects = new Map<number, HeapObject>();
  /**
   * Stack frames that returned, for stack-use-after-return reports: by the word
   * a frame starts at, its function and size (frameEnter clears its own start;
   * deadFrameAt finds the frame covering an address). Plain arrays indexed by
   * word (typed, grown with memory: a plain array indexed by word goes to
   * dictionary mode): a return costs two stores and a name lookup, a call one
   * load; no object.
   */
  private deadFn: Int32Array;
  private deadSize: Int32Array;
  /** function names of dead frames: deadFn holds index + 1 (0: none) */
  private readonly fnNames: string[] = [];
  private readonly fnIds = new Map<string, number>();
  private staticTop = 0;
  private staticRegion: Region;
  percpuSize = 0;
  private percpuBases: number[] = [];

  constructor(readonly kasan: boolean, capacityBytes = 1 << 20) {
    const sp = spares.pop();
    if (sp) {
      // zeroed where the memory that had them mapped anything: the rest is zero still
      const u = sp.used;
      sp.words.fill(0, 0, u);
      sp.shadow.fill(0, 0, u);
      sp.pend.fill(0, 0, u);
      sp.deadFn.fill(0, 0, u);
      sp.deadSize.fill(0, 0, u);
      sp.pageClass.fill(0, 0, Math.ceil((u * 8) / PAGE_SIZE));
      ({ words: this.words, shadow: this.shadow, pend: this.pend, deadFn: this.deadFn, deadSize: this.deadSize, pageClass: this.pageClass } = sp);
    } else {
      this.words = new Float64Array(capacityBytes / 8);
      this.shadow = new Uint8Array(capacityBytes / 8);
      this.pend = new Uint16Array(capacityBytes / 8);
      this.pageClass = new Uint16Array(capacityBytes / PAGE_SIZE);
      this.deadFn = new Int32Array(capacityBytes / 8);
      this.deadSize = new Int32Array(capacityBytes / 8);
    }
    this.staticRegion = this.mapRegion('static', 1024 * 1024, PRINT_BASE.static, -1);
  }

  // ---- regions -----------------------------------------------------------

  private mapRegion(kind: RegionKind, size: number, base: bigint, owner: number): Region {
    const lo = this.end;
    const hi = lo + size;
    this.ensure(hi);
    const r: Region = { kind, lo, hi, base, owner };
    this.regions.push(r);
    this.end = hi;
    this.shadow.fill(kind === 'heap' ? SH_INVALID : SH_LIVE, (lo - MEM_BASE) / 8, (hi - MEM_BASE) / 8);
    return r;
  }

  /**
   * The run that owns this memory is over and nothing will read it again: its
   * arrays go to the next Memory made (zeroed there, up to what this one mapped).
   * After this the memory is empty: every address unmapped.
   */
  recycle(): void {
    if (spares.length < SPARES && this.words.length !== 0) {
      spares.push({ words: this.words, shadow: this.shadow, pend: this.pend, deadFn: this.deadFn, deadSize: this.deadSize, pageClass: this.pageClass, used: (this.end - MEM_BASE) / 8 });
    }
    this.words = new Float64Array(0);
    this.shadow = new Uint8Array(0);
    this.pend = new Uint16Array(0);
    this.deadFn = new Int32Array(0);
    this.deadSize = new Int32Array(0);
    this.pageClass = new Uint16Array(0);
    this.end = MEM_BASE;
  }

  private ensure(hi: number): void {
    const need = (hi - MEM_BASE) / 8;
    if (need <= this.words.length) return;
    let n = this.words.length;
    while (n < need) n *= 2;
    this.words = resized(this.words, n);
    this.shadow = resized(this.shadow, n);
    this.pend = resized(this.pend, n);
    this.deadFn = resized(this.deadFn, n);
    this.deadSize = resized(this.deadSize, n);
    this.pageClass = resized(this.pageClass, (n * 8) / PAGE_SIZE);
  }

  regionOf(x: number): Region | undefined {
    for (const r of this.regions) if (x >= r.lo && x < r.hi) return r;
    return undefined;
  }

  /** The address as the kernel prints it (%px), without 0x. */
  printed(x: number): bigint {
    const r = this.regionOf(x);
    if (r) return r.base + BigInt(x - r.lo);
    if (x >= 2 ** 51) return 0xdead000000000000n + BigInt(x - 2 ** 51);
    if (x >= MEM_BASE) return PRINT_BASE.heap + 0x40000000n + BigInt(x - MEM_BASE); // unmapped, direct-map-like
    return BigInt(x);
  }

  fmt(x: number): string {
    return '0x' + hex64(this.printed(x)).replace(/^0+(?=.)/, '');
  }

  fmtPx(x: number): string {
    return hex64(this.printed(x));
  }

  // ---- plain access for setup and reports (no checks, no steps) -----------

  peek(x: number): number {
    return this.words[(x - MEM_BASE) / 8];
  }

  poke(x: number, v: number): void {
    this.words[(x - MEM_BASE) / 8] = v;
  }

  // ---- statics and per-CPU -------------------------------------------------

  allocStatic(size: number, align = 8): number {
    this.staticTop = Math.ceil(this.staticTop / align) * align;
    const a = this.staticRegion.lo + this.staticTop;
    this.staticTop += Math.ceil(size / 8) * 8;
    if (this.staticTop > this.staticRegion.hi - this.staticRegion.lo) throw new Error('static region full');
    return a;
  }

  /** Reserve a per-CPU variable; returns its offset in each CPU's area. */
  definePercpu(size: number, align = 8): number {
    if (this.percpuBases.length) throw new Error('per-CPU areas already laid out');
    const off = Math.ceil(this.percpuSize / align) * align;
    this.percpuSize = off + Math.ceil(size / 8) * 8;
    return off;
  }

  layoutPercpu(ncpu: number): void {
    const unit = Math.max(PAGE_SIZE, Math.ceil(this.percpuSize / PAGE_SIZE) * PAGE_SIZE);
    for (let c = 0; c < ncpu; c++) {
      const r = this.mapRegion('percpu', unit, PRINT_BASE.percpu + BigInt(c) * PRINT_BASE.percpuUnit, c);
      this.percpuBases.push(r.lo);
    }
  }

  percpuBase(cpu: number): number {
    return this.percpuBases[cpu];
  }

  // ---- stacks ----------------------------------------------------------------

  allocStack(task: number): Region {
    return this.mapRegion('stack', THREAD_SIZE, PRINT_BASE.stack + BigInt(task) * PRINT_BASE.stackStride, task);
  }

  /** A frame comes alive (a function with locals on the stack was entered). */
  frameEnter(addr: number, size: number): void {
    const lo = (addr - MEM_BASE) >>> 3;
    const hi = (addr + size - MEM_BASE) >>> 3;
    const sh = this.shadow;
    for (let k = lo; k < hi; k++) sh[k] = SH_LIVE; // a few words: a loop beats a fill() call
    if (this.deadFn[lo] !== 0) this.deadFn[lo] = 0;
  }

  /** A frame returned: with KASAN its bytes are poisoned until reused. */
  frameLeave(addr: number, size: number, fn: string): void {
    if (!this.kasan) return;
    const lo = (addr - MEM_BASE) >>> 3;
    const hi = (addr + size - MEM_BASE) >>> 3;
    const sh = this.shadow;
    for (let k = lo; k < hi; k++) sh[k] = SH_STACK_DEAD;
    let id = this.fnIds.get(fn);
    if (id === undefined) {
      id = this.fnNames.push(fn);
      this.fnIds.set(fn, id);
    }
    this.deadFn[lo] = id;
    this.deadSize[lo] = size;
  }

  /** The returned frame that covers x, nearest below it (within a stack, THREAD_SIZE). */
  deadFrameAt(x: number): { addr: number; size: number; fn: string } | undefined {
    const k0 = (x - MEM_BASE) >>> 3;
    for (let k = k0; k >= 0 && k > k0 - 2048; k--) {
      const id = this.deadFn[k];
      if (id !== 0 && x < MEM_BASE + k * 8 + this.deadSize[k]) return { addr: MEM_BASE + k * 8, size: this.deadSize[k], fn: this.fnNames[id - 1] };
    }
    return undefined;
  }

  // ---- kmalloc / kfree ---------------------------------------------------------

  static cacheFor(size: number): number {
    for (const c of KMALLOC_CLASSES) if (size <= c) return c;
    throw new Error(`kmalloc(${size}) larger than the model's largest cache`);
  }

  private freelist(cache: number, cpu: number): number[] {
    const k = cache * 1024 + cpu;
    let fl = this.freelists.get(k);
    if (!fl) this.freelists.set(k, (fl = []));
    return fl;
  }

  /**
   * kmalloc on `cpu`: the last object freed on this CPU (SLUB's per-CPU freelist,
   * LIFO); when it is empty, the oldest object freed on another CPU, looking at
   * cpu+1, cpu+2, ... (a partial slab that remote frees filled); else a new slot.
   */
  kmalloc(size: number, alloc: Track, cpu = 0): number {
    const cache = Memory.cacheFor(size);
    let a: number | undefined;
    const fl = this.freelist(cache, cpu);
    if (fl.length) a = fl.pop();
    else {
      const n = Math.max(1, this.percpuBases.length);
      for (let k = 1; k < n && a === undefined; k++) {
        const o = this.freelists.get(cache * 1024 + ((cpu + k) % n));
        if (o && o.length) a = o.shift();
      }
      if (a === undefined) a = this.carve(cache);
    }
    const i = (a! - MEM_BASE) / 8;
    // SLUB hands back the object as it was (kmalloc does not zero); KASAN
    // unpoisons the requested size and leaves the tail of the slot as redzone.
    this.shadow.fill(SH_LIVE, i, i + Math.ceil(size / 8));
    this.shadow.fill(this.kasan ? SH_INVALID : SH_LIVE, i + Math.ceil(size / 8), i + cache / 8);
    this.objects.set(a!, { addr: a!, size, cache, alloc, live: true });
    return a!;
  }

  private carve(cache: number): number {
    let page = this.partial.get(cache);
    if (page === undefined || (this.pageFill.get(page) ?? 0) + cache > Math.max(PAGE_SIZE, cache)) {
      page = this.newSlabPage(cache);
      this.partial.set(cache, page);
    }
    const fill = this.pageFill.get(page) ?? 0;
    this.pageFill.set(page, fill + cache);
    return page + fill;
  }

  private newSlabPage(cache: number): number {
    const bytes = Math.max(PAGE_SIZE, cache);
    let r = this.regions[this.regions.length - 1];
    if (r.kind !== 'heap' || r.hi - this.heapTop(r) < bytes) {
      r = this.mapRegion('heap', HEAP_CHUNK, this.heapNextPrint, -1);
      this.heapNextPrint += BigInt(HEAP_CHUNK);
      this.heapTops.set(r, r.lo);
    }
    const page = this.heapTop(r);
    this.heapTops.set(r, page + bytes);
    for (let p = page; p < page + bytes; p += PAGE_SIZE) this.pageClass[(p - MEM_BASE) / PAGE_SIZE] = cache;
    return page;
  }

  private heapTops = new Map<Region, number>();
  private heapTop(r: Region): number {
    return this.heapTops.get(r) ?? r.lo;
  }

  /** The heap object containing x (live or freed), if x is inside a slab slot. */
  objectAt(x: number): HeapObject | undefined {
    if (x < MEM_BASE || x >= this.end) return undefined;
    const cache = this.pageClass[Math.floor((x - MEM_BASE) / PAGE_SIZE)];
    if (!cache) return undefined;
    const pageStart = MEM_BASE + Math.floor((x - MEM_BASE) / PAGE_SIZE) * PAGE_SIZE;
    const start = cache > PAGE_SIZE ? pageStart : pageStart + Math.floor((x - pageStart) / cache) * cache;
    return this.objects.get(start);
  }

  /** kfree. Returns 'double-free' or 'invalid-free' when KASAN would report one. */
  kfree(a: number, free: Track, cpu = 0): undefined | 'double-free' | 'invalid-free' {
    const o = this.objects.get(a);
    if (!o) return 'invalid-free';
    if (!o.live) return 'double-free';
    o.live = false;
    o.free = free;
    const i = (a - MEM_BASE) / 8;
    const fl = this.freelist(o.cache, cpu);
    if (this.kasan) {
      this.shadow.fill(SH_FREED, i, i + o.cache / 8);
      this.quarantine.push(a);
      if (this.quarantine.length > QUARANTINE_OBJECTS) {
        // the oldest object leaves the quarantine for its own size class's freelist on this CPU
        const old = this.quarantine.shift()!;
        this.freelist(this.objects.get(old)!.cache, cpu).push(old);
      }
    } else {
      // SLUB stores the freelist pointer inside the free object, at
      // ALIGN_DOWN(object_size / 2, sizeof(void *)) (no FREELIST_HARDENED).
      const fpOff = Math.floor(o.cache / 2 / 8) * 8;
      this.words[i + fpOff / 8] = fl.length ? fl[fl.length - 1] : 0;
      fl.push(a);
    }
    return undefined;
  }
}
