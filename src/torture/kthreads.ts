// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The module's other kthreads: hazptr_torture_do_pending() (the deferred
 * releases), hazptr_torture_preempt(), and kernel/torture.c's torture_onoff()
 * (CPU hotplug, by the machine's cpuDown/cpuUp) and torture_shuffle() (a
 * machine timer that changes the torture kthreads' affinity: a timer, not a
 * kthread, so that runs shorter than shuffle_interval are scheduled exactly as
 * without it).
 */
import type { Machine } from '../kernel/machine.ts';
import { OP_KFREE, OP_RAND, ORD_PLAIN, type KGen, type Port } from '../kernel/port.ts';
import { mdelay } from '../kernel/delay.ts';
import { llist_del_all_op } from '../kernel/llist.ts';
import { schedule } from '../sched/core.ts';
import { hrtimeout, nextOnline, stutter_wait } from './lib.ts';
import { reader_tail } from './reader.ts';
import { F, F_onoff, F_preempt_task, F_remove_cpu, S, S_onoff } from './sites.ts';
import { HPP_NODE, JIFFY, MS, US, type Torture } from './state.ts';

// ---- deferred releases ------------------------------------------------------------------------

/*
 * hazptr_torture_do_one_pending(cpu), in two parts. The kthread below polls the
 * per-CPU lists without sleeping, one llist_del_all() xchg a poll; most polls
 * find the list empty, and those polls are most of a torture run's steps. A
 * generator for the function and one for llist_del_all() at every poll took
 * about a third to a half of the run's time (in-process, seeds 1 to 4 of the
 * torture scenario ran 1.4x to 2.1x faster without them). So the caller
 * yields the call `llnp = llist_del_all(llhp);` as an op
 * (do_one_pending_del_all(), which enters both functions' frames as the calls
 * do), and do_one_pending_list() takes what it returned: `if (!llnp) return;`
 * with no generator, else the walk. The same steps, sites and frames
 * (io.enter/leave) as one generator.
 */

/** hazptr_torture_do_one_pending(cpu) up to its llist_del_all(): the xchg to yield. */
function do_one_pending_del_all(io: Port, t: Torture, cpu: number): Port {
  io.enter(F.do_one_pending);
  return llist_del_all_op(io, io.per_cpu_ptr(t.pendingOff, cpu));
}

/** The rest of hazptr_torture_do_one_pending(), given what llist_del_all() returned: null when it returns at once, else the walk to yield. */
function do_one_pending_list(io: Port, t: Torture, llnp: number): KGen | null {
  io.leave(); // llist_del_all()
  if (!llnp) {
    io.leave();
    return null;
  }
  return do_one_pending_walk(io, t, llnp);
}

function* do_one_pending_walk(io: Port, t: Torture, llnp: number): KGen {
  let node = llnp;
  while (node) {
    const hppp = node - HPP_NODE;
    const next = yield io.load(node, ORD_PLAIN, S.ll_walk);
    yield reader_tail(io, t, hppp);
    t.relUndefer[io.task.cpu]++;
    yield io.op(OP_KFREE, S.kfree, 0, hppp);
    node = next;
  }
  io.leave();
}

export function* do_pending(io: Port, t: Torture): KGen {
  io.enter(F.do_pending);
  const m = io.m;
  let cpu = 0;
  if (t.p.verbose) m.printk(`${t.flag} hazptr_torture_do_pending task started`);
  do {
    if (t.stutterPaused(m.now)) {
      for (let c = 0; c < m.cfg.cpus; c++) {
        const walk = do_one_pending_list(io, t, yield do_one_pending_del_all(io, t, c)); // hazptr_torture_do_one_pending(cpu, &rand)
        if (walk) yield walk;
      }
      cpu = m.cfg.cpus - 1; // for_each_possible_cpu() leaves cpu = nr_cpu_ids: the next cpumask_next_wrap() is CPU 0
    } else {
      cpu = (cpu + 1) % m.cfg.cpus; // cpumask_next_wrap(cpu, cpu_possible_mask)
      const walk = do_one_pending_list(io, t, yield do_one_pending_del_all(io, t, cpu)); // hazptr_torture_do_one_pending(cpu, &rand)
      if (walk) yield walk;
    }
    // hazptrtorture.c:558: the module sleeps only once it is told to stop; until then it
    // polls the per-CPU lists without a scheduling point of its own (see docs/findings.md).
    if (t.mustStop()) yield hrtimeout(io, t.p.kthread_do_pending_ms * MS, 1000 * US);
    // Omit stutter_wait() because this function needs to do cleanup.
  } while (!t.mustStop());
  io.leave();
}

// ---- hazptr_torture_preempt(): a high-priority task that grabs a CPU for preempt_duration ms ----------------------

export function* preemptTask(io: Port, t: Torture): KGen {
  io.enter(F_preempt_task);
  const m = io.m;
  if (t.p.onoff_holdoff > 0) yield hrtimeout(io, t.p.onoff_holdoff * 1e9, 0); // schedule_timeout_idle(onoff_holdoff * HZ)
  let cpu = -1;
  do {
    // Wait for preempt_interval ms with up to 100us fuzz.
    yield hrtimeout(io, t.p.preempt_interval * MS, 100 * US);
    cpu = nextOnline(m, cpu);
    // Move to that CPU (torture_sched_setaffinity(current->pid, cpumask_of(cpu))) ...
    m.setAffinity(io.task, cpu);
    while (io.task.cpu !== cpu && m.cpuIsOnline(cpu)) yield schedule(io);
    // ... sched_set_fifo(current); allow every CPU again; mdelay(preempt_duration): the CPU is held,
    // busy, for that long (interrupts come in; fair tasks do not preempt a FIFO task) ...
    m.setFifo(io.task, true);
    m.setAffinity(io.task, -1);
    yield mdelay(io, t.p.preempt_duration);
    m.setFifo(io.task, false); // ... sched_set_normal(current, 0)
    yield stutter_wait(io, t); // after sched_set_normal()
  } while (!t.mustStop());
  io.leave();
}

// ---- CPU hotplug: torture_onoff() of kernel/torture.c ---------------------------------------------------------

/** torture_offline()/torture_online(): add a duration (jiffies) to sum, min (-1: none yet) and max. */
function account(d: number, sum: number, min: number, max: number): [number, number, number] {
  return [sum + d, min < 0 ? d : Math.min(min, d), min < 0 ? d : Math.max(max, d)];
}

export function* onoff(io: Port, t: Torture): KGen {
  io.enter(F_onoff);
  const m = io.m;
  const o = t.onoff;
  const maxcpu = m.cfg.cpus - 1;
  const jiffies = () => Math.floor(m.now / JIFFY);
  if (t.p.verbose) m.printk(`${t.flag} torture_onoff task started`);
  if (t.p.onoff_holdoff > 0) {
    if (t.p.verbose) m.printk(`${t.flag} torture_onoff begin holdoff`);
    yield hrtimeout(io, t.p.onoff_holdoff * 1e9, 0);
    if (t.p.verbose) m.printk(`${t.flag} torture_onoff end holdoff`);
  }
  while (!t.mustStop()) {
    const cpu = (yield io.op(OP_RAND, S_onoff, maxcpu + 1)) as number;
    // CPU 0 is not hotpluggable on x86 (no CONFIG_BOOTPARAM_HOTPLUG_CPU0)
    if (cpu !== 0 && m.cpuIsOnline(cpu)) {
      const start = jiffies();
      o.nOffAttempts++;
      io.enter(F_remove_cpu);
      if (m.cpuDown(cpu)) {
        while (m.cpuIsOnline(cpu)) yield hrtimeout(io, 100 * US, 0); // remove_cpu() waits for the CPU to die
        o.nOffSuccesses++;
        [o.sumOff, o.minOff, o.maxOff] = account(jiffies() - start, o.sumOff, o.minOff, o.maxOff);
      } else o.nOffAttempts--;
      io.leave();
    } else if (cpu !== 0) {
      o.nOnAttempts++;
      const start = jiffies();
      if (m.cpuUp(cpu)) {
        o.nOnSuccesses++;
        [o.sumOn, o.minOn, o.maxOn] = account(jiffies() - start, o.sumOn, o.minOn, o.maxOn);
      }
    }
    yield hrtimeout(io, t.p.onoff_interval * JIFFY, JIFFY);
  }
  for (let c = 0; c <= maxcpu; c++) m.cpuUp(c); // torture_online_all("Final")
  io.leave();
}

// ---- torture_shuffle() of kernel/torture.c --------------------------------------------------------------------

/** Every shuffle_interval seconds, let the next CPU go idle: the `registered` tasks' affinity excludes it. */
export function startShuffle(m: Machine, t: Torture, registered: number[]): void {
  let idleCpu = -1;
  const shuffle = () => {
    if (t.mustStop()) return;
    if (m.cpus.filter((c) => c.online).length > 1) {
      idleCpu = idleCpu + 1 >= m.cfg.cpus ? -1 : idleCpu + 1; // cpumask_next(); past the last: none idled
      m.excludeCpu(registered, idleCpu);
    }
    m.addTimer(m.now + t.p.shuffle_interval * 1e9, shuffle);
  };
  m.addTimer(t.p.shuffle_interval * 1e9, shuffle);
}
