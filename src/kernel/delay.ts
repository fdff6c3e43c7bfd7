// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * udelay()/mdelay(): arch/x86/lib/delay.c. __udelay() ends in delay_tsc(),
 * which spins on the TSC until the delay has passed, with preempt_enable();
 * rep_nop(); preempt_disable() in each pass ("Allow RT tasks to run").
 *
 * The model makes the whole wait one op (OP_UDELAY with the absolute end
 * time): the CPU is busy until then, but an interrupt or IPI is taken in
 * between (irqs on), and under PREEMPT(full) a waiting task may preempt it. On
 * the same CPU the delay then resumes until its end time (delay_tsc() counts TSC
 * cycles, so time spent preempted counts); after a migration what had passed
 * before the switch is subtracted and the rest starts again
 * (`cycles -= (now - bclock)`).
 *
 * mdelay(n) with a variable n, or n > MAX_UDELAY_MS (5 on x86), is
 * `while (__ms--) udelay(1000)` (include/linux/delay.h): one udelay per ms.
 */
import { OP_UDELAY, type KGen, type Port } from './port.ts';
import { kfunc, site } from './sites.ts';

export const F_udelay = kfunc('__udelay', 'arch/x86/lib/delay.c');
export const S_udelay = site(F_udelay, 0, 'delay_fn(loops)', 'udelay');

/** Busy-wait `ns` nanoseconds; `s` labels the step (the caller's line, when it has one). */
export function* udelay(io: Port, ns: number, s = S_udelay): KGen {
  if (ns <= 0) return;
  io.enter(F_udelay);
  const t = io.task;
  let cpu = t.cpu;
  let start = io.m.now;
  let cycles = ns;
  for (;;) {
    yield io.op(OP_UDELAY, s, start + cycles);
    if (t.cpu !== cpu) {
      cycles -= t.lastOffCpu - start;
      cpu = t.cpu;
      start = io.m.now;
    }
    if (io.m.now >= start + cycles) break;
  }
  io.leave();
}

/** mdelay(ms) with a variable argument (all the model's callers): `while (__ms--) udelay(1000)`. */
export function* mdelay(io: Port, ms: number, s = S_udelay): KGen {
  for (let i = 0; i < ms; i++) yield udelay(io, 1e6, s);
}
