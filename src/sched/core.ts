// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * kernel/sched/core.c, as far as the model needs it: __schedule() in the
 * kernel's order (irqs off, hazptr_note_context_switch() on the outgoing CPU,
 * pick the next task, switch, irqs back on in finish_task_switch()), schedule(),
 * cond_resched(), the preemption path taken on return from an interrupt, the
 * idle loop and the start of a kthread.
 *
 * Each of these runs as steps on the CPU that calls it, so the steps of
 * hazptr_note_context_switch() interleave with the other CPUs' steps.
 */
import { OP_EXIT, OP_IDLE, OP_RESCHED, OP_PICK, OP_SWITCH, type KGen, type Port } from '../kernel/port.ts';
import { kfunc, site } from '../kernel/sites.ts';

const CORE_C = 'kernel/sched/core.c';
export const F___schedule = kfunc('__schedule', CORE_C);
export const F_schedule = kfunc('schedule', CORE_C);
export const F_preempt_schedule_irq = kfunc('preempt_schedule_irq', CORE_C);
export const F_cond_resched = kfunc('__cond_resched', CORE_C);
export const F_schedule_idle = kfunc('schedule_idle', CORE_C);
export const F_do_idle = kfunc('do_idle', 'kernel/sched/idle.c');
export const F_cpu_startup_entry = kfunc('cpu_startup_entry', 'kernel/sched/idle.c');
export const F_do_exit = kfunc('do_exit', 'kernel/exit.c');
export const F_kthread = kfunc('kthread', 'kernel/kthread.c');
export const F_ret_from_fork = kfunc('ret_from_fork', 'arch/x86/kernel/process.c');
export const F_ret_from_fork_asm = kfunc('ret_from_fork_asm', 'arch/x86/entry/entry_64.S');

/** Line of the hazptr_note_context_switch() call the v5 patch adds to __schedule(). */
export const CORE_C_NOTE_CONTEXT_SWITCH_LINE = 6794;

const S_pick = site(F___schedule, 0, 'next = pick_next_task(rq, prev, &rf);', 'pick_next_task');
const S_switch = site(F___schedule, 0, 'rq = context_switch(rq, prev, next, &rf);', 'context_switch');
const S_idle = site(F_do_idle, 0, 'cpuidle_idle_call();', 'idle');
const S_cond_resched = site(F_cond_resched, 0, 'if (should_resched(0))', 'cond_resched');
const S_exit = site(F_do_exit, 0, "do_task_dead(); /* set_special_state(TASK_DEAD) */", 'TASK_DEAD');

/** __schedule(). Entered with preemption disabled by the caller, as in the kernel. */
export function* __schedule(io: Port, preempt: boolean): KGen {
  io.enter(F___schedule);
  io.m.scheduleDebug(io, preempt);
  io.local_irq_disable();
  // rcu_note_context_switch(preempt); migrate_disable_switch(rq, prev);  (not modelled)
  yield io.m.hazptr.note_context_switch(io, CORE_C_NOTE_CONTEXT_SWITCH_LINE);
  const next = yield io.op(OP_PICK, S_pick, preempt ? 1 : 0);
  if (next !== io.task.id) yield io.op(OP_SWITCH, S_switch, next);
  // finish_task_switch(): raw_spin_rq_unlock_irq(rq)
  io.local_irq_enable();
  io.leave();
}

/** schedule(): a voluntary switch (the caller has set its state if it sleeps). */
export function* schedule(io: Port): KGen {
  io.enter(F_schedule);
  io.preempt_disable();
  yield __schedule(io, false);
  io.m.preemptCountDec(io); // sched_preempt_enable_no_resched()
  io.leave();
}

/** preempt_schedule_common(): preempt_disable(); __schedule(SM_PREEMPT); sched_preempt_enable_no_resched(). */
export function* preempt_schedule_common(io: Port): KGen {
  io.preempt_disable();
  yield __schedule(io, true);
  io.m.preemptCountDec(io);
}

/**
 * cond_resched(): under PREEMPT_NONE a voluntary preemption point, which switches
 * only if someone is waiting and the scheduler says so. Under PREEMPT(full) it is
 * only __might_resched(): include/linux/sched.h defines it as a no-op when
 * CONFIG_PREEMPTION is set without PREEMPT_DYNAMIC, since any preemptible
 * point already schedules.
 */
export function* cond_resched(io: Port): KGen {
  io.enter(F_cond_resched);
  io.m.mightSleep(io, F_cond_resched.file);
  if (io.m.cfg.preempt === 'full') {
    io.leave();
    return;
  }
  const resched = yield io.op(OP_RESCHED, S_cond_resched);
  if (resched) yield preempt_schedule_common(io);
  io.leave();
}

/** The frame pushed on a task when it is preempted on return from an interrupt. */
export function* preempt_schedule_irq(io: Port): KGen {
  io.enter(F_preempt_schedule_irq);
  yield preempt_schedule_common(io);
  io.leave();
}

/** swapper/N: do_idle() loops while !need_resched(); an interrupt alone does not schedule. */
export function* idle_loop(io: Port): KGen {
  io.enter(F_cpu_startup_entry);
  io.enter(F_do_idle);
  for (;;) {
    if (!(yield io.op(OP_IDLE, S_idle))) continue; // OP_IDLE: 1 when there is a task to run here
    io.enter(F_schedule_idle);
    io.preempt_disable();
    yield __schedule(io, false);
    io.m.preemptCountDec(io);
    io.leave();
  }
}

/** ret_from_fork -> kthread -> fn, then do_exit(). The task starts inside finish_task_switch(). */
export function* kthread_start(io: Port, fn: (io: Port) => KGen): KGen {
  io.enter(F_ret_from_fork_asm);
  io.enter(F_ret_from_fork);
  // schedule_tail() -> finish_task_switch(): irqs on, preempt_count back to 0
  io.local_irq_enable();
  io.m.preemptCountDec(io);
  io.enter(F_kthread);
  yield fn(io);
  io.enter(F_do_exit);
  yield io.op(OP_EXIT, S_exit);
  io.preempt_disable();
  yield __schedule(io, false);
  throw new Error('a dead task was scheduled again');
}
