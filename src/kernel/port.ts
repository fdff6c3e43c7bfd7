// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The one interface between kernel code written as generators and the machine.
 *
 * Kernel code (the hazptr port, locks, __schedule, workloads) is written as
 * generator functions taking a Port. A shared-memory access, a fence, or any
 * other operation that is a scheduling step is *yielded*: the code fills the
 * port's op registers (`io.load(addr, ORD_ONCE, site)` returns the port itself)
 * and yields it; the machine performs the op when the scheduler picks this CPU
 * and resumes the generator with the result. No object is allocated per step.
 * One op is more than one step: an OP_NOP with val N > 1 is N NOP steps, and
 * the machine counts its val down, resuming the generator after the last.
 *
 * Operations local to the CPU (preempt_count, irq flags, this_cpu_ptr, the call
 * stack kept for Call Trace) are plain method calls: they happen between steps.
 *
 * A Port is also an execution frame: a task has one for its own code, and one
 * more for each interrupt or preemption stacked on top of it.
 */
import type { Machine } from './machine.ts';
import type { Task } from './task.ts';

/**
 * Kernel code yields either its port (an op is pending) or a generator (a call:
 * `const r = yield callee(io, ...)`). The machine keeps the callee on the
 * frame's call stack and resumes only the innermost generator at each step, so
 * a step costs one resume however deep the C call chain is.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KGen<T = void> = Generator<Port | Generator<any, any, number>, T, number>;

// ---- op kinds ---------------------------------------------------------------
export const OP_LOAD = 1;
export const OP_STORE = 2;
export const OP_CMPXCHG = 3;
export const OP_XCHG = 4;
export const OP_FENCE = 5;
export const OP_RELAX = 6; // cpu_relax(): a step that touches nothing shared
export const OP_NOP = 7; // local work worth one step; val > 1: val such steps in a row (the machine counts val down, resuming after the last)
export const OP_PICK = 8; // pick_next_task(): returns the chosen task id
export const OP_SWITCH = 9; // context_switch() to task `val`
export const OP_IDLE = 10; // the idle loop waiting for work
export const OP_SLEEP = 11; // arm a timer for `val` ns, state TASK_UNINTERRUPTIBLE
export const OP_UDELAY = 12; // busy-wait `val` ns of local work (one step)
export const OP_MUTEX_LOCK = 13; // take mutex at addr, or queue as waiter: returns 1 taken, 0 must sleep
export const OP_MUTEX_UNLOCK = 14;
export const OP_KMALLOC = 15; // returns address
export const OP_KFREE = 16;
export const OP_RAND = 17; // a random number in [0, val) from the seeded scheduler
export const OP_HANDOFF = 18; // pass ctx `addr` and pointer `val` to task `val2`
export const OP_RECEIVE = 19; // take a handoff addressed to this task, or block: returns 1 got, 0 blocked
export const OP_EXIT = 20; // do_exit(): state TASK_DEAD
export const OP_WAIT_HANDOFF = 21; // wait until ctx `addr` has been released by its receiver: 1 free, 0 blocked
export const OP_RESCHED = 22; // should_resched(): 1 when the scheduler preempts here
export const OP_DRAIN = 23; // not an op a frame yields: the record of a store leaving a store buffer for memory (tso.ts)

export const OP_NAMES = [
  '', 'load', 'store', 'cmpxchg', 'xchg', 'fence', 'cpu_relax', 'nop', 'pick', 'switch', 'idle',
  'sleep', 'udelay', 'mutex_lock', 'mutex_unlock', 'kmalloc', 'kfree', 'rand', 'handoff', 'receive', 'exit',
  'wait_handoff', 'cond_resched', 'store drained',
];

// ---- memory ordering carried by each access and fence (tso.ts reads it) -------
export const ORD_PLAIN = 0;
export const ORD_ONCE = 1; // READ_ONCE / WRITE_ONCE
export const ORD_ACQUIRE = 2; // smp_load_acquire
export const ORD_RELEASE = 3; // smp_store_release
export const ORD_MB = 4; // full barrier (smp_mb, value-returning atomics)
export const ORD_WMB = 5; // smp_wmb(): a fence op that orders stores only
export const ORD_RMB = 6; // smp_rmb(): a fence op that orders loads only

export const FRAME_TASK = 0;
export const FRAME_IRQ = 1;
export const FRAME_PREEMPT = 2;

const MAX_DEPTH = 32;

export class Port {
  // op registers
  kind = 0;
  addr = 0;
  val = 0;
  val2 = 0;
  ord = 0;
  site = 0;
  // frame
  gen: KGen<unknown> | null = null;
  /** the call stack of generators; calls[ncalls - 1] is the one to resume */
  readonly calls: KGen<unknown>[] = [];
  ncalls = 0;
  frameKind = FRAME_TASK;
  /** the generator has done its op already and waits to be resumed (after a switch, or not started) */
  resumePending = false;
  // plain arrays, not typed: a typed array this size has a backing store of its own to allocate and
  // collect, five frames a task, for every machine a short run builds
  readonly fns: number[] = new Array<number>(MAX_DEPTH).fill(0);
  /** line in the caller at which fns[i] was called */
  readonly callLines: number[] = new Array<number>(MAX_DEPTH).fill(0);
  depth = 0;
  /** the lowest depth the call stack reached since stall.ts last looked: frames below it stayed live */
  low = 0;

  constructor(readonly m: Machine, readonly task: Task) {}

  // ---- steps ------------------------------------------------------------------
  load(addr: number, ord: number, site: number): Port {
    this.kind = OP_LOAD; this.addr = addr; this.ord = ord; this.site = site;
    return this;
  }
  store(addr: number, val: number, ord: number, site: number): Port {
    this.kind = OP_STORE; this.addr = addr; this.val = val; this.ord = ord; this.site = site;
    return this;
  }
  cmpxchg(addr: number, old: number, val: number, site: number): Port {
    this.kind = OP_CMPXCHG; this.addr = addr; this.val2 = old; this.val = val; this.ord = ORD_MB; this.site = site;
    return this;
  }
  xchg(addr: number, val: number, site: number): Port {
    this.kind = OP_XCHG; this.addr = addr; this.val = val; this.ord = ORD_MB; this.site = site;
    return this;
  }
  /** smp_mb() by default; smp_wmb()/smp_rmb() with ORD_WMB/ORD_RMB (plain on x86-TSO: tso.ts) */
  fence(site: number, ord = ORD_MB): Port {
    this.kind = OP_FENCE; this.ord = ord; this.site = site;
    return this;
  }
  op(kind: number, site: number, val = 0, addr = 0, val2 = 0): Port {
    this.kind = kind; this.site = site; this.val = val; this.addr = addr; this.val2 = val2;
    return this;
  }

  // ---- local, between steps -------------------------------------------------------
  enter(fn: { id: number }, callerLine = 0): void {
    this.fns[this.depth] = fn.id;
    this.callLines[this.depth] = callerLine;
    this.depth++;
  }
  leave(): void {
    if (--this.depth < this.low) this.low = this.depth;
  }
  preempt_disable(): void {
    this.m.cpus[this.task.cpu].preemptCount++;
  }
  preempt_enable(): void {
    this.m.preemptEnable(this);
  }
  /** local_irq_save(): returns the flags to restore */
  local_irq_save(): number {
    const c = this.m.cpus[this.task.cpu];
    const f = c.irqsOff ? 1 : 0;
    c.irqsOff = true;
    return f;
  }
  local_irq_restore(flags: number): void {
    if (flags === 1) this.m.cpus[this.task.cpu].irqsOff = true;
    else this.local_irq_enable();
  }
  local_irq_disable(): void {
    this.m.cpus[this.task.cpu].irqsOff = true;
  }
  local_irq_enable(): void {
    const c = this.m.cpus[this.task.cpu];
    c.irqsOff = false;
    // under PREEMPT, a pending tick is taken here and may preempt on its way out: a scheduling point
    if (c.preemptCount === 0 && this.m.preemptFull) c.lastResched = this.m.now;
  }
  smp_processor_id(): number {
    return this.task.cpu;
  }
  /** this_cpu_ptr(&var): with CONFIG_DEBUG_PREEMPT, complains when preemptible */
  this_cpu_ptr(off: number): number {
    this.m.checkPreemptOff(this);
    return this.m.mem.percpuBase(this.task.cpu) + off;
  }
  per_cpu_ptr(off: number, cpu: number): number {
    return this.m.mem.percpuBase(cpu) + off;
  }
}
