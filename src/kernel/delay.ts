/**
 * udelay()/mdelay(): arch/x86/lib/delay.c. __udelay() ends in delay_tsc(),
 * which spins on the TSC until the delay has passed, with preempt_enable();
 * rep_nop(); preempt_disable() in each pass ("Allow RT tasks to run").
 *
 * The model makes the whole wait one op (OP_UDELAY with the absolute end
 * time): the CPU is busy until then, but an interrupt or IPI is taken in
 * between (irqs on), and under PREEMPT(full) a waiting task may preempt it; the
 * delay then resumes until its end time, as delay_tsc() counts TSC cycles, not
 * its own passes.
 */
import { OP_UDELAY, type KGen, type Port } from './port.ts';
import { kfunc, site } from './sites.ts';

export const F_udelay = kfunc('__udelay', 'arch/x86/lib/delay.c');
export const S_udelay = site(F_udelay, 0, 'delay_fn(loops)', 'udelay');

/** Busy-wait `ns` nanoseconds; `s` labels the step (the caller's line, when it has one). */
export function* udelay(io: Port, ns: number, s = S_udelay): KGen {
  if (ns <= 0) return;
  io.enter(F_udelay);
  const end = io.m.now + ns;
  do yield io.op(OP_UDELAY, s, end);
  while (io.m.now < end);
  io.leave();
}
