// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What the module calls outside hazptrtorture.c: kernel/torture.c's helpers
 * (torture_random(), torture_hrtimeout_*(), stutter_wait(),
 * torture_preempt_schedule(), torture_num_online_cpus()), cpumask_next_wrap()
 * and kernel/smp.c's smp_call_function_single().
 */
import type { Machine } from '../kernel/machine.ts';
import { OP_RAND, OP_RELAX, OP_SLEEP, ORD_ACQUIRE, ORD_PLAIN, type KGen, type Port } from '../kernel/port.ts';
import { cond_resched, preempt_schedule_common, schedule } from '../sched/core.ts';
import { F, F_preempt_schedule, S } from './sites.ts';
import type { Torture } from './state.ts';

/** torture_random(&rand) % n: a decision of the scheduler (none for n <= 1) */
export function* rand(io: Port, n: number): KGen<number> {
  return n <= 1 ? 0 : yield io.op(OP_RAND, S.rand, n);
}

/** torture_hrtimeout_ns(): sleep base + a random fuzz. */
export function* hrtimeout(io: Port, baseNs: number, fuzzNs: number): KGen {
  io.enter(F.hrtimeout);
  io.m.mightSleep(io, F.hrtimeout.file);
  const fuzz = fuzzNs > 1 ? yield io.op(OP_RAND, S.rand, fuzzNs) : 0;
  yield io.op(OP_SLEEP, S.sleep, baseNs + fuzz);
  yield schedule(io);
  io.leave();
}

/**
 * stutter_wait() of kernel/torture.c: cond_resched_tasks_rcu_qs() (a voluntary
 * scheduling point under PREEMPT_NONE, nothing more under PREEMPT), then, while
 * the test is paused, sleep until the absolute end of the pause. True if it slept.
 */
export function* stutter_wait(io: Port, t: Torture): KGen<boolean> {
  io.enter(F.stutter_wait);
  yield cond_resched(io); // cond_resched_tasks_rcu_qs(): rcu_tasks_qs(current, false); cond_resched();
  let ret = false;
  if (!t.mustStop() && t.stutterPaused(io.m.now)) {
    yield hrtimeout(io, t.stutterResumeAt(io.m.now) - io.m.now, 0);
    ret = true;
  }
  io.leave();
  return ret;
}

/**
 * torture_num_online_cpus(): kernel/torture.c's torture_online_cpus, which starts at NR_CPUS and
 * moves with torture_offline()/torture_online() only. With NR_CPUS = nr_cpu_ids (a kernel built for
 * this machine) and torture_onoff the only hotplug actor, that is the number of online CPUs.
 */
export function onlineCount(m: Machine): number {
  let n = 0;
  for (let c = 0; c < m.cfg.cpus; c++) if (m.cpuIsOnline(c)) n++;
  return n;
}

/** cpumask_next_wrap(cpu, cpu_online_mask) */
export function nextOnline(m: Machine, cpu: number): number {
  for (let k = 1; k <= m.cfg.cpus; k++) {
    const c = (cpu + k) % m.cfg.cpus;
    if (m.cpuIsOnline(c)) return c;
  }
  return cpu;
}

/** smp_call_function_single(cpu, fn, info, wait=1), with preemption already disabled by the caller. */
export function* smp_call_function_single(io: Port, t: Torture, cpu: number, fn: (io: Port) => KGen): KGen {
  io.enter(F.smp_call);
  if (cpu === io.smp_processor_id()) {
    const flags = io.local_irq_save();
    yield fn(io);
    io.local_irq_restore(flags);
    io.leave();
    return;
  }
  const csd = t.csd.get(io.task.id)!;
  yield io.store(csd, 1, ORD_PLAIN, S.csd_lock);
  io.m.sendIpi(cpu, fn, csd);
  while (yield io.load(csd, ORD_ACQUIRE, S.csd_wait)) yield io.op(OP_RELAX, S.csd_relax);
  io.leave();
}

/** torture_preempt_schedule(): __preempt_schedule() with CONFIG_PREEMPTION, nothing without. */
export function* torture_preempt_schedule(io: Port): KGen {
  if (io.m.cfg.preempt !== 'full') return;
  io.enter(F_preempt_schedule);
  yield preempt_schedule_common(io);
  io.leave();
}
