// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * x86-TSO: the store buffer and the rules of what drains it. Shared by the
 * machine (machine.ts) and the litmus explorer (src/litmus/), so that a litmus
 * verdict checks the very rules the hazptr runs use.
 *
 * The model is the operational x86-TSO of Owens, Sarkar and Sewell ("A better
 * x86 memory model: x86-TSO", TPHOLs 2009; "x86-TSO: a rigorous and usable
 * programmer's model for x86 multiprocessors", CACM 2010), itself checked
 * against Intel SDM vol. 3A §9.2.2 ("Memory Ordering in P6 and More Recent
 * Processor Families"):
 *
 *  - each CPU has a FIFO store buffer; a store enters it (after the access
 *    checks: a fault or a KASAN report is raised by the store instruction);
 *  - a load reads the newest entry of its own CPU's buffer for its address
 *    (store forwarding), else memory;
 *  - the oldest entry of any CPU's buffer may be written to memory at any
 *    time: in the machine that is a scheduler decision (D_DRAIN);
 *  - a locked instruction (xchg, cmpxchg, lock-prefixed read-modify-write:
 *    every value-returning atomic, atomic_inc/dec, test_and_set_bit, a
 *    spinlock's or mutex's acquire), mfence (smp_mb), and the events that
 *    serialise the CPU first empty the CPU's buffer: the return from an
 *    interrupt (iretq, serialising: SDM vol. 3A "Serializing Instructions"),
 *    the context switch (after the runqueue lock), and interrupt entry (an
 *    assumption: the SDM lists iret, not interrupt delivery, among the
 *    serialising events; Linux's entry code does locked ops soon after);
 *  - smp_wmb(), smp_rmb(), smp_store_release(), smp_load_acquire(),
 *    READ_ONCE() and WRITE_ONCE() are plain moves (arch/x86/include/asm/
 *    barrier.h: barrier() and compiler-ordered accesses only), so they order
 *    nothing beyond what TSO already orders; so is raw_spin_unlock(), a plain
 *    release store (queued_spin_unlock: smp_store_release of the locked byte).
 *
 * The buffer holds SB_ENTRIES stores (a real one holds tens; eight is more
 * than any kernel path between two full barriers in the ported code needs):
 * a store into a full buffer first drains its oldest entry.
 */
import {
  OP_CMPXCHG, OP_EXIT, OP_FENCE, OP_HANDOFF, OP_KFREE, OP_KMALLOC, OP_MUTEX_LOCK, OP_MUTEX_UNLOCK, OP_PICK,
  OP_RECEIVE, OP_SLEEP, OP_SWITCH, OP_WAIT_HANDOFF, OP_XCHG, ORD_MB,
} from './port.ts';

export type MemoryModel = 'tso' | 'sc';
export const MEMORY_MODELS: readonly MemoryModel[] = ['tso', 'sc'];

/** Entries in one CPU's store buffer. */
export const SB_ENTRIES = 8;

/**
 * Does an op of this kind (and, for a fence, this ordering) empty the CPU's
 * store buffer before it executes? True for the locked instructions and
 * mfence; for the model's compound ops (a mutex, a handoff, the scheduler's
 * pick and switch, sleeping, exiting) because each of them takes a lock or does
 * a locked read-modify-write in the kernel before anything else it does is
 * visible (mutex_lock()'s try_cmpxchg on owner; the wait-queue and runqueue
 * locks).
 *
 * kmalloc/kfree drain too, which x86 Linux does NOT: SLUB's fast paths use
 * this_cpu_try_cmpxchg128 (cmpxchg16b without a lock prefix) and take no lock.
 * The model keeps the drain because its kmalloc/kfree are single ops that
 * write the object's free pointer straight to memory: without it, a store the
 * CPU made to the object before kfree() would drain after the free pointer
 * and overwrite it. The cost is an over-drain: a reordering of the CPU's
 * stores across its own kmalloc/kfree is not explored (a missed bug, never a
 * false report). Likewise a preemption at preempt_enable() drains (machine.ts)
 * although __schedule()'s rq_lock() is what drains on x86.
 */
export function drainsBefore(kind: number, ord: number): boolean {
  switch (kind) {
    case OP_FENCE:
      return ord === ORD_MB;
    case OP_CMPXCHG:
    case OP_XCHG:
    case OP_MUTEX_LOCK:
    case OP_MUTEX_UNLOCK:
    case OP_KMALLOC:
    case OP_KFREE:
    case OP_HANDOFF:
    case OP_RECEIVE:
    case OP_WAIT_HANDOFF:
    case OP_PICK:
    case OP_SWITCH:
    case OP_SLEEP:
    case OP_EXIT:
      return true;
    default:
      return false;
  }
}

/** One CPU's FIFO store buffer: a ring of SB_ENTRIES (address, value, who stored it, where, when). */
export class StoreBuffer {
  readonly addr = new Float64Array(SB_ENTRIES);
  readonly val = new Float64Array(SB_ENTRIES);
  readonly site = new Int32Array(SB_ENTRIES);
  readonly task = new Int32Array(SB_ENTRIES);
  readonly time = new Float64Array(SB_ENTRIES);
  /** index of the oldest entry */
  head = 0;
  /** entries held */
  n = 0;

  /** Append a store; the caller drains first when n === SB_ENTRIES. */
  push(addr: number, val: number, site: number, task: number, time: number): void {
    const i = (this.head + this.n) % SB_ENTRIES;
    this.addr[i] = addr;
    this.val[i] = val;
    this.site[i] = site;
    this.task[i] = task;
    this.time[i] = time;
    this.n++;
  }

  /** The ring index of the newest entry for `addr`, -1 when none (store forwarding). */
  newest(addr: number): number {
    for (let k = this.n - 1; k >= 0; k--) {
      const i = (this.head + k) % SB_ENTRIES;
      if (this.addr[i] === addr) return i;
    }
    return -1;
  }

  /** Remove the oldest entry; returns its ring index (valid until the next push). */
  shift(): number {
    const i = this.head;
    this.head = (this.head + 1) % SB_ENTRIES;
    this.n--;
    return i;
  }

  /** The ring index of the k-th oldest entry. */
  at(k: number): number {
    return (this.head + k) % SB_ENTRIES;
  }

  clear(): void {
    this.head = 0;
    this.n = 0;
  }
}
