// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Interrupts and IPIs: smp_call_function_single(), taking a pending interrupt
 * at a step boundary, the hardirq entry code that runs the handler in an IRQ
 * frame on top of the interrupted task, and preemption on the way out.
 */
import type { Machine } from './machine.ts';
import { preempt_schedule_irq } from '../sched/core.ts';
import { FRAME_IRQ, FRAME_PREEMPT, ORD_RELEASE, type KGen, type Port } from './port.ts';
import { kfunc, site } from './sites.ts';
import type { Cpu, Task } from './task.ts';

export interface IrqSpec {
  name: string;
  cpu: number;
  periodNs: number;
  handler: (io: Port) => KGen;
}

const HARDIRQ_OFFSET = 0x10000;

const F_irq = kfunc('asm_sysvec_apic_timer_interrupt', 'arch/x86/include/asm/idtentry.h');
const F_ipi = kfunc('asm_sysvec_call_function_single', 'arch/x86/include/asm/idtentry.h');
const F_generic_smp_call = kfunc('__flush_smp_call_function_queue', 'kernel/smp.c');
const S_csd_unlock = site(F_generic_smp_call, 0, 'csd_unlock(csd);', 'store-release csd->flags = 0');
const S_irq_entry = site(F_irq, 0, 'sysvec_apic_timer_interrupt', 'interrupt taken');
const S_ipi_entry = site(F_ipi, 0, 'sysvec_call_function_single', 'IPI taken');
const F_preempt_irq = kfunc('irqentry_exit', 'kernel/entry/common.c');
const S_preempt_entry = site(F_preempt_irq, 0, 'preempt_schedule_irq();', 'preempted');
/** irqPending bit for the call-function IPI; bits below are the scenario's periodic irqs */
const IPI_BIT = 1 << 30;

/**
 * smp_call_function_single(): queue `fn` for `cpu`'s IPI handler; the handler
 * stores 0 to `csd` (csd_unlock) when fn returns. The caller spins on `csd`.
 */
export function sendIpi(m: Machine, cpu: number, fn: (io: Port) => KGen, csd: number): void {
  m.cpus[cpu].ipiQueue.push({ fn, csd });
  m.cpus[cpu].irqPending |= IPI_BIT;
  m.eligDirty = true;
}

/** Would the next step boundary on this CPU take an interrupt or consider preemption? */
export function interruptPoint(m: Machine, io: Port): boolean {
  const cpu = m.cpus[io.task.cpu];
  if (cpu.irqsOff) return false;
  return cpu.irqPending !== 0 || (m.preemptFull && cpu.preemptCount === 0 && cpu.rq.length > 0);
}

/** Take the lowest pending interrupt on `cpu`: its entry code runs in an IRQ frame on top of `t`. */
export function deliverIrq(m: Machine, cpu: Cpu, t: Task): void {
  const bit = cpu.irqPending & -cpu.irqPending;
  cpu.irqPending &= ~bit;
  cpu.irqsOff = true; // the CPU entered the interrupt gate: the entry step already shows 'd'
  if (bit === IPI_BIT) {
    const call = cpu.ipiQueue.shift()!;
    if (cpu.ipiQueue.length) cpu.irqPending |= IPI_BIT;
    m.stats.irqs++;
    m.recordAt(cpu, t, S_ipi_entry, 0, 0);
    m.pushFrame(t, FRAME_IRQ, (io) => ipiEntry(m, io, call.fn, call.csd));
    return;
  }
  const irq = m.irqs[31 - Math.clz32(bit)];
  m.stats.irqs++;
  m.recordAt(cpu, t, S_irq_entry, 0, 0);
  m.pushFrame(t, FRAME_IRQ, (io) => irqEntry(m, io, irq));
}

function* ipiEntry(m: Machine, io: Port, fn: (io: Port) => KGen, csd: number): KGen {
  io.enter(F_ipi);
  io.enter(F_generic_smp_call);
  const cpu = m.cpus[io.task.cpu];
  cpu.preemptCount += HARDIRQ_OFFSET;
  cpu.irqsOff = true;
  yield fn(io);
  yield io.store(csd, 0, ORD_RELEASE, S_csd_unlock);
  cpu.preemptCount -= HARDIRQ_OFFSET;
  cpu.irqsOff = false;
  io.leave();
  io.leave();
}

function* irqEntry(m: Machine, io: Port, irq: IrqSpec): KGen {
  io.enter(F_irq);
  const cpu = m.cpus[io.task.cpu];
  cpu.preemptCount += HARDIRQ_OFFSET;
  cpu.irqsOff = true;
  yield irq.handler(io);
  cpu.preemptCount -= HARDIRQ_OFFSET;
  cpu.irqsOff = false;
  io.leave();
}

/** Preempt the task on `cpu` now (preempt_schedule_irq on return from an interrupt). */
export function preemptNow(m: Machine, cpu: Cpu, t: Task): void {
  m.stats.preemptions++;
  m.recordAt(cpu, t, S_preempt_entry, 0, 0);
  m.pushFrame(t, FRAME_PREEMPT, preempt_schedule_irq);
}
