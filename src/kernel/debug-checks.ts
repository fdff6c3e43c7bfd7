// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The kernel's debug checks, called from kernel code: might_sleep(),
 * schedule_debug(), lockdep assertions, CONFIG_DEBUG_PREEMPT and spinlock
 * debugging. Each reports a bug when its condition fails.
 */
import type { Machine } from './machine.ts';
import type { Port } from './port.ts';
import { report, warnHeadline } from './reports.ts';
import { functions } from './sites.ts';

/** preempt_enable(): with CONFIG_DEBUG_PREEMPT, an underflow of preempt_count is a warning. */
export function preemptEnable(m: Machine, io: Port): void {
  const cpu = m.cpus[io.task.cpu];
  // under PREEMPT, preempt_enable() to 0 is where the watchdog's stopper (or anyone) could preempt
  if (cpu.preemptCount === 1 && m.preemptFull && !cpu.irqsOff) cpu.lastResched = m.now;
  if (--cpu.preemptCount < 0 && m.cfg.debugPreempt) {
    // CONFIG_DEBUG_PREEMPT: preempt_count_sub(): DEBUG_LOCKS_WARN_ON(val > preempt_count())
    report(m, 'preempt-count-underflow', cpu, io.task, {
      headline: warnHeadline(io, 'kernel/sched/core.c', undefined),
      pre: ['DEBUG_LOCKS_WARN_ON(val > preempt_count())', `hazsim: preempt_enable() without a matching preempt_disable(): preempt_count ${cpu.preemptCount}`],
      frames: io,
    });
  }
}

/** might_sleep() / __might_resched() */
export function mightSleep(m: Machine, io: Port, file: string): void {
  const cpu = m.cpus[io.task.cpu];
  if (cpu.preemptCount === 0 && !cpu.irqsOff) return;
  const t = io.task;
  report(m, 'sleeping-in-atomic', cpu, t, {
    headline: `BUG: sleeping function called from invalid context at ${file}`,
    pre: [`in_atomic(): ${cpu.preemptCount !== 0 ? 1 : 0}, irqs_disabled(): ${cpu.irqsOff ? 1 : 0}, non_block: 0, pid: ${t.pid}, name: ${t.comm}`,
      `preempt_count: ${cpu.preemptCount.toString(16)}, expected: 0`, 'RCU nest depth: 0, expected: 0'],
    frames: io,
  });
}

/** schedule_debug(): __schedule() entered with more than its own preempt_disable() */
export function scheduleDebug(m: Machine, io: Port): void {
  const cpu = m.cpus[io.task.cpu];
  if (cpu.preemptCount === 1) return;
  const t = io.task;
  report(m, 'scheduling-while-atomic', cpu, t, {
    headline: `BUG: scheduling while atomic: ${t.comm}/${t.pid}/0x${cpu.preemptCount.toString(16).padStart(8, '0')}`,
    frames: io,
  });
}

export function lockdepAssertPreemptionEnabled(m: Machine, io: Port, file: string, line: number): void {
  const cpu = m.cpus[io.task.cpu];
  if (!m.cfg.lockdep || (cpu.preemptCount === 0 && !cpu.irqsOff)) return;
  const t = io.task;
  report(m, 'lockdep-preemption-disabled', cpu, t, {
    headline: warnHeadline(io, file, line),
    pre: [`lockdep_assert_preemption_enabled(): preempt_count ${cpu.preemptCount.toString(16)}, irqs_disabled ${cpu.irqsOff ? 1 : 0}`],
    frames: io,
    ripLine: line,
  });
}

/** CONFIG_DEBUG_PREEMPT: this_cpu_ptr() and smp_processor_id() in preemptible code */
export function checkPreemptOff(m: Machine, io: Port): void {
  const cpu = m.cpus[io.task.cpu];
  if (!m.cfg.debugPreempt || cpu.preemptCount !== 0 || cpu.irqsOff || io.task.isIdle) return;
  const t = io.task;
  const fn = functions[io.fns[io.depth - 1]].name;
  report(m, 'smp-processor-id-preemptible', cpu, t, {
    headline: `BUG: using smp_processor_id() in preemptible [00000000] code: ${t.comm}/${t.pid}`,
    pre: [`caller is ${fn}`],
    frames: io,
  });
}

/** CONFIG_DEBUG_SPINLOCK, before taking `lock`: the task must not already own it. */
export function spinDebugLock(m: Machine, io: Port, lock: number): void {
  const owner = m.spinOwner.get(lock);
  if (owner !== io.task.id) return;
  const cpu = m.cpus[io.task.cpu];
  report(m, 'spinlock-recursion', cpu, io.task, {
    headline: `BUG: spinlock recursion on CPU#${cpu.id}, ${io.task.comm}/${io.task.pid}`,
    pre: [` lock: ${m.mem.fmt(lock)}, .magic: dead4ead, .owner: ${io.task.comm}/${io.task.pid}, .owner_cpu: ${cpu.id}`],
    frames: io,
  });
}

/** CONFIG_DEBUG_SPINLOCK, after taking `lock`: record its owner. */
export function spinOwned(m: Machine, io: Port, lock: number): void {
  m.spinOwner.set(lock, io.task.id);
}

/** CONFIG_DEBUG_SPINLOCK, on unlock: the task must own `lock`. */
export function spinDebugUnlock(m: Machine, io: Port, lock: number): void {
  const owner = m.spinOwner.get(lock);
  if (owner === io.task.id) {
    m.spinOwner.delete(lock);
    return;
  }
  const cpu = m.cpus[io.task.cpu];
  const o = owner === undefined ? undefined : m.tasks[owner];
  report(m, 'bad-unlock', cpu, io.task, {
    headline: `BUG: spinlock ${o ? 'wrong owner' : 'already unlocked'} on CPU#${cpu.id}, ${io.task.comm}/${io.task.pid}`,
    pre: [` lock: ${m.mem.fmt(lock)}, .magic: dead4ead, .owner: ${o ? `${o.comm}/${o.pid}` : '<none>/-1'}, .owner_cpu: ${o ? o.cpu : -1}`],
    frames: io,
  });
}
