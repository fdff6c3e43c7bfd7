// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * CPU hotplug: remove_cpu() and add_cpu(). A CPU going down takes no new work
 * and goes offline at the first step boundary where stop_machine() could run.
 */
import type { Machine } from './machine.ts';
import { OP_IDLE } from './port.ts';
import { requeue } from './runqueue.ts';

/** remove_cpu(): start taking `cpu` offline. Returns false if it cannot go (last online CPU, already down). */
export function cpuDown(m: Machine, cpu: number): boolean {
  const c = m.cpus[cpu];
  if (!c.online || c.goingDown || m.pendingDown >= 0) return false;
  if (m.cpus.filter((x) => x.online && !x.goingDown).length <= 1) return false;
  c.goingDown = true;
  m.pendingDown = cpu;
  // migrate_tasks(): what waits on its runqueue moves to the online CPUs
  for (const t of c.rq.slice()) requeue(m, t);
  m.eligDirty = true;
  return true;
}

/**
 * The CPU goes offline once it runs its idle task with no IPI pending, and every
 * other online CPU could run the stopper (preemptible or idle): stop_machine()'s
 * condition, approximated. The step loop calls this after each step while a CPU
 * is going down.
 */
export function tryCompleteDown(m: Machine): void {
  const c = m.cpus[m.pendingDown];
  const t = c.curr;
  if (!t.isIdle || t.fdepth !== 1 || t.frames[0].kind !== OP_IDLE || c.irqPending !== 0 || c.rq.length) return;
  for (const o of m.cpus) {
    if (o === c || !o.online) continue;
    if (!o.curr.isIdle && (o.preemptCount !== 0 || o.irqsOff)) return;
  }
  c.online = false;
  c.goingDown = false;
  m.pendingDown = -1;
  m.eligDirty = true;
  m.printk(`smpboot: CPU ${c.id} is now offline`);
}

/** add_cpu() */
export function cpuUp(m: Machine, cpu: number): boolean {
  const c = m.cpus[cpu];
  if (c.online) return false;
  c.online = true;
  c.lastResched = m.now;
  m.eligDirty = true;
  m.printk(`smpboot: Booting Node 0 Processor ${c.id} APIC 0x${c.id.toString(16)}`);
  return true;
}
